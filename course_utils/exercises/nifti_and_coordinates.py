"""Notebook 03's exercises: voxel indices to world millimetres and back.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .framework import Case, check

__all__ = [
    "check_voxel_to_world",
    "check_world_to_voxel",
    "world_to_voxel",
]


OBLIQUE = np.array(
    [[0.0, -2.0, 0.0, 90.0], [1.5, 0.0, 0.0, -126.0], [0.0, 0.0, 3.0, -72.0], [0, 0, 0, 1]]
)


def check_voxel_to_world(function: Callable) -> Callable:
    """Notebook 03: ``function(affine, ijk)`` maps voxel indices ``(N, 3)`` to world mm.
    Returns the function later cells use."""
    from nibabel.affines import apply_affine

    points = np.array([[0, 0, 0], [1, 2, 3], [10, 0, 5], [2, 1, 0]])
    hint = "Append a 1 to each index: world = (affine @ [i, j, k, 1])[:3], one row per point."
    cases = [
        Case("identity, 4 points", (np.eye(4), points), points.astype(float), hint),
        Case("2 mm voxels", (np.diag([2.0, 2, 2, 1]), points), 2.0 * points, hint),
        Case(
            "oblique with an origin",
            (OBLIQUE, points),
            np.array([[90, -126, -72], [86, -124.5, -63], [90, -111, -57.0], [88, -123, -72]]),
            hint + " The last column is the origin: affine[:3, :3] alone drops it.",
        ),
        Case(
            "one fractional index (a tumour centre)",
            (OBLIQUE, [[0.5, 1.5, 2.0]]),
            np.array([[87.0, -125.25, -66.0]]),
            "Indices may be fractional: keep them as floats (np.asarray(ijk, dtype=float)), "
            "and accept a list as well as an array.",
        ),
    ]
    return check("voxel_to_world", function, cases, apply_affine)


def check_world_to_voxel(function: Callable) -> Callable:
    """Notebook 03: ``function(affine, xyz)`` maps world mm ``(N, 3)`` to (float) voxel indices.
    Returns the function later cells use."""
    world = np.array([[90, -126, -72], [86, -124.5, -63], [89, -125.25, -70.5]])
    hint = (
        "Use the inverse affine: np.linalg.inv(affine) @ [x, y, z, 1] (affine.T inverts only "
        "a pure rotation, 1 / affine nothing), and don't round the result."
    )
    cases = [
        Case("identity", (np.eye(4), world), world.astype(float), hint),
        Case(
            "oblique with an origin",
            (OBLIQUE, world),
            np.array([[0, 0, 0], [1, 2, 3], [0.5, 0.5, 0.5]]),
            hint,
        ),
    ]
    return check("world_to_voxel", function, cases, world_to_voxel)


def world_to_voxel(affine: np.ndarray, xyz: Sequence[Sequence[float]]) -> np.ndarray:
    """Notebook 03: fractional voxel indices ``(N, 3)`` of world points ``xyz`` ``(N, 3)`` mm.

    Examples
    --------
    >>> world_to_voxel(np.diag([2.0, 2.0, 2.0, 1.0]), [[3.0, 4.0, 5.0]])
    array([[1.5, 2. , 2.5]])
    """
    from nibabel.affines import apply_affine

    return apply_affine(np.linalg.inv(affine), np.asarray(xyz, dtype=float))
