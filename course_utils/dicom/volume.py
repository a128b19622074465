"""One DICOM file as a volume in patient space (LPS mm): `read_file_volume` and its geometry.

`read_file_volume` reads a slice, every frame of a multi-frame object, or the tiles of a
Siemens mosaic; enhanced multi-frame geometry comes from `multiframe`, mosaics from
`mosaic`, whole series are assembled by ``course_utils.series``. A file that nothing places
in the patient is refused (`GeometryError`), never given a made-up identity affine.
`unit_directions` checks and normalises direction cosines (within `COSINE_TOLERANCE`);
`affine_from` builds the voxel -> LPS affine that every reader returns in a `DicomVolume`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, GeometryError
from .pixels import pixel_values

__all__ = [
    "COSINE_TOLERANCE",
    "DicomVolume",
    "read_dataset",
    "read_file_volume",
    "slice_geometry",
    "unit_directions",
    "affine_from",
]


#: How far from unit length, and from orthogonal, direction cosines may be and still be
#: normalised (rounding in the stored decimal strings); beyond it a file is refused.
COSINE_TOLERANCE = 1e-3


def read_dataset(path: Path):
    """``pydicom.dcmread`` with pixels; unreadable files raise `CorruptFileError`."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path)
    except (InvalidDicomError, EOFError, OSError, struct.error) as error:
        raise CorruptFileError(
            path,
            f"is not a readable DICOM file ({type(error).__name__}: {error}).",
            "Remove it from the series folder (or point at a folder holding only the series).",
        ) from error


@dataclass(frozen=True)
class DicomVolume:
    """A volume in DICOM's terms: voxels ``(columns, rows, slices[, samples])`` and an
    affine from voxel indices ``(i, j, k)`` to LPS patient coordinates in millimetres."""

    voxels: np.ndarray
    affine_lps: np.ndarray
    files: tuple[str, ...]


