"""Notebook 07's exercises: the soft Dice loss, the Dice score, and a threshold baseline.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .framework import Case, check

__all__ = [
    "check_soft_dice",
    "check_dice_score",
    "check_threshold_baseline",
    "soft_dice_loss",
]


# Long because it lists its six cases one by one, each with the hint for its mistake.
def check_soft_dice(function: Callable) -> Callable:
    """Notebook 07: ``function(probabilities, target, squared=False, smooth=1e-5)`` returns the
    soft Dice loss of ``(B, C, *spatial)`` tensors: ``1 - dice`` per sample and channel, then
    the mean (the V-Net squared denominator when ``squared=True``), as a scalar tensor that
    autograd can differentiate. Returns the function later cells use."""
    import torch

    from ..losses import SoftDiceLoss

    generator = torch.Generator().manual_seed(7)
    p = torch.rand(2, 3, 4, 5, 6, generator=generator)
    g = (torch.rand(2, 3, 4, 5, 6, generator=generator) > 0.7).float()
    g[1, 2] = 0  # an empty channel: the smooth term decides it

    def library(squared: bool, smooth: float = 1e-5) -> torch.Tensor:
        loss = SoftDiceLoss("regions", squared, smooth=smooth, from_logits=False)
        return loss(p, g)

    def run(probabilities, target, gradient=False, **options):
        if not gradient:
            return function(probabilities, target, **options)
        probabilities = probabilities.clone().requires_grad_(True)
        function(probabilities, target, **options).backward()
        grad = probabilities.grad
        return bool(grad is not None and torch.all(torch.isfinite(grad)) and grad.any())

    half = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
    truth = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
    smooth_hint = (
        "Add smooth to the numerator and to the denominator: "
        "(2 * sum(p * g) + smooth) / (sum(p) + sum(g) + smooth)."
    )
    cases = [
        Case(
            "one of two voxels right, no smoothing: 1 - 2*1/(2+2)",
            (half, truth),
            torch.tensor(0.5),
            "dice = 2 * sum(p * g) / (sum(p) + sum(g)); the loss is 1 - dice.",
            kwargs={"smooth": 0.0},
        ),
        Case(
            "the same with smooth=1: 1 - (2*1 + 1)/(2 + 2 + 1)",
            (half, truth),
            torch.tensor(0.4),
            smooth_hint,
            kwargs={"smooth": 1.0},
        ),
        Case(
            "an empty target and an empty prediction",
            (torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3)),
            torch.tensor(0.0),
            "Nothing to find and nothing predicted is a perfect answer: with smooth in the "
            "numerator as well, dice = smooth / smooth = 1 and the loss is 0.",
        ),
        Case(
            "random probabilities (2, 3, 4, 5, 6), one empty channel",
            (p, g),
            library(False),
            "Sum over the spatial axes only (2 and up), one Dice per sample and channel, then "
            "average the losses to a scalar; add smooth to numerator and denominator.",
        ),
        Case(
            "the same, squared denominator (V-Net)",
            (p, g),
            library(True),
            "With squared=True the denominator is sum(p**2) + sum(g**2): square each value, "
            "then sum (not the square of the sums).",
            kwargs={"squared": True},
        ),
        Case(
            "the gradient reaches the probabilities",
            (p, g),
            True,
            "Use torch operations only (no .item(), float() or NumPy) and return a tensor: "
            "training calls loss.backward().",
            kwargs={"gradient": True},
        ),
    ]
    return check("soft_dice_loss", function, cases, soft_dice_loss, run=run)


def check_dice_score(function: Callable) -> Callable:
    """Notebook 07: ``function(pred, truth)`` returns the Dice of two binary masks as a float,
    1.0 when both are empty (BraTS's convention) and 0.0 when only one is. Returns the
    function later cells use."""
    from ..metrics import dice_score

    truth = np.zeros((4, 4, 4), bool)
    truth[1:3, 1:3, 1:3] = True  # 8 voxels
    shifted = np.zeros_like(truth)
    shifted[1:3, 1:3, 2:4] = True  # 8 voxels, 4 shared
    empty = np.zeros_like(truth)
    overlap_hint = "2 |A and B| / (|A| + |B|): the overlap against the sizes, not the union."
    cases = [
        Case("identical masks", (truth, truth), 1.0, overlap_hint),
        Case(
            "half overlap, 8 voxels each",
            (shifted, truth),
            0.5,
            "2 * 4 / (8 + 8): the overlap against the sizes, not the union (4 / 12 is the "
            "Jaccard index).",
        ),
        Case(
            "both empty",
            (empty, empty),
            1.0,
            "Nothing to find and nothing found is a perfect answer: return 1, don't divide by 0.",
        ),
        Case("prediction empty, tumour present", (empty, truth), 0.0, "Nothing found: 0."),
        Case("tumour absent, prediction not", (truth, empty), 0.0, "A false alarm: 0."),
    ]
    return check("dice_score", function, cases, dice_score, run=lambda *a: float(function(*a)))


def check_threshold_baseline(function: Callable) -> Callable:
    """Notebook 07: ``function(flair, t1ce, flair_threshold, t1ce_threshold)`` returns
    ``(whole_tumour, enhancing)`` boolean masks: the largest 26-connected piece of FLAIR
    strictly above its threshold, and every voxel of T1ce strictly above its own. Returns the
    function later cells use (`baselines.threshold_baseline` until it passes)."""
    from ..baselines import threshold_baseline

    flair = np.zeros((8, 8, 8), np.float32)
    flair[1:4, 1:4, 1:4] = 3.0  # 27 voxels
    flair[6, 6, 6] = 3.0  # a speck
    t1ce = np.zeros_like(flair)
    t1ce[2, 2, 2] = 4.0
    t1ce[7, 0, 0] = 4.0  # a bright vessel far from the tumour
    one_piece = flair.copy()
    one_piece[6, 6, 6] = 0.0
    diagonal = np.zeros_like(flair)
    diagonal[1:3, 1:3, 1:3] = 3.0  # 8 voxels
    diagonal[3, 3, 3] = 3.0  # touches them only at a corner
    diagonal[5:7, 6:8, 0:2] = 3.0  # 8 voxels elsewhere: the corner voxel decides
    situations = [
        (
            "a tumour and a speck",
            flair,
            (2.0, 3.0),
            "Keep only the largest piece: scipy.ndimage.label, then the label with the most "
            "voxels (np.bincount), ignoring label 0, the background.",
        ),
        (
            "values equal to the thresholds",
            flair,
            (3.0, 4.0),
            "Strictly above (>): a voxel at the threshold is not tumour. And nothing above "
            "the threshold means empty masks, not an error.",
        ),
        (
            "a piece that touches another at a corner",
            diagonal,
            (2.0, 3.0),
            "Corner neighbours are connected (26-connectivity, as BraTS counts lesions): "
            "ndimage.label(mask, structure=np.ones((3, 3, 3))).",
        ),
        (
            "bright T1ce outside the tumour",
            one_piece,
            (2.0, 3.0),
            "The enhancing mask is T1ce above its threshold everywhere, not only inside the "
            "whole tumour: this baseline is meant to see what a threshold sees.",
        ),
    ]
    cases = [
        Case(text, (image, t1ce, *limits), threshold_baseline(image, t1ce, *limits), hint)
        for text, image, limits, hint in situations
    ]
    return check("threshold_baseline", function, cases, threshold_baseline)


def soft_dice_loss(probabilities, target, squared: bool = False, smooth: float = 1e-5):
    """Notebook 07: the soft Dice loss of probabilities and 0/1 targets ``(B, C, *spatial)``,
    a scalar tensor (`losses.SoftDiceLoss` with ``from_logits=False``)."""
    from ..losses import SoftDiceLoss

    loss = SoftDiceLoss("regions", squared, smooth=smooth, from_logits=False)
    return loss(probabilities, target)
