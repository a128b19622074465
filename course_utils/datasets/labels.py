"""Labels: the BraTS 2021, 2023, 2024 and MSD codings as course classes and WT/TC/ET regions.

The label codings differ (all are defined in `brats`), and this is where they are reconciled:

====================================  ======  ========  =======  ======  =========  ===========
meaning                               BraTS   BraTS     BraTS    MSD     class      regions
                                      2021    2023 GLI  2024     Task01  (labels)   containing
====================================  ======  ========  =======  ======  =========  ===========
background                            0       0         0        0       0          none
necrotic / non-enhancing tumour core  1       1         1        2       1          WT, TC
peritumoural oedema                   2       2         2        1       2          WT
enhancing tumour                      4       3         3        3       3          WT, TC, ET
resection cavity (post-operative)     --      --        4        --      0          none

Used by notebook 04 (labels to regions), `training`, `metrics` and `lesionwise`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import brats
from ._types import Array

__all__ = [
    "CLASS_NAMES",
    "REGIONS",
    "REGION_TABLE",
    "BRATS_TO_CLASS",
    "MSD_TO_BRATS",
    "brats_to_classes",
    "msd_to_brats",
    "classes_to_regions",
    "classes_to_brats",
    "regions_to_classes",
    "lookup_regions",
    "lookup_table",
    "remap",
]


#: Meaning of each class index of ``target="labels"`` (`brats.CLASS_NAMES`).
CLASS_NAMES = brats.CLASS_NAMES
#: The BraTS evaluation regions, in channel order (`brats.REGIONS`).
REGIONS = brats.REGIONS
#: BraTS 2021 label value -> class index.
BRATS_TO_CLASS = {label: c for c, label in enumerate(brats.CLASS_LABELS)}
#: Region membership of each class: rows WT, TC, ET; columns classes 0..3.
REGION_TABLE = np.array(
    [[label in brats.BRATS_2021.regions[r] for label in brats.CLASS_LABELS] for r in REGIONS],
    dtype=np.float32,
)
#: MSD Task01 label value -> BraTS 2021 value (1 oedema -> 2, 2 non-enhancing -> 1, 3 -> 4).
MSD_TO_BRATS = brats.label_mapping(brats.MSD_TASK01, brats.BRATS_2021)
INVALID = 255  # marks label values outside a coding in the look-up tables below


def lookup_table(mapping: dict[int, int]) -> np.ndarray:
    """A ``uint8`` look-up table for `remap`: ``table[value]`` is ``mapping[value]``, and
    `INVALID` (255) for every value the mapping does not name."""
    table = np.full(max(mapping) + 1, INVALID, dtype=np.uint8)
    table[list(mapping)] = list(mapping.values())
    return table


def coding_table(coding: brats.LabelCoding) -> np.ndarray:
    """Label value of ``coding`` -> the course's class; sub-regions in no class (BraTS 2024's
    resection cavity) become background."""
    classes = {
        value: BRATS_TO_CLASS[brats.BRATS_2021.value_of(key)] if key != "cavity" else 0
        for value, key in coding.subregions.items()
    }
    return lookup_table(classes)


BRATS_LUT = coding_table(brats.BRATS_2021)
MSD_LUT = coding_table(brats.MSD_TASK01)
#: Subject.coding -> (look-up table, the coding's name for messages).
CODING_TABLES = {
    "brats": (BRATS_LUT, "BraTS"),
    "brats2023": (coding_table(brats.BRATS_2023_GLI), "BraTS 2023 GLI"),
    "brats2024": (coding_table(brats.BRATS_2024_GLI), "BraTS 2024 GLI"),
    "msd": (MSD_LUT, "MSD"),
}


def remap(labels: np.ndarray, table: np.ndarray, coding: str) -> np.ndarray:
    """``table[labels]`` as uint8; ValueError naming any value the coding does not have."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        rounded = np.rint(labels)
        if not np.array_equal(rounded, labels):
            raise ValueError(f"{coding} labels must be whole numbers; some are not.")
        labels = rounded.astype(np.int64)
    in_range = labels.size == 0 or (labels.min() >= 0 and labels.max() < len(table))
    classes = table[labels] if in_range else None
    if classes is None or (classes == INVALID).any():
        valid = [value for value, c in enumerate(table) if c != INVALID]
        foreign = sorted(set(np.unique(labels).tolist()) - set(valid))
        valid_text = "/".join(str(v) for v in valid)
        raise ValueError(f"{coding} labels are {valid_text}; found {foreign} as well.")
    return classes


