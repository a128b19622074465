"""Test pairs with a known answer, from the MNI152 template.

`mni_image` gives the template as a T1, T2-like or FLAIR-like contrast (the same voxels,
another modality), `mni_tissue_labels` its hard tissue labels, and `smooth_displacement` a smooth
random field to warp it with; a known `random_affine` completes the pair. The template and
the smooth noise come from `course_utils.synth`.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from .. import brats
from ..geometry import voxel_sizes

__all__ = ["mni_image", "mni_tissue_labels", "smooth_displacement"]


def mni_image(contrast: str = brats.T1, spacing_mm: float = 2.0) -> nib.Nifti1Image:
    """The MNI152 2009 template (brain-extracted) as a float32 image, RAS+, ``spacing_mm`` grid.

    ``"t1"`` is the template itself (white matter brightest, in [0, 1]). ``"t2"`` and
    ``"flair"`` are second modalities whose voxels correspond exactly to the first, made from
    the template's tissue maps with SynthBraTS's intensities (`synth.TISSUE_INTENSITY`) plus
    the template's fine detail weighted as SynthBraTS does (`synth.DETAIL_WEIGHT`):
    ``"t2"`` has CSF brightest and white matter darkest, the T1 order reversed (a monotonic,
    decreasing relation); ``"flair"`` has CSF darkest and grey matter brightest, so its
    relation to T1 is **not** monotonic (dark, bright, mid for CSF, grey, white). 98 x 116 x
    94 voxels at 2 mm.

    Examples
    --------
    >>> mni_image("flair").shape
    (98, 116, 94)
    """
    from .. import synth

    template = synth.load_template(spacing_mm)
    t1 = np.asarray(template.t1, np.float32)
    if contrast == brats.T1:
        return nib.Nifti1Image(t1, np.array(template.affine))
    if contrast not in (brats.T2, brats.FLAIR):
        choices = ", ".join(repr(name) for name in (brats.T1, brats.T2, brats.FLAIR))
        raise ValueError(f"contrast={contrast!r}: choose one of {choices}.")
    column = synth.GENERATION_ORDER.index(contrast)
    gm, wm = np.asarray(template.gm), np.asarray(template.wm)
    csf = np.clip(np.asarray(template.brain) - gm - wm, 0, 1)
    tissues = ((csf, "csf"), (gm, "gm"), (wm, "wm"))
    model_t1 = sum(m * synth.TISSUE_INTENSITY[n][0] for m, n in tissues)
    model = sum(m * synth.TISSUE_INTENSITY[n][column] for m, n in tissues)
    detail = (t1 - model_t1) * (t1 > 0)
    values = np.clip(model + synth.DETAIL_WEIGHT[column] * detail, 0, None) * (t1 > 0)
    return nib.Nifti1Image(values.astype(np.float32), np.array(template.affine))


def mni_tissue_labels(spacing_mm: float = 2.0) -> nib.Nifti1Image:
    """Hard tissue labels of the template: 0 background, 1 CSF, 2 grey, 3 white matter (uint8).

    Each brain voxel takes its most probable tissue from the template's maps.
    """
    from .. import synth

    template = synth.load_template(spacing_mm)
    gm, wm, brain = (np.asarray(m) for m in (template.gm, template.wm, template.brain))
    csf = np.clip(brain - gm - wm, 0, 1)
    labels = (np.argmax(np.stack([csf, gm, wm]), axis=0) + 1) * (brain > 0)
    return nib.Nifti1Image(labels.astype(np.uint8), np.array(template.affine))


def smooth_displacement(
    image: nib.Nifti1Image, amplitude_mm: float = 4.0, scale_mm: float = 30.0, seed: int = 0
) -> np.ndarray:
    """A smooth random displacement field on ``image``'s grid: ``(X, Y, Z, 3)`` float32 mm.

    Each component is smooth noise correlated over ``scale_mm`` with standard deviation
    ``amplitude_mm`` (the generator SynthBraTS uses for its anatomy), so a small amplitude
    relative to the scale never folds.
    """
    from .. import synth

    rng = np.random.default_rng(seed)
    scale_vox = [scale_mm / float(size) for size in voxel_sizes(image.affine)]  # per axis
    return np.stack(
        [amplitude_mm * synth.smooth_noise(rng, image.shape[:3], scale_vox) for _ in range(3)],
        axis=-1,
    ).astype(np.float32)
