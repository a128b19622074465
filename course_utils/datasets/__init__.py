"""Datasets: BraTS-style folders as PyTorch tensors, normalised, with WT/TC/ET targets.

One idea per module, every public name re-exported here (``from course_utils import
datasets`` then ``datasets.BraTSDataset``):

- `layouts`: `detect_layout`, `find_subjects`, `Subject`: which of the four folder layouts
  (BraTS 2021, BraTS 2023/2024 GLI, MSD Task01, SynthBraTS) a folder is, and where each
  subject's files are;
- `labels`: the label codings reconciled: `brats_to_classes`, `msd_to_brats`,
  `classes_to_regions`, `regions_to_classes`, `classes_to_brats`;
- `normalisation`: `zscore_normalise`, `robust_brain_mask`, `normalise_image` and the
  `NORMALISATIONS` a checkpoint records;
- `reading`: one subject's files as RAS+ arrays, image and labels checked to share a grid;
- `volume_dataset`: `BraTSDataset` (whole subjects) and `SeededDataset`, the seeded base class;
- `slice_dataset`: `SliceDataset`, 2D slices for 2D networks;
- `patch_dataset`: `PatchDataset`, random training patches, a share centred on tumour.

Axes: every volume is reoriented to the closest canonical RAS+ orientation, so an image is
``(C, D, H, W)`` with ``D, H, W`` running towards Right, Anterior and Superior; an axial slice
is ``image[:, :, :, k]``.

Used by notebook 04 (files to PyTorch tensors), notebook 06 (patching 3D volumes) and notebook
07 (U-Net training).
"""

from __future__ import annotations

from ..errors import IncompleteSubjectError
from . import labels, layouts, normalisation, patch_dataset, slice_dataset, volume_dataset
from .labels import *  # noqa: F403
from .layouts import *  # noqa: F403
from .normalisation import *  # noqa: F403
from .patch_dataset import *  # noqa: F403
from .slice_dataset import *  # noqa: F403
from .volume_dataset import *  # noqa: F403

__all__ = [
    *layouts.__all__,
    *labels.__all__,
    "IncompleteSubjectError",
    *normalisation.__all__,
    *volume_dataset.__all__,
    *slice_dataset.__all__,
    *patch_dataset.__all__,
]
