"""Assemble a folder of DICOM slices into one volume, the way a careful reader does.

One series only (a folder holding several is refused unless a SeriesInstanceUID picks
one); slices sorted by ImagePositionPatient projected on the slice normal, never by file
name or InstanceNumber; the slice step taken from the positions, never from
SliceThickness, so oblique and tilted stacks keep their geometry; and a clear refusal
for gaps, uneven spacing, duplicate positions, slices of another orientation or size,
files without pixel data, and unreadable files.

Each file is read once into a light `SliceRecord`; header values are parsed from their
bytes (`dicom.raw_value`), which makes the reader faster than SimpleITK's GDCM reader on
typical series (see ``benchmarks/dicom_series.py``). Geometry is DICOM's LPS here;
``course_utils.io.load_volume`` converts to RAS+.

Used by notebooks 02 and 03 through ``io.load_volume``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dicom
from .errors import SeriesError

__all__ = ["SliceRecord", "read_slice", "read_series"]


@dataclass(frozen=True)
class SliceRecord:
    """What assembling a series needs from one file.

    ``orientation`` is ImageOrientationPatient (6 values) and ``position``
    ImagePositionPatient (3 values, mm, LPS), ``None`` when absent; ``spacing`` is
    ``(column spacing, row spacing)`` in mm (PixelSpacing reversed) and ``thickness`` the
    SliceThickness (used only for a single slice); ``pixels`` are the
    physical values ``(rows, columns)``, or ``None`` for a file without pixel data;
    ``frames`` is NumberOfFrames (a multi-frame file is not a slice).
    """

    path: Path
    series_uid: str
    description: str
    orientation: np.ndarray | None
    position: np.ndarray | None
    spacing: np.ndarray
    thickness: float
    rows: int
    columns: int
    pixels: np.ndarray | None
    frames: int = 1


def read_slice(path: Path) -> SliceRecord:
    """Read one DICOM file into a `SliceRecord` (raises `CorruptFileError` if unreadable)."""
    ds = dicom.read_dataset(path)
    orientation = dicom.raw_value(ds, "ImageOrientationPatient")
    position = dicom.raw_value(ds, "ImagePositionPatient")
    spacing = dicom.raw_value(ds, "PixelSpacing", [1.0, 1.0])
    return SliceRecord(
        path=path,
        series_uid=str(dicom.raw_value(ds, "SeriesInstanceUID", "<missing>")),
        description=str(dicom.raw_value(ds, "SeriesDescription", "no description")),
        orientation=None if orientation is None else np.asarray(orientation, dtype=np.float64),
        position=None if position is None else np.asarray(position, dtype=np.float64),
        spacing=np.asarray(spacing, dtype=np.float64)[::-1],
        thickness=float(dicom.raw_value(ds, "SliceThickness", 1.0)),
        rows=int(dicom.raw_value(ds, "Rows", 0)),
        columns=int(dicom.raw_value(ds, "Columns", 0)),
        pixels=dicom.pixel_values(ds, path) if "PixelData" in ds else None,
        frames=int(dicom.raw_value(ds, "NumberOfFrames", 1) or 1),
    )


def list_files(folder: Path) -> list[Path]:
    """Regular, non-hidden files in ``folder`` (not recursive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def choose_series(records: list[SliceRecord], series_uid: str | None, folder: Path):
    """The records of one series; refuse a mixed folder unless ``series_uid`` picks one."""
    series: dict[str, list[SliceRecord]] = {}
    for record in records:
        series.setdefault(record.series_uid, []).append(record)
    if series_uid is None and len(series) == 1:
        series_uid = next(iter(series))
    if series_uid not in series:
        listing = "; ".join(
            f"{uid} ({members[0].description}, {len(members)} files)"
            for uid, members in series.items()
        )
        problem = (
            f"holds {len(series)} series: {listing}."
            if series_uid is None
            else f"has no series {series_uid}; it holds: {listing}."
        )
        raise SeriesError(folder, problem, "Pick one with series_uid=... .")
    return series[series_uid]


def rounded(values) -> list[float]:
    """Numbers as a short list for messages: ``[1.0, 0.0, -0.0]`` -> ``[1.0, 0.0, 0.0]``."""
    return [round(float(v), 4) + 0.0 for v in values]


def check_slices(records: Sequence[SliceRecord]) -> np.ndarray:
    """Check one series' slices can form a volume; return their distances along the normal."""
    first = records[0]
    for record in records:
        if record.pixels is None:
            raise SeriesError(record.path, "has no pixel data.", "Remove it from the folder.")
        if record.frames > 1:
            raise SeriesError(
                record.path,
                f"is a multi-frame file ({record.frames} frames), not one slice of a series.",
                "Load it on its own with load_volume(file), or move it out of the folder.",
            )
        if record.orientation is None or record.position is None:
            raise SeriesError(
                record.path,
                "has no ImagePositionPatient/ImageOrientationPatient.",
                "Only slices with a position in the patient can form a volume.",
            )
    for record in records:
        if not np.allclose(record.orientation, first.orientation, atol=1e-4):
            raise SeriesError(
                record.path,
                f"is oriented differently ({rounded(record.orientation)}) from "
                f"{first.path.name} ({rounded(first.orientation)}): a scout or localiser "
                "in the series?",
                "Remove the slices that don't belong.",
            )
        if (record.rows, record.columns) != (first.rows, first.columns):
            raise SeriesError(
                record.path,
                f"is {record.rows}x{record.columns}, unlike {first.path.name}.",
                "Remove the slices that don't belong.",
            )
    normal = np.cross(*dicom.unit_directions(first.orientation, first.path))
    return np.array([np.dot(normal, record.position) for record in records])


def check_spacing(
    depths: np.ndarray, paths: Sequence[Path], names: Sequence[str], where: Path
) -> None:
    """Refuse duplicate positions, gaps and uneven spacing.

    ``depths`` are the sorted positions along the slice normal (mm); ``paths`` and
    ``names`` say, for each, which file to blame and how to call it (a file name, or
    ``"frame 12"`` in a multi-frame file); ``where`` is the folder or file for messages
    about the whole stack.
    """
    if len(depths) < 2:
        return
    steps = np.diff(depths)
    duplicate = np.flatnonzero(steps < 1e-3)
    if duplicate.size:
        i = duplicate[0]
        raise SeriesError(
            paths[i + 1],
            f"is at the same position ({depths[i]:.3f} mm along the normal) as {names[i]}.",
            "Remove duplicate slices (or pick one series/echo/time point).",
        )
    median = float(np.median(steps))
    uneven = np.flatnonzero(np.abs(steps - median) > max(0.01 * median, 1e-3))
    if uneven.size:
        i = uneven[0]
        raise SeriesError(
            where,
            f"slice spacing is uneven: {steps[i]:.3f} mm between {names[i]} and "
            f"{names[i + 1]}, where most are {median:.3f} mm apart (a missing slice?).",
            "Find the missing slices, or read the parts on either side of the gap separately.",
        )


def read_series(
    folder: str | os.PathLike[str], *, series_uid: str | None = None
) -> dicom.DicomVolume:
    """Assemble the DICOM series in ``folder`` into one volume.

    Returns a `dicom.DicomVolume`: voxels ``(columns, rows, slices)`` in physical units
    (``(columns, rows, slices, 3)`` for colour, as for a single colour file) and the
    voxel -> LPS affine (mm), with the files in slice order. Direction cosines are
    normalised (`dicom.unit_directions`).

    Raises `GeometryError` for direction cosines far from unit length or orthogonality,
    `SeriesError` for several series without ``series_uid``, slices with another
    orientation or size, duplicate positions, gaps or uneven spacing, files without pixel
    data; `CorruptFileError` for unreadable or truncated files; `MissingDecoderError`.
    """
    folder = Path(folder)
    files = list_files(folder)
    if not files:
        raise SeriesError(folder, "contains no files.", "Point at the folder holding the slices.")
    records = choose_series([read_slice(path) for path in files], series_uid, folder)
    depths = check_slices(records)
    order = np.argsort(depths, kind="stable")
    records = [records[i] for i in order]
    check_spacing(depths[order], [r.path for r in records], [r.path.name for r in records], folder)

    first, last = records[0], records[-1]
    row_dir, col_dir = dicom.unit_directions(first.orientation, first.path)
    if len(records) > 1:
        step = (last.position - first.position) / (len(records) - 1)
    else:
        step = np.cross(row_dir, col_dir) * first.thickness
    # (rows, columns[, samples]) -> (columns, rows[, samples]); colour stays last
    voxels = np.stack([np.swapaxes(record.pixels, 0, 1) for record in records], axis=2)
    affine = dicom.affine_from(row_dir, col_dir, first.spacing, first.position, step)
    return dicom.DicomVolume(voxels, affine, tuple(str(record.path) for record in records))
