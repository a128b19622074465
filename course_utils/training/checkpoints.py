"""Checkpoints: what ``model.pt`` and ``last.pt`` hold, written atomically, read weights-only.

A checkpoint is a plain dict (tensors, numbers, strings, lists, dicts), so it is read with
``torch.load(weights_only=True)`` and a file from elsewhere cannot run code when it is loaded:

- ``"format"``: `CHECKPOINT_FORMAT`; a checkpoint of another format is refused with the
  command that retrains it;
- ``"model"``: the `UNet` keyword arguments (the architecture);
- ``"state_dict"``: the weights;
- ``"modalities"``: channel names in tensor order;
- ``"input"``: what the network expects (`checkpoint_input`: spacing, orientation,
  normalisation, label coding, regions, patch size);
- ``"train_config"``: the `TrainConfig` as a dict;
- then what the writer adds: ``"epoch"`` and ``"validation"`` (``model.pt``), or the
  optimiser, scheduler, history and best epoch needed to resume (``last.pt``).

Used by `training.train`, `training.evaluate`, ``course-utils predict`` and notebook 07.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from .. import brats, files
from ..brats import REGIONS
from ..datasets import normalisation_record
from ..errors import CourseDataError, RunFolderError
from ..unet import UNet
from .config import TrainConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "ORIENTATION",
    "make_checkpoint",
    "save_checkpoint",
    "checkpoint_input",
    "read_checkpoint",
    "load_model",
]

#: What ``model.pt`` and ``last.pt`` say they are; `load_model` refuses anything else.
#: /2: the UNet with a Head (image path); /3: an ``"input"`` record (`checkpoint_input`).
CHECKPOINT_FORMAT = "course_utils.unet/3"
#: Orientation of the voxel axes every checkpoint is trained and applied in.
ORIENTATION = "RAS"


def make_checkpoint(
    model_config: dict,
    state_dict: dict,
    modalities: Sequence[str],
    input_record: dict,
    config: TrainConfig,
    **extra,
) -> dict:
    """A checkpoint dict in `CHECKPOINT_FORMAT`, with ``extra`` entries after the fixed ones."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model": model_config,
        "state_dict": state_dict,
        "modalities": list(modalities),
        "input": input_record,
        "train_config": dataclasses.asdict(config),
        **extra,
    }


def save_checkpoint(path: str | os.PathLike[str], checkpoint: dict) -> Path:
    """``torch.save`` a checkpoint dict atomically (readers see the old file or the new one)."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return files.atomic_write_bytes(path, buffer.getvalue())


def checkpoint_input(
    spacing_mm: Sequence[float],
    modalities: Sequence[str],
    normalisation: str | dict,
    patch_size: int,
    coding: brats.LabelCoding = brats.BRATS_2021,
) -> dict:
    """What a network expects of its input, as plain types (safe under ``weights_only``).

    Parameters
    ----------
    spacing_mm
        Voxel size in mm along D, H, W of the training data (RAS+ voxel order).
    modalities
        Channel names in tensor order (`brats.MODALITIES` names).
    normalisation
        A `datasets.NORMALISATIONS` name or `datasets.normalisation_record`.
    patch_size
        Edge of the cubic training patch in voxels (the sliding windows' size).
    coding
        The label coding of the training labels (`brats`).

    Returns
    -------
    dict
        ``spacing_mm`` (3 floats), ``orientation`` (``"RAS"``), ``modalities``,
        ``normalisation`` (``{"method": ..., parameters}``), ``label_coding`` (its name),
        ``labels`` (value as text -> sub-region name), ``regions`` (``"WT"``... -> label
        values), ``outputs`` (the regions in output channel order) and ``patch_size``.

    Examples
    --------
    >>> record = checkpoint_input([2, 2, 2], brats.MODALITIES, "zscore_nonzero", 64)
    >>> record["spacing_mm"], record["regions"]["TC"], record["outputs"]
    ([2.0, 2.0, 2.0], [1, 4], ['WT', 'TC', 'ET'])
    """
    return {
        "spacing_mm": [float(s) for s in spacing_mm],
        "orientation": ORIENTATION,
        "modalities": [str(m) for m in modalities],
        "normalisation": normalisation_record(normalisation),
        "label_coding": coding.name,
        "labels": {str(v): str(key) for v, key in coding.subregions.items()},
        "regions": {r: [int(v) for v in values] for r, values in coding.regions.items()},
        "outputs": list(REGIONS),
        "patch_size": int(patch_size),
    }


def read_checkpoint(path: str | os.PathLike[str]) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(path, "does not exist.", "Pass the model.pt of a training run.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, not a torch file, or unsafe pickled objects
        raise CourseDataError(
            path,
            f"cannot be read as a weights-only checkpoint ({type(error).__name__}).",
            "Use a model.pt written by `course-utils train`; re-run training if it was cut off.",
        ) from error
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if (
        isinstance(found, str)
        and found.startswith("course_utils.unet/")
        and found != CHECKPOINT_FORMAT
    ):
        raise CourseDataError(
            path,
            f"was written by another version of course_utils (format {found!r}, this version "
            f"reads {CHECKPOINT_FORMAT!r}); its weights do not fit this version's UNet.",
            "Retrain with `course-utils train`, or use the shipped checkpoint "
            "(course_utils.paths.shipped_checkpoint()).",
        )
    if found != CHECKPOINT_FORMAT:
        raise CourseDataError(
            path,
            f"is not a course U-Net checkpoint (format {CHECKPOINT_FORMAT!r} expected).",
            "Use a model.pt written by `course-utils train`.",
        )
    if not isinstance(checkpoint.get("input"), dict):
        raise CourseDataError(
            path,
            "has no 'input' record (spacing, modalities, normalisation, labels).",
            "Use a model.pt written by `course-utils train`.",
        )
    return checkpoint


def load_model(path: str | os.PathLike[str]) -> tuple[UNet, dict]:
    """A `UNet` with a checkpoint's weights, in ``eval()`` mode, and the checkpoint dict.

    Read with ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts
    only, so a checkpoint from elsewhere cannot run code when it is loaded.

    The dict's ``"model"`` holds the `UNet` keyword arguments (the architecture),
    ``"input"`` what the network expects (`checkpoint_input`: voxel spacing and orientation,
    modalities in tensor order, normalisation, label coding and regions, patch size),
    ``"train_config"`` the `TrainConfig`; a checkpoint of an older format is refused with the
    command that retrains it.
    """
    checkpoint = read_checkpoint(path)
    model = UNet(**checkpoint["model"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint
