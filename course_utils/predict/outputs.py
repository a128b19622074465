"""What a prediction writes: labels (and probabilities) as NIfTI, and the JSON record.

`write_prediction` runs `inference.predict_on_input_grid` on a RAS+ image and writes, at the
paths `output_paths` gives:

- ``<out>.nii.gz``: BraTS labels in the checkpoint's coding (or a dataset's,
  `written_coding`), on the reference's own grid and voxel order, or with ``grid="ras1mm"``
  on a 1 mm RAS grid covering it (`GRIDS`);
- ``<out>_probabilities.nii.gz`` (optional): WT, TC, ET probabilities, ``(X, Y, Z, 3)``,
  stored as uint8 with a scale of 1/255;

and `result_record` is the ``<out>.json`` written beside them (plain types).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from .. import brats, io
from ..datasets import regions_to_classes
from .reference_grid import to_reference, with_affine

__all__ = ["GRIDS", "output_paths"]

#: Output grids: the reference's own, or a 1 mm RAS grid covering it (`inference.ras_grid`).
GRIDS = ("reference", "ras1mm")


def output_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """``labels``, ``probabilities`` and ``json`` paths of an output ``<out>[.nii.gz]``."""
    out = Path(out)
    stem = out.name.removesuffix(".gz").removesuffix(".nii")
    return {
        "labels": out.with_name(f"{stem}.nii.gz"),
        "probabilities": out.with_name(f"{stem}_probabilities.nii.gz"),
        "json": out.with_name(f"{stem}.json"),
    }


def write_prediction(
    loaded: tuple,
    image: torch.Tensor,
    affine: np.ndarray,
    reference: nib.Nifti1Image,
    out: str | os.PathLike[str],
    *,
    grid: str = "reference",
    probabilities: bool = False,
    overlap: float | None = None,
    progress: bool = True,
    coding: brats.LabelCoding | None = None,
) -> tuple[dict, dict]:
    """Predict a RAS+ ``(C, D, H, W)`` image and write labels (+ probabilities).

    The labels use ``coding`` (a dataset's `brats.LabelCoding`) or, by default, the
    checkpoint's own. Returns ``(outputs, info)``: the paths written and what
    `predict_on_input_grid` did, plus the output grid's shape, affine and orientation, and
    ``label_values`` (value -> sub-region) of the labels written.
    """
    from ..inference import predict_on_input_grid, ras_grid, threshold_regions

    if grid not in GRIDS:
        raise ValueError(f"grid={grid!r}: choose one of {GRIDS}.")
    model, saved = loaded
    record = saved["input"]
    overlap = saved["train_config"]["overlap"] if overlap is None else overlap
    output_grid = ras_grid(tuple(image.shape[1:]), affine) if grid == "ras1mm" else None
    region_probabilities, info = predict_on_input_grid(
        model, image, affine, record, overlap=overlap, progress=progress,
        output_grid=output_grid, brain_mask=True,
    )  # fmt: skip
    if output_grid is None:
        place = lambda values: to_reference(values, affine, reference)  # noqa: E731
    else:
        place = lambda values: with_affine(values, output_grid[1])  # noqa: E731
    label_values = written_coding(record, coding)
    coding_values = np.array([int(v) for v in label_values], dtype=np.uint8)
    classes = regions_to_classes(threshold_regions(region_probabilities).astype(np.float32))
    labels = place(coding_values[classes])
    start = time.perf_counter()
    written = output_paths(out)
    written["labels"].parent.mkdir(parents=True, exist_ok=True)
    io.save_nifti(labels, written["labels"])
    outputs = {"labels": str(written["labels"])}
    if probabilities:
        scaled = np.rint(np.moveaxis(region_probabilities.numpy(), 0, -1) * 255).astype(np.uint8)
        stored = place(scaled)
        stored.header.set_slope_inter(1 / 255, 0.0)
        io.save_nifti(stored, written["probabilities"])
        outputs["probabilities"] = str(written["probabilities"])
    info["seconds"]["write"] = round(time.perf_counter() - start, 2)
    info["grid"] = {
        "kind": grid,
        "shape": list(labels.shape),
        "affine": labels.affine.tolist(),
        "orientation": "".join(nib.aff2axcodes(labels.affine)),
    }  # fmt: skip
    info["label_values"] = label_values
    return outputs, info


def written_coding(record: Mapping, coding: brats.LabelCoding | None) -> dict[str, str]:
    """Label value (as text) -> sub-region key, in the classes' order (background, necrotic
    core, oedema, enhancing): the checkpoint's coding (``record["labels"]``) or ``coding``'s."""
    if coding is None:
        return dict(record["labels"])
    return {str(coding.value_of(key)): key for key in record["labels"].values()}


def result_record(checkpoint, saved, inputs: dict, reference: str, info, outputs) -> dict:
    """The JSON written beside a prediction (plain types)."""
    record = saved["input"]
    return {
        "checkpoint": str(checkpoint),
        "checkpoint_format": saved["format"],
        "input": record,
        "model": saved["model"],
        "files": inputs,
        "reference": reference,
        **info,
        "outputs": outputs,
    }
