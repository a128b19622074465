"""Argument checks shared by the patch modules (private: not part of the public API).

Sizes come as one int or three; volumes as NumPy arrays or torch tensors, which these
helpers tell apart without importing torch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = ["Array", "is_int", "as_triple", "check_stride", "check_volume", "is_torch", "to_numpy"]

Array = Union[np.ndarray, "torch.Tensor"]


def is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def as_triple(value: int | Sequence[int], name: str) -> tuple[int, int, int]:
    """``value`` as three positive ints, one per spatial axis (one int means all three)."""
    try:
        values = (value,) * 3 if is_int(value) else tuple(value)
    except TypeError:  # not iterable
        values = ()
    if len(values) != 3 or not all(is_int(v) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be one positive integer or three, one per axis (D, H, W); got {value!r}."
        )
    return tuple(int(v) for v in values)


def check_stride(patch: tuple[int, ...], stride: tuple[int, ...]) -> None:
    for axis, (p, s) in enumerate(zip(patch, stride, strict=True)):
        if s > p:
            raise ValueError(
                f"stride {s} is larger than the patch ({p}) on axis {axis}, so the grid would "
                "skip voxels; use a stride no larger than the patch size."
            )


def check_volume(volume: Array, name: str = "volume", ndim: int = 4) -> None:
    axes, missing = ("(C, D, H, W)", "channel") if ndim == 4 else ("(B, C, D, H, W)", "batch")
    if not hasattr(volume, "ndim") or volume.ndim != ndim:
        shape = tuple(getattr(volume, "shape", ()))
        raise ValueError(
            f"{name} must be an array with {ndim} axes {axes}; got shape {shape}. "
            f"If the {missing} axis is missing, add it with {name}[None]."
        )


def is_torch(array: object) -> bool:
    """Whether ``array`` is a torch tensor (or a subclass, like MONAI's ``MetaTensor``)."""
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    return torch is not None and isinstance(array, torch.Tensor)


def to_numpy(array: Array) -> np.ndarray:
    if is_torch(array):
        return array.detach().cpu().numpy()
    return np.asarray(array)
