"""``course-utils predict``: segment a subject without labels, from files, series or a folder.

`predict_files` reads one input per contrast: a NIfTI (or any `io.load_volume`) file, or a
folder holding one DICOM series. Contrasts that share the reference contrast's grid (T1ce)
are used as they are. Contrasts on other grids (separate series: other voxel sizes, another
field of view, the patient moved in between) are co-registered rigidly to the T1ce by mutual
information on a coarse grid (`inference.coregister`) and resampled onto its grid (linear);
``register="always"`` or ``"never"`` overrides that choice. Then
`inference.predict_on_input_grid` runs (the checkpoint's spacing, every contrast zeroed outside
one shared brain mask, the checkpoint's normalisation, and back), and it writes:

- ``<out>.nii.gz``: BraTS labels in the checkpoint's coding, on the reference's own grid and
  voxel order (its shape and affine, so it overlays the T1ce in any viewer), or with
  ``grid="ras1mm"`` on a 1 mm RAS grid covering it (for thick-slice or oblique references);
- ``<out>_probabilities.nii.gz`` (optional): WT, TC, ET probabilities, ``(X, Y, Z, 3)``,
  stored as uint8 with a scale of 1/255;
- ``<out>.json``: the checkpoint's ``"input"`` record and architecture, the files read, what
  was resampled, and per co-registered contrast the matrix applied and the final mutual
  information.

`predict_folder` does the same for every subject of a BraTS 2021, BraTS 2023/2024 or
SynthBraTS folder, or every 4D image of an MSD Task01 folder (``imagesTs/`` and
``imagesTr/``, channels in the order its ``dataset.json`` lists); labels are not needed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from . import brats, files, io
from .datasets import GLI_EDITIONS, detect_layout, regions_to_classes
from .datasets.layouts import msd_channels, nifti_file, nifti_stem
from .errors import (
    CourseDataError,
    GeometryMismatchError,
    IncompleteSubjectError,
    SeriesError,
)
from .geometry import AFFINE_TOLERANCE, canonical

__all__ = ["REFERENCE", "GRIDS", "REGISTER", "predict_files", "predict_folder", "output_paths"]

#: The contrast whose grid the labels are written on, and which the others are registered to.
REFERENCE = brats.T1CE
#: The file names tried for a subject folder, in order.
NAMINGS = (brats.BRATS_2021_FILES, brats.BRATS_2023_GLI_FILES)
#: Output grids: the reference's own, or a 1 mm RAS grid covering it (`inference.ras_grid`).
GRIDS = ("reference", "ras1mm")
#: When to co-register: contrasts off the reference grid only, every contrast, or never
#: (then the headers' geometry is trusted and contrasts are only resampled).
REGISTER = ("auto", "always", "never")


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
    """Refuse contrasts the checkpoint does not take, missing ones and paths that don't exist."""
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
        if not Path(paths[modality]).exists():
            raise CourseDataError(
                paths[modality],
                "does not exist.",
                f"Check the --{modality} path (a NIfTI file or a DICOM series folder).",
            )


def series_identity(folder: Path) -> tuple[str, str]:
    """``(PatientID, SeriesInstanceUID)`` of the first file of a DICOM series folder."""
    from .dicom import read_dataset
    from .series import list_files

    first = next(iter(list_files(folder)), None)
    if first is None:
        raise SeriesError(folder, "contains no files.", "Point at the folder holding the slices.")
    ds = read_dataset(first)  # CorruptFileError for a file that is not DICOM
    return str(ds.get("PatientID", "")), str(ds.get("SeriesInstanceUID", ""))


def check_series(paths: Mapping[str, Path]) -> None:
    """Refuse DICOM series of different patients, and one series given for two contrasts."""
    identities = {m: series_identity(Path(p)) for m, p in paths.items() if Path(p).is_dir()}
    seen: dict[str, str] = {}
    for modality, (_, uid) in identities.items():
        if uid and uid in seen:
            raise SeriesError(
                paths[modality],
                f"is the same series ({uid}) as --{seen[uid]} {paths[seen[uid]]}.",
                f"Give --{modality} the folder of the {modality} series.",
            )
        seen[uid] = modality
    patients = {patient for patient, _ in identities.values()}
    if len(patients) > 1:
        listing = ", ".join(f"--{m}: {patient!r}" for m, (patient, _) in identities.items())
        raise CourseDataError(
            next(iter(paths.values())).parent,
            f"the series belong to different patients (PatientID {listing}).",
            "Give the four series of one subject.",
        )


