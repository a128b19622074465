"""Image registration in PyTorch: rigid, affine and deformable, in world millimetres.

`register` aligns a *moving* image to a *fixed* one by gradient descent: the moving image is
resampled with ``torch.nn.functional.grid_sample`` at the points a transform gives, a
similarity metric compares it with the fixed image, autograd takes the gradient back to the
transform's parameters and an optimiser updates them, coarse to fine (Adam on the coarse
levels, L-BFGS to finish).

Conventions (the same as SimpleITK's, in RAS+ instead of LPS):

- Images are 3D ``nibabel.Nifti1Image`` objects, each with its own grid: shape ``(X, Y, Z)``
  and an affine from voxel indices to **RAS+ world millimetres**. Nothing assumes that the
  two images share a grid.
- A registration's ``matrix`` is a 4 x 4 RAS+ mm matrix that maps a point of the **fixed**
  space to the corresponding point of the **moving** space. Resampling "pulls": the warped
  image at fixed point ``x`` is the moving image at ``matrix @ x``. (To *move* an image by
  ``T`` you therefore resample it with ``inv(T)``.)
- A deformable registration adds a displacement field ``u`` on the fixed grid, ``(X, Y, Z, 3)``
  in mm: fixed point ``x`` maps to ``matrix @ (x + u(x))``.

Metrics are plain functions of two tensors, written to be read: `mse`, `ncc`, `local_ncc` and
`mutual_information` (Parzen-window joint histogram, differentiable). `match_features` does
feature-based 2D registration of slices with OpenCV (ORB or SIFT, RANSAC). Accuracy is
measured with `target_registration_error` (known transforms) and `landmark_error`.
`register_simpleitk` runs SimpleITK's ``ImageRegistrationMethod`` on the same images for
comparison. `mni_image`, `mni_tissue_labels`, `random_affine` and `smooth_displacement`
build test pairs with a known answer from the MNI152 template (see `course_utils.synth`).

Used by notebook 05 (image registration) and ``benchmarks/registration.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

import nibabel as nib
import numpy as np

from .errors import RegistrationInputError
from .geometry import LPS_TO_RAS, voxel_sizes
from .threads import torch_threads

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = [
    "TRANSFORMS",
    "METRICS",
    "RegistrationResult",
    "LevelHistory",
    "FeatureMatch",
    "register",
    "register_simpleitk",
    "metric_values",
    "resample",
    "world_transform_matrix",
    "affine_matrix",
    "random_affine",
    "centre_of_mass",
    "mse",
    "ncc",
    "local_ncc",
    "joint_histogram",
    "mutual_information",
    "match_features",
    "draw_matches",
    "slice_to_world_matrix",
    "to_simpleitk",
    "simpleitk_matrix",
    "target_registration_error",
    "landmark_error",
    "jacobian_determinant",
    "checkerboard",
    "mni_image",
    "mni_tissue_labels",
    "smooth_displacement",
]

TRANSFORMS = ("rigid", "affine", "deformable")
METRICS = ("mse", "ncc", "mi")
Transform = Literal["rigid", "affine", "deformable"]
Metric = Literal["mse", "ncc", "mi"]


# --- similarity metrics -----------------------------------------------------------------------


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two tensors of the same shape (a dissimilarity: 0 is best).

    Examples
    --------
    >>> import torch
    >>> mse(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 5.0]))
    tensor(1.3333)
    """
    return ((a - b) ** 2).mean()


def ncc(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Global normalised cross-correlation (Pearson's r) of two same-shape tensors, in [-1, 1].

    ``mean((a - mean a)(b - mean b)) / (std a * std b)``, population standard deviations.
    It ignores any gain and offset between the two images (``ncc(a, 3 * a + 2) == 1``) but
    assumes a *linear* relation between their intensities: one modality. A constant input
    gives 0.

    Examples
    --------
    >>> import torch
    >>> round(float(ncc(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 3.0, 2.0]))), 4)
    0.5
    """
    a, b = a - a.mean(), b - b.mean()
    return (a * b).mean() / ((a**2).mean().sqrt() * (b**2).mean().sqrt() + eps)


def local_ncc(a: torch.Tensor, b: torch.Tensor, window: int = 9, eps: float = 1e-5):
    """Mean of the NCC computed in every ``window``-voxel cube (a local, bias-robust NCC).

    ``a`` and ``b`` are ``(N, C, X, Y, Z)`` (or ``(N, C, H, W)``) dense images. Local means,
    variances and covariance come from a box filter (average pooling, stride 1, zero-padded
    at the border); the squared local correlation ``cov**2 / (var_a * var_b)`` is averaged
    over voxels, as in Avants et al., "Symmetric diffeomorphic image registration with
    cross-correlation", *Medical Image Analysis* 12(1), 2008. Returns a scalar in [0, 1].
    """
    import torch.nn.functional as F

    pool = F.avg_pool3d if a.dim() == 5 else F.avg_pool2d

    def box(x):
        return pool(x, window, stride=1, padding=window // 2, count_include_pad=True)

    mean_a, mean_b = box(a), box(b)
    cov = box(a * b) - mean_a * mean_b
    var_a = (box(a * a) - mean_a**2).clamp_min(0)
    var_b = (box(b * b) - mean_b**2).clamp_min(0)
    return (cov**2 / (var_a * var_b + eps)).mean()


def parzen_weights(values: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft bin memberships of ``values`` in [0, 1]: ``(bin indices, weights)``, both ``(N, 4)``.

    A cubic B-spline Parzen window, as in Mattes et al., "PET-CT image registration in the
    chest using free-form deformations", *IEEE TMI* 22(1), 2003: a value at position ``s``
    (in bins, bin ``k`` centred on ``k``) adds weight ``beta3(s - k)`` to the four bins
    ``floor(s) - 1 ... floor(s) + 2``. The weights sum to 1 and vary smoothly with the value,
    so a histogram built from them has a gradient. Bins beyond the ends are folded into the
    first and last bins.
    """
    import torch

    position = values.reshape(-1).clamp(0, 1) * bins - 0.5
    lower = position.detach().floor()
    f = (position - lower)[:, None]
    weights = (
        torch.cat(
            [(1 - f) ** 3, 3 * f**3 - 6 * f**2 + 4, -3 * f**3 + 3 * f**2 + 3 * f + 1, f**3], dim=1
        )
        / 6
    )
    index = (lower.long()[:, None] + torch.arange(-1, 3)).clamp(0, bins - 1)
    return index, weights


