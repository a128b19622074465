"""Spatial transforms and resampling in world millimetres (RAS+), with SciPy and NumPy.

`world_transform_matrix` builds a 4 x 4 fixed-to-moving matrix from angles, shifts and
scalings; `random_affine` draws one; `resample` pulls the moving image onto the fixed grid
through a matrix and an optional displacement field. `centre_of_mass`, `second_moments` and
`principal_axes_rotation` give `register` its starting point; `check_image` refuses what
registration cannot use.
"""

from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np

from ..errors import RegistrationInputError

__all__ = [
    "world_transform_matrix",
    "affine_matrix",
    "random_affine",
    "check_image",
    "image_values",
    "voxel_points",
    "centre_of_mass",
    "second_moments",
    "principal_axes_rotation",
    "grid_centre",
    "resample",
    "interpolate_field",
]


def world_transform_matrix(
    rotation_deg: Sequence[float] = (0.0, 0.0, 0.0),
    translation_mm: Sequence[float] = (0.0, 0.0, 0.0),
    scaling: Sequence[float] | float = 1.0,
    centre_mm: Sequence[float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """A 4 x 4 world (mm) matrix: scale, then rotate, about ``centre_mm``, then translate.

    ``x -> R @ S @ (x - c) + c + t`` with ``R`` the rotation by ``rotation_deg`` about the x,
    y and z axes (extrinsic, in that order), ``S = diag(scaling)`` and ``t = translation_mm``.
    Convention: RAS+ world millimetres to world millimetres, applied to points (a registration's
    ``matrix`` has this form). Its voxel-space counterpart for augmentation, which returns the
    inverse (sampling) map in voxel indices, is `course_utils.transforms.voxel_sampling_matrix`.

    Examples
    --------
    >>> world_transform_matrix(rotation_deg=(0, 0, 90)).round(6)[:3, :3]
    array([[ 0., -1.,  0.],
           [ 1.,  0.,  0.],
           [ 0.,  0.,  1.]])
    """
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    linear = rotation @ np.diag(np.broadcast_to(np.asarray(scaling, float), (3,)))
    centre = np.asarray(centre_mm, float)
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = centre - linear @ centre + np.asarray(translation_mm, float)
    return matrix


#: The name notebook 05 uses for `world_transform_matrix` (the same function).
affine_matrix = world_transform_matrix


def random_affine(
    rng: np.random.Generator | int,
    *,
    max_rotation_deg: float = 10.0,
    max_translation_mm: float = 10.0,
    max_scaling: float = 0.0,
    centre_mm: Sequence[float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """A random `world_transform_matrix`: angles, shifts and scales drawn uniformly in the limits.

    Rotations in ``[-max_rotation_deg, max_rotation_deg]`` about each axis, translations in
    ``[-max_translation_mm, max_translation_mm]`` along each, scalings in
    ``[1 - max_scaling, 1 + max_scaling]`` (``0`` gives a rigid transform), about ``centre_mm``.
    """
    rng = np.random.default_rng(rng)
    return world_transform_matrix(
        rotation_deg=rng.uniform(-max_rotation_deg, max_rotation_deg, 3),
        translation_mm=rng.uniform(-max_translation_mm, max_translation_mm, 3),
        scaling=rng.uniform(1 - max_scaling, 1 + max_scaling, 3),
        centre_mm=centre_mm,
    )


def check_image(image, name: str) -> nib.Nifti1Image:
    """``image`` if it is a usable 3D image with a finite affine; else a clear error."""
    if not isinstance(image, nib.spatialimages.SpatialImage):
        raise RegistrationInputError(
            None,
            f"the {name} image is a {type(image).__name__}, not a nibabel image.",
            "Load it with `io.load_volume` or wrap the array: `nib.Nifti1Image(array, affine)`.",
        )
    if len(image.shape) != 3:
        raise RegistrationInputError(
            image.get_filename(),
            f"the {name} image has shape {image.shape}; registration needs a 3D volume.",
            "Pass one 3D volume (for a 4D file, take one volume: `image.slicer[..., 0]`).",
        )
    affine = np.asarray(image.affine if image.affine is not None else np.nan, float)
    if (
        affine.shape != (4, 4)
        or not np.all(np.isfinite(affine))
        or abs(np.linalg.det(affine[:3, :3])) < 1e-9
    ):
        raise RegistrationInputError(
            image.get_filename(),
            f"the {name} image's affine is not a usable voxel-to-mm mapping:\n{affine}.",
            "Fix the header's qform/sform (notebook 03) before registering.",
        )
    return image


def image_values(image: nib.Nifti1Image) -> np.ndarray:
    """The image's voxels as float32 ``(X, Y, Z)``."""
    return np.asarray(image.dataobj, dtype=np.float32)


def voxel_points(shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """World coordinates (mm) of every voxel centre, ``(X * Y * Z, 3)`` in C order."""
    ijk = np.indices(shape, dtype=np.float32).reshape(3, -1)
    return (affine[:3, :3] @ ijk + affine[:3, 3:]).T


def centre_of_mass(image: nib.Nifti1Image) -> np.ndarray:
    """Intensity-weighted centre of a 3D image, ``(3,)`` world mm (negative values ignored).

    Examples
    --------
    >>> values = np.zeros((5, 5, 5)); values[4, 2, 2] = 1.0
    >>> centre_of_mass(nib.Nifti1Image(values, np.diag([2.0, 2.0, 2.0, 1.0])))
    array([8., 4., 4.])
    """
    values = np.clip(image_values(check_image(image, "input")), 0, None)
    total = float(values.sum())
    if total <= 0:
        raise RegistrationInputError(
            image.get_filename(), "the image is empty (no positive voxel).", "Check the file."
        )
    ijk = [
        float((values.sum(axis=tuple(a for a in range(3) if a != axis)) * np.arange(n)).sum())
        for axis, n in enumerate(values.shape)
    ]
    return np.asarray(image.affine[:3, :3] @ (np.asarray(ijk) / total) + image.affine[:3, 3])


def second_moments(image: nib.Nifti1Image, centre: np.ndarray) -> np.ndarray:
    """The 3 x 3 intensity-weighted covariance of world positions about ``centre`` (mm^2)."""
    values = np.clip(image_values(image), 0, None)
    inside = values > 0
    points = voxel_points(image.shape, image.affine)[inside.ravel()] - centre
    weights = values[inside]
    return (points * weights[:, None]).T @ points / weights.sum()


def principal_axes_rotation(
    fixed: nib.Nifti1Image, moving: nib.Nifti1Image, centres
) -> np.ndarray:
    """The rotation (3 x 3) taking the fixed image's principal axes onto the moving image's.

    Each eigenvector's sign is chosen to keep the rotation closest to the identity: a
    brain's axes are nearly symmetric, and a 180-degree flip is never the answer.
    """
    _, fixed_axes = np.linalg.eigh(second_moments(fixed, centres[0]))
    _, moving_axes = np.linalg.eigh(second_moments(moving, centres[1]))
    signs = np.sign(np.sum(fixed_axes * moving_axes, axis=0))
    moving_axes = moving_axes * np.where(signs == 0, 1, signs)
    rotation = moving_axes @ fixed_axes.T
    if np.linalg.det(rotation) < 0:
        rotation = moving_axes @ np.diag([1, 1, -1]) @ fixed_axes.T
    return rotation


def grid_centre(image: nib.Nifti1Image) -> np.ndarray:
    """The world position (mm) of the centre of the image's voxel grid."""
    middle = (np.asarray(image.shape[:3]) - 1) / 2.0
    return image.affine[:3, :3] @ middle + image.affine[:3, 3]


def resample(
    moving: nib.Nifti1Image,
    fixed: nib.Nifti1Image,
    matrix: np.ndarray | None = None,
    *,
    displacement: np.ndarray | None = None,
    order: int = 1,
) -> nib.Nifti1Image:
    """The moving image resampled onto the fixed image's grid (SciPy; not differentiable).

    Parameters
    ----------
    moving
        3D image to sample.
    fixed
        3D image whose grid (shape and affine) the result takes; its voxels are not used.
    matrix
        4 x 4 RAS+ mm matrix mapping fixed points to moving points (identity if ``None``).
    displacement
        Optional ``(X, Y, Z, 3)`` field in mm on the fixed grid: fixed point ``x`` samples the
        moving image at ``matrix @ (x + displacement(x))``.
    order
        Interpolation: 0 nearest neighbour (labels), 1 linear, 3 cubic B-spline.

    Returns
    -------
    nibabel.Nifti1Image
        float32 (or the moving dtype for ``order=0``), zero outside the moving image.

    Examples
    --------
    >>> image = nib.Nifti1Image(np.arange(27.0).reshape(3, 3, 3), np.eye(4))
    >>> shift = np.eye(4); shift[0, 3] = 1.0  # fixed x samples moving x + 1
    >>> resample(image, image, shift).get_fdata()[:, 0, 0]
    array([ 9., 18.,  0.])
    """
    from scipy import ndimage

    check_image(moving, "moving")
    check_image(fixed, "fixed")
    matrix = np.eye(4) if matrix is None else np.asarray(matrix, float)
    points = voxel_points(fixed.shape, fixed.affine)
    if displacement is not None:
        displacement = np.asarray(displacement, np.float32)
        if displacement.shape != (*fixed.shape, 3):
            raise ValueError(
                f"displacement has shape {displacement.shape}; expected {(*fixed.shape, 3)} "
                "(the fixed grid, one 3-vector in mm per voxel)."
            )
        points = points + displacement.reshape(-1, 3)
    to_voxels = np.linalg.inv(np.asarray(moving.affine, float)) @ matrix
    ijk = to_voxels[:3, :3] @ points.T + to_voxels[:3, 3:]
    nearest = np.rint(ijk)  # a voxel centre missed by rounding error is that voxel centre
    ijk = np.where(np.abs(ijk - nearest) < 1e-6, nearest, ijk)
    values = np.asarray(moving.dataobj)
    if order > 0:
        values = values.astype(np.float32)
    sampled = ndimage.map_coordinates(values, ijk, order=order, mode="constant", cval=0.0)
    return nib.Nifti1Image(sampled.reshape(fixed.shape), fixed.affine)


def interpolate_field(field_xyz3: np.ndarray, affine: np.ndarray, points: np.ndarray):
    """Linear interpolation of a ``(X, Y, Z, 3)`` field at world points ``(N, 3)`` mm."""
    from scipy import ndimage

    ijk = np.linalg.inv(affine)[:3] @ np.c_[points, np.ones(len(points))].T
    return np.stack(
        [
            ndimage.map_coordinates(field_xyz3[..., c], ijk, order=1, mode="nearest")
            for c in range(3)
        ],
        axis=1,
    )
