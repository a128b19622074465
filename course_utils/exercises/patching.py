"""Notebook 06's exercises: where patches start along an axis, and averaging overlapping
patches back into a volume.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .framework import Case, check

__all__ = [
    "check_axis_origins",
    "check_stitch_mean",
    "stitch_mean",
]


def check_axis_origins(function: Callable) -> Callable:
    """Notebook 06: ``function(size, patch, stride)`` lists where patches start along one
    axis so that they cover every voxel, the last one ending exactly at the border. Returns
    the function later cells use."""
    from ..patches import axis_origins

    hint = "Start every `stride` voxels; if the last patch stops short, add one at size - patch."
    cases = [
        Case("size 8, patch 4, stride 4 (fits exactly)", (8, 4, 4), [0, 4], hint),
        Case("size 10, patch 4, stride 4 (last moved back)", (10, 4, 4), [0, 4, 6], hint),
        Case("size 10, patch 4, stride 3", (10, 4, 3), [0, 3, 6], hint),
        Case("size 9, patch 4, stride 2", (9, 4, 2), [0, 2, 4, 5], hint),
        Case(
            "size 4, patch 4, stride 2 (one patch)",
            (4, 4, 2),
            [0],
            "A patch that already ends at the border needs no second one.",
        ),
        Case(
            "size 3, patch 4, stride 2 (volume smaller than the patch)",
            (3, 4, 2),
            [0],
            "A volume smaller than the patch gets one patch at 0 (padded later).",
        ),
    ]
    return check("axis_origins", function, cases, axis_origins)


def check_stitch_mean(function: Callable) -> Callable:
    """Notebook 06: ``function(patches, origins, shape)`` averages overlapping patches back
    into a volume: ``patches`` ``(N, C, p, p, p)``, ``origins`` ``(N, 3)``, result
    ``(C, *shape)``. Returns the function later cells use."""
    rng = np.random.default_rng(6)
    volume = rng.normal(size=(2, 6, 5, 7))
    patch = 4
    starts = [[0, 2], [0, 1], [0, 3]]  # covers 6, 5 and 7 voxels, with overlaps
    origins = np.array([(d, h, w) for d in starts[0] for h in starts[1] for w in starts[2]])
    patches = np.stack(
        [volume[:, d : d + patch, h : h + patch, w : w + patch] for d, h, w in origins]
    )
    ones = np.ones((2, 1, 2, 2, 2))
    threes = 3 * np.ones((1, 1, 2, 2, 2))
    overlapping = np.concatenate([ones[:1], threes])
    expected_overlap = np.zeros((1, 3, 2, 2))
    expected_overlap[:, :2] = 1.0
    expected_overlap[:, 1:] += 3.0
    expected_overlap[:, 1] = 2.0
    cases = [
        Case(
            "patches cut from a volume give the volume back",
            (patches, origins, (6, 5, 7)),
            volume,
            "Add each patch into a total, count how many patches cover each voxel, divide; "
            "the patch size is patches.shape[2] (axis 1 holds the channels).",
        ),
        Case(
            "a patch of 1s and a patch of 3s overlapping by one slice",
            (overlapping, np.array([[0, 0, 0], [1, 0, 0]]), (3, 2, 2)),
            expected_overlap,
            "Add (+=), don't overwrite: in the overlap the mean of 1 and 3 is 2; elsewhere "
            "each patch alone. Divide by the count per voxel, not by the number of patches.",
        ),
    ]
    return check("stitch_mean", function, cases, stitch_mean)


def stitch_mean(patch_values: np.ndarray, origins: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Notebook 06: cubic patches ``(N, C, p, p, p)`` at ``origins`` ``(N, 3)`` averaged back
    into a float64 volume ``(C, *shape)``. A voxel no patch covers comes out NaN (0 / 0), as
    in the exercise; `patches.stitch_patches` refuses such a grid instead.

    Examples
    --------
    >>> stitch_mean(np.ones((2, 1, 2, 2, 2)), np.array([[0, 0, 0], [1, 0, 0]]), (3, 2, 2)).shape
    (1, 3, 2, 2)
    """
    values = np.asarray(patch_values)
    total = np.zeros((values.shape[1], *shape))
    count = np.zeros(tuple(shape))
    p = values.shape[2]
    for value, (d, h, w) in zip(values, np.asarray(origins), strict=True):
        total[:, d : d + p, h : h + p, w : w + p] += value
        count[d : d + p, h : h + p, w : w + p] += 1
    return total / count
