"""What every transform takes and returns: an item dict, a generator, a probability ``p``.

An item is ``{"image": ..., "label": ..., ...}`` as `course_utils.datasets` makes them:

- ``"image"``: float ``(C, D, H, W)`` (3D) or ``(C, H, W)`` (2D slices);
- ``"label"`` (optional): binary regions ``(K, D, H, W)`` or integer classes ``(D, H, W)``,
  likewise in 2D. The number of spatial axes is read from the image (``image.ndim - 1``).

A transform is called as ``transform(item, generator)`` and returns a new dict; its input is
never modified, so a cached item stays as it was. `RandomTransform` is the base class: one
draw decides whether it applies (probability ``p``), then `RandomTransform.apply` draws its
parameters from the same generator. `check_item` refuses malformed items; `brain_mask` and
`channel_view` are the two shapes the intensity transforms (and
`course_utils.datasets.normalisation`) work with.
"""

from __future__ import annotations

import torch

__all__ = ["RandomTransform"]


def brain_mask(image: torch.Tensor) -> torch.Tensor:
    """``(1, *spatial)`` bool: voxels non-zero in at least one channel."""
    return (image != 0).any(dim=0, keepdim=True)


def channel_view(image: torch.Tensor) -> tuple[int, ...]:
    """Shape that broadcasts a per-channel ``(C,)`` vector over ``(C, *spatial)``."""
    return (-1,) + (1,) * (image.ndim - 1)


def check_item(item: dict) -> int:
    """The number of spatial axes of ``item`` (2 or 3); TypeError/ValueError if malformed."""
    image = item.get("image") if isinstance(item, dict) else None
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise TypeError(
            "transforms take an item dict whose 'image' is a float torch.Tensor (C, D, H, W) "
            f"or (C, H, W); got {type(image).__name__}. Use torch.from_numpy(...).float()."
        )
    if image.ndim not in (3, 4):
        raise ValueError(f"'image' must be (C, H, W) or (C, D, H, W); got {tuple(image.shape)}.")
    label = item.get("label")
    if label is not None and tuple(label.shape[-(image.ndim - 1) :]) != tuple(image.shape[1:]):
        raise ValueError(
            f"'label' {tuple(label.shape)} and 'image' {tuple(image.shape)} must share their "
            "spatial shape."
        )
    return image.ndim - 1


class RandomTransform:
    """Base class: with probability ``p``, `apply` the transform with parameters drawn from
    the generator; otherwise return the item itself. One draw decides, whatever ``p``.
    """

    def __init__(self, p: float) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p is a probability, in [0, 1]; got {p!r}.")
        self.p = float(p)

    def __call__(self, item: dict, generator: torch.Generator | None = None) -> dict:
        check_item(item)
        if torch.rand((), generator=generator) >= self.p:
            return item
        return self.apply(item, generator)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({settings})"
