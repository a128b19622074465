"""What every metric accepts: binary masks of one shape, and one voxel size per axis (private).

Shared by the metrics' modules and by `course_utils.lesionwise` and `course_utils.postprocess`
(which import these names from `course_utils.metrics`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Array", "as_mask", "as_masks", "as_spacing"]

Array = Union[np.ndarray, "torch.Tensor"]


def as_mask(array: Array, name: str) -> np.ndarray:
    """``array`` as a NumPy bool array; ``ValueError`` for values other than 0 and 1."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if array.dtype == bool:
        return array
    if array.size and not np.all((array == 0) | (array == 1)):
        raise ValueError(
            f"{name} must be a binary mask (bool, or 0 and 1 only); got {array.dtype} values "
            f"from {array.min()} to {array.max()}. Threshold probabilities first (p > 0.5)."
        )
    return array.astype(bool)


def as_masks(pred: Array, truth: Array) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = as_mask(pred, "pred"), as_mask(truth, "truth")
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth differ in shape: {pred.shape} and {truth.shape}.")
    return pred, truth


def as_spacing(spacing_mm: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    spacing = (spacing_mm,) * ndim if np.isscalar(spacing_mm) else tuple(spacing_mm)
    if len(spacing) != ndim or not all(float(s) > 0 for s in spacing):
        raise ValueError(
            f"spacing_mm must be one positive voxel size or {ndim}, one per axis; "
            f"got {spacing_mm!r}"
        )
    return tuple(float(s) for s in spacing)
