"""Notebook 00's exercise: the whole-tumour volume in cm^3 from a label map and
its voxel size.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .framework import Case, check

__all__ = [
    "check_tumour_volume",
    "whole_tumour_volume_cm3",
]


def labelled_volume(shape, counts: dict[int, int]) -> np.ndarray:
    """A uint8 volume of ``shape`` with ``counts[label]`` voxels of each label, scattered."""
    values = np.zeros(int(np.prod(shape)), dtype=np.uint8)
    start = 0
    for label, count in counts.items():
        values[start : start + count] = label
        start += count
    return np.random.default_rng(0).permutation(values).reshape(shape)


def check_tumour_volume(function: Callable) -> Callable:
    """Notebook 00: ``function(seg, voxel_size_mm)`` returns the whole-tumour volume in cm^3.

    ``seg`` holds BraTS labels 0/1/2/4; ``voxel_size_mm`` is ``(dx, dy, dz)`` in mm. Returns
    the function later cells use (see `check`).
    """
    unit_hint = "1 cm^3 is 1000 mm^3, and a voxel's volume is dx * dy * dz."
    label_hint = (
        "The whole tumour is every non-zero label (1, 2 and 4): count voxels "
        "(np.count_nonzero), don't add up their label values."
    )
    cases = [
        Case("no tumour", (np.zeros((4, 4, 4), np.uint8), (1.0, 1.0, 1.0)), 0.0),
        Case(
            "1000 oedema voxels of 1 mm^3",
            (labelled_volume((20, 10, 10), {2: 1000}), (1.0, 1.0, 1.0)),
            1.0,
            unit_hint,
        ),
        Case(
            "10 voxels of each label, 2 mm isotropic",
            (labelled_volume((6, 6, 6), {1: 10, 2: 10, 4: 10}), (2.0, 2.0, 2.0)),
            0.24,
            label_hint,
        ),
        Case(
            "200 enhancing voxels of 1 x 1 x 5 mm",
            (labelled_volume((10, 10, 5), {4: 200}), (1.0, 1.0, 5.0)),
            1.0,
            unit_hint + " Voxels need not be cubes.",
        ),
    ]
    return check("whole_tumour_volume_cm3", function, cases, whole_tumour_volume_cm3)


def whole_tumour_volume_cm3(seg: np.ndarray, voxel_size_mm: Sequence[float]) -> float:
    """Notebook 00: the volume of every non-zero label of ``seg`` ``(X, Y, Z)``, in cm^3.

    Examples
    --------
    >>> whole_tumour_volume_cm3(np.array([[[0, 1], [2, 4]]]), (1.0, 2.0, 5.0))
    0.03
    """
    return int(np.count_nonzero(seg)) * float(np.prod(voxel_size_mm)) / 1000
