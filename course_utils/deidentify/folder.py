"""`anonymize_series`: a folder of DICOM files in, a de-identified folder out, as one batch.

Every file shares one seed and one ``uid_map`` (see `profile.anonymize`), so one series in
gives one series out. Every file is read and checked before anything is written, the output
folder appears complete or not at all (`files.atomic_directory`), and output files are named by
their new SOPInstanceUID, because original file names can hold a patient's name.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..dicom import read_dataset
from ..errors import CorruptFileError, CourseDataError, DatasetNotFoundError, SeriesError
from ..files import atomic_directory
from ..series import list_files
from .burned_in import BurnedInAnnotationWarning, _burned_in_unknown
from .profile import _checked_keep, _deidentify, _seed_text

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["anonymize_series"]


def anonymize_series(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    seed: int | str | None = None,
    uid_map: MutableMapping[str, str] | None = None,
    keep: Collection[str] = (),
    on_unknown_burned_in: Literal["warn", "raise"] = "warn",
) -> list[Path]:
    """De-identify every DICOM file in folder ``src`` into a new folder ``dst``.

    All files share one seed and one ``uid_map`` (see `anonymize` for the parameters), so
    one series in gives one series out: the same StudyInstanceUID, SeriesInstanceUID and
    FrameOfReferenceUID in every file, distinct SOPInstanceUIDs, and the same date offset.
    Output files are named ``<new SOPInstanceUID>.dcm`` (original names can hold a
    patient's name). ``dst`` is built under a temporary name and appears complete or not
    at all; an existing ``dst`` is replaced. Files whose name starts with ``.`` are skipped
    and subfolders are not entered. Missing BurnedInAnnotation gives one warning for the
    whole folder.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of the sorted source file names.

    Raises
    ------
    CorruptFileError
        If a file is not readable DICOM (checked before anything is written).
    BurnedInAnnotationError, DeidentificationError
        As in `anonymize`.
    SeriesError
        If ``src`` holds no files, or two files share a SOPInstanceUID.
    """
    src, dst = Path(src), Path(dst)
    _checked_keep(keep)
    files = _list_files(src, dst)
    datasets = [_read_dicom(path) for path in files]
    unknown = [
        p
        for p, ds in zip(files, datasets, strict=True)
        if _burned_in_unknown(ds, p, on_unknown_burned_in)
    ]
    if unknown:
        warnings.warn(
            f"{src}: {len(unknown)} of {len(files)} files have no BurnedInAnnotation, so nothing"
            " says their pixels are free of burned-in text. Look at them before sharing.",
            BurnedInAnnotationWarning,
            stacklevel=2,
        )
    seed_text, uid_map = _seed_text(seed), {} if uid_map is None else uid_map
    names: list[str] = []
    with atomic_directory(dst) as temp:
        for path, ds in zip(files, datasets, strict=True):
            out = _deidentify(ds, str(path), seed_text, uid_map, keep)
            name = f"{out.SOPInstanceUID}.dcm"
            if name in names:
                raise SeriesError(
                    path,
                    "has the SOPInstanceUID of another file in the folder.",
                    "Remove the duplicate copy from the folder and run again.",
                )
            out.save_as(temp / name, enforce_file_format=True)
            names.append(name)
    return [dst / name for name in names]


def _list_files(src: Path, dst: Path) -> list[Path]:
    """The files to de-identify in ``src``, after checking ``dst`` can be replaced safely."""
    if not src.is_dir():
        raise DatasetNotFoundError(src, "is not a folder.", "Check the path of the series folder.")
    source, target = src.resolve(), dst.resolve()
    if target == source or source in target.parents or target in source.parents:
        raise CourseDataError(
            dst,
            f"is {src} or contains it or lies inside it; replacing it would delete the originals.",
            "Choose a destination folder outside the source folder.",
        )
    files = list_files(src)
    if not files:
        raise SeriesError(src, "holds no files to de-identify.", "Check the folder path.")
    return files


def _read_dicom(path: Path) -> Dataset:
    """``dcmread`` one file; anything but a DICOM image raises `CorruptFileError`."""
    ds = read_dataset(path)
    if "SOPInstanceUID" not in ds:
        raise CorruptFileError(
            path,
            "has no SOPInstanceUID: it is not an image (a DICOMDIR index?).",
            "Remove it from the series folder; rebuild any DICOMDIR after de-identifying.",
        )
    return ds
