"""Metrics: how good a segmentation is, as BraTS scores it (Dice, HD95, sensitivity, specificity).

Pure functions on binary masks (NumPy arrays or torch tensors of bool, or of 0/1 numbers; a
probability map is refused: threshold it first), plus one accumulator, `MetricTracker`, that
collects per-subject results and averages them.

- `dice_score`, `sensitivity`, `specificity`: overlap counts;
- `hausdorff95`: the 95th percentile of the surface distances, in millimetres;
- `region_metrics`: all four for each of the BraTS regions WT, TC, ET;
- `lesionwise_scores`, `lesionwise_region_scores`: the BraTS 2023 lesion-wise Dice and HD95
  (defined in `course_utils.lesionwise`, re-exported here).

Masks may have any number of axes (2D slices or 3D volumes); ``spacing_mm`` gives the voxel
size along each axis in the array's own index order (for the course's volumes, R-A-S, from the
NIfTI header's zooms). Metrics are computed per subject (the BraTS convention), never over a
batch pooled into one mask.

**Empty masks** follow the BraTS 2023 evaluation code, ``metrics.py`` of
github.com/rachitsaluja/BraTS-2023-Metrics (commit 43c9052, the version the challenge's scoring
workflow github.com/Sage-Bionetworks-Challenges/brats2023, branch ``brats2023``, pins as
``evaluation/lesionwise/brats2023_metrics``). The legacy BraTS toolkit (CaPTk's
``GetBraTSLabelStatistics`` in github.com/CBICA/CBICA_Toolkit,
``src/classes/itk/cbicaITKUtilities.h``, used up to BraTS 2022) agrees except where noted:

==========================  ======  ==============  ===========  ===========
case                        Dice    HD95 (mm)       sensitivity  specificity
==========================  ======  ==============  ===========  ===========
both empty                  1       0               1            as usual
truth empty, prediction not 0       374             0            as usual
prediction empty, truth not 0       374             0            as usual
truth covers every voxel    usual   usual           usual        0
==========================  ======  ==============  ===========  ===========

- Sensitivity with an empty truth is 0/0. BraTS 2023 computes ``TP / (TP + FN + tiny)``, which
  is 0, and sets 1 only when both masks are empty; CaPTk does the same (NaN -> 0 when exactly
  one mask is empty, 1 when both are). A prediction of tumour where there is none therefore
  scores 0, as it does in Dice.
- Specificity with no background is 0/0: BraTS 2023 (``TN / (TN + FP + tiny)``) gives 0;
  CaPTk leaves NaN. It never happens in a brain volume.
- MedPy 0.5.2 (``medpy.metric.binary``) means the same for non-empty masks (the tests compare
  them) and, in its ``ZeroDivisionError`` branches, Dice 1 for both empty and sensitivity and
  specificity 0 for 0/0 (sensitivity 0 even when both are empty). Those branches never run
  under NumPy 2, whose integer counts divide to nan instead of raising: there MedPy returns
  nan for every 0/0, and its ``hd95`` raises ``RuntimeError`` for an empty mask.
- HD95 with one mask empty: BraTS 2023 replaces the infinite distance by 374 mm
  (`EMPTY_HD95_MM`); CaPTk used the diagonal of the 240 x 240 x 155 grid, 373.13 mm.

Used by notebook 07 (U-Net training).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

from .brats import REGIONS  # the BraTS evaluation regions, in channel order

if TYPE_CHECKING:
    import torch

#: Re-exported from `course_utils.lesionwise` on first use (see `__getattr__` below).
LESIONWISE_NAMES = ("Lesion", "LesionwiseScores", "lesionwise_scores", "lesionwise_region_scores")
__all__ = [
    "REGIONS",
    "EMPTY_HD95_MM",
    "dice_score",
    "sensitivity",
    "specificity",
    "surface_distances",
    "hausdorff95",
    "region_metrics",
    "MetricTracker",
    *LESIONWISE_NAMES,
]

Array = Union[np.ndarray, "torch.Tensor"]
#: HD95 when exactly one of prediction and truth is empty, in mm: 374, the value the BraTS 2023
#: code puts in place of the infinite distance (``replace(np.inf, 374)`` in BraTS-2023-Metrics'
#: ``metrics.py``), the diagonal of the BraTS grid (240 x 240 x 155 voxels of 1 mm,
#: sqrt(240**2 + 240**2 + 155**2) = 373.13 mm) rounded up; CaPTk used 373.13 itself. It is a
#: length in mm, so it means the same at any voxel size. A finite worst case keeps means defined
#: and still punishes a missed (or invented) region hard, where nan would drop the subject from
#: the mean and hide the mistake. It is also the lesion-wise penalty (`lesionwise`).
EMPTY_HD95_MM = 374.0


def as_mask(array: Array, name: str) -> np.ndarray:
    """``array`` as a NumPy bool array; ``ValueError`` for values other than 0 and 1."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if array.dtype == bool:
        return array
    if array.size and not np.all((array == 0) | (array == 1)):
        raise ValueError(
            f"{name} must be a binary mask (bool, or 0 and 1 only); got {array.dtype} values "
            f"from {array.min()} to {array.max()}. Threshold probabilities first (p > 0.5)."
        )
    return array.astype(bool)


