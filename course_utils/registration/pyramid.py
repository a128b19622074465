"""The image pyramid `register` optimises on: block-averaged levels and their sample points.

Both images are scaled to [0, 1] (`normalise_intensity`), block-averaged per shrink factor
(`downsample`), and at each `Level` a seeded subset of fixed points is kept where the metric
is evaluated. `sample_moving` reads the moving image at mapped points through
``torch.nn.functional.grid_sample``, differentiably.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from ..errors import RegistrationInputError
from .similarity import hard_bins
from .spatial import image_values

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

    from .settings import RegistrationSettings

__all__ = [
    "Level",
    "normalise_intensity",
    "downsample",
    "world_to_normalised",
    "default_mask",
    "build_level",
    "build_pyramid",
    "sample_moving",
]

#: A volume as ``(values (X, Y, Z) float32, affine 4 x 4 voxel -> RAS+ mm)``.
Volume = tuple[np.ndarray, np.ndarray]


@dataclass
class Level:
    """One pyramid level: the fixed points and values, the moving image, their geometry."""

    shrink: int
    points: torch.Tensor  # (N, 3) fixed world mm, minus the centre of rotation
    fixed_values: torch.Tensor  # (N,)
    fixed_rows: torch.Tensor | None  # hard_bins(fixed values) * bins, for MI
    moving: torch.Tensor  # (1, 1, X, Y, Z)
    moving_to_normalised: torch.Tensor  # (4, 4): world mm -> grid_sample coordinates (x=Z...)
    fixed_normalised: torch.Tensor  # (N, 3): grid_sample coordinates on the full fixed grid


def normalise_intensity(values: np.ndarray) -> np.ndarray:
    """Scale so that the 99.5th percentile of the positive voxels is 1, then clip to [0, 1]."""
    positive = values[values > 0]
    top = float(np.percentile(positive, 99.5)) if positive.size else 1.0
    return np.clip(values / max(top, 1e-12), 0.0, 1.0).astype(np.float32)


def downsample(values: np.ndarray, affine: np.ndarray, shrink: int):
    """Average ``shrink**3`` blocks of voxels: ``(values, affine)`` of the coarser grid."""
    import torch
    import torch.nn.functional as F

    if shrink == 1:
        return values, affine
    tensor = torch.from_numpy(values)[None, None]
    pooled = F.avg_pool3d(tensor, shrink, ceil_mode=False)[0, 0].numpy()
    scale = np.diag([shrink, shrink, shrink, 1.0])
    scale[:3, 3] = (shrink - 1) / 2.0
    return pooled, affine @ scale


def world_to_normalised(shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """4 x 4 matrix from world mm to ``grid_sample`` coordinates of a ``(X, Y, Z)`` volume.

    ``grid_sample`` (``align_corners=True``) puts -1 and 1 on the first and last voxel centres
    and lists coordinates last axis first: its ``x`` runs along our ``Z``.
    """
    to_unit = np.diag([*(2.0 / np.maximum(np.asarray(shape) - 1, 1)), 1.0])
    to_unit[:3, 3] = -1.0
    reverse = np.eye(4)[[2, 1, 0, 3]]
    return reverse @ to_unit @ np.linalg.inv(affine)


def default_mask(values: np.ndarray, mask: np.ndarray | None, margin: int = 2) -> np.ndarray:
    """Where to evaluate the metric: the given mask, or the foreground grown by ``margin``."""
    from scipy import ndimage

    if mask is not None:
        return np.asarray(mask, bool)
    foreground = values > 0.02
    if not foreground.any():
        return np.ones(values.shape, bool)
    return ndimage.binary_dilation(foreground, iterations=margin)


def build_level(
    fixed: Volume,
    moving: Volume,
    mask: np.ndarray,
    shrink: int,
    centre: np.ndarray,
    settings: RegistrationSettings,
    rng: np.random.Generator,
) -> Level:
    """Downsample both images by ``shrink`` and pick the fixed points of the metric.

    ``fixed`` and ``moving`` are ``(values, affine)`` pairs, values scaled to [0, 1]; ``mask``
    is boolean on the fixed grid; ``centre`` (mm) is subtracted from the points. At most
    ``settings.max_points`` points are kept (a subset drawn from ``rng``).
    """
    bins, max_points = settings.histogram_bins, settings.max_points
    import torch

    fixed_values, fixed_affine = downsample(fixed[0], fixed[1], shrink)
    moving_values, moving_affine = downsample(moving[0], moving[1], shrink)
    level_mask, _ = downsample(mask.astype(np.float32), fixed[1], shrink)
    index = np.flatnonzero(level_mask.ravel() > 0.25)
    if len(index) > max_points:  # a seeded random subset, kept in memory order (faster)
        index = np.sort(rng.choice(index, max_points, replace=False))
    ijk = np.stack(np.unravel_index(index, fixed_values.shape)).astype(np.float64)
    world = fixed_affine[:3, :3] @ ijk + fixed_affine[:3, 3:]
    # control-grid coordinates are relative to the full-resolution fixed grid, at every level
    normalised = world_to_normalised(fixed[0].shape, fixed[1])
    fixed_normalised = (normalised[:3, :3] @ world + normalised[:3, 3:]).T
    values = torch.from_numpy(fixed_values.ravel()[index])
    return Level(
        shrink=shrink,
        points=torch.from_numpy((world.T - centre).astype(np.float32)),
        fixed_values=values,
        fixed_rows=hard_bins(values, bins) * bins if bins else None,
        moving=torch.from_numpy(np.ascontiguousarray(moving_values))[None, None],
        moving_to_normalised=torch.from_numpy(
            world_to_normalised(moving_values.shape, moving_affine)
        ).float(),
        fixed_normalised=torch.from_numpy(fixed_normalised.astype(np.float32)),
    )


def build_pyramid(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    settings: RegistrationSettings,
    centre: np.ndarray,
    mask: np.ndarray | None = None,
) -> dict[int, Level]:
    """``{shrink: Level}`` for every level of ``settings``: both images scaled to [0, 1], the
    metric's points picked per level (seeded by ``settings.seed``) inside ``mask`` (boolean
    on the fixed grid; default: the fixed foreground grown by 2 voxels)."""
    fixed_values = normalise_intensity(image_values(fixed))
    moving_values = normalise_intensity(image_values(moving))
    if mask is not None and np.shape(mask) != fixed_values.shape:
        raise ValueError(
            f"fixed_mask has shape {np.shape(mask)}; it must match the fixed image "
            f"{fixed_values.shape}."
        )
    for name, image, values in (("fixed", fixed, fixed_values), ("moving", moving, moving_values)):
        if not (values > 0).any():
            raise RegistrationInputError(
                image.get_filename(),
                f"the {name} image is empty (no positive voxel).",
                "Check the input.",
            )
    mask = default_mask(fixed_values, mask)
    rng = np.random.default_rng(settings.seed)
    fixed_pair = (fixed_values, np.asarray(fixed.affine, float))
    moving_pair = (moving_values, np.asarray(moving.affine, float))
    return {
        s: build_level(fixed_pair, moving_pair, mask, s, centre, settings, rng)
        for s in sorted(settings.shrinks)
    }


def sample_moving(
    level: Level,
    linear: torch.Tensor,
    shift: torch.Tensor,
    centre: np.ndarray,
    displacement: torch.Tensor | None = None,
) -> torch.Tensor:
    """Moving intensities at the mapped fixed points (differentiable): ``(N,)``.

    Fixed point ``p`` (relative to ``centre``, mm) plus ``displacement`` ``(N, 3)`` mm goes
    to ``linear @ p + centre + shift`` (``linear`` 3 x 3, ``shift`` (3,) mm) in moving space.
    """
    import torch
    import torch.nn.functional as F

    points = level.points if displacement is None else level.points + displacement
    world = points @ linear.T + (torch.from_numpy(centre).float() + shift)
    grid = world @ level.moving_to_normalised[:3, :3].T + level.moving_to_normalised[:3, 3]
    sampled = F.grid_sample(level.moving, grid[None, :, None, None, :], align_corners=True)
    return sampled.reshape(-1)
