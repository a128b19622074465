"""Notebook 04's exercises: z-scoring a channel inside the brain, and BraTS labels as the
nested WT/TC/ET regions.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .framework import Case, check

__all__ = [
    "check_zscore",
    "check_brats_regions",
    "zscore_brain",
    "brats_regions",
]


def check_zscore(function: Callable) -> Callable:
    """Notebook 04: ``function(channel)`` z-scores one channel ``(D, H, W)`` over its non-zero
    voxels (the brain) and leaves the background at 0. Returns the function later cells use."""
    ramp = np.zeros((2, 2, 3))
    ramp[0, 0] = [2.0, 4.0, 6.0]
    expected_ramp = np.zeros((2, 2, 3))
    expected_ramp[0, 0] = [-np.sqrt(1.5), 0.0, np.sqrt(1.5)]
    flat = np.zeros((2, 2, 2))
    flat[1] = 5.0
    signed = np.zeros((2, 2, 3))
    signed[0, 0] = [-2.0, 0.0, 2.0]  # the 0 is background: only -2 and 2 are brain
    expected_signed = np.zeros((2, 2, 3))
    expected_signed[0, 0] = [-1.0, 0.0, 1.0]
    hint = (
        "Compute mean and std over the non-zero voxels only, (x - mean) / std there, and keep "
        "the background 0; np.std's default (ddof=0) is the one."
    )
    cases = [
        Case("brain voxels 2, 4, 6 and background 0", (ramp,), expected_ramp, hint),
        Case(
            "the same values in another scanner's units (x 100 + 50 inside the brain)",
            (np.where(ramp != 0, ramp * 100 + 50, 0.0),),
            expected_ramp,
            "A z-score does not care about the scanner's units: scale and offset cancel, as "
            "long as the background stays out of the statistics.",
        ),
        Case(
            "a brain with negative values (-2 and 2)",
            (signed,),
            expected_signed,
            "The brain is every non-zero voxel (channel != 0), negative ones too.",
        ),
        Case(
            "a constant brain (std 0)",
            (flat,),
            np.zeros((2, 2, 2)),
            "With a zero standard deviation, return zeros rather than dividing by 0.",
        ),
    ]
    return check("zscore_brain", function, cases, zscore_brain)


def check_brats_regions(function: Callable) -> Callable:
    """Notebook 04: ``function(seg)`` turns BraTS labels 0/1/2/4 ``(D, H, W)`` into the
    evaluation regions ``(3, D, H, W)``: whole tumour, tumour core, enhancing tumour. Returns
    the function later cells use."""
    seg = np.array([0, 1, 2, 4]).reshape(1, 1, 4)
    expected = np.array([[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=float).reshape(
        3, 1, 1, 4
    )
    hint = (
        "The regions are nested, not one label each: WT = labels 1, 2 and 4; TC = 1 and 4; "
        "ET = 4 (BraTS 2021 has no label 3). Stack them on a new first axis."
    )
    cases = [
        Case("one voxel of each label", (seg,), expected, hint),
        Case("background only", (np.zeros((2, 2, 2), int),), np.zeros((3, 2, 2, 2)), hint),
        Case(
            "oedema only (label 2)",
            (np.full((1, 2, 2), 2),),
            np.stack([np.ones((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 2, 2))]),
            hint,
        ),
    ]
    return check("brats_regions", function, cases, brats_regions)


def zscore_brain(channel: np.ndarray) -> np.ndarray:
    """Notebook 04: one channel ``(D, H, W)`` z-scored over its non-zero voxels, float64; the
    background stays 0 (`datasets.zscore_normalise` on one channel).

    Examples
    --------
    >>> zscore_brain(np.array([[[0.0, 2.0, 4.0, 6.0]]])).round(4)
    array([[[ 0.    , -1.2247,  0.    ,  1.2247]]])
    """
    from ..datasets import zscore_normalise

    return zscore_normalise(np.asarray(channel, dtype=np.float64)[None])[0].astype(np.float64)


def brats_regions(seg: np.ndarray) -> np.ndarray:
    """Notebook 04: BraTS labels 0/1/2/4 ``(D, H, W)`` as float regions ``(3, D, H, W)``: WT,
    TC, ET (`datasets.classes_to_regions` of `datasets.brats_to_classes`).

    Examples
    --------
    >>> brats_regions(np.array([0, 1, 2, 4]))
    array([[0., 1., 1., 1.],
           [0., 1., 0., 1.],
           [0., 0., 0., 1.]])
    """
    from ..datasets import brats_to_classes, classes_to_regions

    return classes_to_regions(brats_to_classes(np.asarray(seg))).astype(np.float64)
