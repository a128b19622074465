"""What `predict_files` refuses before it loads anything: the wrong contrasts, mixed series.

`check_contrasts` compares the contrasts given with those the checkpoint takes and checks that
every path exists; `check_series` reads the first file of each DICOM series folder
(`series_identity`) and refuses series of different patients, or one series given for two
contrasts. Each refusal is a `CourseDataError` naming the path and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import CourseDataError, IncompleteSubjectError, SeriesError

__all__: list[str] = []  # helpers of `predict_files`; nothing here is for other code


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
    from ..dicom import read_dataset
    from ..series import list_files

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
