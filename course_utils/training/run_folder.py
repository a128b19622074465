"""The run folder: what ``course-utils train`` leaves behind, besides the checkpoints.

- ``history.csv``: one row per finished epoch (`HISTORY_COLUMNS`), rewritten after each;
- ``metrics.json``: the run's summary (best epoch, its validation Dice, the subjects, the
  config, the command that started it), written once at the end.

Both are written atomically (`files`), so an interrupted run leaves whole files. Used by
`training.train`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .. import files
from ..brats import REGIONS
from ..errors import RunFolderError

__all__ = ["HISTORY_COLUMNS", "refuse_existing_run", "write_history", "write_metrics"]

#: Columns of ``history.csv``: losses, learning rate, validation Dice per region, seconds.
HISTORY_COLUMNS = ["epoch", "train_loss", "learning_rate", *(f"val_dice_{r}" for r in REGIONS),
                   "val_dice_mean", "seconds"]  # fmt: skip


def refuse_existing_run(out: Path, resume: bool) -> None:
    """Raise `RunFolderError` if ``out`` already holds a run (``last.pt``) and not ``resume``."""
    if not resume and (out / "last.pt").exists():
        raise RunFolderError(
            out,
            "already holds a training run (last.pt).",
            "Pass --resume to continue it, or choose another --out.",
        )


def write_history(path: Path, history: list[dict]) -> None:
    """``history.csv``: one row per epoch, the columns of `HISTORY_COLUMNS`."""
    lines = io.StringIO()
    writer = csv.DictWriter(lines, HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    files.atomic_write_text(path, lines.getvalue())


def write_metrics(path: Path, metrics: dict) -> None:
    """``metrics.json``: the run's summary as indented JSON."""
    files.atomic_write_text(path, json.dumps(metrics, indent=2) + "\n")
