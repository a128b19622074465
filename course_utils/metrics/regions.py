"""Per-region scores of one subject: Dice, HD95, sensitivity and specificity for WT, TC and ET.

`region_metrics` takes the ``(3, *spatial)`` region masks of a prediction and a truth (the
channels of `course_utils.brats.REGIONS`, as `datasets.classes_to_regions` builds them) and
scores each region on its own, one subject at a time, the BraTS convention.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..brats import REGIONS  # the BraTS evaluation regions, in channel order
from ._validation import Array, as_masks
from .hausdorff import hausdorff95
from .overlap import dice_score, sensitivity, specificity

__all__ = ["REGIONS", "region_metrics"]


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
    >>> import numpy as np
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
