"""The transforms `register` optimises: rigid/affine parameters and a deformable control grid.

`LinearModel` turns 6 (rigid) or 12 (affine) parameters, all in millimetres, into a matrix;
`initial_model` picks its centre, scale and start. The deformable stage is a grid of
control-point displacements (`control_grid`), regularised by `diffusion_energy` and
interpolated to every voxel by `dense_displacement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from ..geometry import voxel_sizes
from .spatial import centre_of_mass, grid_centre, principal_axes_rotation, second_moments

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = [
    "skew",
    "LinearModel",
    "initial_model",
    "control_grid",
    "diffusion_energy",
    "dense_displacement",
]


def skew(w: torch.Tensor) -> torch.Tensor:
    """The 3 x 3 skew-symmetric matrix of a rotation vector ``w``: ``skew(w) @ v = w x v``."""
    import torch

    zero = torch.zeros((), dtype=w.dtype)
    return torch.stack(
        [
            torch.stack([zero, -w[2], w[1]]),
            torch.stack([w[2], zero, -w[0]]),
            torch.stack([-w[1], w[0], zero]),
        ]
    )


@dataclass
class LinearModel:
    """The rigid or affine part: ``x -> L (x - c) + c + t`` with parameters in millimetres.

    Rotation and the other linear terms are scaled by ``radius`` (mm): a change of 1 in any
    parameter moves points at that distance from the centre ``c`` by about 1 mm, as a
    translation of 1 does, so one learning rate suits them all. ``L = expm(skew(w / radius))
    @ L0`` for rigid, ``(I + B / radius) @ L0`` for affine.
    """

    kind: str
    centre: np.ndarray  # (3,) mm
    radius: float  # mm
    linear0: np.ndarray  # (3, 3)
    translation0: np.ndarray  # (3,) mm

    def parameters(self) -> torch.Tensor:
        import torch

        size = 6 if self.kind == "rigid" else 12
        return torch.zeros(size, dtype=torch.float32, requires_grad=True)

    def linear_and_shift(self, p: torch.Tensor):
        """``(L, t)`` as torch tensors, differentiable in ``p``."""
        import torch

        linear0 = torch.from_numpy(self.linear0).float()
        if self.kind == "rigid":
            linear = torch.linalg.matrix_exp(skew(p[:3] / self.radius)) @ linear0
        else:
            linear = (torch.eye(3) + p[:9].reshape(3, 3) / self.radius) @ linear0
        return linear, torch.from_numpy(self.translation0).float() + p[-3:]

    def matrix(self, p: torch.Tensor) -> np.ndarray:
        """The 4 x 4 world matrix for parameters ``p``."""
        linear, shift = (x.detach().double().numpy() for x in self.linear_and_shift(p))
        matrix = np.eye(4)
        matrix[:3, :3] = linear
        matrix[:3, 3] = self.centre - linear @ self.centre + shift
        return matrix


def initial_model(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    kind: str,
    init: str,
    initial_matrix: np.ndarray | None,
) -> LinearModel:
    """Centre of rotation, parameter scale and starting transform (``init`` or a matrix)."""
    centre = centre_of_mass(fixed)
    radius = float(np.sqrt(np.trace(second_moments(fixed, centre))))
    linear0, translation0 = np.eye(3), np.zeros(3)
    if initial_matrix is not None:
        initial_matrix = np.asarray(initial_matrix, float)
        linear0 = initial_matrix[:3, :3]
        translation0 = initial_matrix[:3, :3] @ centre + initial_matrix[:3, 3] - centre
    elif init in ("com", "moments"):
        moving_centre = centre_of_mass(moving)
        translation0 = moving_centre - centre
        if init == "moments":
            linear0 = principal_axes_rotation(fixed, moving, (centre, moving_centre))
    elif init == "geometry":
        translation0 = grid_centre(moving) - grid_centre(fixed)
    elif init != "none":
        raise ValueError(f"init={init!r}: choose 'com', 'moments', 'geometry' or 'none'.")
    return LinearModel(kind, centre, radius, linear0, translation0)


def control_grid(shape: Sequence[int], affine: np.ndarray, spacing_mm: float):
    """``(grid shape, control-point spacing per axis in mm)`` spanning the fixed grid."""
    voxel_mm = voxel_sizes(affine)
    extent = (np.asarray(shape) - 1) * voxel_mm
    size = np.maximum(np.ceil(extent / spacing_mm).astype(int) + 1, 2)
    return tuple(int(n) for n in size), extent / (size - 1)


def diffusion_energy(control: torch.Tensor, spacing_mm: np.ndarray) -> torch.Tensor:
    """Mean squared spatial derivative of a ``(1, 3, a, b, c)`` displacement grid (mm/mm)."""
    energy = 0.0
    for axis, step in enumerate(spacing_mm):
        difference = control.diff(dim=axis + 2) / float(step)
        energy = energy + (difference**2).mean()
    return energy


def dense_displacement(control: torch.Tensor, shape: Sequence[int]) -> np.ndarray:
    """The control grid interpolated (trilinearly) to every fixed voxel: ``(X, Y, Z, 3)`` mm."""
    import torch.nn.functional as F

    dense = F.interpolate(control, size=tuple(shape), mode="trilinear", align_corners=True)
    return np.ascontiguousarray(dense[0].permute(1, 2, 3, 0).numpy())
