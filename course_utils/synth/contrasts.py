"""Contrasts (SynthBraTS 1): four MRI contrasts rendered from the tissue maps.

The relative intensities a radiologist expects (T1: WM > GM > CSF, necrosis dark; T1ce:
enhancing rim bright; T2: CSF and oedema bright; FLAIR: CSF suppressed, oedema bright),
the template's own anatomical detail, then a smooth bias field and Rician noise; int16
``(X, Y, Z)``, zero outside the brain as in skull-stripped BraTS data.
"""

from __future__ import annotations

import numpy as np

from .. import brats
from .fields import bias_field

__all__ = ["GENERATION_ORDER", "TISSUE_INTENSITY", "DETAIL_WEIGHT", "render_contrasts"]


#: The order in which the generator renders the contrasts and lists a subject's files. It is
#: not the tensor order (`brats.MODALITIES`): each contrast draws from the subject's random
#: generator in turn, so this order is part of what version 1.0 means; changing it would change
#: every image's bytes. Index tensors with `brats.MODALITIES`, never with this.
GENERATION_ORDER = (brats.T1, brats.T1CE, brats.T2, brats.FLAIR)
# Mean intensity of each tissue in each contrast, relative to white matter on T1.
# Columns follow GENERATION_ORDER: t1, t1ce, t2, flair.
TISSUE_INTENSITY = {
    "csf": (0.30, 0.30, 1.00, 0.12),
    "gm": (0.62, 0.64, 0.68, 0.72),
    "wm": (0.88, 0.88, 0.48, 0.55),
    "necrosis": (0.22, 0.25, 0.90, 0.50),
    "enhancing": (0.55, 1.45, 0.75, 0.82),
    "oedema": (0.52, 0.54, 0.93, 1.00),
}
# How the template's anatomical detail (its T1 minus our tissue model) carries over to each
# contrast: T1-weighted keep it, T2-weighted show it inverted and weaker.
DETAIL_WEIGHT = (1.0, 1.0, -0.6, -0.5)


def render_contrasts(
    rng: np.random.Generator, tissue: dict[str, np.ndarray], membership: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The four contrasts as int16 arrays: tissue mix, tumour, detail, bias and Rician noise.

    Intensities are computed for brain voxels only (zero elsewhere, as BraTS is
    skull-stripped); each contrast gets its own tissue-level jitter, bias field and
    scanner gain, so raw values are not comparable between subjects (normalise them).
    """
    shape = tissue["brain"].shape
    inside = np.nonzero(tissue["brain"] > 0.5)
    at = {key: values[inside] for key, values in {**tissue, **membership}.items()}
    model_t1 = sum(at[name] * TISSUE_INTENSITY[name][0] for name in ("csf", "gm", "wm"))
    detail = (at["t1"] - model_t1) * (1.0 - at["core"])
    images = {}
    for index, modality in enumerate(GENERATION_ORDER):
        jitter = rng.uniform(0.95, 1.05, len(TISSUE_INTENSITY))
        level = {
            name: float(values[index] * j)
            for (name, values), j in zip(TISSUE_INTENSITY.items(), jitter, strict=True)
        }
        healthy = sum(at[name] * level[name] for name in ("csf", "gm", "wm"))
        healthy = healthy + DETAIL_WEIGHT[index] * detail
        infiltrated = (1.0 - 0.8 * at["oedema"]) * healthy + 0.8 * at["oedema"] * level["oedema"]
        tumour = at["necrosis"] * level["necrosis"] + at["enhancing"] * level["enhancing"]
        intensity = (1.0 - at["core"]) * infiltrated + at["texture"] * tumour
        intensity = intensity * bias_field(rng, shape, 0.15)[inside]
        sigma = np.float32(0.025 * level["wm"])
        noisy = np.hypot(
            intensity + sigma * rng.standard_normal(intensity.shape, dtype=np.float32),
            sigma * rng.standard_normal(intensity.shape, dtype=np.float32),
        )
        gain = rng.uniform(700.0, 1300.0)  # scanners don't agree on units
        values = np.zeros(shape, dtype=np.int16)
        values[inside] = np.clip(np.rint(noisy * gain), 0, np.iinfo(np.int16).max)
        images[modality] = values
    return images
