"""Evaluation: whole-subject inference with a checkpoint and the BraTS metrics.

- `predict_subject`: region probabilities ``(3, D, H, W)`` for one image, window by window;
- `subject_metrics`: `metrics.region_metrics` of those probabilities against classes 0..3;
- `save_prediction`: the thresholded regions as a NIfTI of BraTS labels with the subject's
  affine, so it overlays in any viewer;
- `evaluate`: all of it over a dataset folder, per subject and averaged
  (`metrics.MetricTracker`), what ``course-utils evaluate`` runs.

Tensors follow `datasets`: images ``(C, D, H, W)`` float32 in RAS+ voxel order; sizes in
voxels, distances in mm. Used by notebook 07 and `training.train`'s validation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from torch import nn

from .. import brats, files
from ..brats import REGIONS
from ..datasets import GLI_EDITIONS, BraTSDataset, regions_to_classes
from ..datasets.labels import lookup_regions
from ..geometry import voxel_sizes
from ..heap import release_free_memory
from ..inference import predict_on_input_grid, window_probabilities
from ..metrics import MetricTracker, region_metrics
from .checkpoints import load_model

__all__ = [
    "BRATS_LABELS",
    "predict_subject",
    "subject_metrics",
    "summarise",
    "spacing_of",
    "save_prediction",
    "evaluate",
]

#: BraTS label of each class 0..3 (`brats.CLASS_LABELS`), as an array to index with classes.
BRATS_LABELS = np.array(brats.CLASS_LABELS, dtype=np.uint8)
BRATS_LABELS.setflags(write=False)


def predict_subject(
    model: nn.Module,
    image: torch.Tensor,
    *,
    patch_size: int = 64,
    overlap: float = 0.25,
    batch_size: int = 2,
    progress: bool = False,
    affine: np.ndarray | None = None,
    input_record: dict | None = None,
) -> torch.Tensor:
    """Region probabilities ``(3, D, H, W)`` for one image ``(C, D, H, W)``, window by window.

    Sliding-window inference with Gaussian blending (`patches.sliding_window_inference`),
    then a sigmoid; threshold at 0.5 for the WT/TC/ET masks.

    Without ``affine`` the image is taken as it is: already normalised and at the network's
    spacing. With ``affine`` and ``input_record`` (a checkpoint's ``"input"``), ``image`` is
    the raw image on its own grid: it is resampled to the checkpoint's spacing, normalised
    as the checkpoint records, predicted, and the probabilities are resampled back onto the
    input grid (`inference.predict_on_input_grid`; ``patch_size`` is then the checkpoint's).
    """
    if affine is not None or input_record is not None:
        if affine is None or input_record is None:
            raise ValueError("predict_subject needs both affine and input_record, or neither.")
        return predict_on_input_grid(
            model,
            image,
            affine,
            input_record,
            overlap=overlap,
            batch_size=batch_size,
            progress=progress,
        )[0]
    probabilities = window_probabilities(
        model,
        image,
        patch_size=patch_size,
        overlap=overlap,
        batch_size=batch_size,
        progress=progress,
    )
    release_free_memory()  # the windows' activations: back to the system (`heap`)
    return probabilities


def subject_metrics(probabilities: torch.Tensor, classes: torch.Tensor, spacing) -> dict:
    """`metrics.region_metrics` of probabilities ``(3, D, H, W)`` (> 0.5) against classes 0..3."""
    truth = lookup_regions(classes.long()).numpy() > 0.5
    return region_metrics(probabilities.numpy() > 0.5, truth, spacing_mm=spacing)


def summarise(tracker: MetricTracker) -> dict:
    """Means over the subjects of ``tracker``, in the layout of ``evaluate``'s JSON."""
    names = {"dice": "dice", "hd95_mm": "hd95", "sensitivity": "sensitivity",
             "specificity": "specificity"}  # fmt: skip
    mean = tracker.mean()
    return {key: {r: mean[f"{name}_{r}"] for r in REGIONS} for key, name in names.items()}


#: Voxel size in mm along each array axis (`geometry.voxel_sizes`; the name notebook 07 uses).
spacing_of = voxel_sizes


def class_values(coding: brats.LabelCoding) -> np.ndarray:
    """Label value of each course class ``0..3`` in ``coding``, as uint8 (index = class)."""
    keys = brats.BRATS_2021.subregions.values()
    return np.array([coding.value_of(key) for key in keys], dtype=np.uint8)


#: `BraTSDataset`'s ``edition`` -> the label coding its label files use.
EDITION_CODINGS = {None: brats.BRATS_2021, **{e: n.coding for e, n in GLI_EDITIONS.items()}}


def save_prediction(
    probabilities: torch.Tensor,
    affine: np.ndarray,
    path: Path,
    coding: brats.LabelCoding = brats.BRATS_2021,
) -> Path:
    """Thresholded regions as labels of ``coding`` (default BraTS 2021: 0, 1, 2, 4; BraTS
    2023/2024 GLI: 0, 1, 2, 3) in a NIfTI with the subject's affine."""
    from ..io import save_nifti

    labels = class_values(coding)[regions_to_classes(probabilities.numpy())]
    image = nib.Nifti1Image(labels, np.asarray(affine, dtype=np.float64))
    image.header.set_xyzt_units("mm")
    return save_nifti(image, path)


def evaluate(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
    predictions: str | os.PathLike[str] | None = None,
    subjects: Sequence[str] | None = None,
    overlap: float | None = None,
    edition: str | None = None,
    progress: bool = True,
) -> dict:
    """Whole-subject inference with a checkpoint and the BraTS metrics, per subject and mean.

    Parameters
    ----------
    checkpoint
        A ``model.pt`` of `train`.
    data
        A BraTS 2021, MSD Task01 or SynthBraTS folder (with labels).
    json_path
        Write the results here as JSON (atomically).
    predictions
        Save each subject's prediction here as ``<id>_pred.nii.gz``: BraTS labels 0/1/2/4 on
        the subject's RAS-reoriented grid with its affine, so it overlays in world space.

    Each subject is read raw, resampled to the checkpoint's voxel spacing if it has another,
    normalised as the checkpoint records, predicted, and its probabilities are resampled back
    onto the subject's grid, where the metrics are computed (`predict_subject`).
    subjects
        IDs to evaluate (default: all).
    overlap
        Sliding-window overlap (default: the one the model was trained with).
    edition
        ``"2023"`` or ``"2024"`` for a BraTS 2023/2024 GLI folder (`BraTSDataset`); the
        predictions are then written in that edition's coding (ET = 3).

    Returns
    -------
    dict
        ``{"dice": {"WT", "TC", "ET"}, "hd95_mm": {...}, "sensitivity": {...},
        "specificity": {...}, "subjects": N, "per_subject": [{"id", "dice_WT", ...}],
        "seconds_per_subject": s}``. HD95 in mm; empty-mask conventions as in `metrics`.
    """
    from tqdm.auto import tqdm

    model, saved = load_model(checkpoint)
    record = saved["input"]
    dataset = BraTSDataset(
        data,
        modalities=record["modalities"],
        target="labels",
        subjects=subjects,
        normalise=False,
        edition=edition,
    )
    overlap = saved["train_config"]["overlap"] if overlap is None else overlap
    tracker, started = MetricTracker(), time.perf_counter()
    for index in tqdm(range(len(dataset)), desc="evaluate", unit="subject", disable=not progress):
        item = dataset[index]
        probabilities = predict_subject(
            model, item["image"], overlap=overlap, affine=item["affine"], input_record=record
        )
        scores = subject_metrics(probabilities, item["label"], voxel_sizes(item["affine"]))
        tracker.add(item["id"], scores)
        if predictions is not None:
            path = Path(predictions) / f"{item['id']}_pred.nii.gz"
            save_prediction(probabilities, item["affine"], path, EDITION_CODINGS[edition])
    results = {
        **summarise(tracker),
        "subjects": len(tracker),
        "per_subject": [{"id": s, **tracker.results[s]} for s in tracker.subjects],
        "seconds_per_subject": (time.perf_counter() - started) / max(len(tracker), 1),
    }
    if json_path is not None:
        files.atomic_write_text(json_path, json.dumps(results, indent=2) + "\n")
    return results
