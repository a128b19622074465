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

One idea per module; every public name is re-exported here, so
``from course_utils import registration`` then ``registration.register(...)`` works:

- `similarity`: the metrics `mse`, `ncc`, `local_ncc`, `mutual_information` (Parzen-window
  `joint_histogram`, differentiable);
- `spatial`: `world_transform_matrix` (alias `affine_matrix`), `random_affine`, `resample`,
  `centre_of_mass` and the other starting-point geometry;
- `settings`: `RegistrationSettings`, every choice of the method checked once;
- `pyramid`: the block-averaged levels and their sample points;
- `models`: the rigid/affine parameters and the deformable control grid;
- `optimise`: the Adam and L-BFGS loops over the pyramid;
- `descent`: `register` itself and `metric_values` (its cost landscape);
- `result`: `RegistrationResult` and `LevelHistory`;
- `accuracy`: `target_registration_error`, `landmark_error`, `jacobian_determinant`,
  `folding`, `checkerboard`;
- `features`: feature-based 2D registration of slices with OpenCV (`match_features`);
- `simpleitk`: SimpleITK's ``ImageRegistrationMethod`` on the same images, the reference
  (`register_simpleitk`, and `register_simpleitk_bspline` for its B-spline step);
- `mni_pairs`: test pairs with a known answer from the MNI152 template (`mni_image`,
  `mni_tissue_labels`, `smooth_displacement`; see `course_utils.synth`);
- `phantoms`: analytic 2D test images (`blobs`), `rotate_slice` and `interpolation_error`
  (an interpolation order scored against the exact continuous image).

Used by notebook 05 (image registration) and ``benchmarks/registration.py``.
"""

from __future__ import annotations

# Kept importable from here for code written against the single-module version
# (`exercises` runs its registration check under `registration.torch_threads`).
from ..geometry import LPS_TO_RAS, voxel_sizes  # noqa: F401
from ..threads import torch_threads  # noqa: F401
from .accuracy import (
    checkerboard,
    folding,
    jacobian_determinant,
    landmark_error,
    target_registration_error,
)
from .descent import metric_values, register
from .features import FeatureMatch, draw_matches, match_features, slice_to_world_matrix
from .mni_pairs import mni_image, mni_tissue_labels, smooth_displacement
from .phantoms import blobs, interpolation_error, rotate_slice
from .result import LevelHistory, RegistrationResult
from .settings import METRICS, TRANSFORMS, RegistrationSettings
from .similarity import (
    hard_bins,
    joint_histogram,
    local_ncc,
    mse,
    mutual_information,
    ncc,
    parzen_weights,
)
from .simpleitk import (
    register_simpleitk,
    register_simpleitk_bspline,
    simpleitk_matrix,
    to_simpleitk,
)
from .spatial import (
    affine_matrix,
    centre_of_mass,
    random_affine,
    resample,
    world_transform_matrix,
)

__all__ = [
    "TRANSFORMS",
    "METRICS",
    "RegistrationSettings",
    "RegistrationResult",
    "LevelHistory",
    "FeatureMatch",
    "register",
    "register_simpleitk",
    "register_simpleitk_bspline",
    "metric_values",
    "resample",
    "world_transform_matrix",
    "affine_matrix",
    "random_affine",
    "centre_of_mass",
    "mse",
    "ncc",
    "local_ncc",
    "parzen_weights",
    "hard_bins",
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
    "folding",
    "checkerboard",
    "mni_image",
    "mni_tissue_labels",
    "smooth_displacement",
    "blobs",
    "rotate_slice",
    "interpolation_error",
]