def as_masks(pred: Array, truth: Array) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = as_mask(pred, "pred"), as_mask(truth, "truth")
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth differ in shape: {pred.shape} and {truth.shape}.")
    return pred, truth


def dice_score(pred: Array, truth: Array) -> float:
    """Dice coefficient ``2 |P & T| / (|P| + |T|)`` of two binary masks.

    Dice, "Measures of the amount of ecologic association between species", Ecology 1945;
    the main overlap score of the BraTS challenges (Menze et al., IEEE TMI 2015).

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape, any number of axes (NumPy or torch; bool or 0/1).

    Returns
    -------
    float
        In [0, 1]. Both empty: 1.0 (nothing to find, nothing found); one empty: 0.0 (BraTS
        2023 and CaPTk).

    Examples
    --------
    >>> dice_score(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    0.5
    >>> dice_score(np.zeros(4), np.zeros(4))
    1.0
    """
    pred, truth = as_masks(pred, truth)
    total = int(pred.sum()) + int(truth.sum())
    if total == 0:
        return 1.0
    return 2 * int(np.count_nonzero(pred & truth)) / total


def sensitivity(pred: Array, truth: Array) -> float:
    """True positive rate ``TP / (TP + FN)``: the share of the truth that was found.

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape (NumPy or torch; bool or 0/1).

    Returns
    -------
    float
        In [0, 1]. Empty truth: 1.0 if the prediction is empty too, else 0.0, as the BraTS
        2023 code and CaPTk score it (see the module docstring).

    Examples
    --------
    >>> sensitivity(np.array([1, 0, 0, 1]), np.array([1, 1, 0, 0]))
    0.5
    >>> sensitivity(np.array([0, 1]), np.zeros(2)), sensitivity(np.zeros(2), np.zeros(2))
    (0.0, 1.0)
    """
    pred, truth = as_masks(pred, truth)
    positives = int(truth.sum())
    if positives == 0:
        return 0.0 if pred.any() else 1.0
    return int(np.count_nonzero(pred & truth)) / positives


def specificity(pred: Array, truth: Array) -> float:
    """True negative rate ``TN / (TN + FP)``: the share of the background left alone.

    In a brain volume the background is so large that specificity is nearly always above
    0.99; it says little on its own.

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape (NumPy or torch; bool or 0/1).

    Returns
    -------
    float
        In [0, 1]; 0.0 when the truth covers every voxel (no background: 0/0, scored 0 by the
        BraTS 2023 code).

    Examples
    --------
    >>> specificity(np.array([1, 0, 0, 1]), np.array([1, 1, 0, 0]))
    0.5
    """
    pred, truth = as_masks(pred, truth)
    negatives = int((~truth).sum())
    if negatives == 0:
        return 0.0
    return int(np.count_nonzero(~pred & ~truth)) / negatives


def as_spacing(spacing_mm: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    spacing = (spacing_mm,) * ndim if np.isscalar(spacing_mm) else tuple(spacing_mm)
    if len(spacing) != ndim or not all(float(s) > 0 for s in spacing):
        raise ValueError(
            f"spacing_mm must be one positive voxel size or {ndim}, one per axis; "
            f"got {spacing_mm!r}"
        )
    return tuple(float(s) for s in spacing)


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, ...]:
    """Slices of the smallest box holding every True voxel of a non-empty ``mask``, grown by
    ``margin`` voxels on each side and clipped to the array."""
    box = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(max(hits[0] - margin, 0), min(hits[-1] + 1 + margin, mask.shape[axis])))
    return tuple(box)


def surface(mask: np.ndarray) -> np.ndarray:
    """The voxels of ``mask`` with at least one face neighbour outside it (or off the array)."""
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure, border_value=0)


