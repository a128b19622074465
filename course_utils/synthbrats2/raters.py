"""Label noise like a human rater's, and a second rater.

A rater outlines the same fields the images were rendered from, but with a personal bias
(oedema drawn a little generously or tightly: the threshold moves by a factor of up to e^+-0.5), a
boundary that wanders smoothly (+-1-2 mm, correlated over ~10 mm) and slice-to-slice
inconsistency (raters draw axial slice by slice). The seg file is rater 1; rater 2 is
``<ID>_seg_rater2.nii.gz``. Rater noise never touches a mimic and never leaves the brain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .fields import smooth_noise

__all__ = ["TumourFields", "draw_rater"]


@dataclass(frozen=True)
class TumourFields:
    """The continuous fields behind the labels, on the tumour box (float32 unless noted).

    ``concentration`` (oedema) with label ``level``; core ``core_level`` (core where <= 1);
    ``enhancing`` membership (ET where > 0.5); ``allowed`` (bool) where a label may be.
    """

    concentration: np.ndarray
    level: float
    core_level: np.ndarray
    enhancing: np.ndarray
    allowed: np.ndarray


def wander(rng: np.random.Generator, shape, spacing_mm: float, amount: float) -> np.ndarray:
    """Smooth 3D wander plus a per-axial-slice offset, float32, typical size ``amount``."""
    field = smooth_noise(rng, shape, 10.0 / spacing_mm)
    per_slice = ndimage.gaussian_filter1d(rng.standard_normal(shape[2]), 1.0).astype(np.float32)
    return np.float32(amount) * (0.8 * field + 0.5 * per_slice.reshape(1, 1, -1))


def draw_rater(
    rng: np.random.Generator, fields: TumourFields, spacing_mm: float, *, exact: bool = False
) -> np.ndarray:
    """One rater's labels on the box (uint8, BraTS values 0/1/2/4).

    With ``exact=True`` the labels follow the fields with no rater noise (the generator's
    truth, used by tests and the realism check).
    """
    shape = fields.concentration.shape
    if exact:
        wt_bias, wt_wander, core_wander, et_wander = 1.0, 0.0, 0.0, 0.0
    else:
        wt_bias = math.exp(rng.uniform(-0.5, 0.5))
        wt_wander = wander(rng, shape, spacing_mm, rng.uniform(0.25, 0.42))
        core_wander = wander(rng, shape, spacing_mm, rng.uniform(0.05, 0.1))
        et_wander = wander(rng, shape, spacing_mm, rng.uniform(0.08, 0.16))
    whole = fields.concentration * (1.0 + wt_wander) > np.float32(fields.level * wt_bias)
    core = fields.core_level * (1.0 + core_wander) <= 1.0
    enhancing = core & (fields.enhancing + et_wander > 0.5)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[whole | core] = 2
    labels[core] = 1
    labels[enhancing] = 4
    labels[~fields.allowed] = 0
    return labels