def brats_to_classes(labels: np.ndarray) -> np.ndarray:
    """BraTS 2021 label values (0/1/2/4) -> contiguous classes 0..3, for a cross-entropy loss.

    Parameters
    ----------
    labels
        Integer (or whole-valued float) array of any shape holding 0, 1, 2 and 4 only.

    Returns
    -------
    numpy.ndarray
        int64 array of the same shape: 0 background, 1 necrotic core, 2 oedema, 3 enhancing
        tumour (`CLASS_NAMES`).

    Raises
    ------
    ValueError
        For any other value (BraTS 2023 codes enhancing tumour as 3, for instance).

    Examples
    --------
    >>> brats_to_classes(np.array([0, 1, 2, 4]))
    array([0, 1, 2, 3])
    """
    return remap(labels, BRATS_LUT, "BraTS").astype(np.int64)


def msd_to_brats(labels: np.ndarray) -> np.ndarray:
    """MSD Task01 label values -> BraTS 2021 values: 1 oedema -> 2, 2 non-enhancing -> 1, 3 -> 4.

    Parameters
    ----------
    labels
        Integer array of any shape holding 0, 1, 2 and 3 only.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape, coded 0/1/2/4 as in BraTS 2021.

    Examples
    --------
    >>> msd_to_brats(np.array([0, 1, 2, 3]))
    array([0, 2, 1, 4], dtype=uint8)
    """
    brats_values = np.array(brats.CLASS_LABELS, dtype=np.uint8)  # indexed by class
    return brats_values[remap(labels, MSD_LUT, "MSD")]


def classes_to_brats(classes: np.ndarray) -> np.ndarray:
    """Classes 0..3 -> BraTS 2021 label values 0/1/2/4 (uint8), the inverse of
    `brats_to_classes`: what a prediction is saved as.

    Examples
    --------
    >>> classes_to_brats(np.array([0, 1, 2, 3]))
    array([0, 1, 2, 4], dtype=uint8)
    """
    classes = np.asarray(classes)
    if classes.size and (classes.min() < 0 or classes.max() >= len(brats.CLASS_LABELS)):
        raise ValueError(
            f"classes are 0..{len(brats.CLASS_LABELS) - 1}; got {np.unique(classes)}."
        )
    return np.array(brats.CLASS_LABELS, dtype=np.uint8)[classes]


def classes_to_regions(classes: Array) -> Array:
    """Classes 0..3 -> the three BraTS evaluation regions as binary channels.

    Parameters
    ----------
    classes
        Integer array or tensor ``(*spatial)`` of classes (see `brats_to_classes`).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32 ``(3, *spatial)`` of 0/1, same kind as ``classes``: channel 0 whole tumour
        (WT: classes 1, 2, 3 = BraTS labels 1, 2, 4), 1 tumour core (TC: classes 1, 3 = labels
        1, 4), 2 enhancing tumour (ET: class 3 = label 4). The regions are nested: ET in TC
        in WT.

    Examples
    --------
    >>> classes_to_regions(np.array([0, 1, 2, 3]))
    array([[0., 1., 1., 1.],
           [0., 1., 0., 1.],
           [0., 0., 0., 1.]], dtype=float32)
    """
    classes = classes if isinstance(classes, torch.Tensor) else np.asarray(classes)
    if math.prod(classes.shape) and not 0 <= int(classes.min()) <= int(classes.max()) <= 3:
        raise ValueError(
            f"classes must be 0..3; got values from {int(classes.min())} to "
            f"{int(classes.max())}. Convert BraTS labels (0/1/2/4) with brats_to_classes first."
        )
    return lookup_regions(classes)


def lookup_regions(classes: Array) -> Array:
    """`classes_to_regions` without the range check, for classes known to be 0..3.

    One gather from `REGION_TABLE` per voxel, rather than three comparisons and a stack.
    """
    if isinstance(classes, torch.Tensor):
        flat = classes.reshape(-1).to(torch.int32)
        return torch.from_numpy(REGION_TABLE).index_select(1, flat).view(3, *classes.shape)
    return np.take(REGION_TABLE, classes.astype(np.intp), axis=1)


def regions_to_classes(regions: Array) -> Array:
    """The inverse of `classes_to_regions`: ``(3, *spatial)`` regions -> int64 classes 0..3.

    Each voxel takes the innermost region it belongs to (ET -> 3, else TC -> 1, else
    WT -> 2, else 0), so thresholded predictions that are not nested still map to one class.
    Channels are read as ``> 0.5``. Returns the same kind (NumPy or torch) as ``regions``.

    Examples
    --------
    >>> regions_to_classes(np.array([[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]]))
    array([0, 1, 2, 3])
    """
    wt, tc, et = (regions[i] > 0.5 for i in range(3))
    if isinstance(regions, torch.Tensor):
        where, zeros = torch.where, torch.zeros(wt.shape, dtype=torch.int64)
    else:
        where, zeros = np.where, np.zeros(wt.shape, dtype=np.int64)
    return where(et, 3, where(tc, 1, where(wt, 2, zeros)))
