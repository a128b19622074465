"""``course-utils predict``: segment a subject without labels, from files, series or a folder.

`predict_files` reads one input per contrast: a NIfTI (or any `io.load_volume`) file, or a
folder holding one DICOM series. Contrasts that share the reference contrast's grid (T1ce)
are used as they are. Contrasts on other grids (separate series: other voxel sizes, another
field of view, the patient moved in between) are co-registered rigidly to the T1ce by mutual
information on a coarse grid (`inference.coregister`) and resampled onto its grid (linear);
``register="always"`` or ``"never"`` overrides that choice. Then
`inference.predict_on_input_grid` runs (the checkpoint's spacing, every contrast zeroed outside
one shared brain mask, the checkpoint's normalisation, and back), and it writes:

- ``<out>.nii.gz``: BraTS labels in the checkpoint's coding, on the reference's own grid and
  voxel order (its shape and affine, so it overlays the T1ce in any viewer), or with
  ``grid="ras1mm"`` on a 1 mm RAS grid covering it (for thick-slice or oblique references);
- ``<out>_probabilities.nii.gz`` (optional): WT, TC, ET probabilities, ``(X, Y, Z, 3)``,
  stored as uint8 with a scale of 1/255;
- ``<out>.json``: the checkpoint's ``"input"`` record and architecture, the files read, what
  was resampled, and per co-registered contrast the matrix applied and the final mutual
  information.

`predict_folder` does the same for every subject of a BraTS 2021, BraTS 2023/2024 or
SynthBraTS folder, or every 4D image of an MSD Task01 folder (``imagesTs/`` and
``imagesTr/``, channels in the order its ``dataset.json`` lists); labels are not needed.

One idea per module, every public name re-exported here (``from course_utils.predict import
predict_files``):

- `checks`: what is refused before anything loads (contrasts, paths, mixed DICOM series);
- `reference_grid`: every contrast onto the T1ce's grid (`REFERENCE`, `REGISTER`:
  co-registered where needed) and results back onto it;
- `outputs`: the labels, probabilities and JSON written (`GRIDS`, `output_paths`);
- `subject`: `predict_files`, one subject;
- `folders`: `predict_folder`, every subject of a BraTS, SynthBraTS or MSD Task01 folder.

Used by ``course-utils predict`` (`course_utils.cli`) and notebook 08 (your own scan).
"""

from __future__ import annotations

from . import checks, folders, outputs, reference_grid, subject
from .checks import *  # noqa: F403
from .folders import *  # noqa: F403
from .outputs import *  # noqa: F403
from .reference_grid import *  # noqa: F403
from .subject import *  # noqa: F403

__all__ = [
    *checks.__all__,
    *reference_grid.__all__,
    *outputs.__all__,
    *subject.__all__,
    *folders.__all__,
]
