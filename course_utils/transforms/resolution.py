"""Resolution: `RandomResample` blurs the image as registration and thick slices do.

A network trained only on images rendered on their own grid has never seen the softening
that every registered, resampled or thick-slice scan carries; `RandomResample` shows it that,
on 2D and 3D items, the label staying on the item's grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import RandomTransform
from .generators import uniform
from .warping import voxel_sampling_matrix, warp

__all__ = ["RandomResample"]


class RandomResample(RandomTransform):
    """Blur the image as resampling does: a sub-voxel shift, a coarser grid and back.

    What every registered and resampled scan has been through, and what a network trained on
    images rendered on their own grid never saw: the image is shifted by up to ``shift``
    voxels per axis (linear interpolation; the label moves with it, by nearest neighbour),
    then sampled onto a grid ``factor`` times coarser along each axis (linear; each axis's
    factor uniform in ``factors``, one axis made ``thick`` times coarser still with
    probability ``p_thick``, as thick-slice acquisitions are) and back onto the item's grid
    (linear). The label stays on the item's grid. It works on 2D and 3D items.

    Parameters
    ----------
    factors
        ``(low, high)``: per-axis voxel-size factors of the coarse grid, ``>= 1``.
    thick
        ``(low, high)``: extra factor of the thick axis.
    p_thick
        Probability that one (random) axis is thick.
    shift
        Largest sub-voxel shift, in voxels, per axis.
    p
        Probability of applying the transform.
    """

    def __init__(
        self,
        factors: tuple[float, float] = (1.0, 1.6),
        thick: tuple[float, float] = (1.5, 2.5),
        p_thick: float = 0.3,
        shift: float = 0.5,
        p: float = 0.3,
    ) -> None:
        super().__init__(p)
        if not 1.0 <= factors[0] <= factors[1] or not 1.0 <= thick[0] <= thick[1]:
            raise ValueError(f"factors and thick must be (low, high) with 1 <= low <= high; "
                             f"got {factors!r}, {thick!r}.")  # fmt: skip
        self.factors, self.thick, self.p_thick = tuple(factors), tuple(thick), float(p_thick)
        self.shift = float(shift)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        shape = tuple(item["image"].shape[1:])
        n = len(shape)
        shifts = uniform(-self.shift, self.shift, n, generator)
        factor = uniform(*self.factors, n, generator)
        thick_axis = int(torch.randint(n, (), generator=generator))
        if float(uniform(0.0, 1.0, 1, generator)[0]) < self.p_thick:
            factor[thick_axis] *= float(uniform(*self.thick, 1, generator)[0])
        moved = warp(item, voxel_sampling_matrix(shape, [0.0] * (3 if n == 3 else 1),
                                                 [1.0] * n, shifts))  # fmt: skip
        coarse = [max(2, round(size / f)) for size, f in zip(shape, factor, strict=True)]
        mode = "trilinear" if n == 3 else "bilinear"
        image = F.interpolate(moved["image"][None], size=coarse, mode=mode, align_corners=False)
        image = F.interpolate(image, size=shape, mode=mode, align_corners=False)[0]
        return {**moved, "image": image.contiguous()}