def joint_histogram(
    a: torch.Tensor, b: torch.Tensor, bins: int = 32, *, rows_a: torch.Tensor | None = None
) -> torch.Tensor:
    """The joint probability of intensities ``(bins, bins)``, differentiable in ``b``.

    ``a`` and ``b`` hold the same number of values, scaled to [0, 1] (values outside are
    clipped). As in Mattes et al. (2003), each ``a`` value falls in one bin (row ``i``) and
    each ``b`` value spreads over four neighbouring bins (columns) with the cubic B-spline
    weights of `parzen_weights`, instead of a hard count of 1. The histogram, and any metric
    built on it, therefore changes smoothly when ``b`` (the moving image) moves. Entries sum
    to 1. ``rows_a`` (precomputed ``hard_bins(a, bins) * bins``) saves work when ``a`` is fixed.

    Examples
    --------
    >>> import torch
    >>> histogram = joint_histogram(torch.rand(100), torch.rand(100), bins=8)
    >>> tuple(histogram.shape), round(float(histogram.sum()), 4)
    ((8, 8), 1.0)
    """
    import torch

    rows = hard_bins(a, bins) * bins if rows_a is None else rows_a
    columns, weights = parzen_weights(b, bins)
    cells = (columns + rows[:, None]).reshape(-1)
    histogram = torch.zeros(bins * bins, dtype=weights.dtype)
    histogram = histogram.index_add(0, cells, weights.reshape(-1))
    return histogram.reshape(bins, bins) / len(rows)


def hard_bins(values: torch.Tensor, bins: int) -> torch.Tensor:
    """The bin (0 to ``bins - 1``) of each value in [0, 1], ``(N,)`` int64."""
    return (values.reshape(-1).clamp(0, 1) * bins).long().clamp(max=bins - 1)


def mutual_information(
    a: torch.Tensor, b: torch.Tensor, bins: int = 32, *, rows_a: torch.Tensor | None = None
) -> torch.Tensor:
    """Mutual information (nats) of two images' intensities, from a Parzen joint histogram.

    ``MI = sum p(i, j) log(p(i, j) / (p(i) p(j)))``: how much knowing one image's intensity at
    a point tells you about the other's, whatever the relation between them (Viola and Wells,
    "Alignment by maximization of mutual information", *IJCV* 24(2), 1997). It needs no
    linear relation, which is why it works across modalities. ``a`` and ``b`` hold the same
    number of values in [0, 1]; see `joint_histogram`.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(0, 1, 1000)
    >>> float(mutual_information(x, x)) > float(mutual_information(x, torch.rand(1000)))
    True
    """
    joint = joint_histogram(a, b, bins, rows_a=rows_a)
    outer = joint.sum(dim=1, keepdim=True) * joint.sum(dim=0, keepdim=True)
    return (joint * (joint.clamp_min(1e-12) / outer.clamp_min(1e-12)).log()).sum()


# --- geometry ---------------------------------------------------------------------------------


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


# --- the optimisation -------------------------------------------------------------------------


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


@dataclass
class Level:
    """One pyramid level: the fixed points and values, the moving image, their geometry."""

    shrink: int
    points: torch.Tensor  # (N, 3) fixed world mm, minus the centre of rotation
    fixed_values: torch.Tensor  # (N,)
    fixed_rows: torch.Tensor | None  # hard_bins(fixed values) * bins, for MI
    moving: torch.Tensor  # (1, 1, X, Y, Z)
    moving_to_normalised: torch.Tensor  # (4, 4): world mm -> grid_sample coordinates (x=Z...)
    fixed_normalised: torch.Tensor  # (N, 3): grid_sample coordinates on the full fixed grid


def normalise_intensity(values: np.ndarray) -> np.ndarray:
    """Scale so that the 99.5th percentile of the positive voxels is 1, then clip to [0, 1]."""
    positive = values[values > 0]
    top = float(np.percentile(positive, 99.5)) if positive.size else 1.0
    return np.clip(values / max(top, 1e-12), 0.0, 1.0).astype(np.float32)


def downsample(values: np.ndarray, affine: np.ndarray, shrink: int):
    """Average ``shrink**3`` blocks of voxels: ``(values, affine)`` of the coarser grid."""
    import torch
    import torch.nn.functional as F

    if shrink == 1:
        return values, affine
    tensor = torch.from_numpy(values)[None, None]
    pooled = F.avg_pool3d(tensor, shrink, ceil_mode=False)[0, 0].numpy()
    scale = np.diag([shrink, shrink, shrink, 1.0])
    scale[:3, 3] = (shrink - 1) / 2.0
    return pooled, affine @ scale