def surface_distances(pred: Array, truth: Array, spacing_mm: float | Sequence[float] = 1.0):
    """Distances in mm from each surface voxel of one mask to the nearest of the other's.

    Surfaces are the voxels with a face neighbour outside the mask (6-connectivity in 3D);
    distances are Euclidean between voxel centres, scaled by ``spacing_mm``
    (`scipy.ndimage.distance_transform_edt`).

    Parameters
    ----------
    pred, truth
        Non-empty binary masks of the same shape.
    spacing_mm
        Voxel size along each axis, in mm, in the arrays' axis order (one number: isotropic).

    Returns
    -------
    pred_to_truth, truth_to_pred
        float64 1D arrays, one distance (mm) per surface voxel of ``pred`` and of ``truth``.

    Examples
    --------
    >>> a, b = np.zeros((1, 6), bool), np.zeros((1, 6), bool)
    >>> a[0, 1], b[0, 4] = True, True
    >>> surface_distances(a, b, spacing_mm=(1.0, 2.0))
    (array([6.]), array([6.]))
    """
    from scipy import ndimage

    pred, truth = as_masks(pred, truth)
    if not pred.any() or not truth.any():
        raise ValueError("surface distances need two non-empty masks; see hausdorff95.")
    spacing = as_spacing(spacing_mm, pred.ndim)
    # Every surface voxel lies in the masks' common bounding box; one voxel of margin keeps
    # the box's faces outside both masks, so the surfaces and distances are the whole array's.
    box = bounding_box(pred | truth, margin=1)
    pred, truth = pred[box], truth[box]
    pred_surface, truth_surface = surface(pred), surface(truth)
    to_truth = ndimage.distance_transform_edt(~truth_surface, sampling=spacing)
    to_pred = ndimage.distance_transform_edt(~pred_surface, sampling=spacing)
    return to_truth[pred_surface], to_pred[truth_surface]


def hausdorff95(
    pred: Array,
    truth: Array,
    spacing_mm: float | Sequence[float] = 1.0,
    empty_value: float = EMPTY_HD95_MM,
) -> float:
    """95th-percentile Hausdorff distance between two masks' surfaces, in millimetres.

    The distances from every surface voxel of ``pred`` to ``truth``'s surface and from every
    surface voxel of ``truth`` to ``pred``'s are pooled, and their 95th percentile (linear
    interpolation) is returned, as in MedPy's ``hd95`` used by the BraTS evaluation (Bakas et
    al., "Identifying the best machine learning algorithms for brain tumor segmentation",
    arXiv:1811.02629). The plain Hausdorff distance is the maximum; the 95th percentile
    ignores the worst 5%, so one stray voxel does not decide the score. (The BraTS 2023 code
    uses DeepMind's ``surface_distance`` instead: the larger of the two one-way 95th
    percentiles, each weighted by surface-element area. On smooth shapes the two differ by
    a fraction of a voxel; on very unequal surfaces, by more.)

    Parameters
    ----------
    pred, truth
        Binary masks of the same shape, any number of axes (NumPy or torch; bool or 0/1).
    spacing_mm
        Voxel size along each axis, in mm, in the arrays' axis order (one number: isotropic).
    empty_value
        Returned when exactly one mask is empty: `EMPTY_HD95_MM` (374 mm, BraTS 2023) by
        default; pass ``float("nan")`` to leave such subjects out of a ``nanmean`` instead.

    Returns
    -------
    float
        Distance in mm; 0.0 when both masks are empty.

    Examples
    --------
    >>> a, b = np.zeros((3, 8), bool), np.zeros((3, 8), bool)
    >>> a[:, 1], b[:, 5] = True, True  # two lines 4 voxels apart along axis 1
    >>> hausdorff95(a, b, spacing_mm=(1.0, 0.5))
    2.0
    >>> hausdorff95(a, np.zeros((3, 8)))
    374.0
    """
    pred, truth = as_masks(pred, truth)
    as_spacing(spacing_mm, pred.ndim)  # refuse a bad spacing even for empty masks
    has_pred, has_truth = bool(pred.any()), bool(truth.any())
    if not has_pred and not has_truth:
        return 0.0
    if not has_pred or not has_truth:
        return float(empty_value)
    distances = np.concatenate(surface_distances(pred, truth, spacing_mm))
    return float(np.percentile(distances, 95))


