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

One idea per module; the public names are re-exported here, so ``from course_utils import
metrics`` then ``metrics.dice_score(...)`` works:

- `overlap`: `dice_score`, `sensitivity`, `specificity`;
- `hausdorff`: `surface_distances`, `hausdorff95` and `EMPTY_HD95_MM`;
- `regions`: `region_metrics`, all four for each region of `REGIONS`;
- `tracker`: `MetricTracker`;
- `_validation` (private): the masks and voxel sizes every metric accepts.

Used by notebook 07 (U-Net training).
"""

from __future__ import annotations

from . import hausdorff, overlap, regions, tracker
from ._validation import (  # noqa: F401 (not public: `lesionwise`, `postprocess` import them)
    Array,
    as_mask,
    as_masks,
    as_spacing,
)
from .hausdorff import *  # noqa: F403 (each module's __all__ is its public API)
from .overlap import *  # noqa: F403
from .regions import *  # noqa: F403
from .tracker import *  # noqa: F403

#: Re-exported from `course_utils.lesionwise` on first use (see `__getattr__` below).
LESIONWISE_NAMES = ("Lesion", "LesionwiseScores", "lesionwise_scores", "lesionwise_region_scores")
__all__ = [
    *overlap.__all__,
    *hausdorff.__all__,
    *regions.__all__,
    *tracker.__all__,
    *LESIONWISE_NAMES,
]


def __getattr__(name: str):
    # The lesion-wise scores live in their own module, which imports this one; re-export them
    # lazily so that either module can be imported first.
    if name in LESIONWISE_NAMES:
        from .. import lesionwise

        return getattr(lesionwise, name)
    raise AttributeError(f"module 'course_utils.metrics' has no attribute {name!r}")