def world_to_normalised(shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """4 x 4 matrix from world mm to ``grid_sample`` coordinates of a ``(X, Y, Z)`` volume.

    ``grid_sample`` (``align_corners=True``) puts -1 and 1 on the first and last voxel centres
    and lists coordinates last axis first: its ``x`` runs along our ``Z``.
    """
    to_unit = np.diag([*(2.0 / np.maximum(np.asarray(shape) - 1, 1)), 1.0])
    to_unit[:3, 3] = -1.0
    reverse = np.eye(4)[[2, 1, 0, 3]]
    return reverse @ to_unit @ np.linalg.inv(affine)


def default_mask(values: np.ndarray, mask: np.ndarray | None, margin: int = 2) -> np.ndarray:
    """Where to evaluate the metric: the given mask, or the foreground grown by ``margin``."""
    from scipy import ndimage

    if mask is not None:
        return np.asarray(mask, bool)
    foreground = values > 0.02
    if not foreground.any():
        return np.ones(values.shape, bool)
    return ndimage.binary_dilation(foreground, iterations=margin)


def build_level(fixed, moving, mask, shrink, centre, bins, max_points, rng) -> Level:
    """Downsample both images by ``shrink`` and pick the fixed points of the metric."""
    import torch

    fixed_values, fixed_affine = downsample(fixed[0], fixed[1], shrink)
    moving_values, moving_affine = downsample(moving[0], moving[1], shrink)
    level_mask, _ = downsample(mask.astype(np.float32), fixed[1], shrink)
    index = np.flatnonzero(level_mask.ravel() > 0.25)
    if len(index) > max_points:  # a seeded random subset, kept in memory order (faster)
        index = np.sort(rng.choice(index, max_points, replace=False))
    ijk = np.stack(np.unravel_index(index, fixed_values.shape)).astype(np.float64)
    world = fixed_affine[:3, :3] @ ijk + fixed_affine[:3, 3:]
    # control-grid coordinates are relative to the full-resolution fixed grid, at every level
    normalised = world_to_normalised(fixed[0].shape, fixed[1])
    fixed_normalised = (normalised[:3, :3] @ world + normalised[:3, 3:]).T
    values = torch.from_numpy(fixed_values.ravel()[index])
    return Level(
        shrink=shrink,
        points=torch.from_numpy((world.T - centre).astype(np.float32)),
        fixed_values=values,
        fixed_rows=hard_bins(values, bins) * bins if bins else None,
        moving=torch.from_numpy(np.ascontiguousarray(moving_values))[None, None],
        moving_to_normalised=torch.from_numpy(
            world_to_normalised(moving_values.shape, moving_affine)
        ).float(),
        fixed_normalised=torch.from_numpy(fixed_normalised.astype(np.float32)),
    )


def similarity(metric: str, fixed: torch.Tensor, moving: torch.Tensor, level: Level, bins: int):
    """The metric's value (higher is better for NCC and MI, lower for MSE)."""
    if metric == "mse":
        return mse(fixed, moving)
    if metric == "ncc":
        return ncc(fixed, moving)
    return mutual_information(fixed, moving, bins, rows_a=level.fixed_rows)


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


def initial_model(fixed, moving, kind, init, initial_matrix) -> LinearModel:
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


def grid_centre(image: nib.Nifti1Image) -> np.ndarray:
    """The world position (mm) of the centre of the image's voxel grid."""
    middle = (np.asarray(image.shape[:3]) - 1) / 2.0
    return image.affine[:3, :3] @ middle + image.affine[:3, 3]


def sample_moving(level: Level, linear, shift, centre, displacement=None):
    """Moving intensities at the mapped fixed points (differentiable): ``(N,)``."""
    import torch
    import torch.nn.functional as F

    points = level.points if displacement is None else level.points + displacement
    world = points @ linear.T + (torch.from_numpy(centre).float() + shift)
    grid = world @ level.moving_to_normalised[:3, :3].T + level.moving_to_normalised[:3, 3]
    sampled = F.grid_sample(level.moving, grid[None, :, None, None, :], align_corners=True)
    return sampled.reshape(-1)


def loss_of(metric: str, value: torch.Tensor) -> torch.Tensor:
    """What the optimiser minimises: MSE itself, minus NCC or MI."""
    return value if metric == "mse" else -value


def run_adam(parameter, evaluate, iterations: int, learning_rate: float, on_value) -> None:
    """``iterations`` Adam steps on ``evaluate() -> (metric value, loss)``.

    The learning rate decays from ``learning_rate`` to 5 % of it along a cosine, so the last
    steps are small and the parameters settle instead of jittering around the optimum.
    """
    import torch

    if iterations == 0:
        return
    optimiser = torch.optim.Adam([parameter], lr=learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda i: 0.05 + 0.475 * (1 + np.cos(np.pi * min(i, iterations) / iterations))
    )
    for _ in range(iterations):
        optimiser.zero_grad()
        value, loss = evaluate()
        loss.backward()
        optimiser.step()
        schedule.step()
        on_value(value.item())


def run_lbfgs(parameter, evaluate, evaluations: int, on_value) -> None:
    """L-BFGS with a strong-Wolfe line search, at most ``evaluations`` metric evaluations."""
    import torch

    if evaluations == 0:
        return
    optimiser = torch.optim.LBFGS(
        [parameter],
        lr=1.0,
        max_iter=evaluations,
        max_eval=evaluations,
        history_size=20,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimiser.zero_grad()
        value, loss = evaluate()
        loss.backward()
        on_value(value.item())
        return loss

    optimiser.step(closure)


def linear_objective(model: LinearModel, p, level: Level, metric: str, bins: int):
    """``evaluate() -> (metric value, loss)`` of the rigid/affine parameters ``p`` on a level."""

    def evaluate():
        linear, shift = model.linear_and_shift(p)
        moving = sample_moving(level, linear, shift, model.centre)
        value = similarity(metric, level.fixed_values, moving, level, bins)
        return value, loss_of(metric, value)

    return evaluate


def optimise_linear(model, p, levels, metric, bins, iterations, learning_rate, report, finish):
    """Adam on the rigid/affine parameters, coarse to fine; returns the history.

    With ``finish="lbfgs"`` the finest level is polished by L-BFGS instead: on a fixed set
    of points the metric is a smooth function of 6 or 12 parameters, where a quasi-Newton
    method converges in a few dozen evaluations.
    """
    history = []
    for number, (level, n_iterations) in enumerate(zip(levels, iterations, strict=True)):
        values: list[float] = []
        history.append(LevelHistory(model.kind, level.shrink, values))

        def on_value(value, values=values, shrink=level.shrink):
            values.append(value)
            report(model.kind, shrink, values)

        evaluate = linear_objective(model, p, level, metric, bins)
        if finish == "lbfgs" and number == len(levels) - 1:
            run_lbfgs(p, evaluate, n_iterations, on_value)
        else:
            run_adam(p, evaluate, n_iterations, learning_rate * level.shrink, on_value)
    return history


def diffusion_energy(control: torch.Tensor, spacing_mm: np.ndarray) -> torch.Tensor:
    """Mean squared spatial derivative of a ``(1, 3, a, b, c)`` displacement grid (mm/mm)."""
    energy = 0.0
    for axis, step in enumerate(spacing_mm):
        difference = control.diff(dim=axis + 2) / float(step)
        energy = energy + (difference**2).mean()
    return energy


def control_grid(shape: Sequence[int], affine: np.ndarray, spacing_mm: float):
    """``(grid shape, control-point spacing per axis in mm)`` spanning the fixed grid."""
    voxel_mm = voxel_sizes(affine)
    extent = (np.asarray(shape) - 1) * voxel_mm
    size = np.maximum(np.ceil(extent / spacing_mm).astype(int) + 1, 2)
    return tuple(int(n) for n in size), extent / (size - 1)


def displacement_objective(model, p, control, level, metric, bins, smoothness, spacing):
    """``evaluate() -> (metric value, loss)`` of the control-point displacements on a level.

    The displacement at each fixed point is the trilinear interpolation of the control grid;
    the loss adds ``smoothness`` times the grid's diffusion energy.
    """
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        linear, shift = model.linear_and_shift(p)
    where = level.fixed_normalised[None, :, None, None, :]

    def evaluate():
        displacement = F.grid_sample(control, where, align_corners=True).reshape(3, -1).T
        moving = sample_moving(level, linear, shift, model.centre, displacement)
        value = similarity(metric, level.fixed_values, moving, level, bins)
        return value, loss_of(metric, value) + smoothness * diffusion_energy(control, spacing)

    return evaluate


def optimise_displacement(
    model, p, levels, metric, bins, iterations, learning_rate, smoothness, grid, report
):
    """Adam on the control-point displacements (affine frozen), coarse to fine."""
    import torch

    size, spacing = grid
    control = torch.zeros((1, 3, *size), requires_grad=True)
    history = []
    for level, n_iterations in zip(levels, iterations, strict=True):
        values: list[float] = []
        history.append(LevelHistory("deformable", level.shrink, values))

        def on_value(value, values=values, shrink=level.shrink):
            values.append(value)
            report("deformable", shrink, values)

        evaluate = displacement_objective(
            model, p, control, level, metric, bins, smoothness, spacing
        )
        run_adam(control, evaluate, n_iterations, learning_rate * level.shrink, on_value)
    return control.detach(), history


def dense_displacement(control: torch.Tensor, shape: Sequence[int]) -> np.ndarray:
    """The control grid interpolated (trilinearly) to every fixed voxel: ``(X, Y, Z, 3)`` mm."""
    import torch.nn.functional as F

    dense = F.interpolate(control, size=tuple(shape), mode="trilinear", align_corners=True)
    return np.ascontiguousarray(dense[0].permute(1, 2, 3, 0).numpy())


def check_options(transform, metric, levels, iterations):
    """Validate `register`'s arguments; returns the iterations per level."""
    if transform not in TRANSFORMS:
        raise ValueError(f"transform={transform!r}: choose one of {TRANSFORMS}.")
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: choose one of {METRICS}.")
    levels = tuple(int(s) for s in levels)
    if not levels or any(s < 1 for s in levels):
        raise ValueError(f"levels={levels}: give shrink factors >= 1, coarse first (4, 2, 1).")
    if iterations is None:
        iterations = {4: 100, 2: 60, 1: 20}
        iterations = tuple(iterations.get(s, 60) for s in levels)
    iterations = (iterations,) * len(levels) if isinstance(iterations, int) else tuple(iterations)
    if len(iterations) != len(levels) or any(n < 0 for n in iterations):
        raise ValueError(f"iterations={iterations}: give one count >= 0 per level {levels}.")
    return levels, iterations


def progress_reporter(progress: bool, callback: Callable | None, total: int):
    """A ``report(stage, shrink, values)`` function feeding a tqdm bar and/or a callback."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="registration", unit="it")

    def report(stage, shrink, values):
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{stage} 1/{shrink}: {values[-1]:.4f}", refresh=False)
        if callback is not None:
            callback(stage, shrink, values)

    report.close = (lambda: bar.close()) if bar is not None else (lambda: None)
    return report


def register(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    *,
    transform: Transform = "rigid",
    metric: Metric = "ncc",
    levels: Sequence[int] = (4, 2, 1),
    iterations: int | Sequence[int] | None = None,
    learning_rate: float = 0.5,
    init: Literal["com", "moments", "geometry", "none"] = "com",
    initial_matrix: np.ndarray | None = None,
    fixed_mask: np.ndarray | None = None,
    bins: int = 32,
    max_points: int = 60_000,
    deformable_levels: Sequence[int] = (4, 2),
    deformable_iterations: int | Sequence[int] = 60,
    grid_spacing_mm: float = 12.0,
    smoothness: float = 1.0,
    seed: int = 0,
    finish: Literal["lbfgs", "adam"] = "lbfgs",
    threads: int | None = 1,
    progress: bool = False,
    callback: Callable[[str, int, list[float]], None] | None = None,
) -> RegistrationResult:
    """Register ``moving`` to ``fixed`` by gradient descent on a similarity metric.

    Parameters
    ----------
    fixed, moving
        3D images, each on its own grid (any shape, voxel size, orientation; RAS+ mm).
    transform
        ``"rigid"`` (6 parameters: rotation, translation), ``"affine"`` (12) or
        ``"deformable"`` (affine first, then a smooth displacement field).
    metric
        ``"mse"`` (same modality, same intensity scale), ``"ncc"`` (same modality, any gain
        and offset) or ``"mi"`` (any modalities). Intensities are scaled to [0, 1] first.
    levels
        Pyramid shrink factors, coarse to fine: ``(4, 2, 1)`` starts at a quarter of the
        resolution (block averages) and ends on the full grid.
    iterations
        Steps per level (default 100, 60, 20 for shrink 4, 2, 1); at the finest level with
        ``finish="lbfgs"``, the number of metric evaluations L-BFGS may use.
    learning_rate
        Adam's step in mm at full resolution (times the shrink factor on coarser levels),
        decayed by a cosine schedule within each level.
    init
        Starting translation: centres of mass (``"com"``), centres of mass plus principal
        axes (``"moments"``), grid centres (``"geometry"``) or none.
    initial_matrix
        A 4 x 4 fixed-to-moving starting matrix instead of ``init``.
    fixed_mask
        Boolean ``(X, Y, Z)`` on the fixed grid: where the metric is evaluated. Default: the
        fixed foreground grown by 2 voxels (so the brain's edge counts).
    bins
        Histogram bins for mutual information.
    max_points
        At most this many fixed voxels per level (a seeded random subset beyond it).
    deformable_levels, deformable_iterations
        Pyramid and Adam steps of the deformable stage.
    grid_spacing_mm
        Spacing of the displacement's control points (linear interpolation between them).
    smoothness
        Weight of the diffusion regulariser (mean squared displacement gradient).
    seed
        Seed of the point subset: the same inputs give the same result.
    finish
        ``"lbfgs"``: Adam on the coarse levels, L-BFGS on the finest (faster, more precise);
        ``"adam"``: Adam throughout (what the notebook's own loop does).
    threads
        torch threads during the registration (restored afterwards; ``None`` leaves them).
        Each iteration handles tens of thousands of points, too little work for a second
        thread to pay off, and one thread does not stall when other processes share the CPU.
    progress
        Show a tqdm progress bar with the current metric.
    callback
        Called as ``callback(stage, shrink, values)`` after every iteration.

    Returns
    -------
    RegistrationResult
        ``matrix`` (fixed -> moving, 4 x 4 RAS+ mm), ``warped``, ``history``, and for
        deformable ``displacement`` ``(X, Y, Z, 3)`` mm.
    """
    start = time.perf_counter()
    check_image(fixed, "fixed")
    check_image(moving, "moving")
    levels, iterations = check_options(transform, metric, levels, iterations)
    shrinks = set(levels)
    if transform == "deformable":
        deformable_levels, deformable_iterations = check_options(
            transform, metric, deformable_levels, deformable_iterations
        )
        shrinks |= set(deformable_levels)
    model = initial_model(
        fixed, moving, "rigid" if transform == "rigid" else "affine", init, initial_matrix
    )
    bins = bins if metric == "mi" else 0
    pyramid = build_pyramid(
        fixed, moving, fixed_mask, model.centre, bins, max_points, seed, shrinks
    )
    total = sum(iterations) + (sum(deformable_iterations) if transform == "deformable" else 0)
    report = progress_reporter(progress, callback, total)
    p = model.parameters()
    displacement = None
    with torch_threads(threads):
        try:
            history = optimise_linear(
                model,
                p,
                [pyramid[s] for s in levels],
                metric,
                bins,
                iterations,
                learning_rate,
                report,
                finish,
            )
            if transform == "deformable":
                grid = control_grid(fixed.shape, fixed.affine, grid_spacing_mm)
                control, more = optimise_displacement(
                    model,
                    p,
                    [pyramid[s] for s in deformable_levels],
                    metric,
                    bins,
                    deformable_iterations,
                    learning_rate,
                    smoothness,
                    grid,
                    report,
                )
                history += more
                displacement = dense_displacement(control, fixed.shape)
        finally:
            report.close()
    matrix = model.matrix(p)
    warped = resample(moving, fixed, matrix, displacement=displacement)
    return RegistrationResult(
        matrix=matrix,
        warped=warped,
        history=history,
        displacement=displacement,
        fixed_affine=np.asarray(fixed.affine, float),
        seconds=time.perf_counter() - start,
    )


def build_pyramid(fixed, moving, mask, centre, bins, max_points, seed, shrinks) -> dict:
    """``{shrink: Level}``: both images scaled to [0, 1], the metric's points picked per level."""
    fixed_values = normalise_intensity(image_values(fixed))
    moving_values = normalise_intensity(image_values(moving))
    if mask is not None and np.shape(mask) != fixed_values.shape:
        raise ValueError(
            f"fixed_mask has shape {np.shape(mask)}; it must match the fixed image "
            f"{fixed_values.shape}."
        )
    for name, values in (("fixed", fixed_values), ("moving", moving_values)):
        if not (values > 0).any():
            raise RegistrationInputError(
                None, f"the {name} image is empty (no positive voxel).", "Check the input."
            )
    mask = default_mask(fixed_values, mask)
    rng = np.random.default_rng(seed)
    fixed_pair = (fixed_values, np.asarray(fixed.affine, float))
    moving_pair = (moving_values, np.asarray(moving.affine, float))
    return {
        s: build_level(fixed_pair, moving_pair, mask, s, centre, bins, max_points, rng)
        for s in sorted(shrinks)
    }


def metric_values(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    matrices: Sequence[np.ndarray],
    *,
    metric: Metric = "ncc",
    shrink: int = 2,
    fixed_mask: np.ndarray | None = None,
    bins: int = 32,
    max_points: int = 60_000,
    seed: int = 0,
    threads: int | None = 1,
) -> np.ndarray:
    """The metric of `register` at each of the given fixed -> moving matrices: a cost landscape.

    Both images go through exactly what `register` does (intensities scaled to [0, 1], one
    pyramid level ``shrink``, the points of ``fixed_mask`` or of the grown foreground), so
    the values are the ones its optimiser sees. Returns float64 ``(len(matrices),)``; higher
    is better for NCC and MI, lower for MSE.
    """
    import torch

    check_image(fixed, "fixed")
    check_image(moving, "moving")
    check_options("rigid", metric, (shrink,), 0)
    centre = centre_of_mass(fixed)
    bins = bins if metric == "mi" else 0
    pyramid = build_pyramid(fixed, moving, fixed_mask, centre, bins, max_points, seed, {shrink})
    level = pyramid[shrink]
    values = []
    with torch.no_grad(), torch_threads(threads):
        for matrix in matrices:
            linear = np.asarray(matrix, float)[:3, :3]
            shift = linear @ centre + np.asarray(matrix, float)[:3, 3] - centre
            moved = sample_moving(
                level, torch.from_numpy(linear).float(), torch.from_numpy(shift).float(), centre
            )
            values.append(similarity(metric, level.fixed_values, moved, level, bins).item())
    return np.asarray(values)


# --- measuring accuracy -----------------------------------------------------------------------


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


# --- feature-based registration of 2D slices (OpenCV) -----------------------------------------


@dataclass
class FeatureMatch:
    """The result of `match_features` on two 2D images.

    Pixel coordinates are OpenCV's ``(x, y) = (column, row)`` of the arrays as given.

    Attributes
    ----------
    matrix
        3 x 3 matrix (last row 0 0 1) mapping fixed pixels to moving pixels, the same
        direction as `register`'s matrix; ``None`` when too few matches were found.
    fixed_points, moving_points
        ``(N, 2)`` matched keypoint positions.
    inliers
        ``(N,)`` bool: the matches RANSAC kept.
    keypoints
        How many keypoints were detected in each image.
    """

    matrix: np.ndarray | None
    fixed_points: np.ndarray
    moving_points: np.ndarray
    inliers: np.ndarray
    keypoints: tuple[int, int]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A 2D image windowed to its foreground's 0.5-99.5 percentiles and scaled to uint8."""
    from .plotting import window_limits

    image = np.ascontiguousarray(image, np.float32)  # OpenCV misreads transposed views
    low, high = window_limits(image)
    return (np.clip((image - low) / max(high - low, 1e-12), 0, 1) * 255).astype(np.uint8)


def match_features(
    fixed: np.ndarray,
    moving: np.ndarray,
    *,
    method: Literal["orb", "sift"] = "orb",
    n_features: int = 2000,
    ratio: float = 0.8,
    upsample: int = 4,
    ransac_threshold_px: float = 1.0,
) -> FeatureMatch:
    """Feature-based 2D registration: detect, describe, match, then fit an affine with RANSAC.

    Parameters
    ----------
    fixed, moving
        2D images ``(rows, columns)``, any dtype (windowed to uint8 for OpenCV).
    method
        ``"orb"`` (binary descriptors, Hamming distance; Rublee et al., ICCV 2011) or
        ``"sift"`` (float descriptors, L2 distance; Lowe, IJCV 2004).
    n_features
        Keypoints kept per image.
    ratio
        Lowe's ratio test: keep a match only if it is clearly better than the second best.
    upsample
        Both images are enlarged this many times (cubic) before detection: a 2 mm MRI slice
        of ~100 pixels is too small for detectors tuned to photographs. Coordinates are
        reported in the original pixels.
    ransac_threshold_px
        RANSAC's inlier distance, in original pixels.

    Returns
    -------
    FeatureMatch
    """
    import cv2

    images = []
    for name, image in (("fixed", fixed), ("moving", moving)):
        if np.ndim(image) != 2:
            raise ValueError(f"the {name} image has shape {np.shape(image)}; pass a 2D slice.")
        small = to_uint8(image)
        images.append(
            cv2.resize(small, None, fx=upsample, fy=upsample, interpolation=cv2.INTER_CUBIC)
        )
    if method == "orb":
        detector = cv2.ORB_create(nfeatures=n_features, edgeThreshold=15, patchSize=31)
        norm = cv2.NORM_HAMMING
    elif method == "sift":
        detector = cv2.SIFT_create(nfeatures=n_features)
        norm = cv2.NORM_L2
    else:
        raise ValueError(f"method={method!r}: choose 'orb' or 'sift'.")
    (kp_f, des_f), (kp_m, des_m) = (detector.detectAndCompute(image, None) for image in images)
    pairs = []
    if des_f is not None and des_m is not None and len(des_m) >= 2:
        for candidates in cv2.BFMatcher(norm).knnMatch(des_f, des_m, k=2):
            if len(candidates) == 2 and candidates[0].distance < ratio * candidates[1].distance:
                pairs.append(candidates[0])
    to_original = lambda kp: (np.asarray(kp.pt) + 0.5) / upsample - 0.5  # noqa: E731
    fixed_points = np.array([to_original(kp_f[m.queryIdx]) for m in pairs]).reshape(-1, 2)
    moving_points = np.array([to_original(kp_m[m.trainIdx]) for m in pairs]).reshape(-1, 2)
    matrix, inliers = None, np.zeros(len(pairs), bool)
    if len(pairs) >= 3:
        estimate, mask = cv2.estimateAffine2D(
            fixed_points,
            moving_points,
            method=cv2.RANSAC,
            ransacReprojThreshold=ransac_threshold_px,
            maxIters=5000,
            confidence=0.999,
        )
        if estimate is not None:
            matrix = np.vstack([estimate, [0.0, 0.0, 1.0]])
            inliers = mask.ravel().astype(bool)
    return FeatureMatch(matrix, fixed_points, moving_points, inliers, (len(kp_f), len(kp_m)))


def slice_to_world_matrix(
    pixel_matrix: np.ndarray, fixed_affine: np.ndarray, moving_affine: np.ndarray | None = None
) -> np.ndarray:
    """A 2D pixel matrix of axial slices as a 4 x 4 world (mm) matrix, fixed -> moving.

    ``pixel_matrix`` (3 x 3, e.g. `FeatureMatch.matrix`) maps OpenCV pixels ``(x, y) =
    (column, row)`` of the fixed slice ``fixed_array[:, :, k]`` to pixels of the moving slice
    ``moving_array[:, :, k]``: column ``x`` is the volume's second index ``j`` and row ``y``
    its first ``i``. The slice index is left unchanged. The result can be scored with
    `target_registration_error` like a 3D registration.
    """
    moving_affine = fixed_affine if moving_affine is None else moving_affine
    in_plane = np.eye(4)
    in_plane[np.ix_([0, 1, 3], [0, 1, 3])] = np.asarray(pixel_matrix, float)
    swap = np.eye(4)[[1, 0, 2, 3]]  # (x, y) pixels <-> (i, j) voxels
    voxels = swap @ in_plane @ swap
    return np.asarray(moving_affine, float) @ voxels @ np.linalg.inv(fixed_affine)


def draw_matches(
    match: FeatureMatch, fixed: np.ndarray, moving: np.ndarray, *, max_lines: int = 60
):
    """Fixed and moving side by side (RGB uint8) with lines joining matched keypoints.

    Both images are enlarged 4 times (cubic) and separated by a white gap of 16 pixels, so
    the result is ``(4 H, 8 W + 16, 3)``. RANSAC inliers are green, rejected matches red; at
    most ``max_lines`` of each are drawn (evenly chosen).
    """
    import cv2

    scale = 4
    tiles = [
        cv2.cvtColor(
            cv2.resize(to_uint8(image), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC),
            cv2.COLOR_GRAY2RGB,
        )
        for image in (fixed, moving)
    ]
    height = max(tile.shape[0] for tile in tiles)
    tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    gap = np.full((height, 4 * scale, 3), 255, np.uint8)
    canvas = np.ascontiguousarray(np.hstack([tiles[0], gap, tiles[1]]))
    offset = tiles[0].shape[1] + gap.shape[1]
    for keep, colour in ((~match.inliers, (220, 40, 40)), (match.inliers, (40, 200, 60))):
        chosen = np.flatnonzero(keep)
        chosen = (
            chosen[np.linspace(0, len(chosen) - 1, min(len(chosen), max_lines)).astype(int)]
            if len(chosen)
            else chosen
        )
        for k in chosen:
            start = tuple(int(v) for v in (match.fixed_points[k] + 0.5) * scale)
            end = tuple(int(v) for v in (match.moving_points[k] + 0.5) * scale)
            end = (end[0] + offset, end[1])
            cv2.line(canvas, start, end, colour, 1, cv2.LINE_AA)
            cv2.circle(canvas, start, 3, colour, 1, cv2.LINE_AA)
            cv2.circle(canvas, end, 3, colour, 1, cv2.LINE_AA)
    return canvas


# --- SimpleITK, the reference ----------------------------------------------------------------


def to_simpleitk(image: nib.Nifti1Image):
    """A ``SimpleITK.Image`` (float32) with the same voxels and physical placement (LPS)."""
    import SimpleITK as sitk

    values = normalise_intensity(image_values(check_image(image, "input")))
    result = sitk.GetImageFromArray(np.ascontiguousarray(values.transpose(2, 1, 0)))
    lps = LPS_TO_RAS @ np.asarray(image.affine, float)  # RAS -> LPS: the same flip
    spacing = voxel_sizes(lps)
    result.SetSpacing(spacing.tolist())
    result.SetOrigin(lps[:3, 3].tolist())
    result.SetDirection((lps[:3, :3] / spacing).ravel().tolist())
    return result


def simpleitk_matrix(transform) -> np.ndarray:
    """A SimpleITK transform (affine-like, fixed -> moving, LPS) as a 4 x 4 RAS+ matrix.

    SimpleITK's transforms are ``x -> A (x - c) + c + t`` with centre ``c`` in LPS mm; flipping
    x and y on both sides gives the same mapping in RAS+.
    """
    import SimpleITK as sitk

    if isinstance(transform, sitk.CompositeTransform):
        transform = transform.GetNthTransform(0)
    linear = np.asarray(transform.GetMatrix(), float).reshape(3, 3)
    centre = np.asarray(transform.GetCenter(), float)
    lps = np.eye(4)
    lps[:3, :3] = linear
    lps[:3, 3] = np.asarray(transform.GetTranslation(), float) + centre - linear @ centre
    return LPS_TO_RAS @ lps @ LPS_TO_RAS


def register_simpleitk(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    *,
    transform: Literal["rigid", "affine"] = "affine",
    metric: Metric = "ncc",
    levels: Sequence[int] = (4, 2, 1),
    iterations: int = 200,
    sampling: float = 0.05,
    bins: int = 50,
    seed: int = 1,
    threads: int = 2,
) -> RegistrationResult:
    """SimpleITK's ``ImageRegistrationMethod`` on the same images: the reference to beat.

    Configured as SimpleITK's own notebooks teach: centred-transform initialisation by image
    moments; Mattes mutual information (``bins`` bins), correlation or mean squares,
    evaluated on a random ``sampling`` fraction of the voxels (seeded); linear
    interpolation; a pyramid of shrink ``levels`` smoothed by ``shrink / 2`` voxels (none at
    full resolution); ``RegularStepGradientDescent`` (step 2 mm halved when the direction
    turns, down to 0.001, at most ``iterations`` per level) with parameter scales from
    physical shifts. (The plain ``GradientDescent`` with a convergence window, also common
    in tutorials, stopped after about ten iterations here, millimetres short of the answer.)
    Both images are scaled to [0, 1] as `register` does. ``seed`` seeds the sampling (it must
    not be 0, which SimpleITK reads as "seed from the clock"). Returns a `RegistrationResult`
    with the fixed -> moving RAS+ matrix and the metric at each iteration of each level.
    """
    import SimpleITK as sitk

    if seed == sitk.sitkWallClock:
        raise ValueError("seed=0 makes SimpleITK seed from the clock; pass a positive seed.")
    start = time.perf_counter()
    fixed_sitk, moving_sitk = to_simpleitk(fixed), to_simpleitk(moving)
    kind = sitk.Euler3DTransform() if transform == "rigid" else sitk.AffineTransform(3)
    initial = sitk.CenteredTransformInitializer(
        fixed_sitk, moving_sitk, kind, sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    method = sitk.ImageRegistrationMethod()
    method.SetNumberOfThreads(threads)
    if metric == "mi":
        method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=bins)
    elif metric == "ncc":
        method.SetMetricAsCorrelation()
    else:
        method.SetMetricAsMeanSquares()
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, seed)  # seed 0 would mean "use the clock"
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0,
        minStep=1e-3,
        numberOfIterations=iterations,
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-8,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(levels))
    method.SetSmoothingSigmasPerLevel([s / 2 if s > 1 else 0.0 for s in levels])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    method.SetInitialTransform(initial, inPlace=False)
    values: list[list[float]] = []
    method.AddCommand(sitk.sitkMultiResolutionIterationEvent, lambda: values.append([]))
    method.AddCommand(sitk.sitkIterationEvent, lambda: values[-1].append(method.GetMetricValue()))
    final = method.Execute(fixed_sitk, moving_sitk)
    matrix = simpleitk_matrix(final)
    history = [LevelHistory(transform, s, v) for s, v in zip(levels, values, strict=False)]
    return RegistrationResult(
        matrix=matrix,
        warped=resample(moving, fixed, matrix),
        history=history,
        fixed_affine=np.asarray(fixed.affine, float),
        seconds=time.perf_counter() - start,
    )


# --- test pairs with a known answer, from the MNI152 template --------------------------------


def mni_image(contrast: Literal["t1", "t2"] = "t1", spacing_mm: float = 2.0) -> nib.Nifti1Image:
    """The MNI152 2009 template (brain-extracted) as a float32 image, RAS+, ``spacing_mm`` grid.

    ``"t1"`` is the template itself (white matter brightest, in [0, 1]); ``"t2"`` is a T2-like
    contrast made from its tissue maps with SynthBraTS's intensities (CSF brightest, white
    matter darkest), the template's fine detail inverted: a second modality whose voxels
    correspond exactly to the first. 98 x 116 x 94 voxels at 2 mm.
    """
    from . import synth

    template = synth.load_template(spacing_mm)
    t1 = np.asarray(template.t1, np.float32)
    if contrast == "t1":
        values = t1
    elif contrast == "t2":
        gm, wm = np.asarray(template.gm), np.asarray(template.wm)
        csf = np.clip(np.asarray(template.brain) - gm - wm, 0, 1)
        level = {name: synth.TISSUE_INTENSITY[name] for name in ("csf", "gm", "wm")}
        model_t1 = sum(m * level[n][0] for m, n in ((csf, "csf"), (gm, "gm"), (wm, "wm")))
        model_t2 = sum(m * level[n][2] for m, n in ((csf, "csf"), (gm, "gm"), (wm, "wm")))
        detail = (t1 - model_t1) * (t1 > 0)
        values = np.clip(model_t2 + synth.DETAIL_WEIGHT[2] * detail, 0, None) * (t1 > 0)
    else:
        raise ValueError(f"contrast={contrast!r}: choose 't1' or 't2'.")
    return nib.Nifti1Image(values.astype(np.float32), np.array(template.affine))


def mni_tissue_labels(spacing_mm: float = 2.0) -> nib.Nifti1Image:
    """Hard tissue labels of the template: 0 background, 1 CSF, 2 grey, 3 white matter (uint8).

    Each brain voxel takes its most probable tissue from the template's maps.
    """
    from . import synth

    template = synth.load_template(spacing_mm)
    gm, wm, brain = (np.asarray(m) for m in (template.gm, template.wm, template.brain))
    csf = np.clip(brain - gm - wm, 0, 1)
    labels = (np.argmax(np.stack([csf, gm, wm]), axis=0) + 1) * (brain > 0)
    return nib.Nifti1Image(labels.astype(np.uint8), np.array(template.affine))


def smooth_displacement(
    image: nib.Nifti1Image, amplitude_mm: float = 4.0, scale_mm: float = 30.0, seed: int = 0
) -> np.ndarray:
    """A smooth random displacement field on ``image``'s grid: ``(X, Y, Z, 3)`` float32 mm.

    Each component is smooth noise correlated over ``scale_mm`` with standard deviation
    ``amplitude_mm`` (the generator SynthBraTS uses for its anatomy), so a small amplitude
    relative to the scale never folds.
    """
    from . import synth

    rng = np.random.default_rng(seed)
    scale_vox = [scale_mm / float(size) for size in voxel_sizes(image.affine)]  # per axis
    return np.stack(
        [amplitude_mm * synth.smooth_noise(rng, image.shape[:3], scale_vox) for _ in range(3)],
        axis=-1,
    ).astype(np.float32)
