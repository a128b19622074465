"""Losses: soft Dice, and Dice plus cross-entropy, for regions (sigmoid) or labels (softmax).

Two ways to set up tumour segmentation, chosen with ``mode``:

- ``"regions"``: one sigmoid channel per BraTS region (WT, TC, ET), which may overlap; the
  target is float ``(B, 3, *spatial)`` of 0/1, as `datasets.classes_to_regions` gives it.
- ``"labels"``: one softmax channel per class (background, necrotic core, oedema, enhancing);
  the target is int64 ``(B, *spatial)`` of classes 0..C-1, one-hot encoded inside the loss.

Inputs are the network's logits ``(B, C, *spatial)`` (any number of spatial axes). Losses are
`torch.nn.Module` s that return a float32 scalar (``reduction="mean"``).

Used by notebook 07 (U-Net training).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SoftDiceLoss", "DiceCELoss"]

Mode = Literal["regions", "labels"]
MODES = ("regions", "labels")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be 'regions' (sigmoid) or 'labels' (softmax); got {mode!r}")


def check_target(prediction: torch.Tensor, target: torch.Tensor, mode: Mode) -> None:
    """Raise ``ValueError`` unless ``target`` fits ``prediction`` ``(B, C, *spatial)``."""
    if mode == "regions":
        if target.shape != prediction.shape:
            raise ValueError(
                f"in 'regions' mode the target must have the prediction's shape "
                f"{tuple(prediction.shape)} (B, C, *spatial); got {tuple(target.shape)}."
            )
        return
    expected = (prediction.shape[0], *prediction.shape[2:])
    if target.shape != expected or target.dtype.is_floating_point:
        raise ValueError(
            f"in 'labels' mode the target must be integer classes of shape {expected} "
            f"(B, *spatial), without a channel axis; got {target.dtype} "
            f"{tuple(target.shape)}."
        )


def one_hot(target: torch.Tensor, classes: int) -> torch.Tensor:
    """int64 ``(B, *spatial)`` classes -> float ``(B, classes, *spatial)`` of 0/1."""
    if target.numel() and not 0 <= int(target.min()) <= int(target.max()) < classes:
        raise ValueError(
            f"target classes must be 0..{classes - 1} (the prediction has {classes} channels); "
            f"got values from {int(target.min())} to {int(target.max())}."
        )
    encoded = F.one_hot(target.long(), classes)  # (B, *spatial, classes)
    return encoded.movedim(-1, 1).float()


class SoftDiceLoss(nn.Module):
    """One minus the soft Dice coefficient, per sample and channel, averaged.

    For each sample ``b`` and channel ``c``, with probabilities ``p`` and target ``g`` summed
    over the voxels::

        dice = (2 * sum(p * g) + smooth) / (sum(p) + sum(g) + smooth)          # default
        dice = (2 * sum(p * g) + smooth) / (sum(p**2) + sum(g**2) + smooth)    # squared

    and the loss is ``1 - dice``. The squared denominator is the V-Net formulation (Milletari,
    Navab and Ahmadi, "V-Net: fully convolutional neural networks for volumetric medical image
    segmentation", 3DV 2016), the one the deeplearning.ai AI-for-Medicine course teaches; the
    plain sum is the default of MONAI's ``DiceLoss`` and of nnU-Net. Both give 0 for a perfect
    binary prediction and 1 for a disjoint one.

    Parameters
    ----------
    mode
        ``"regions"``: sigmoid per channel, target float ``(B, C, *spatial)`` of 0/1.
        ``"labels"``: softmax over the channels, target int64 ``(B, *spatial)`` of classes.
    squared_denominator
        Sum squares in the denominator (V-Net) instead of plain sums.
    smooth
        Added to numerator and denominator: it keeps the ratio defined for empty channels.
    include_background
        ``"labels"`` mode only: ``False`` leaves channel 0 (background) out of the average
        (the softmax still runs over every class).
    from_logits
        ``True`` (default): the prediction holds logits and the sigmoid or softmax is applied
        here. ``False``: it already holds probabilities in [0, 1].
    batch
        ``False`` (default): one Dice per sample and channel. ``True``: sums run over the
        whole batch as well (nnU-Net's "batch Dice"), one Dice per channel.
    reduction
        ``"mean"``: a scalar. ``"none"``: the loss per sample and channel, ``(B, C)`` (or
        ``(C,)`` with ``batch=True``).

    Notes
    -----
    **Empty channels.** When a channel's target is empty (no tumour of that kind in the patch)
    ``dice = smooth / (sum(p) + smooth)``: the loss is 0 when the prediction is empty too, and
    rises towards 1 as soon as the predicted mass ``sum(p)`` is large compared with ``smooth``
    (with ``smooth=1e-5`` even 0.001 of probability gives a loss near 1). So an empty channel
    rewards predicting exactly nothing, and a few stray positives cost as much as missing a
    whole tumour. A larger ``smooth`` (1, say) or ``batch=True`` softens this.

    Examples
    --------
    >>> truth = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])  # (B=1, C=1, W=4)
    >>> half = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])   # one of the two voxels right
    >>> dice = SoftDiceLoss("regions", from_logits=False, smooth=0.0)
    >>> float(dice(half, truth))  # 1 - 2 * 1 / (2 + 2)
    0.5
    """

    def __init__(
        self,
        mode: Mode = "regions",
        squared_denominator: bool = False,
        smooth: float = 1e-5,
        include_background: bool = True,
        from_logits: bool = True,
        batch: bool = False,
        reduction: Literal["mean", "none"] = "mean",
    ):
        super().__init__()
        check_mode(mode)
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none'; got {reduction!r}")
        if smooth < 0:
            raise ValueError(f"smooth must be >= 0; got {smooth}")
        self.mode = mode
        self.squared_denominator = squared_denominator
        self.smooth = smooth
        self.include_background = include_background
        self.from_logits = from_logits
        self.batch = batch
        self.reduction = reduction

    def probabilities_and_target(
        self, prediction: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both as float ``(B, C, *spatial)``, background dropped if asked."""
        check_target(prediction, target, self.mode)
        if self.mode == "regions":
            probabilities = torch.sigmoid(prediction) if self.from_logits else prediction
            return probabilities, target.to(probabilities.dtype)
        probabilities = torch.softmax(prediction, dim=1) if self.from_logits else prediction
        target = one_hot(target, prediction.shape[1]).to(probabilities.dtype)
        if not self.include_background:
            probabilities, target = probabilities[:, 1:], target[:, 1:]
        return probabilities, target

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of logits ``(B, C, *spatial)`` against ``target`` (see ``mode``)."""
        p, g = self.probabilities_and_target(prediction, target)
        axes = tuple(range(2, p.ndim))
        if self.batch:
            axes = (0, *axes)
        overlap = (p * g).sum(axes)
        if self.squared_denominator:
            total = (p * p).sum(axes) + (g * g).sum(axes)
        else:
            total = p.sum(axes) + g.sum(axes)
        loss = 1 - (2 * overlap + self.smooth) / (total + self.smooth)
        return loss.mean() if self.reduction == "mean" else loss


class DiceCELoss(nn.Module):
    """Soft Dice plus cross-entropy: ``dice_weight * Dice + ce_weight * CE``.

    The combination nnU-Net trains with (Isensee et al., "nnU-Net: a self-configuring method for
    deep learning-based biomedical image segmentation", Nature Methods 2021): cross-entropy
    gives smooth, per-voxel gradients from the first step; Dice counters the imbalance between
    a small tumour and a large background.

    Parameters
    ----------
    mode
        ``"regions"``: `SoftDiceLoss` on sigmoids plus binary cross-entropy with logits
        (averaged over every voxel and channel); target float ``(B, C, *spatial)`` of 0/1.
        ``"labels"``: `SoftDiceLoss` on the softmax plus cross-entropy over the classes;
        target int64 ``(B, *spatial)``.
    dice_weight, ce_weight
        Weights of the two terms (non-negative).
    squared_denominator, smooth, include_background, batch
        Passed to `SoftDiceLoss`. ``include_background`` affects the Dice term only; the
        cross-entropy always covers every class.

    Examples
    --------
    >>> logits = torch.zeros(1, 2, 4)  # sigmoid 0.5 everywhere
    >>> truth = torch.tensor([[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    >>> loss = DiceCELoss("regions", dice_weight=0.0, ce_weight=1.0)
    >>> round(float(loss(logits, truth)), 4)  # log 2
    0.6931
    """

    def __init__(
        self,
        mode: Mode = "regions",
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        squared_denominator: bool = False,
        smooth: float = 1e-5,
        include_background: bool = True,
        batch: bool = False,
    ):
        super().__init__()
        if dice_weight < 0 or ce_weight < 0:
            raise ValueError(
                f"weights must be non-negative; got dice_weight={dice_weight}, "
                f"ce_weight={ce_weight}"
            )
        self.mode = mode
        self.dice_weight = dice_weight
        self.ce_weight = ce_weight
        self.dice = SoftDiceLoss(
            mode, squared_denominator, smooth, include_background, from_logits=True, batch=batch
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The weighted sum, a scalar, for logits ``(B, C, *spatial)`` (see ``mode``)."""
        dice = self.dice(prediction, target)  # checks the target's shape and dtype
        if self.mode == "regions":
            ce = F.binary_cross_entropy_with_logits(prediction, target.to(prediction.dtype))
        else:
            ce = F.cross_entropy(prediction, target.long())
        return self.dice_weight * dice + self.ce_weight * ce
