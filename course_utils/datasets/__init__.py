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
from .labels import (
    BRATS_TO_CLASS,
    CLASS_NAMES,
    MSD_TO_BRATS,
    REGION_TABLE,
    REGIONS,
    brats_to_classes,
    classes_to_brats,
    classes_to_regions,
    msd_to_brats,
    regions_to_classes,
)
from .layouts import GLI_EDITIONS, LAYOUTS, MODALITIES, Subject, detect_layout, find_subjects
from .normalisation import (
    DEFAULT_NORMALISATION,
    NORMALISATIONS,
    max_scale,
    normalisation_record,
    normalise_image,
    robust_brain_mask,
    zscore_normalise,
)
from .patch_dataset import PatchDataset
from .slice_dataset import SliceDataset
from .volume_dataset import BraTSDataset

__all__ = [
    "MODALITIES",
    "LAYOUTS",
    "GLI_EDITIONS",
    "CLASS_NAMES",
    "REGIONS",
    "REGION_TABLE",
    "BRATS_TO_CLASS",
    "MSD_TO_BRATS",
    "IncompleteSubjectError",
    "Subject",
    "detect_layout",
    "find_subjects",
    "brats_to_classes",
    "msd_to_brats",
    "classes_to_regions",
    "classes_to_brats",
    "regions_to_classes",
    "zscore_normalise",
    "robust_brain_mask",
    "NORMALISATIONS",
    "DEFAULT_NORMALISATION",
    "normalisation_record",
    "normalise_image",
    "max_scale",
    "BraTSDataset",
    "SliceDataset",
    "PatchDataset",
]
