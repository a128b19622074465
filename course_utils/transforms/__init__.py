"""Seeded augmentation, applied jointly to an item's image and label.

Every transform takes an item ``{"image": ..., "label": ..., ...}`` (as `datasets` makes them)
and a ``torch.Generator``, and returns a new dict; its input is never modified, so a cached item
stays as it was. Shapes:

- ``"image"``: float ``(C, D, H, W)`` (3D) or ``(C, H, W)`` (2D slices);
- ``"label"`` (optional): binary regions ``(K, D, H, W)`` or integer classes ``(D, H, W)``,
  likewise in 2D. The number of spatial axes is read from the image (``image.ndim - 1``).

Spatial transforms (`RandomFlip`, `RandomAffine`) move image and label together; the label is
resampled with nearest neighbour, so it only ever takes values it already had. Intensity
transforms (`RandomIntensityScaleShift`, `RandomGamma`, `RandomGaussianNoise`) touch the image
inside the brain only (voxels non-zero in some channel), so the background stays 0 as
`datasets.zscore_normalise` left it. Every random number comes from the generator, through
vectorised torch operations: nothing loops over voxels.

Randomness is an argument, never state: the dataset passes ``sample_generator(seed, epoch,
index)``, so the augmentation of a sample depends on the seed, the epoch and the sample's index
only, never on which DataLoader worker loads it. Called without a generator, a transform draws
from torch's global generator, as ``torch.rand`` does.

One idea per module, every public name re-exported here (``from course_utils import
transforms`` then ``transforms.default_augmentation()``):

- `generators`: `sample_generator`, one generator per (seed, epoch, index);
- `base`: the item contract and `RandomTransform`, the base class (probability ``p``);
- `warping`: `rotation_matrix`, `voxel_sampling_matrix` (voxel indices, pulling) and `warp`;
- `spatial`: `RandomFlip`, `RandomAffine`;
- `intensity`: `RandomIntensityScaleShift`, `RandomGamma`, `RandomGaussianNoise`;
- `resolution`: `RandomResample`, the blur of registration and thick slices;
- `compose`: `Compose`, `default_augmentation` and `training_augmentation`
  (what ``course-utils train`` applies).

Used by notebook 04 (files to tensors), notebook 06 (patching 3D volumes) and notebook 07
(U-Net training).
"""

from __future__ import annotations

from . import base, compose, generators, intensity, resolution, spatial, warping
from .base import *  # noqa: F403
from .compose import *  # noqa: F403
from .generators import *  # noqa: F403
from .intensity import *  # noqa: F403
from .resolution import *  # noqa: F403
from .spatial import *  # noqa: F403
from .warping import *  # noqa: F403

__all__ = [
    *generators.__all__,
    *warping.__all__,
    *base.__all__,
    *spatial.__all__,
    *intensity.__all__,
    *resolution.__all__,
    *compose.__all__,
]
