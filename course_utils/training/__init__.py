"""Training and evaluating the U-Net: what ``course-utils train`` and ``evaluate`` run.

One idea per module, every public name re-exported here (``from course_utils import
training`` then ``training.train(...)``):

- `config`: `TrainConfig`, every setting of a run; the defaults are the laptop run (2 cores);
- `loop`: `train`, patch-based training with Dice + BCE, a short loop over named steps
  (set-up, resume, one epoch, validation, checkpoints, history) with `split_subjects`;
- `distributed`: the same run under ``torchrun --nproc_per_node=N`` with
  DistributedDataParallel (gloo on CPU, NCCL on GPU): each process takes its share of every
  epoch's patches (`epoch_order`), rank 0 validates, logs and writes;
- `checkpoints`: ``model.pt`` / ``last.pt`` in `CHECKPOINT_FORMAT`, `save_checkpoint`
  (atomic), `checkpoint_input` (what the network expects of its input) and `load_model`
  (``torch.load(weights_only=True)``);
- `evaluation`: `predict_subject`, `subject_metrics`, `save_prediction` and `evaluate`:
  whole-subject inference and the BraTS metrics, optionally saving each prediction as NIfTI
  with the subject's affine, so it overlays in any viewer;
- `run_folder`: ``history.csv`` and ``metrics.json``.

`PatchDataset` (random training patches, each drawn from ``sample_generator(seed, epoch,
index)``) lives in `datasets` and is re-exported here. Tensors follow `datasets`: images
``(C, D, H, W)`` float32 in RAS+ voxel order; sizes in voxels, distances in mm.

Used by notebook 07 (U-Net training), ``course-utils train/evaluate/predict``.
"""

from __future__ import annotations

from ..brats import REGIONS
from ..datasets import PatchDataset
from ..errors import RunFolderError
from .checkpoints import (
    CHECKPOINT_FORMAT,
    ORIENTATION,
    checkpoint_input,
    load_model,
    read_checkpoint,
    save_checkpoint,
)
from .config import TrainConfig
from .distributed import Context, epoch_order
from .evaluation import (
    BRATS_LABELS,
    evaluate,
    predict_subject,
    save_prediction,
    spacing_of,
    subject_metrics,
)
from .loop import split_subjects, train, training_spacing
from .run_folder import HISTORY_COLUMNS, write_history

__all__ = [
    "REGIONS",
    "BRATS_LABELS",
    "CHECKPOINT_FORMAT",
    "ORIENTATION",
    "HISTORY_COLUMNS",
    "TrainConfig",
    "PatchDataset",
    "RunFolderError",
    "Context",
    "epoch_order",
    "train",
    "training_spacing",
    "load_model",
    "read_checkpoint",
    "save_checkpoint",
    "checkpoint_input",
    "predict_subject",
    "subject_metrics",
    "spacing_of",
    "save_prediction",
    "evaluate",
    "split_subjects",
    "write_history",
]
