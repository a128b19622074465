"""The checks behind every exercise: ``check_<name>(fn)`` runs a learner's function on small
cases and prints a tick, or what was expected, what came back and a hint.

An exercise in a notebook has three cells (see CONTRIBUTING.md):

1. a stub: the function with its docstring, ``...`` blanks and
   ``raise NotImplementedError("Student exercise: ...")``, raised before any blank runs;
2. the solution: the same function completed, in a cell tagged ``solution`` (removed from
   the student version);
3. the check: ``name = exercises.check_<name>(name)``.

A check never raises, and it returns the function the rest of the notebook should use: the
learner's once it passes every case, until then the course's own version (its name printed
under the feedback). So a student notebook runs top to bottom with its exercises left undone,
and the cells after an exercise never stop at a ``NotImplementedError``. The course's versions
are the library functions the notebooks meet later (``registration.ncc``,
``metrics.dice_score``, ...) or, where the library has none, functions of this package.
`run_cases` gives the pass/fail verdict to code.

One module per idea:

- `framework`: `Case`, `check`, `run_cases` and the comparison and feedback helpers;
- one module per notebook, named after it, with that notebook's checks and the course's
  versions of its exercises: `start_here` (00), `medical_image_formats` (01),
  `dicom_in_depth` (02), `nifti_and_coordinates` (03), `files_to_tensors` (04),
  `image_registration` (05), `patching` (06), `unet_segmentation` (07), `your_own_scan`
  (08).

Every public name is re-exported here, so notebooks write ``from course_utils import
exercises`` and ``exercises.check_ncc(ncc)`` wherever the check lives.

Used by notebook 00 onwards; each check names the notebook it belongs to.
"""

from __future__ import annotations

from .dicom_in_depth import (
    check_dicom_affine,
    check_find_leaks,
    check_hounsfield_units,
    check_slice_order,
    dicom_affine,
    find_leaks,
    slice_order,
)
from .files_to_tensors import brats_regions, check_brats_regions, check_zscore, zscore_brain
from .framework import Case, check, course_version, difference, run_cases, same
from .image_registration import (
    check_ncc,
    check_translation_registration,
    register_translation,
)
from .medical_image_formats import (
    MAGICS,  # noqa: F401  the magic numbers sniff_format tests (tests/test_exercises.py)
    check_corner_distance,
    check_format_sniffer,
    corner_distance_mm,
    sniff_format,
)
from .nifti_and_coordinates import check_voxel_to_world, check_world_to_voxel, world_to_voxel
from .patching import check_axis_origins, check_stitch_mean, stitch_mean
from .start_here import check_tumour_volume, whole_tumour_volume_cm3
from .unet_segmentation import (
    check_dice_score,
    check_soft_dice,
    check_threshold_baseline,
    soft_dice_loss,
)
from .your_own_scan import check_registration_error

__all__ = [
    "Case",
    "check",
    "run_cases",
    "course_version",
    "same",
    "difference",
    "check_tumour_volume",
    "check_format_sniffer",
    "check_corner_distance",
    "check_hounsfield_units",
    "check_slice_order",
    "check_dicom_affine",
    "check_find_leaks",
    "check_voxel_to_world",
    "check_world_to_voxel",
    "check_zscore",
    "check_brats_regions",
    "check_axis_origins",
    "check_stitch_mean",
    "check_ncc",
    "check_translation_registration",
    "check_soft_dice",
    "check_dice_score",
    "check_threshold_baseline",
    # the course's versions of exercises the library has no function for
    "whole_tumour_volume_cm3",
    "sniff_format",
    "corner_distance_mm",
    "slice_order",
    "dicom_affine",
    "find_leaks",
    "world_to_voxel",
    "zscore_brain",
    "brats_regions",
    "register_translation",
    "stitch_mean",
    "soft_dice_loss",
    "check_registration_error",
]
