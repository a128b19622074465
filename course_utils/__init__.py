"""course_utils: the shared package of the course "Brain tumour segmentation on MRI with a U-Net".

Modules (one idea each; heavy libraries are imported inside the functions that need them,
so ``import course_utils`` stays fast and headless):

- ``errors``: ``CourseDataError`` and its subclasses, raised by every bad input
- ``paths``: where data and checkpoints live (``COURSE_DATA`` overrides)
- ``files``: atomic writes and checksums
- ``synth``: the SynthBraTS generator and the cached default cohort
- ``io``: ``load_volume`` for every format, writers; ``dicom``: headers, raw anatomy,
  pixel values; ``series``: DICOM series assembly; ``multiframe``: enhanced multi-frame
  DICOM (functional groups); ``mosaic``: Siemens mosaics; ``deidentify``: PS3.15 Annex E,
  Table E.1-1 as data
- ``datasets``: BraTS 2021 / MSD Task01 / SynthBraTS as torch datasets, normalisation,
  labels -> regions; ``transforms``: seeded 3D augmentation of image and label together
- ``registration``: rigid, affine and deformable registration in PyTorch, world mm;
  MSE/NCC/MI; OpenCV features; TRE; SimpleITK for comparison
- ``patches``: patch grids, sampling, stitching, sliding-window inference
- ``unet``: the U-Net (2D/3D); ``losses``: soft Dice, Dice + CE/BCE; ``metrics``: Dice,
  sensitivity, specificity, HD95 in mm; ``training``: ``course-utils train``/``evaluate``,
  checkpoints, torchrun
- ``plotting``: static figures; ``viewers``: ipywidgets viewers
- ``exercises``: the checks behind every exercise
- ``seeding``: ``seed_everything``; ``environment``: the install check
- ``student``: the student version of the notebooks (solutions removed)
"""

from __future__ import annotations

from .errors import CourseDataError
from .seeding import seed_everything

__version__ = "0.1.0"
REPOSITORY = "https://github.com/mi-course/brain-tumour-unet"

__all__ = ["CourseDataError", "ensure_dataset", "seed_everything", "REPOSITORY", "__version__"]


def __getattr__(name: str):
    # ensure_dataset pulls in nibabel and scipy: import it on first use only.
    if name == "ensure_dataset":
        from .synth import ensure_dataset

        return ensure_dataset
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
