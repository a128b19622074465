"""``course-utils predict``: segment a subject without labels, from four NIfTI files or a folder.

`predict_files` reads one file per contrast (each reoriented to RAS+), checks that they share
the reference contrast's grid (T1ce), runs `inference.predict_on_input_grid` (the checkpoint's
spacing and normalisation, and back), and writes:

- ``<out>.nii.gz``: BraTS labels in the checkpoint's coding, on the reference file's own
  grid and voxel order (its shape and affine, so it overlays the T1ce in any viewer);
- ``<out>_probabilities.nii.gz`` (optional): WT, TC, ET probabilities, ``(X, Y, Z, 3)``,
  stored as uint8 with a scale of 1/255;
- ``<out>.json``: the checkpoint's ``"input"`` record and architecture, the files read and
  what was resampled.

`predict_folder` does the same for every subject of a BraTS 2021, BraTS 2023/2024 or
SynthBraTS folder (labels not needed). DICOM series folders and co-registration of separately
acquired contrasts are a later step (issue 19): a folder given as a contrast is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from . import brats, files, io
from .datasets import AFFINE_TOLERANCE, affine_text, canonical, nifti_file, regions_to_classes
from .errors import CourseDataError, GeometryMismatchError, IncompleteSubjectError

__all__ = ["REFERENCE", "predict_files", "predict_folder", "output_paths"]

#: The contrast whose grid the labels are written on.
REFERENCE = brats.T1CE
#: The file names tried for a subject folder, in order.
NAMINGS = (brats.BRATS_2021_FILES, brats.BRATS_2023_GLI_FILES)


def output_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """``labels``, ``probabilities`` and ``json`` paths of an output ``<out>[.nii.gz]``."""
    out = Path(out)
    stem = out.name.removesuffix(".gz").removesuffix(".nii")
    return {
        "labels": out.with_name(f"{stem}.nii.gz"),
        "probabilities": out.with_name(f"{stem}_probabilities.nii.gz"),
        "json": out.with_name(f"{stem}.json"),
    }


def check_contrasts(paths: Mapping[str, Path], modalities: list[str], checkpoint: Path) -> None:
    """Refuse contrasts the checkpoint does not take, missing ones and DICOM folders."""
    unknown = sorted(set(paths) - set(modalities))
    if unknown:
        raise CourseDataError(
            checkpoint,
            f"takes the modalities {modalities}, not {unknown}.",
            "Use a checkpoint trained on these contrasts, or leave them out.",
        )
    missing = [m for m in modalities if paths.get(m) is None]
    if missing:
        raise IncompleteSubjectError(
            None,
            f"the checkpoint needs {modalities}; no file was given for {missing}.",
            "Pass " + " ".join(f"--{m} PATH" for m in missing) + ".",
        )
    for modality in modalities:
        path = Path(paths[modality])
        if path.is_dir():
            raise CourseDataError(
                path,
                f"is a folder; --{modality} takes a NIfTI file here. DICOM series folders "
                "(and co-registering contrasts acquired separately) are a later step.",
                "Convert the series first (`course_utils.io.load_volume` reads it; save it "
                "with `io.save_nifti`), resampled onto the T1ce's grid.",
            )
        if not path.is_file():
            raise CourseDataError(path, "does not exist.", f"Check the --{modality} path.")


def load_contrasts(
    paths: Mapping[str, Path], modalities: list[str]
) -> tuple[torch.Tensor, np.ndarray, nib.Nifti1Image]:
    """``(image, affine, reference)``: float32 ``(C, D, H, W)`` RAS+, its affine, the T1ce file."""
    volumes = {m: io.load_volume(paths[m]) for m in modalities}
    reference = volumes[REFERENCE] if REFERENCE in volumes else volumes[modalities[0]]
    reference_path = paths[REFERENCE] if REFERENCE in volumes else paths[modalities[0]]
    for modality, volume in volumes.items():
        if volume.ndim != 3:
            raise GeometryMismatchError(
                paths[modality],
                f"is not a 3D volume (shape {volume.shape}).",
                "Pass one 3D file per contrast.",
            )
        same_shape = volume.shape == reference.shape
        if not same_shape or not np.allclose(
            volume.affine, reference.affine, atol=AFFINE_TOLERANCE
        ):
            raise GeometryMismatchError(
                paths[modality],
                f"its grid differs from the reference {reference_path}: shape {volume.shape}, "
                f"affine {affine_text(volume.affine)}; reference shape {reference.shape}, "
                f"affine {affine_text(reference.affine)}.",
                "Register and resample every contrast onto the T1ce's grid first (notebook 05); "
                "co-registration inside `predict` is a later step.",
            )
    image = np.empty((len(modalities), *canonical(reference).shape), dtype=np.float32)
    for c, modality in enumerate(modalities):
        image[c] = np.asanyarray(canonical(volumes[modality]).dataobj)
    return torch.from_numpy(image), canonical(reference).affine, reference


def to_reference(values: np.ndarray, canonical_affine: np.ndarray, reference: nib.Nifti1Image):
    """A RAS+ ``(D, H, W[, K])`` array as an image on the reference's own voxel order."""
    image = nib.Nifti1Image(values, canonical_affine)
    ornt = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(canonical_affine),
        nib.orientations.io_orientation(reference.affine),
    )
    image = image.as_reoriented(ornt)
    image = nib.Nifti1Image(np.asarray(image.dataobj), reference.affine)
    image.header.set_xyzt_units("mm")
    image.set_qform(reference.affine, code=1)
    image.set_sform(reference.affine, code=1)
    return image