def load_volumes(paths: Mapping[str, Path], modalities: list[str]) -> dict[str, nib.Nifti1Image]:
    """Each contrast as a 3D image (`io.load_volume`: a file or a one-series DICOM folder)."""
    volumes = {}
    for modality in modalities:
        path = Path(paths[modality])
        try:
            volume = io.load_volume(path)
        except SeriesError as error:
            raise SeriesError(
                path,
                error.problem,
                f"Give --{modality} a folder that holds only the {modality} series (copy its "
                "files into a folder of their own).",
            ) from error
        if volume.ndim != 3:
            raise GeometryMismatchError(
                path,
                f"is not a 3D volume (shape {volume.shape}).",
                "Pass one 3D file or series per contrast.",
            )
        volumes[modality] = volume
    return volumes


def same_grid(a: nib.Nifti1Image, b: nib.Nifti1Image) -> bool:
    return a.shape == b.shape and np.allclose(a.affine, b.affine, atol=AFFINE_TOLERANCE)


def load_contrasts(
    paths: Mapping[str, Path], modalities: list[str], register: str = "auto"
) -> tuple[torch.Tensor, np.ndarray, nib.Nifti1Image, dict]:
    """``(image, affine, reference, registrations)`` on the reference's grid, RAS+ order.

    ``image`` is float32 ``(C, D, H, W)`` in ``modalities`` order; ``affine`` its voxel ->
    RAS+ mm matrix; ``reference`` the T1ce as loaded (its own voxel order); ``registrations``
    maps each co-registered contrast to its `inference.Coregistration` record.
    """
    from .inference import coregister, resample_channels

    if register not in REGISTER:
        raise ValueError(f"register={register!r}: choose one of {REGISTER}.")
    check_series(paths)
    volumes = load_volumes(paths, modalities)
    name = REFERENCE if REFERENCE in volumes else modalities[0]
    reference = volumes[name]
    grid = canonical(reference)
    image = np.empty((len(modalities), *grid.shape), dtype=np.float32)
    registrations = {}
    for c, modality in enumerate(modalities):
        volume = volumes[modality]
        aligned = same_grid(volume, reference)
        if modality == name or (aligned and register != "always"):
            image[c] = np.asanyarray(canonical(volume).dataobj)
            continue
        if register == "never":
            matrix = np.eye(4)
        else:
            found = coregister(reference, volume)
            registrations[modality] = found.record()
            matrix = found.matrix
        # pull: reference voxel -> world -> (matrix) the contrast's world -> its voxel
        moved_affine = np.linalg.inv(matrix) @ np.asarray(volume.affine, float)
        values = np.asanyarray(volume.dataobj)[None]
        image[c] = resample_channels(values, moved_affine, grid.shape, grid.affine, order=1)[0]
    return torch.from_numpy(image), grid.affine, reference, registrations


def to_reference(values: np.ndarray, canonical_affine: np.ndarray, reference: nib.Nifti1Image):
    """A RAS+ ``(D, H, W[, K])`` array as an image on the reference's own voxel order."""
    image = nib.Nifti1Image(values, canonical_affine)
    ornt = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(canonical_affine),
        nib.orientations.io_orientation(reference.affine),
    )
    image = image.as_reoriented(ornt)
    return with_affine(np.asarray(image.dataobj), reference.affine)


def with_affine(values: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    """``values`` as a NIfTI image whose qform and sform are ``affine`` (units mm)."""
    image = nib.Nifti1Image(values, affine)
    image.header.set_xyzt_units("mm")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return image


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
    from .inference import predict_on_input_grid, ras_grid, threshold_regions

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
    from .training import load_model

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

    from .training import load_model

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
