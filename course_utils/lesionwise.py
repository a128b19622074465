"""Lesion-wise Dice and HD95: the BraTS 2023 ranking metrics, one score per tumour lesion.

A per-subject Dice is dominated by the largest lesion: a model that outlines one big tumour and
misses three small foci still scores well. BraTS 2023 therefore scores each lesion on its own
and counts every missed lesion and every invented one. The definition implemented here is the
one in the organisers' code, ``get_LesionWiseScores`` and ``get_LesionWiseResults`` in
``metrics.py`` of github.com/rachitsaluja/BraTS-2023-Metrics (commit 43c9052, the version the
challenge's scoring workflow github.com/Sage-Bionetworks-Challenges/brats2023, branch
``brats2023``, runs), for one region mask (WT, TC or ET):

1. **Truth lesions.** The truth is dilated (below) and split into 26-connected components; the
   truth voxels inside one dilated component form one lesion, so two foci a few millimetres
   apart count as one lesion.
2. **Matching.** The prediction is split into 26-connected components. A predicted component
   matches a lesion when it touches that lesion's own dilation; it may match several lesions.
3. **Scores.** Each lesion gets the Dice and HD95 of the lesion against the union of its matched
   components (whole components, so a prediction that merges two lesions is charged to both).
   A lesion with no match is *missed*: Dice 0, HD95 = the penalty. Every predicted component
   that matches no lesion is a *false positive*: one more entry, Dice 0, HD95 = the penalty.
4. **Small lesions.** Lesions of at most ``min_lesion_mm3`` are *ignored*: they add no entry,
   and a component that matches only them is not a false positive either.
5. The lesion-wise Dice (HD95) is the mean over the entries; with no entry at all (empty truth
   and empty prediction) it is 1 (0 mm).

The parameters (BraTS 2023 glioma, ``challenge_name == "BraTS-GLI"``) are defined at 1 mm
isotropic; here they are lengths and volumes, so they mean the same at the course's 2 mm:

- ``dilation_factor = 3``: three dilations with the 18-connected 3x3x3 element
  (``generate_binary_structure(3, 2)``), which reach the voxel offsets ``d`` with every
  ``|d_i| <= 3`` and ``sum |d_i| <= 6``. Here: the offsets with every ``|d_i| s_i <= 3 mm`` and
  ``sum |d_i| s_i <= 6 mm`` for voxel sizes ``s``, the same shape in millimetres (exactly the
  BraTS element at 1 mm; at 2 mm, one voxel in every direction, diagonals included).
- ``lesion_volume_thresh = 50``, compared with the lesion's volume in mm^3 (voxels times the
  header's voxel volume): ``min_lesion_mm3 = 50``.
- Missed lesions and false positives: HD95 374 mm (``replace(np.inf, 374)``), a length, the
  same at any voxel size (`metrics.EMPTY_HD95_MM`).

One difference remains: each lesion's HD95 is this package's `metrics.hausdorff95` (MedPy's
pooled 95th percentile), where the BraTS code calls DeepMind's ``surface_distance`` (the larger
of the two one-way 95th percentiles, weighted by surface area). Dice, the matching, the counts
and the penalties are the same.

Meant for notebook 07 (lesion-wise beside per-subject metrics); no notebook uses it yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .metrics import (
    EMPTY_HD95_MM,
    REGIONS,
    Array,
    as_masks,
    as_spacing,
    dice_score,
    hausdorff95,
)

__all__ = [
    "LESION_CONNECTIVITY",
    "DILATION_MM",
    "MIN_LESION_MM3",
    "Lesion",
    "LesionwiseScores",
    "dilation_structure",
    "lesionwise_scores",
    "lesionwise_region_scores",
]

#: How voxels connect into lesions: 26-connectivity (faces, edges, corners), as ``cc3d`` in the
#: BraTS code.
LESION_CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)
#: BraTS 2023 glioma dilation for grouping and matching lesions: 3 voxels at 1 mm, in mm.
DILATION_MM = 3.0
#: BraTS 2023 glioma small-lesion threshold: truth lesions of at most 50 mm^3 are ignored.
MIN_LESION_MM3 = 50.0
Status = Literal["matched", "missed", "false positive", "ignored"]


@dataclass(frozen=True)
class Lesion:
    """One entry of a lesion-wise score.

    Attributes
    ----------
    status
        ``"matched"`` (a truth lesion whose dilation some predicted component touches),
        ``"missed"`` (a truth lesion no predicted component touches), ``"false positive"`` (a
        predicted component that touches no truth lesion's dilation) or ``"ignored"`` (a truth
        lesion of at most ``min_lesion_mm3``, found or not; not in the means).
    truth_mm3
        Volume of the truth lesion in mm^3 (0 for a false positive).
    pred_mm3
        Volume in mm^3 of the predicted components scored against it (the false-positive
        component itself for a false positive; 0 for a missed lesion).
    dice, hd95_mm
        The lesion's Dice and HD95 (mm); 0 and the penalty for missed lesions and false
        positives.
    """

    status: Status
    truth_mm3: float
    pred_mm3: float
    dice: float
    hd95_mm: float


@dataclass(frozen=True)
class LesionwiseScores:
    """Lesion-wise Dice and HD95 of one region of one subject, with the entries behind them.

    Attributes
    ----------
    dice, hd95_mm
        Means over the entries that are not ``"ignored"`` (1.0 and 0.0 when there are none).
    lesions
        Truth lesions in order of their first voxel (C order), then false positives.
    """

    dice: float
    hd95_mm: float
    lesions: tuple[Lesion, ...]

    def count(self, status: Status) -> int:
        """How many entries have this status."""
        return sum(lesion.status == status for lesion in self.lesions)


def dilation_structure(
    spacing_mm: float | Sequence[float], dilation_mm: float = DILATION_MM
) -> np.ndarray:
    """The BraTS 2023 dilation element, in millimetres, on a grid of ``spacing_mm`` voxels.

    Parameters
    ----------
    spacing_mm
        Voxel size along each of the 3 axes, in mm (one number: isotropic).
    dilation_mm
        Reach along an axis, in mm (BraTS 2023 glioma: 3 voxels of 1 mm).

    Returns
    -------
    numpy.ndarray
        bool ``(2 r_0 + 1, 2 r_1 + 1, 2 r_2 + 1)`` with ``r_i = floor(dilation_mm / s_i)``:
        True at the offsets ``d`` with ``sum |d_i| s_i <= 2 dilation_mm``.

    Examples
    --------
    >>> dilation_structure((1.0, 1.0, 1.0), 1.0).sum()  # the 18-connected neighbourhood
    np.int64(19)
    >>> dilation_structure((2.0, 2.0, 2.0)).shape, dilation_structure((2.0, 2.0, 2.0)).all()
    ((3, 3, 3), np.True_)
    """
    if not dilation_mm >= 0:
        raise ValueError(f"dilation_mm must be >= 0; got {dilation_mm!r}.")
    spacing = as_spacing(spacing_mm, 3)
    # a tolerance so that 3 mm / 1 mm is 3 voxels despite floating point
    reach = [int(np.floor(dilation_mm / s + 1e-9)) for s in spacing]
    axes = [np.abs(np.arange(-r, r + 1)) * s for r, s in zip(reach, spacing, strict=True)]
    distance = sum(np.meshgrid(*axes, indexing="ij"))
    return distance <= 2 * dilation_mm + 1e-9


def dilate(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """``binary_dilation(mask, structure)``, computed on the mask's bounding box only."""
    from scipy import ndimage

    out = np.zeros_like(mask)
    if not mask.any():
        return out
    box = grow(bounding_box(mask), [n // 2 for n in structure.shape], mask.shape)
    out[box] = ndimage.binary_dilation(mask[box], structure)
    return out


def bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    from scipy import ndimage

    return ndimage.find_objects(mask.astype(np.uint8))[0]


def grow(box: tuple[slice, ...], margin: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(
        slice(max(b.start - m, 0), min(b.stop + m, n))
        for b, m, n in zip(box, margin, shape, strict=True)
    )


def union_box(*boxes: tuple[slice, ...]) -> tuple[slice, ...]:
    axes = zip(*boxes, strict=True)
    return tuple(slice(min(b.start for b in axis), max(b.stop for b in axis)) for axis in axes)


def number_in_order(labels: np.ndarray) -> np.ndarray:
    """``labels`` renumbered 1, 2, ... in the C order of each label's first voxel."""
    values, first = np.unique(labels.ravel(), return_index=True)
    values = values[values > 0][np.argsort(first[values > 0])]
    lookup = np.zeros(int(labels.max()) + 1, np.int64)
    lookup[values] = np.arange(1, len(values) + 1)
    return lookup[labels]


def lesionwise_scores(
    pred: Array,
    truth: Array,
    spacing_mm: float | Sequence[float] = 1.0,
    *,
    dilation_mm: float = DILATION_MM,
    min_lesion_mm3: float = MIN_LESION_MM3,
    penalty_hd95_mm: float = EMPTY_HD95_MM,
) -> LesionwiseScores:
    """Lesion-wise Dice and HD95 (BraTS 2023) of one region mask pair; see the module docstring.

    Parameters
    ----------
    pred, truth
        Binary 3D masks of the same shape ``(D, H, W)`` (NumPy or torch; bool or 0/1), one
        region (WT, TC or ET) of one subject.
    spacing_mm
        Voxel size ``(D, H, W)`` in mm (one number: isotropic).
    dilation_mm
        Reach of the dilation that groups nearby truth foci into one lesion and matches
        predicted components to lesions (BraTS 2023 glioma: 3 mm).
    min_lesion_mm3
        Truth lesions of at most this volume are ignored (BraTS 2023 glioma: 50 mm^3).
    penalty_hd95_mm
        HD95 of a missed lesion or a false positive (BraTS 2023: 374 mm).

    Returns
    -------
    LesionwiseScores
        The two means and every entry (`Lesion`) behind them.

    Examples
    --------
    >>> truth = np.zeros((20, 20, 20), bool)
    >>> truth[2:7, 2:7, 2:7] = True  # a 125 mm^3 lesion, found exactly
    >>> truth[12:17, 12:17, 12:17] = True  # another one, missed
    >>> pred = truth.copy()
    >>> pred[12:17, 12:17, 12:17] = False
    >>> scores = lesionwise_scores(pred, truth)
    >>> scores.dice, scores.hd95_mm, [lesion.status for lesion in scores.lesions]
    (0.5, 187.0, ['matched', 'missed'])
    """
    from scipy import ndimage

    pred, truth = as_masks(pred, truth)
    if pred.ndim != 3:
        raise ValueError(
            f"lesion-wise scores need 3D masks (D, H, W), one region; got shape {pred.shape}."
        )
    spacing = as_spacing(spacing_mm, 3)
    structure = dilation_structure(spacing, dilation_mm)
    lesions = _truth_lesions(truth, structure)
    components, n_components = ndimage.label(pred, LESION_CONNECTIVITY)
    entries, matched = _score_truth_lesions(
        lesions, components, structure, spacing, min_lesion_mm3, penalty_hd95_mm
    )
    entries += _false_positives(components, n_components, matched, spacing, penalty_hd95_mm)
    return _mean_scores(entries)


def _truth_lesions(truth: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """Truth lesions numbered 1, 2, ...: the truth voxels of each component of its dilation."""
    from scipy import ndimage

    groups, _ = ndimage.label(dilate(truth, structure), LESION_CONNECTIVITY)
    return number_in_order(np.where(truth, groups, 0))


def _score_truth_lesions(
    lesions: np.ndarray,
    components: np.ndarray,
    structure: np.ndarray,
    spacing: np.ndarray,
    min_lesion_mm3: float,
    penalty_hd95_mm: float,
) -> tuple[list[Lesion], set[int]]:
    """One `Lesion` per truth lesion, and the ids of the predicted components that matched."""
    from scipy import ndimage

    voxel_mm3 = float(np.prod(spacing))
    component_boxes = ndimage.find_objects(components)
    margin = [n // 2 for n in structure.shape]
    entries, matched = [], set()
    for number, box in enumerate(ndimage.find_objects(lesions), start=1):
        reach = grow(box, margin, lesions.shape)
        touched = dilate(lesions[reach] == number, structure)
        ids = [int(i) for i in np.unique(components[reach][touched]) if i]
        matched.update(ids)
        # both masks lie inside the union of their boxes, and neither score depends on
        # anything outside it
        crop = union_box(box, *(component_boxes[i - 1] for i in ids))
        lesion = lesions[crop] == number
        found = np.isin(components[crop], ids)
        volume = float(lesion.sum()) * voxel_mm3
        if volume <= min_lesion_mm3:
            status = "ignored"
        else:
            status = "matched" if ids else "missed"
        entries.append(
            Lesion(
                status=status,
                truth_mm3=volume,
                pred_mm3=float(found.sum()) * voxel_mm3,
                dice=dice_score(found, lesion),
                hd95_mm=hausdorff95(found, lesion, spacing, empty_value=penalty_hd95_mm),
            )
        )
    return entries, matched


def _false_positives(
    components: np.ndarray,
    n_components: int,
    matched: set[int],
    spacing: np.ndarray,
    penalty_hd95_mm: float,
) -> list[Lesion]:
    """One ``"false positive"`` entry per predicted component that matched no truth lesion."""
    from scipy import ndimage

    voxel_mm3 = float(np.prod(spacing))
    component_boxes = ndimage.find_objects(components)
    entries = []
    for number in sorted(set(range(1, n_components + 1)) - matched):
        size = int(np.count_nonzero(components[component_boxes[number - 1]] == number))
        entries.append(Lesion("false positive", 0.0, size * voxel_mm3, 0.0, penalty_hd95_mm))
    return entries


def _mean_scores(entries: list[Lesion]) -> LesionwiseScores:
    """The means over the entries that are not ignored (1.0 and 0.0 mm when none is)."""
    scored = [entry for entry in entries if entry.status != "ignored"]
    if not scored:
        return LesionwiseScores(1.0, 0.0, tuple(entries))
    return LesionwiseScores(
        dice=float(np.mean([entry.dice for entry in scored])),
        hd95_mm=float(np.mean([entry.hd95_mm for entry in scored])),
        lesions=tuple(entries),
    )


def lesionwise_region_scores(
    pred_classes: Array,
    truth_classes: Array,
    spacing_mm: float | Sequence[float] = 1.0,
    **parameters: float,
) -> dict[str, LesionwiseScores]:
    """`lesionwise_scores` of each BraTS region (WT, TC, ET) of one subject's label maps.

    Parameters
    ----------
    pred_classes, truth_classes
        Integer ``(D, H, W)`` class maps 0..3 (background, necrotic core, oedema, enhancing
        tumour: `datasets.CLASS_NAMES`), e.g. a prediction's argmax; BraTS 2021 files (0/1/2/4)
        go through `datasets.brats_to_classes` first. The regions come from
        `datasets.classes_to_regions`.
    spacing_mm
        Voxel size ``(D, H, W)`` in mm.
    **parameters
        ``dilation_mm``, ``min_lesion_mm3``, ``penalty_hd95_mm`` of `lesionwise_scores`.

    Returns
    -------
    dict
        ``{"WT": LesionwiseScores, "TC": ..., "ET": ...}``.

    Examples
    --------
    >>> truth = np.zeros((12, 12, 12), np.int64)
    >>> truth[2:8, 2:8, 2:8] = 2  # oedema around
    >>> truth[4:6, 4:6, 4:6] = 3  # an 8 mm^3 enhancing focus: below 50 mm^3
    >>> scores = lesionwise_region_scores(truth, truth)
    >>> {region: (s.dice, s.count("ignored")) for region, s in scores.items()}
    {'WT': (1.0, 0), 'TC': (1.0, 1), 'ET': (1.0, 1)}
    """
    from .datasets import classes_to_regions  # REGIONS is its channel order

    pred_regions = classes_to_regions(np.asarray(pred_classes)).astype(bool)
    truth_regions = classes_to_regions(np.asarray(truth_classes)).astype(bool)
    if pred_regions.shape != truth_regions.shape:
        raise ValueError(
            f"pred and truth differ in shape: {pred_regions.shape[1:]} and "
            f"{truth_regions.shape[1:]}."
        )
    return {
        region: lesionwise_scores(pred, truth, spacing_mm, **parameters)
        for region, pred, truth in zip(REGIONS, pred_regions, truth_regions, strict=True)
    }
