"""Subject: one SynthBraTS subject as arrays (`simulate`) or NIfTI images (`make_subject`).

`make_subject` builds SynthBraTS 2 by default (`course_utils.synthbrats2`) and SynthBraTS 1
with ``version="1"``; `simulate` is SynthBraTS 1 step by step: anatomy, tumour, mass
effect, tissue, labels, contrasts.
"""

from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np

from .anatomy import add_mass_effect, anatomy_source, warp_tissue
from .contrasts import render_contrasts
from .template import load_template
from .tumour import draw_tumour, paint_tumour
from .versions import DEFAULT_GENERATOR, check_version

__all__ = ["make_subject", "simulate", "to_nifti"]


def make_subject(
    seed: int | Sequence[int], spacing_mm: float = 2.0, version: str = DEFAULT_GENERATOR
) -> dict[str, nib.Nifti1Image]:
    """Generate one SynthBraTS subject.

    Parameters
    ----------
    seed
        Seed of the subject's random generator; ``make_cohort`` passes ``(cohort_seed, index)``,
        so ``make_subject((0, 3))`` rebuilds subject 3 of the seed-0 cohort.
    spacing_mm
        Isotropic voxel size in millimetres (BraTS is 1 mm; the course default is 2 mm).
    version
        ``"2"`` (default): SynthBraTS 2 (`course_utils.synthbrats2`), which adds
        ``seg_rater2``, a second rater's labels; ``"1"``: the first generator.

    Returns
    -------
    dict
        ``t1``, ``t1ce``, ``t2``, ``flair``: int16 images; ``seg``: uint8 labels 0/1/2/4
        (and ``seg_rater2`` with version 2).
        All share one grid (98 x 116 x 94 voxels at 2 mm, axes R-A-S) and one RAS+ affine.

    Examples
    --------
    >>> subject = make_subject((0, 0))
    >>> subject["t1"].shape, subject["seg"].get_data_dtype()
    ((98, 116, 94), dtype('uint8'))
    """
    if check_version(version) == "2":
        from .. import synthbrats2

        return synthbrats2.make_subject(seed, spacing_mm)
    arrays, _ = simulate(seed, spacing_mm)
    affine = load_template(spacing_mm).affine
    return {key: to_nifti(values, affine) for key, values in arrays.items()}


def simulate(seed: int | Sequence[int], spacing_mm: float = 2.0):
    """SynthBraTS 1: the arrays behind ``make_subject(version="1")``, plus the ground truth
    they were rendered from (SynthBraTS 2's is `synthbrats2.simulate`).

    Returns ``(arrays, truth)``: ``arrays`` maps ``t1``, ``t1ce``, ``t2``, ``flair``
    (int16) and ``seg`` (uint8) to ``(X, Y, Z)`` arrays; ``truth`` maps ``csf``, ``gm``,
    ``wm``, ``brain`` and the tumour memberships ``necrosis``, ``enhancing``, ``core``,
    ``oedema`` to float32 fractions in [0, 1] on the same grid.
    """
    rng = np.random.default_rng(seed)
    template = load_template(spacing_mm)
    source, centre, scale = anatomy_source(rng, template)
    tumour = draw_tumour(rng, template, centre, scale)
    add_mass_effect(source, tumour, template.spacing_mm)
    tissue = warp_tissue(template, source)
    seg, membership = paint_tumour(rng, tumour, tissue, template.spacing_mm)
    arrays = render_contrasts(rng, tissue, membership)
    arrays["seg"] = seg
    truth = {key: tissue[key] for key in ("csf", "gm", "wm", "brain")}
    truth.update({key: membership[key] for key in ("necrosis", "enhancing", "core", "oedema")})
    return arrays, truth


def to_nifti(values: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    """Wrap an array as a NIfTI-1 image whose qform and sform both hold ``affine`` (mm)."""
    image = nib.Nifti1Image(values, np.asarray(affine))
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine, code="aligned")
    image.set_sform(affine, code="aligned")
    return image