def unit_directions(orientation, path=None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column direction cosines from ImageOrientationPatient, normalised.

    Decimal strings round the cosines, so a stored vector is rarely exactly unit length;
    one within `COSINE_TOLERANCE` of unit length, with the two within `COSINE_TOLERANCE` of
    orthogonal, is normalised. Anything further off is refused: it is not a rotation.

    Returns
    -------
    (row_direction, column_direction)
        Two unit float64 vectors (3,), LPS.

    Raises
    ------
    GeometryError
        Not six finite numbers, or cosines far from unit length or orthogonality.

    Examples
    --------
    >>> row, col = unit_directions([0.9995, 0, 0, 0, 1, 0])
    >>> row.tolist(), col.tolist()
    ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    """
    values = np.asarray([float(v) for v in orientation], dtype=np.float64)
    fix = "Correct ImageOrientationPatient (six cosines of two orthogonal unit vectors)."
    if values.shape != (6,) or not np.all(np.isfinite(values)):
        raise GeometryError(
            path, f"ImageOrientationPatient {values.tolist()} is not six finite numbers.", fix
        )
    row, col = values[:3], values[3:]
    lengths = np.array([np.linalg.norm(row), np.linalg.norm(col)])
    if np.any(np.abs(lengths - 1) > COSINE_TOLERANCE):
        raise GeometryError(
            path,
            f"its direction cosines have lengths {np.round(lengths, 5).tolist()}, more than "
            f"{COSINE_TOLERANCE} from 1: ImageOrientationPatient is damaged.",
            fix,
        )
    row, col = row / lengths[0], col / lengths[1]
    if abs(float(row @ col)) > COSINE_TOLERANCE:
        raise GeometryError(
            path,
            f"its row and column directions are not orthogonal (cosine {row @ col:.5f}).",
            fix,
        )
    return row, col


def slice_geometry(ds) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(row_direction, column_direction, position, spacing)`` of one slice, LPS mm.

    ``row_direction`` is the unit vector along which the column index grows (the first
    three ImageOrientationPatient values, normalised by `unit_directions`); ``spacing`` is
    ``(column, row)`` spacing, i.e. PixelSpacing reversed.
    """
    row_dir, col_dir = unit_directions(ds.ImageOrientationPatient, getattr(ds, "filename", None))
    spacing = np.asarray(ds.get("PixelSpacing", (1.0, 1.0)), dtype=np.float64)[::-1]
    position = np.asarray(ds.ImagePositionPatient, dtype=np.float64)
    return row_dir, col_dir, position, spacing


def affine_from(
    row_dir: np.ndarray, col_dir: np.ndarray, spacing: np.ndarray, origin, slice_step
) -> np.ndarray:
    """The 4x4 voxel->LPS affine from in-plane directions, spacings and the slice step.

    ``spacing`` is ``(column spacing, row spacing)`` (PixelSpacing reversed), mm.
    """
    affine = np.eye(4)
    affine[:3, 0] = row_dir * spacing[0]
    affine[:3, 1] = col_dir * spacing[1]
    affine[:3, 2] = slice_step
    affine[:3, 3] = origin
    return affine


def read_file_volume(
    path: str | os.PathLike[str], *, frames: Sequence[int] | None = None
) -> DicomVolume:
    """One DICOM file as a volume: a slice, every frame of a multi-frame file, or a mosaic.

    Enhanced multi-frame objects take their geometry and rescale from their functional
    groups (`course_utils.multiframe`; ``frames`` picks one volume of a file that holds
    several); Siemens mosaics are unpacked from their CSA header (`course_utils.mosaic`);
    other multi-frame files (RT dose) place frames with GridFrameOffsetVector.

    Raises
    ------
    GeometryError
        The file carries no ImagePositionPatient/ImageOrientationPatient (a photograph, an
        ultrasound, a secondary capture): nothing places it in the patient, so no affine
        is made up. Read its pixels with `pixel_values` instead.
    """
    from . import mosaic, multiframe

    ds = read_dataset(Path(path))
    if "PixelData" not in ds:
        kind = getattr(ds.get("SOPClassUID"), "name", "unknown SOP class")
        raise CorruptFileError(
            path,
            f"has no pixel data ({kind}): it is not an image.",
            "Load an image file (CT, MR, PET slices or an enhanced multi-frame image).",
        )
    if frames is not None and not multiframe.has_functional_groups(ds):
        raise ValueError(f"{path}: frames= applies to enhanced multi-frame files only.")
    try:
        if multiframe.has_functional_groups(ds):
            return multiframe.read_multiframe(ds, path, frames)
        if mosaic.is_mosaic(ds):
            return mosaic.read_mosaic(ds, path)
        frame_count = int(ds.get("NumberOfFrames", 1) or 1)
        affine = frame_affine(ds, frame_count, path)
    except (TypeError, IndexError, KeyError) as error:
        raise CorruptFileError(
            path, f"a header value is malformed ({type(error).__name__}: {error}).", FIX_HEADER
        ) from error
    except ValueError as error:
        raise CorruptFileError(
            path, f"a header value is malformed ({error}).", FIX_HEADER
        ) from error
    pixels = pixel_values(ds, path)
    if frame_count == 1:
        pixels = pixels[np.newaxis]
    voxels = np.moveaxis(pixels, 0, 2)  # (rows, columns, frames, ...)
    voxels = np.swapaxes(voxels, 0, 1)  # (columns, rows, frames, ...)
    return DicomVolume(voxels, affine, (str(path),))


FIX_HEADER = "Correct the element with pydicom, or ask for a clean export of the file."


def frame_affine(ds, frames: int, path=None) -> np.ndarray:
    """Voxel->LPS affine of a classic (multi-)frame file, from its top-level geometry."""
    if "ImageOrientationPatient" in ds and "ImagePositionPatient" in ds:
        row_dir, col_dir = unit_directions(ds.ImageOrientationPatient, path)
        spacing = np.asarray(ds.get("PixelSpacing", (1.0, 1.0)), dtype=np.float64)[::-1]
        position = np.asarray(ds.ImagePositionPatient, dtype=np.float64)
        normal = np.cross(row_dir, col_dir)
        offsets = ds.get("GridFrameOffsetVector")
        if frames > 1 and offsets is not None and len(offsets) == frames:
            step = normal * (float(offsets[-1]) - float(offsets[0])) / (frames - 1)
            origin = position + normal * float(offsets[0])
        else:
            step = normal * float(ds.get("SliceThickness", 1.0) or 1.0)
            origin = position
        return affine_from(row_dir, col_dir, spacing, origin, step)
    raise GeometryError(
        path,
        f"has no ImagePositionPatient/ImageOrientationPatient (SOP class "
        f"{getattr(ds.get('SOPClassUID'), 'name', 'unknown')}): nothing places its pixels in "
        "the patient, and the course does not make up an affine.",
        "Load a file with patient geometry (CT, MR, PET); to look at these pixels alone, use "
        "dicom.pixel_values(pydicom.dcmread(path)).",
    )
