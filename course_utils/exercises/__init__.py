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

from . import (
    dicom_in_depth,
    files_to_tensors,
    framework,
    image_registration,
    medical_image_formats,
    nifti_and_coordinates,
    patching,
    start_here,
    unet_segmentation,
    your_own_scan,
)
from .dicom_in_depth import *  # noqa: F403
from .files_to_tensors import *  # noqa: F403
from .framework import *  # noqa: F403
from .image_registration import *  # noqa: F403
from .medical_image_formats import *  # noqa: F403

# the magic numbers sniff_format tests (tests/test_exercises.py), importable from here as before
from .medical_image_formats import MAGICS  # noqa: F401
from .nifti_and_coordinates import *  # noqa: F403
from .patching import *  # noqa: F403
from .start_here import *  # noqa: F403
from .unet_segmentation import *  # noqa: F403
from .your_own_scan import *  # noqa: F403

# Each module's checks, then the course's versions of those exercises (its __all__).
__all__ = [
    *framework.__all__,
    *start_here.__all__,
    *medical_image_formats.__all__,
    *dicom_in_depth.__all__,
    *nifti_and_coordinates.__all__,
    *files_to_tensors.__all__,
    *patching.__all__,
    *image_registration.__all__,
    *unet_segmentation.__all__,
    *your_own_scan.__all__,
]
