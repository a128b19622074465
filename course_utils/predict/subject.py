"""`predict_files`: one subject, given as one file or DICOM series folder per contrast.

The steps, each in its own module: refuse what the checkpoint cannot take (`checks`), load
every contrast onto the T1ce's grid, co-registering those on other grids (`reference_grid`),
then predict and write the labels and the JSON record (`outputs`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

from .. import brats, files
from .checks import check_contrasts
from .outputs import output_paths, result_record, write_prediction
from .reference_grid import REFERENCE, load_contrasts

__all__ = ["predict_files"]


def predict_files(
    checkpoint: str | os.PathLike[str],
    paths: Mapping[str, str | os.PathLike[str] | None],
    out: str | os.PathLike[str],
    *,
    probabilities: bool = False,
    overlap: float | None = None,
    grid: str = "reference",
    register: str = "auto",
    progress: bool = True,
    model_and_checkpoint: tuple | None = None,
    coding: brats.LabelCoding | None = None,
) -> dict:
    """Segment one subject given as one file or DICOM series per contrast; returns the JSON.

    Parameters
    ----------
    checkpoint
        A ``model.pt`` (format `training.CHECKPOINT_FORMAT`).
    paths
        Modality name (`brats.MODALITIES`) -> a file `io.load_volume` reads (NIfTI, NRRD ...)
        or a folder holding one DICOM series; every modality the checkpoint takes.
    out
        ``<out>.nii.gz`` gets the labels, ``<out>.json`` the record (`output_paths`).
    probabilities
        Also write ``<out>_probabilities.nii.gz``.
    overlap
        Sliding-window overlap (default: the one the model was trained with).
    grid
        ``"reference"``: labels on the T1ce's own grid; ``"ras1mm"``: on a 1 mm RAS grid
        covering it (`inference.ras_grid`).
    register
        ``"auto"``: co-register (rigid, mutual information) the contrasts whose grid differs
        from the T1ce's; ``"always"``: every contrast; ``"never"``: trust the headers.
    progress
        Show the sliding windows' progress bar.
    model_and_checkpoint
        ``load_model(checkpoint)``'s result, to reuse it over many subjects.
    coding
        The label coding to write (default: the checkpoint's, BraTS 2021 for the course's).

    Raises
    ------
    CourseDataError
        A contrast the checkpoint does not take, a missing contrast or path, series of
        different patients or one series given twice, a folder of several series
        (`SeriesError`), a file that is not 3D (`GeometryMismatchError`), or what
        `io.load_volume` raises (`GeometryError`, `CorruptFileError` ...).
    """
    from ..training import load_model

    loaded = model_and_checkpoint or load_model(checkpoint)
    modalities = list(loaded[1]["input"]["modalities"])
    given = {m: Path(p) for m, p in paths.items() if p is not None}
    check_contrasts(given, modalities, Path(checkpoint))
    start = time.perf_counter()
    image, affine, reference, registrations = load_contrasts(given, modalities, register)
    loading = time.perf_counter() - start
    outputs, info = write_prediction(
        loaded, image, affine, reference, out, grid=grid, probabilities=probabilities,
        overlap=overlap, progress=progress, coding=coding,
    )  # fmt: skip
    info["registration"] = registrations
    info["seconds"] = {"load_and_register": round(loading, 2), **info["seconds"]}
    name = REFERENCE if REFERENCE in given else modalities[0]
    inputs = {m: str(p) for m, p in given.items()}
    result = result_record(checkpoint, loaded[1], inputs, name, info, outputs)
    files.atomic_write_text(output_paths(out)["json"], json.dumps(result, indent=2) + "\n")
    return result
