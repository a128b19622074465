"""What a registration returns: `RegistrationResult` and its per-level `LevelHistory`.

Shared by `register` (PyTorch) and `register_simpleitk`, so the two are scored alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import nibabel as nib
import numpy as np

from .spatial import interpolate_field

__all__ = ["LevelHistory", "RegistrationResult"]


class LevelHistory(NamedTuple):
    """The metric at every iteration of one stage at one pyramid level."""

    stage: str  #: "rigid", "affine" or "deformable"
    shrink: int  #: the pyramid level's shrink factor (4 = a quarter of the resolution)
    metric: list[float]  #: the metric's value (not the loss) at each iteration


@dataclass
class RegistrationResult:
    """What `register` (or `register_simpleitk`) found.

    Attributes
    ----------
    matrix
        4 x 4 RAS+ mm matrix mapping a fixed point to the corresponding moving point.
    warped
        The moving image resampled onto the fixed grid (linear interpolation).
    history
        One `LevelHistory` per stage and level, coarse to fine.
    displacement
        For ``transform="deformable"``: ``(X, Y, Z, 3)`` float32 field in mm on the fixed grid
        (fixed point ``x`` maps to ``matrix @ (x + displacement(x))``); else ``None``.
    fixed_affine
        The fixed grid's voxel-to-mm affine (to interpolate ``displacement`` at any point).
    seconds
        Wall-clock time of the registration.
    """

    matrix: np.ndarray
    warped: nib.Nifti1Image
    history: list[LevelHistory] = field(default_factory=list)
    displacement: np.ndarray | None = None
    fixed_affine: np.ndarray | None = None
    seconds: float = 0.0

    def map_points(self, points: np.ndarray) -> np.ndarray:
        """Map fixed-space points ``(N, 3)`` mm to moving space, displacement included."""
        points = np.atleast_2d(np.asarray(points, float))
        if self.displacement is not None:
            points = points + interpolate_field(self.displacement, self.fixed_affine, points)
        return points @ self.matrix[:3, :3].T + self.matrix[:3, 3]
