"""Geometry conventions, once: LPS <-> RAS, voxel sizes, voxel <-> world, RAS+ voxel order.

The course's currency is an affine that maps voxel indices ``(i, j, k)`` to **RAS+ world
millimetres** (x towards the subject's Right, y Anterior, z Superior), as NIfTI and nibabel
use. DICOM, SimpleITK and ITK use LPS+ (x Left, y Posterior); the two differ by the sign of x
and y, so one matrix, `LPS_TO_RAS`, converts either way (it is its own inverse), and it is
applied once, where LPS data enters or leaves the course.

- `voxel_sizes`: the length of every column of the affine's 3 x 3 part (mm per voxel step
  along each array axis), via ``nibabel.affines.voxel_sizes``; correct for oblique and
  anisotropic grids, where the header's diagonal or the first column alone is not.
- `voxel_to_world`, `world_to_voxel`: ``nibabel.affines.apply_affine`` with the affine or its
  inverse, on any number of points.
- `canonical`: an image reoriented to the closest RAS+ voxel order
  (``nibabel.as_closest_canonical``), the order every tensor of the course uses;
- `AFFINE_TOLERANCE`: how far two affines may differ and still describe one grid.

After nibabel's coordinate-systems tutorial (https://nipy.org/nibabel/coordinate_systems.html)
and ``nibabel.affines``. Used by `io`, `registration`, `synth` and `training`; notebook 03
teaches these conventions.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from nibabel.affines import apply_affine
from nibabel.affines import voxel_sizes as nibabel_voxel_sizes

__all__ = [
    "LPS_TO_RAS",
    "AFFINE_TOLERANCE",
    "voxel_sizes",
    "voxel_to_world",
    "world_to_voxel",
    "canonical",
]

#: Flips x and y: ``LPS_TO_RAS @ affine_lps`` is the RAS+ affine, and, since the matrix is its
#: own inverse, ``LPS_TO_RAS @ affine_ras`` is the LPS+ one. A 3D point ``p`` maps the same way:
#: ``LPS_TO_RAS[:3, :3] @ p``. Read-only.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
LPS_TO_RAS.setflags(write=False)

#: Largest difference (mm, or direction cosine) allowed between two affines of one grid, e.g.
#: an image's and its label's.
AFFINE_TOLERANCE = 1e-3


def _affine(affine) -> np.ndarray:
    """``affine`` as a floating-point ``(N + 1, N + 1)`` array; ValueError if it isn't square."""
    affine = np.asarray(affine)
    if affine.ndim != 2 or affine.shape[0] != affine.shape[1] or affine.shape[0] < 2:
        raise ValueError(f"an affine must be a square (N + 1, N + 1) matrix; got {affine.shape}.")
    return affine if np.issubdtype(affine.dtype, np.floating) else affine.astype(np.float64)


def voxel_sizes(affine) -> np.ndarray:
    """Voxel size along each array axis: the length of each column of the affine's linear part.

    Parameters
    ----------
    affine
        ``(N + 1, N + 1)`` voxel -> world matrix (``(4, 4)`` for a volume), world in mm.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` sizes in mm, in the affine's floating dtype (float64 for integer input).
        Column ``c`` is the world step of one voxel along array axis ``c``, so rotations and
        flips do not change it, and every axis is measured, not only the first.

    Examples
    --------
    >>> voxel_sizes(np.diag([-2.0, 2.0, 3.0, 1.0]))
    array([2., 2., 3.])
    >>> oblique = np.array([[0.0, -1.5, 0, 0], [2.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1]])
    >>> voxel_sizes(oblique)  # axis 0 runs along y (2 mm), axis 1 along -x (1.5 mm)
    array([2. , 1.5, 1. ])
    """
    return nibabel_voxel_sizes(_affine(affine))


def voxel_to_world(affine, ijk) -> np.ndarray:
    """World coordinates (mm) of voxel indices: ``affine @ [i, j, k, 1]``.

    Parameters
    ----------
    affine
        ``(N + 1, N + 1)`` voxel -> world matrix.
    ijk
        ``(..., N)`` voxel indices (integers or fractional positions; voxel centres are
        integers).

    Returns
    -------
    numpy.ndarray
        ``(..., N)`` float world coordinates in mm.

    Examples
    --------
    >>> affine = np.array([[2.0, 0, 0, -90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])
    >>> voxel_to_world(affine, [45, 63, 36])
    array([0., 0., 0.])
    >>> voxel_to_world(affine, [[0, 0, 0], [1, 0, 0]])
    array([[ -90., -126.,  -72.],
           [ -88., -126.,  -72.]])
    """
    return apply_affine(_affine(affine), np.asarray(ijk, dtype=np.float64))


def world_to_voxel(affine, xyz) -> np.ndarray:
    """Voxel positions of world points (mm): ``inv(affine) @ [x, y, z, 1]``, not rounded.

    Parameters
    ----------
    affine
        ``(N + 1, N + 1)`` voxel -> world matrix (invertible).
    xyz
        ``(..., N)`` world coordinates in mm.

    Returns
    -------
    numpy.ndarray
        ``(..., N)`` float voxel positions; round them (``np.rint``) for the nearest voxel.

    Examples
    --------
    >>> affine = np.array([[2.0, 0, 0, -90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])
    >>> world_to_voxel(affine, [1.0, 0.0, 0.0])
    array([45.5, 63. , 36. ])
    """
    return apply_affine(np.linalg.inv(_affine(affine)), np.asarray(xyz, dtype=np.float64))


def canonical(image: nib.Nifti1Image) -> nib.Nifti1Image:
    """``image`` reoriented to the closest RAS+ voxel order (the same object if it already is).

    Array axes 0, 1, 2 then run towards the subject's Right, Anterior and Superior (the
    closest of each to the voxel axes; an oblique grid stays oblique), as
    ``nibabel.as_closest_canonical`` does.
    """
    return nib.as_closest_canonical(image)
