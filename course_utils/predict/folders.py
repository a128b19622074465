"""`predict_folder`: every subject of a BraTS, SynthBraTS or MSD Task01 folder.

A BraTS 2021, BraTS 2023/2024 or SynthBraTS folder holds one folder per subject; its files are
found by the first naming (`NAMINGS`: 2021, then 2023) that finds any (`subject_files`), and
each subject goes through `predict_files`. An MSD Task01 folder holds 4D images
(``imagesTs/`` then ``imagesTr/``, `msd_images`), their channels picked in the checkpoint's
modality order by the names its ``dataset.json`` lists (`load_msd_image`, `predict_msd`).
Labels are not needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from .. import brats, files, io
from ..datasets import GLI_EDITIONS, detect_layout
from ..datasets.layouts import msd_channels, nifti_file, nifti_stem
from ..errors import CourseDataError, GeometryMismatchError, IncompleteSubjectError
from ..geometry import canonical
from .outputs import output_paths, result_record, write_prediction
from .subject import predict_files

__all__ = ["predict_folder"]

#: The file names tried for a subject folder, in order.
NAMINGS = (brats.BRATS_2021_FILES, brats.BRATS_2023_GLI_FILES)


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


def msd_images(root: Path) -> list[Path]:
    """The 4D images of an MSD Task01 folder: ``imagesTs/`` then ``imagesTr/`` (no ``._*``)."""
    found = []
    for part in ("imagesTs", "imagesTr"):
        if (root / part).is_dir():
            found += sorted(p for p in (root / part).glob("*.nii*") if not p.name.startswith("."))
    if not found:
        raise CourseDataError(
            root, "is an MSD folder without images in imagesTs/ or imagesTr/.",
            "Copy imagesTs/ (or imagesTr/) again from the Task01_BrainTumour download.",
        )  # fmt: skip
    return found


def load_msd_image(path: Path, channels: tuple[int, ...]):
    """``(image, reference, affine)``: float32 ``(C, D, H, W)`` RAS+ of ``channels``, a 3D
    image on the file's own grid (where labels are written) and the RAS+ affine."""
    volume = io.load_volume(path)
    if volume.ndim != 4 or volume.shape[3] <= max(channels):
        raise GeometryMismatchError(
            path,
            f"has shape {volume.shape}; an MSD Task01 image is 4D with the contrasts on its "
            f"4th axis, and dataset.json asks for channels {list(channels)}.",
            "Copy the image again, or fix dataset.json's 'modality' entry.",
        )
    ras = canonical(volume)
    data = np.asanyarray(ras.dataobj)
    image = np.stack([data[..., c] for c in channels]).astype(np.float32)
    reference = nib.Nifti1Image(np.zeros(volume.shape[:3], np.uint8), volume.affine)
    return torch.from_numpy(image), reference, ras.affine


def predict_msd(
    loaded, checkpoint, root: Path, out: Path, progress: bool, **options
) -> list[dict]:
    """`predict_folder` for an MSD Task01 folder: every 4D image of imagesTs/ and imagesTr/."""
    from tqdm.auto import tqdm

    modalities = list(loaded[1]["input"]["modalities"])
    channels = msd_channels(root, modalities)
    results = []
    for path in tqdm(msd_images(root), desc="predict", unit="subject", disable=not progress):
        image, reference, affine = load_msd_image(path, channels)
        target = Path(out) / f"{nifti_stem(path)}_pred.nii.gz"
        outputs, info = write_prediction(
            loaded, image, affine, reference, target, progress=False, **options
        )
        inputs = {"image": str(path), "channels": dict(zip(modalities, channels, strict=True))}
        result = result_record(checkpoint, loaded[1], inputs, "image", info, outputs)
        files.atomic_write_text(output_paths(target)["json"], json.dumps(result, indent=2) + "\n")
        results.append(result)
    return results


def predict_folder(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    probabilities: bool = False,
    overlap: float | None = None,
    grid: str = "reference",
    edition: str | None = None,
    progress: bool = True,
) -> list[dict]:
    """`predict_files` for every subject of ``data``: ``<out>/<ID>_pred.nii.gz`` etc.

    ``data`` holds BraTS 2021 (``<ID>/<ID>_t1ce.nii.gz`` ...), BraTS 2023/2024
    (``<ID>/<ID>-t1c.nii.gz`` ...) or SynthBraTS subject folders, or is an MSD Task01 folder
    (``dataset.json`` with ``imagesTs/`` and/or ``imagesTr/``: one 4D image per subject, its
    channels picked in the checkpoint's modality order by the names ``dataset.json`` lists);
    labels are not needed. The layout is found by `datasets.detect_layout`. A subject that
    lacks a contrast the checkpoint takes is refused (`IncompleteSubjectError`), and so is an
    MSD ``dataset.json`` that lacks one (`DatasetIntegrityError`).

    A BraTS 2023/2024 folder needs ``edition`` (``"2023"`` or ``"2024"``: their file names are
    the same, their label codings are not), and its labels are written in that edition's
    coding (ET = 3), so that they compare with the challenge's own label files; an
    ``edition`` for any other layout is refused (ValueError).
    """
    from tqdm.auto import tqdm

    from ..training import load_model

    data = Path(data)
    layout = detect_layout(data, labelled=False)
    if edition is not None and layout != "brats2023":
        raise ValueError(
            f"edition={edition!r} is for BraTS 2023/2024 folders; {data} is {layout}."
        )
    if layout == "brats2023" and edition not in GLI_EDITIONS:
        raise ValueError(
            f"{data} is a BraTS 2023/2024 folder, and the two editions code labels differently "
            "(2024 adds the resection cavity): say which it is, --edition 2023 or --edition 2024."
        )
    loaded = load_model(checkpoint)
    options = {"probabilities": probabilities, "overlap": overlap, "grid": grid}
    if layout == "msd":
        return predict_msd(loaded, checkpoint, data, Path(out), progress, **options)
    modalities = list(loaded[1]["input"]["modalities"])
    folders = [f for f in sorted(data.iterdir()) if f.is_dir() and not f.name.startswith(".")]
    subjects = {f: subject_files(f, modalities) for f in folders}
    subjects = {f: found for f, found in subjects.items() if any(found.values())}
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
                progress=False,
                model_and_checkpoint=loaded,
                coding=GLI_EDITIONS[edition].coding if edition else None,
                **options,
            )
        )
    return results
