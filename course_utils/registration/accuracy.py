"""Measuring a registration: target registration error, landmarks, Jacobians, checkerboards.

`target_registration_error` compares an estimated transform with a known one at target
points (Fitzpatrick and West, 2001); `landmark_error` scores it against paired landmarks;
`jacobian_determinant` shows where a displacement field compresses, expands or folds, and
`folding` says from it whether (and where) space folds;
`checkerboard` interleaves two slices so misalignment shows as broken edges.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "as_mapping",
    "target_registration_error",
    "landmark_error",
    "jacobian_determinant",
    "folding",
    "checkerboard",
]


def as_mapping(transform) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping ``(N, 3)`` points, from a 4 x 4 matrix or a `RegistrationResult`."""
    if hasattr(transform, "map_points"):
        return transform.map_points
    matrix = np.asarray(transform, float)
    if matrix.shape != (4, 4):
        raise ValueError(f"expected a 4 x 4 matrix or a RegistrationResult, got {matrix.shape}.")
    return lambda points: points @ matrix[:3, :3].T + matrix[:3, 3]


def target_registration_error(matrix_est, matrix_true, points: np.ndarray) -> np.ndarray:
    """Distance (mm) between where the estimated and the true transform send each point.

    ``matrix_est`` and ``matrix_true`` are 4 x 4 fixed-to-moving matrices (or
    `RegistrationResult` objects, whose displacement then counts); ``points`` is ``(N, 3)``
    world mm in fixed space (targets: typically the voxels of the brain). Returns ``(N,)``.
    Fitzpatrick and West, *IEEE TMI* 20(9), 2001: what matters clinically is the error at the
    targets, not the metric value or the parameters.

    Examples
    --------
    >>> from course_utils.registration import world_transform_matrix
    >>> truth = world_transform_matrix(translation_mm=(3.0, 0.0, 0.0))
    >>> target_registration_error(np.eye(4), truth, np.zeros((2, 3)))
    array([3., 3.])
    """
    points = np.atleast_2d(np.asarray(points, float))
    return np.linalg.norm(as_mapping(matrix_est)(points) - as_mapping(matrix_true)(points), axis=1)


def landmark_error(matrix_est, fixed_points: np.ndarray, moving_points: np.ndarray) -> np.ndarray:
    """Distance (mm) between mapped fixed landmarks and their moving counterparts, ``(N,)``.

    ``fixed_points[i]`` and ``moving_points[i]`` (world mm) mark the same anatomical point in
    the two images, for example picked by an expert; ``matrix_est`` maps fixed to moving.

    Examples
    --------
    >>> landmark_error(np.eye(4), [[0.0, 0.0, 0.0]], [[0.0, 4.0, 3.0]])
    array([5.])
    """
    fixed_points = np.atleast_2d(np.asarray(fixed_points, float))
    moving_points = np.atleast_2d(np.asarray(moving_points, float))
    if fixed_points.shape != moving_points.shape:
        raise ValueError(
            f"{len(fixed_points)} fixed landmarks but {len(moving_points)} moving ones: "
            "landmarks come in pairs."
        )
    return np.linalg.norm(as_mapping(matrix_est)(fixed_points) - moving_points, axis=1)


def jacobian_determinant(displacement: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """``det(I + du/dx)`` at every voxel of a ``(X, Y, Z, 3)`` mm field on ``affine``'s grid.

    Below 1 the mapping compresses, above 1 it expands; 0 or less means it folds (two fixed
    points land on one moving point), which no real anatomy does. Derivatives are central
    differences in voxel space, converted to mm through the affine.
    """
    field_ = np.asarray(displacement, float)
    per_voxel = np.stack(np.gradient(field_, axis=(0, 1, 2)), axis=-1)  # (..., 3 comp, 3 ijk)
    per_mm = per_voxel @ np.linalg.inv(np.asarray(affine, float)[:3, :3])
    return np.linalg.det(np.eye(3) + per_mm)


def folding(jacobian: np.ndarray) -> str:
    """A sentence, computed from ``jacobian`` (any shape), on whether the mapping folds.

    ``jacobian`` holds Jacobian determinants (`jacobian_determinant`); a voxel folds where
    its determinant is 0 or less. Returns ``"det J > 0 everywhere: no folding"`` or, for
    example, ``"det J <= 0 in 12 voxels (0.01 %): it folds"``.

    Examples
    --------
    >>> folding(np.array([0.5, 1.2]))
    'det J > 0 everywhere: no folding'
    >>> folding(np.array([0.5, -0.1, 1.0, 1.0]))
    'det J <= 0 in 1 voxel (25.00 %): it folds'
    """
    values = np.asarray(jacobian, float)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(f"folding needs finite Jacobian determinants, got shape {values.shape}.")
    folded = int(np.count_nonzero(values <= 0))
    if folded == 0:
        return "det J > 0 everywhere: no folding"
    share = 100 * folded / values.size
    return f"det J <= 0 in {folded} voxel{'s' if folded > 1 else ''} ({share:.2f} %): it folds"


def checkerboard(a: np.ndarray, b: np.ndarray, squares: int = 8) -> np.ndarray:
    """Interleave two same-shape 2D images in ``squares`` x ``squares`` tiles.

    Misalignment shows as broken edges where tiles meet.

    Examples
    --------
    >>> checkerboard(np.zeros((4, 4)), np.ones((4, 4)), squares=2)
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [1., 1., 0., 0.],
           [1., 1., 0., 0.]])
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"checkerboard needs two 2D images of one shape, got {a.shape}, {b.shape}."
        )
    rows = (np.arange(a.shape[0]) * squares // a.shape[0])[:, None]
    columns = (np.arange(a.shape[1]) * squares // a.shape[1])[None, :]
    return np.where((rows + columns) % 2 == 0, a, b)
