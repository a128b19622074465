"""Voxel-space geometry of the spatial transforms: a sampling matrix, and the warp applying it.

`rotation_matrix` and `voxel_sampling_matrix` build the homogeneous matrix of a rotation,
scaling and shift about the grid's centre, as the *pull* map that resampling needs (output
voxel -> input position, voxel indices to voxel indices; `course_utils.registration`'s
`world_transform_matrix` instead maps world mm points forwards). `matrix_to_theta` turns it
into ``affine_grid``'s normalised ``theta``, and `warp` resamples an item's image (linear) and
label (nearest neighbour) through it on one grid, so they stay aligned and the label only
ever takes values it already had.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .base import check_item

__all__ = ["rotation_matrix", "voxel_sampling_matrix", "warp"]


def rotation_matrix(angles_deg: Sequence[float]) -> np.ndarray:
    """A rotation of voxel space: one angle in 2D, three (about the D, H, W axes) in 3D.

    A positive angle about an axis turns the content from the lower-numbered of the two other
    axes towards the higher one, as ``torch.rot90(x, 1, dims)`` does; 3D rotations are applied
    about D, then H, then W. Returns float64 ``(2, 2)`` or ``(3, 3)``.

    Examples
    --------
    >>> rotation_matrix([90]).round(6)
    array([[ 0., -1.],
           [ 1.,  0.]])
    """
    radians = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    if radians.shape == (1,):
        c, s = np.cos(radians[0]), np.sin(radians[0])
        return np.array([[c, -s], [s, c]])
    if radians.shape != (3,):
        raise ValueError(f"give one angle (2D) or three (3D); got {angles_deg!r}.")
    matrix = np.eye(3)
    for axis, angle in enumerate(radians):
        i, j = (a for a in range(3) if a != axis)
        turn = np.eye(3)
        turn[[i, i, j, j], [i, j, i, j]] = (
            np.cos(angle),
            -np.sin(angle),
            np.sin(angle),
            np.cos(angle),
        )
        matrix = turn @ matrix
    return matrix


def voxel_sampling_matrix(
    shape: Sequence[int],
    angles_deg: Sequence[float],
    scales: Sequence[float],
    shifts: Sequence[float],
) -> np.ndarray:
    """The voxel-space sampling matrix of a rotation, scaling and shift about the centre.

    The content is rotated by ``angles_deg`` (see `rotation_matrix`), magnified by ``scales``
    (> 1 enlarges it) about the centre of the grid, then moved by ``shifts`` voxels. The matrix
    returned is the inverse map that resampling needs: output voxel ``v`` takes its value from
    input position ``M @ [*v, 1]``. Convention: voxel indices to voxel indices, pulling (unlike
    `course_utils.registration.world_transform_matrix`, which maps world mm points forwards).

    Parameters
    ----------
    shape
        Spatial shape ``(D, H, W)`` or ``(H, W)`` in voxels.
    angles_deg, scales, shifts
        One angle (2D) or three (3D), in degrees; one scale factor per axis; one shift per
        axis, in voxels.

    Returns
    -------
    numpy.ndarray
        float64 ``(n + 1, n + 1)`` homogeneous matrix, voxel indices to voxel indices.

    Examples
    --------
    >>> voxel_sampling_matrix((5, 5), [0], [1, 1], [1, -2])
    array([[ 1.,  0., -1.],
           [ 0.,  1.,  2.],
           [ 0.,  0.,  1.]])
    """
    n = len(shape)
    centre = (np.asarray(shape, dtype=np.float64) - 1) / 2
    linear = np.diag(1 / np.asarray(scales, dtype=np.float64)) @ rotation_matrix(angles_deg).T
    matrix = np.eye(n + 1)
    matrix[:n, :n] = linear
    matrix[:n, n] = centre - linear @ (centre + np.asarray(shifts, dtype=np.float64))
    return matrix


def matrix_to_theta(matrix: np.ndarray, shape: Sequence[int]) -> torch.Tensor:
    """A voxel-space sampling matrix as ``affine_grid``'s ``theta`` (``align_corners=True``).

    ``affine_grid`` works in normalised coordinates (-1 to 1 along each axis, whatever its
    length) listed last axis first (x = W). A rotation written directly in those coordinates
    would shear a non-cubic volume, so the voxel matrix is conjugated by the voxel <->
    normalised scaling and its axes reversed. Returns float32 ``(1, n, n + 1)``.
    """
    n = len(shape)
    size = np.asarray(shape, dtype=np.float64)
    centre = (size - 1) / 2
    half = np.where(size > 1, centre, 1.0)  # voxel = half * normalised + centre
    linear, offset = matrix[:n, :n], matrix[:n, n]
    theta = np.zeros((n, n + 1))
    theta[:, :n] = (linear * half[None, :] / half[:, None])[::-1, ::-1]
    theta[:, n] = ((linear @ centre + offset - centre) / half)[::-1]
    return torch.from_numpy(theta).to(torch.float32)[None]


def warp(item: dict, matrix: np.ndarray) -> dict:
    """Resample image and label of ``item`` through a voxel-space sampling matrix.

    The image is interpolated (trilinear in 3D, bilinear in 2D), the label by nearest
    neighbour, both on one grid, so they stay aligned; voxels that sample outside the volume
    become 0 (background). See `voxel_sampling_matrix` for ``matrix``.
    """
    n = check_item(item)
    image = item["image"]
    theta = matrix_to_theta(np.asarray(matrix, dtype=np.float64), image.shape[1:])
    grid = F.affine_grid(theta.to(image.dtype), [1, 1, *image.shape[1:]], align_corners=True)
    result = dict(item)
    result["image"] = F.grid_sample(
        image[None], grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )[0]
    label = item.get("label")
    if label is not None:
        stacked = label.reshape(1, -1, *label.shape[label.ndim - n :]).to(grid.dtype)
        sampled = F.grid_sample(
            stacked, grid, mode="nearest", padding_mode="zeros", align_corners=True
        )
        result["label"] = sampled.reshape(label.shape).to(label.dtype)
    return result
