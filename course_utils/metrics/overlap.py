"""Overlap scores of two binary masks: Dice, sensitivity and specificity, from voxel counts.

Each is a pure function of a prediction and a truth mask of the same shape (NumPy or torch;
bool or 0/1; any number of axes). Where a score is 0/0 (an empty truth, no background) the
BraTS 2023 evaluation code's value is returned (see `course_utils.metrics` for the table).
"""

from __future__ import annotations

import numpy as np

from ._validation import Array, as_masks

__all__ = ["dice_score", "sensitivity", "specificity"]


def dice_score(pred: Array, truth: Array) -> float:
    """Dice coefficient ``2 |P & T| / (|P| + |T|)`` of two binary masks.

    Dice, "Measures of the amount of ecologic association between species", Ecology 1945;
    the main overlap score of the BraTS challenges (Menze et al., IEEE TMI 2015).

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape, any number of axes (NumPy or torch; bool or 0/1).

    Returns
    -------
    float
        In [0, 1]. Both empty: 1.0 (nothing to find, nothing found); one empty: 0.0 (BraTS
        2023 and CaPTk).

    Examples
    --------
    >>> dice_score(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    0.5
    >>> dice_score(np.zeros(4), np.zeros(4))
    1.0
    """
    pred, truth = as_masks(pred, truth)
    total = int(pred.sum()) + int(truth.sum())
    if total == 0:
        return 1.0
    return 2 * int(np.count_nonzero(pred & truth)) / total


def sensitivity(pred: Array, truth: Array) -> float:
    """True positive rate ``TP / (TP + FN)``: the share of the truth that was found.

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape (NumPy or torch; bool or 0/1).

    Returns
    -------
    float
        In [0, 1]. Empty truth: 1.0 if the prediction is empty too, else 0.0, as the BraTS
        2023 code and CaPTk score it (see the table in `course_utils.metrics`).

    Examples
    --------
    >>> sensitivity(np.array([1, 0, 0, 1]), np.array([1, 1, 0, 0]))
    0.5
    >>> sensitivity(np.array([0, 1]), np.zeros(2)), sensitivity(np.zeros(2), np.zeros(2))
    (0.0, 1.0)
    """
    pred, truth = as_masks(pred, truth)
    positives = int(truth.sum())
    if positives == 0:
        return 0.0 if pred.any() else 1.0
    return int(np.count_nonzero(pred & truth)) / positives


def specificity(pred: Array, truth: Array) -> float:
    """True negative rate ``TN / (TN + FP)``: the share of the background left alone.

    In a brain volume the background is so large that specificity is nearly always above
    0.99; it says little on its own.

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape (NumPy or torch; bool or 0/1).

    Returns
    -------
    float
        In [0, 1]; 0.0 when the truth covers every voxel (no background: 0/0, scored 0 by the
        BraTS 2023 code).

    Examples
    --------
    >>> specificity(np.array([1, 0, 0, 1]), np.array([1, 1, 0, 0]))
    0.5
    """
    pred, truth = as_masks(pred, truth)
    negatives = int((~truth).sum())
    if negatives == 0:
        return 0.0
    return int(np.count_nonzero(~pred & ~truth)) / negatives
