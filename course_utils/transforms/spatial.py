"""Spatial transforms: `RandomFlip` and `RandomAffine` move image and label together.

Both act in voxel space on the item's grid. A flip mirrors the arrays; an affine builds a
`voxel_sampling_matrix` from its draws and `warp`s the item through it: the image is
interpolated, the label resampled by nearest neighbour, so it only ever takes values it already
had. The item's ``"affine"`` is left unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import RandomTransform, check_item
from .generators import uniform
from .warping import voxel_sampling_matrix, warp

__all__ = ["RandomFlip", "RandomAffine"]


class RandomFlip(RandomTransform):
    """Mirror image and label along each of ``axes``, each with probability ``p``.

    ``axes`` are spatial axes: 0, 1, 2 for D, H, W (x, y, z in RAS+), or 0, 1 in 2D; default
    all of them. Flipping x swaps the hemispheres, a harmless symmetry for tumours.
    """

    def __init__(self, axes: Sequence[int] | None = None, p: float = 0.5) -> None:
        super().__init__(p)
        self.axes = None if axes is None else tuple(axes)

    def __call__(self, item: dict, generator: torch.Generator | None = None) -> dict:
        n = check_item(item)
        axes = tuple(range(n)) if self.axes is None else self.axes
        if any(a not in range(n) for a in axes):
            raise ValueError(f"axes {axes} are not spatial axes of a {n}D item.")
        draws = torch.rand(len(axes), generator=generator)
        chosen = [a for a, draw in zip(axes, draws, strict=True) if draw < self.p]
        if not chosen:
            return item
        result = dict(item)
        for key in ("image", "label"):
            if item.get(key) is not None:
                value = item[key]
                result[key] = torch.flip(value, [value.ndim - n + a for a in chosen])
        return result


class RandomAffine(RandomTransform):
    """Rotate, scale and shift image and label together (`voxel_sampling_matrix`, then `warp`).

    Parameters
    ----------
    degrees
        Each rotation angle (one in 2D, three in 3D) is uniform in ``[-degrees, degrees]``.
    scale
        ``(low, high)``: one magnification factor for all axes, uniform in this range.
    translation
        Each axis's shift is uniform in ``[-translation, translation]`` voxels.
    p
        Probability of applying the transform.

    Angles are in voxel space, so rotations are rigid only for isotropic voxels, as in BraTS
    (1 mm) and SynthBraTS (2 mm). The item's ``"affine"`` is left unchanged.
    """

    def __init__(
        self,
        degrees: float = 10.0,
        scale: tuple[float, float] = (0.9, 1.1),
        translation: float = 4.0,
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high; got {scale!r}.")
        self.degrees, self.scale, self.translation = (
            float(degrees),
            tuple(scale),
            float(translation),
        )

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        shape = item["image"].shape[1:]
        n = len(shape)
        angles = uniform(-self.degrees, self.degrees, 3 if n == 3 else 1, generator)
        factor = uniform(*self.scale, 1, generator)
        shifts = uniform(-self.translation, self.translation, n, generator)
        return warp(item, voxel_sampling_matrix(shape, angles, np.repeat(factor, n), shifts))
