"""Segmentation without learning: intensity thresholds, the baseline a U-Net must beat.

A bright FLAIR signal marks the whole tumour (oedema and core) and a bright T1ce signal the
enhancing tumour, so two thresholds already segment something. Where they fail is the lesson:
healthy tissue that is bright too (periventricular caps and white-matter lesions on FLAIR;
vessels, dura and choroid plexus on T1ce), oedema that fades without an edge, and scanners
whose intensities differ. Notebook 07 fits the thresholds on validation subjects and scores
them on held-out ones beside the U-Net; `synthbrats2.realism_report` uses the FLAIR one as its
trivial baseline.

Images are z-scored inside the brain (`datasets.BraTSDataset` gives them so), so a threshold
is in standard deviations above the brain's mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from . import brats
from .lesionwise import LESION_CONNECTIVITY
from .metrics import dice_score

__all__ = [
    "largest_component",
    "threshold_baseline",
    "ThresholdFit",
    "fit_thresholds",
]


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 26-connected component of a boolean ``(X, Y, Z)`` mask (all False if
    the mask is empty)."""
    mask = np.asarray(mask, dtype=bool)
    components, count = ndimage.label(mask, LESION_CONNECTIVITY)
    if count == 0:
        return np.zeros_like(mask)
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    return components == int(np.argmax(sizes))


def threshold_baseline(
    flair: np.ndarray, t1ce: np.ndarray, flair_threshold: float, t1ce_threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(whole_tumour, enhancing)`` boolean masks from two thresholds (strictly above).

    The whole tumour is the largest connected piece of FLAIR above ``flair_threshold``;
    enhancing tumour is every voxel of T1ce above ``t1ce_threshold``, wherever it is.
    ``flair`` and ``t1ce`` are z-scored ``(X, Y, Z)`` images of one subject.
    """
    whole_tumour = largest_component(np.asarray(flair) > flair_threshold)
    return whole_tumour, np.asarray(t1ce) > t1ce_threshold


@dataclass(frozen=True)
class ThresholdFit:
    """Thresholds with the best mean Dice on the subjects they were fitted on."""

    flair_threshold: float
    t1ce_threshold: float
    fit_dice_WT: float
    fit_dice_ET: float


def fit_thresholds(
    images: Sequence[np.ndarray],
    segs: Sequence[np.ndarray],
    candidates: Sequence[float] = tuple(np.round(np.arange(0.5, 5.01, 0.25), 2)),
    coding: brats.LabelCoding = brats.BRATS_2021,
) -> ThresholdFit:
    """Grid-search each threshold of `threshold_baseline` for the best mean Dice.

    ``images``: z-scored ``(4, X, Y, Z)`` arrays in `brats.MODALITIES` order; ``segs``: their
    label maps. The FLAIR threshold maximises the WT Dice, the T1ce one the ET Dice (the two
    masks don't depend on each other). Ties go to the lower threshold.
    """
    if len(images) != len(segs) or not images:
        raise ValueError("images and segs need the same number of subjects, at least 1.")
    flair = [np.asarray(image[brats.MODALITIES.index(brats.FLAIR)]) for image in images]
    t1ce = [np.asarray(image[brats.MODALITIES.index(brats.T1CE)]) for image in images]
    wt = [np.isin(seg, coding.regions["WT"]) for seg in segs]
    et = [np.isin(seg, coding.regions["ET"]) for seg in segs]

    def best(score):
        values = {float(t): score(float(t)) for t in candidates}
        top = max(values, key=lambda t: (values[t], -t))
        return top, values[top]

    flair_t, wt_dice = best(
        lambda t: np.mean(
            [dice_score(largest_component(f > t), w) for f, w in zip(flair, wt, strict=True)]
        )
    )
    t1ce_t, et_dice = best(
        lambda t: np.mean([dice_score(c > t, e) for c, e in zip(t1ce, et, strict=True)])
    )
    return ThresholdFit(flair_t, t1ce_t, float(wt_dice), float(et_dice))
