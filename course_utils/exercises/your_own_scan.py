"""Notebook 08's exercise: the target registration error of a found rigid transform.

``check_registration_error`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); until it passes, the cells after it use
`course_utils.registration.target_registration_error`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .framework import Case, check

__all__ = ["check_registration_error"]


def _rigid(angle_z_deg: float = 0.0, shift_mm=(0.0, 0.0, 0.0)) -> np.ndarray:
    """A 4 x 4 rotation about z (degrees) followed by a shift (mm)."""
    c, s = np.cos(np.radians(angle_z_deg)), np.sin(np.radians(angle_z_deg))
    matrix = np.eye(4)
    matrix[:2, :2] = [[c, -s], [s, c]]
    matrix[:3, 3] = shift_mm
    return matrix


def check_registration_error(function: Callable) -> Callable:
    """Notebook 08: ``function(found, true, points)`` takes two 4 x 4 matrices (RAS+ mm, each
    mapping a point of the reference to the other series) and ``(N, 3)`` points (mm); it
    returns the ``(N,)`` distances (mm) between where the two matrices send each point.
    Returns the function later cells use."""
    from ..registration import target_registration_error

    def run(found, true, points):
        got = np.asarray(function(found, true, np.array(points, float)), float)
        return np.round(got, 3).tolist() if got.ndim == 1 else got.round(3).tolist()

    origin_and_far = [[0.0, 0.0, 0.0], [10.0, 0.0, 5.0]]
    per_point = "Return one distance per point, an (N,) array: not their mean or their sum."
    cases = [
        Case(
            "the same matrix twice",
            (_rigid(30, (1, 2, 3)), _rigid(30, (1, 2, 3)), origin_and_far),
            [0.0, 0.0],
            per_point,
        ),
        Case(
            "found = identity, true = a shift of (3, 4, 0) mm",
            (np.eye(4), _rigid(0, (3, 4, 0)), origin_and_far),
            [5.0, 5.0],
            "Apply each matrix to the points, rotation and translation: R @ p + t (the last "
            "column is the translation). Then the Euclidean length of the difference, "
            "sqrt(dx^2 + dy^2 + dz^2): not squared, not summed over the axes.",
        ),
        Case(
            "found = a 90 degree turn about z and a shift, true = identity",
            (_rigid(90, (1, 2, 0)), np.eye(4), origin_and_far),
            [2.236, 15.0],
            "A rotation moves points far from the centre more: map each point with the whole "
            "3 x 3 block. With points as rows, that is points @ R.T + t (R, not R.T, acts on "
            "column vectors).",
        ),
        Case(
            "two different turns and shifts",
            (_rigid(10, (2, 0, 1)), _rigid(-5, (0, 1, 0)), origin_and_far),
            [2.449, 2.673],
            "Map the points with both matrices as they are (not their inverses) and measure "
            "each point's distance: " + per_point,
        ),
    ]
    return check("registration_error", function, cases, target_registration_error, run=run)