def predict_files(
    checkpoint: str | os.PathLike[str],
    paths: Mapping[str, str | os.PathLike[str] | None],
    out: str | os.PathLike[str],
    *,
    probabilities: bool = False,
    overlap: float | None = None,
    progress: bool = True,
    model_and_checkpoint: tuple | None = None,
) -> dict:
    """Segment one subject given as one NIfTI file per contrast; returns the JSON written.

    Parameters
    ----------
    checkpoint
        A ``model.pt`` (format `training.CHECKPOINT_FORMAT`).
    paths
        Modality name (`brats.MODALITIES`) -> file; every modality the checkpoint takes.
    out
        ``<out>.nii.gz`` gets the labels, ``<out>.json`` the record (`output_paths`).
    probabilities
        Also write ``<out>_probabilities.nii.gz``.
    overlap
        Sliding-window overlap (default: the one the model was trained with).
    progress
        Show the sliding windows' progress bar.
    model_and_checkpoint
        ``load_model(checkpoint)``'s result, to reuse it over many subjects.

    Raises
    ------
    CourseDataError
        A contrast the checkpoint does not take, a missing contrast, a folder, or
        `GeometryMismatchError` for contrasts on different grids.
    """
    from .inference import predict_on_input_grid, threshold_regions
    from .training import load_model

    model, saved = model_and_checkpoint or load_model(checkpoint)
    record = saved["input"]
    modalities = list(record["modalities"])
    given = {m: Path(p) for m, p in paths.items() if p is not None}
    check_contrasts(given, modalities, Path(checkpoint))
    image, affine, reference = load_contrasts(given, modalities)
    overlap = saved["train_config"]["overlap"] if overlap is None else overlap
    region_probabilities, info = predict_on_input_grid(
        model, image, affine, record, overlap=overlap, progress=progress
    )
    coding_values = np.array([int(v) for v in record["labels"]], dtype=np.uint8)
    classes = regions_to_classes(threshold_regions(region_probabilities).astype(np.float32))
    labels = to_reference(coding_values[classes], affine, reference)
    written = output_paths(out)
    written["labels"].parent.mkdir(parents=True, exist_ok=True)
    io.save_nifti(labels, written["labels"])
    outputs = {"labels": str(written["labels"])}
    if probabilities:
        scaled = np.rint(np.moveaxis(region_probabilities.numpy(), 0, -1) * 255).astype(np.uint8)
        stored = to_reference(scaled, affine, reference)
        stored.header.set_slope_inter(1 / 255, 0.0)
        io.save_nifti(stored, written["probabilities"])
        outputs["probabilities"] = str(written["probabilities"])
    result = {
        "checkpoint": str(checkpoint),
        "checkpoint_format": saved["format"],
        "input": record,
        "model": saved["model"],
        "files": {m: str(p) for m, p in given.items()},
        "reference": REFERENCE if REFERENCE in given else modalities[0],
        "grid": {
            "shape": list(reference.shape),
            "affine": reference.affine.tolist(),
            "orientation": "".join(nib.aff2axcodes(reference.affine)),
        },  # fmt: skip
        **info,
        "outputs": outputs,
        "label_values": {k: v for k, v in record["labels"].items()},
    }
    files.atomic_write_text(written["json"], json.dumps(result, indent=2) + "\n")
    return result


def subject_files(folder: Path, modalities: list[str]) -> dict[str, Path | None]:
    """The contrasts of one subject folder, by the first naming (2021, 2023) that finds any."""
    for naming in NAMINGS:
        found = {
            m: nifti_file(folder, naming.file_name(folder.name, m).removesuffix(".nii.gz"))
            for m in modalities
        }
        if any(found.values()):
            return found
    return dict.fromkeys(modalities)


def predict_folder(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    probabilities: bool = False,
    overlap: float | None = None,
    progress: bool = True,
) -> list[dict]:
    """`predict_files` for every subject folder of ``data``: ``<out>/<ID>_pred.nii.gz`` etc.

    ``data`` holds BraTS 2021 (``<ID>/<ID>_t1ce.nii.gz`` ...), BraTS 2023/2024
    (``<ID>/<ID>-t1c.nii.gz`` ...) or SynthBraTS subject folders; labels are not needed.
    A subject that lacks a contrast the checkpoint takes is refused (`IncompleteSubjectError`).
    """
    from tqdm.auto import tqdm

    from .training import load_model

    data = Path(data)
    loaded = load_model(checkpoint)
    modalities = list(loaded[1]["input"]["modalities"])
    folders = [f for f in sorted(data.iterdir()) if f.is_dir() and not f.name.startswith(".")]
    subjects = {f: subject_files(f, modalities) for f in folders}
    subjects = {f: found for f, found in subjects.items() if any(found.values())}
    if not subjects:
        raise CourseDataError(
            data,
            "holds no subject folder with BraTS 2021 (<ID>/<ID>_t1ce.nii.gz) or BraTS 2023 "
            "(<ID>/<ID>-t1c.nii.gz) files.",
            "Point --data at the folder that directly holds the subject folders, or pass "
            "--flair/--t1/--t1ce/--t2.",
        )
    results = []
    for folder, found in tqdm(
        subjects.items(), desc="predict", unit="subject", disable=not progress
    ):
        missing = [m for m, path in found.items() if path is None]
        if missing:
            raise IncompleteSubjectError(
                folder, f"has no {missing} file.", "Copy the subject again, or leave it out."
            )
        results.append(
            predict_files(
                checkpoint,
                found,
                Path(out) / f"{folder.name}_pred.nii.gz",
                probabilities=probabilities,
                overlap=overlap,
                progress=False,
                model_and_checkpoint=loaded,
            )
        )
    return results
