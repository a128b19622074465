"""Rendering the four contrasts, with each subject scanned its own way.

Tissue levels, the tumour's own levels, a contrast curve (a power law), the bias field's
strength, the noise level, and a thick-slice acquisition resampled to the grid (blur along
one axis) are drawn per subject and per contrast, so that after z-scoring one threshold still
cannot fit all subjects. Transcendental functions (``exp``, ``power``) run in float64 and the
result is rounded to int16 once, so a last-place difference between CPUs never shows.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..synth.contrasts import GENERATION_ORDER as MODALITIES  # the generator's order (its draws)

__all__ = ["LEVELS", "render"]

# Mean intensity of each tissue per contrast (columns t1, t1ce, t2, flair), relative to white
# matter on T1. Non-enhancing tumour is grey on T1, mildly bright on T2/FLAIR, not enhancing.
LEVELS = {
    "csf": (0.30, 0.30, 1.00, 0.12),
    "gm": (0.62, 0.64, 0.68, 0.72),
    "wm": (0.88, 0.88, 0.48, 0.55),
    "necrosis": (0.32, 0.34, 0.88, 0.55),
    "nonenhancing": (0.54, 0.59, 0.76, 0.85),
    "enhancing": (0.58, 1.30, 0.70, 0.82),
    "oedema": (0.60, 0.62, 0.82, 0.92),
    "vessel": (0.45, 1.35, 0.35, 0.40),
    "dura": (0.55, 1.25, 0.62, 0.70),
    "plexus": (0.58, 1.30, 0.80, 0.55),
    "flair_lesion": (0.66, 0.68, 0.78, 0.88),
    "cyst": (0.32, 0.32, 0.98, 0.16),
}
HEALTHY = ("csf", "gm", "wm")
CORE = ("necrosis", "nonenhancing", "enhancing")
MIMIC_KEYS = ("vessel", "dura", "plexus", "flair_lesion", "cyst")
DETAIL_WEIGHT = (1.0, 1.0, -0.6, -0.5)


def bias_log(rng: np.random.Generator, shape, inside: tuple[np.ndarray, ...]) -> np.ndarray:
    """A smooth log-bias at the ``inside`` voxels (float64, max |value| = 1): a random
    polynomial of degree 3 in the normalised coordinates."""
    coordinates = [
        2.0 * index / max(n - 1, 1) - 1.0 for index, n in zip(inside, shape, strict=True)
    ]
    squares = [a * b for i, a in enumerate(coordinates) for b in coordinates[i:]]
    cubes = [a * a * a for a in coordinates]
    terms = coordinates + squares + cubes
    field = np.zeros(len(inside[0]))
    for coefficient, term in zip(rng.normal(0.0, 1.0, len(terms)), terms, strict=True):
        field += coefficient * term
    return field / max(float(np.abs(field).max()), 1e-6)


def render(
    rng: np.random.Generator,
    tissue: dict[str, np.ndarray],
    parts: dict[str, np.ndarray],
    spacing_mm: float,
) -> tuple[dict[str, np.ndarray], dict]:
    """The four contrasts (int16 ``(X, Y, Z)``, zero outside the brain) and the scanner draws.

    ``tissue`` holds ``csf``, ``gm``, ``wm``, ``brain``, ``t1`` (template T1 for anatomical
    detail); ``parts`` the memberships ``oedema`` (visible signal), ``necrosis``,
    ``nonenhancing``, ``enhancing`` and the mimics, all float32 fractions, and the textures
    ``texture_oedema``, ``texture_core`` (float32, unit-variance fields, zero where unused).
    """
    shape = tissue["brain"].shape
    inside = np.nonzero(tissue["brain"] > 0.5)
    keys = ("csf", "gm", "wm", "t1", *parts)
    at = {key: {**tissue, **parts}[key][inside].astype(np.float64) for key in keys}
    core = sum(at[key] for key in CORE)
    model_t1 = sum(at[name] * LEVELS[name][0] for name in HEALTHY)
    detail = (at["t1"] - model_t1) * (1.0 - core)
    oedema_texture = 1.0 + 0.12 * parts["texture_oedema"][inside].astype(np.float64)
    core_texture = 1.0 + 0.1 * parts["texture_core"][inside].astype(np.float64)
    enhancement = rng.uniform(0.65, 1.25)  # how strongly this tumour enhances
    # Necrosis varies most between tumours (fluid, debris, protein, blood): on T1 it ranges from
    # CSF-dark to almost iso-intense with oedema, so only the rim around it gives it away.
    necrosis_shift = (
        rng.uniform(0.8, 1.9),
        rng.uniform(0.8, 1.6),
        rng.uniform(0.75, 1.1),
        rng.uniform(0.6, 1.6),
    )
    thick = rng.uniform() < 0.4
    thick_axis = int(rng.integers(0, 3))
    draws = {"thick_slice_mm": {}, "noise": {}, "bias": {}, "gamma": {}}
    images = {}
    for index, modality in enumerate(MODALITIES):
        jitter = {name: rng.uniform(0.88, 1.12) for name in LEVELS}
        level = {name: values[index] * jitter[name] for name, values in LEVELS.items()}
        level["necrosis"] *= necrosis_shift[index]
        if modality == "t1ce":
            base = level["wm"]
            for name in ("enhancing", "vessel", "dura", "plexus"):
                level[name] = base + (level[name] - base) * enhancement
        x = sum(at[name] * level[name] for name in HEALTHY) + DETAIL_WEIGHT[index] * detail
        infiltrated = 0.85 * at["oedema"]
        x = (1.0 - infiltrated) * x + infiltrated * level["oedema"] * oedema_texture
        if modality == "t1ce":  # patchy enhancement: +-15 % within the enhancing tumour
            level["enhancing"] = level["enhancing"] * (1.0 + 0.15 * (core_texture - 1.0) / 0.1)
        x = (1.0 - core) * x + core_texture * sum(at[name] * level[name] for name in CORE)
        for name in MIMIC_KEYS:
            x = (1.0 - at[name]) * x + at[name] * level[name]
        gamma = rng.uniform(0.8, 1.25)
        x = np.power(np.maximum(x, 0.0) / level["wm"], gamma) * level["wm"]
        bias = rng.uniform(0.1, 0.45)
        x = x * np.exp(bias * bias_log(rng, shape, inside))
        slice_mm = rng.uniform(3.0, 6.0) if thick and modality in ("t2", "flair") else 0.0
        if slice_mm > spacing_mm:  # a slice no thicker than the voxel leaves nothing to blur
            volume = np.zeros(shape)
            volume[inside] = x
            sigma = np.sqrt(max(slice_mm**2 - spacing_mm**2, 0.0)) / 2.3548 / spacing_mm
            x = ndimage.gaussian_filter1d(volume, sigma, axis=thick_axis)[inside]
        relative_noise = rng.uniform(0.015, 0.06)
        sigma = relative_noise * level["wm"]
        noisy = np.hypot(
            x + sigma * rng.standard_normal(x.shape), sigma * rng.standard_normal(x.shape)
        )
        gain = rng.uniform(500.0, 2000.0)
        values = np.zeros(shape, dtype=np.int16)
        values[inside] = np.clip(np.rint(noisy * gain), 0, np.iinfo(np.int16).max)
        images[modality] = values
        draws["thick_slice_mm"][modality] = round(float(slice_mm), 2)
        draws["noise"][modality] = round(float(relative_noise), 4)
        draws["bias"][modality] = round(float(bias), 3)
        draws["gamma"][modality] = round(float(gamma), 3)
    return images, draws