def region_metrics(
    pred_regions: Array,
    truth_regions: Array,
    spacing_mm: float | Sequence[float] = 1.0,
    regions: Sequence[str] = REGIONS,
) -> dict[str, float]:
    """Dice, HD95, sensitivity and specificity for each BraTS region of one subject.

    Parameters
    ----------
    pred_regions, truth_regions
        Binary ``(3, D, H, W)`` masks, channels WT, TC, ET (as `datasets.classes_to_regions`
        gives; threshold the sigmoid first, e.g. ``probabilities > 0.5``).
    spacing_mm
        Voxel size ``(D, H, W)`` in mm (one number: isotropic).
    regions
        Channel names, used in the keys.

    Returns
    -------
    dict
        ``{"dice_WT": ..., "hd95_WT": ..., "sensitivity_WT": ..., "specificity_WT": ...}``
        for each region, floats (HD95 in mm), in that order, region by region.

    Examples
    --------
    >>> truth = np.zeros((3, 1, 4, 4), bool)
    >>> truth[:2, 0, 1:3, 1:3] = True  # WT and TC, no ET
    >>> scores = region_metrics(truth, truth)
    >>> scores["dice_WT"], scores["hd95_TC"], scores["dice_ET"], scores["hd95_ET"]
    (1.0, 0.0, 1.0, 0.0)
    """
    pred_regions, truth_regions = as_masks(pred_regions, truth_regions)
    if pred_regions.ndim < 2 or pred_regions.shape[0] != len(regions):
        raise ValueError(
            f"region masks must be ({len(regions)}, *spatial), one channel per region "
            f"{tuple(regions)}; got shape {pred_regions.shape}."
        )
    scores = {}
    for name, pred, truth in zip(regions, pred_regions, truth_regions, strict=True):
        scores[f"dice_{name}"] = dice_score(pred, truth)
        scores[f"hd95_{name}"] = hausdorff95(pred, truth, spacing_mm)
        scores[f"sensitivity_{name}"] = sensitivity(pred, truth)
        scores[f"specificity_{name}"] = specificity(pred, truth)
    return scores


class MetricTracker:
    """Collects per-subject metrics and reports their means, as a BraTS leaderboard does.

    Examples
    --------
    >>> tracker = MetricTracker()
    >>> tracker.add("s1", {"dice_WT": 0.75, "hd95_WT": 2.0})
    >>> tracker.add("s2", {"dice_WT": 0.25, "hd95_WT": 4.0})
    >>> tracker.mean()
    {'dice_WT': 0.5, 'hd95_WT': 3.0}
    >>> len(tracker), tracker.subjects
    (2, ['s1', 's2'])
    """

    def __init__(self) -> None:
        self.results: dict[str, dict[str, float]] = {}

    def __len__(self) -> int:
        return len(self.results)

    @property
    def subjects(self) -> list[str]:
        """Subject IDs in the order they were added."""
        return list(self.results)

    def add(self, subject: str, metrics: Mapping[str, float]) -> None:
        """Record one subject's metrics (e.g. from `region_metrics`).

        Raises ``ValueError`` if the subject was added before, or if its metric names differ
        from those of the subjects already added.
        """
        if subject in self.results:
            raise ValueError(f"subject {subject!r} was already added.")
        if self.results:
            names = list(next(iter(self.results.values())))
            if list(metrics) != names:
                raise ValueError(
                    f"subject {subject!r} has metrics {list(metrics)}; earlier subjects have "
                    f"{names}."
                )
        self.results[subject] = {name: float(value) for name, value in metrics.items()}

    def values(self, name: str) -> np.ndarray:
        """float64 ``(n_subjects,)`` values of one metric, in the order added."""
        return np.array([metrics[name] for metrics in self.results.values()])

    def mean(self) -> dict[str, float]:
        """Mean over subjects of each metric (a nan in any subject makes that mean nan)."""
        return self.summarise(np.mean)

    def std(self) -> dict[str, float]:
        """Population standard deviation over subjects of each metric."""
        return self.summarise(np.std)

    def summarise(self, statistic) -> dict[str, float]:
        if not self.results:
            raise ValueError("no subjects added yet.")
        names = next(iter(self.results.values()))
        return {name: float(statistic(self.values(name))) for name in names}


def __getattr__(name: str):
    # The lesion-wise scores live in their own module, which imports this one; re-export them
    # lazily so that either module can be imported first.
    if name in LESIONWISE_NAMES:
        from . import lesionwise

        return getattr(lesionwise, name)
    raise AttributeError(f"module 'course_utils.metrics' has no attribute {name!r}")
