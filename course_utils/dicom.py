"""DICOM specifics: headers by category, a file's raw anatomy, series assembly, decoders.

- `header_table` groups a dataset's elements by the categories of the DICOM information
  model (patient, study, series, equipment, image).
- `file_anatomy` parses the first data elements from the raw bytes, to show what a DICOM
  file really is: a 128-byte preamble, ``DICM``, then tag / VR / length / value.
- `read_file_volume` reads one file (a slice, every frame of a multi-frame object, or the
  tiles of a Siemens mosaic) as a volume; enhanced multi-frame geometry comes from
  ``course_utils.multiframe``, mosaics from ``course_utils.mosaic``, whole series are
  assembled by ``course_utils.series``. A file that nothing places in the patient is
  refused (`GeometryError`), never given a made-up identity affine.
- `unit_directions` checks and normalises direction cosines (within 1e-3).
- `pixel_values` decodes pixel data to physical values (rescale slope/intercept), naming
  the package to install when a decoder is missing.

Geometry here is DICOM's own: patient coordinates in LPS millimetres. ``course_utils.io``
converts to RAS+ once, at the edge. De-identification lives in ``course_utils.deidentify``.

Used by notebooks 01, 02 and 03.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, GeometryError, MissingDecoderError

__all__ = [
    "HEADER_CATEGORIES",
    "HeaderTable",
    "header_table",
    "RawElement",
    "file_anatomy",
    "DicomVolume",
    "read_dataset",
    "read_file_volume",
    "pixel_values",
    "decoder_package",
    "transfer_syntax_info",
    "slice_geometry",
    "unit_directions",
    "raw_value",
]

#: How far from unit length, and from orthogonal, direction cosines may be and still be
#: normalised (rounding in the stored decimal strings); beyond it a file is refused.
COSINE_TOLERANCE = 1e-3

# Keywords of the commonest elements of each information-model level (PS3.3 modules:
# Patient, General Study, General Series, General Equipment, and the image-level modules).
HEADER_CATEGORIES: dict[str, tuple[str, ...]] = {
    "patient": (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "PatientAge",
        "PatientWeight",
        "PatientSize",
        "OtherPatientIDs",
        "EthnicGroup",
        "PatientComments",
    ),
    "study": (
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyDescription",
    ),
    "series": (
        "Modality",
        "SeriesInstanceUID",
        "SeriesNumber",
        "SeriesDate",
        "SeriesTime",
        "SeriesDescription",
        "ProtocolName",
        "BodyPartExamined",
        "PatientPosition",
        "FrameOfReferenceUID",
    ),
    "equipment": (
        "Manufacturer",
        "ManufacturerModelName",
        "InstitutionName",
        "InstitutionAddress",
        "StationName",
        "DeviceSerialNumber",
        "SoftwareVersions",
        "MagneticFieldStrength",
    ),
    "image": (
        "SOPClassUID",
        "SOPInstanceUID",
        "InstanceNumber",
        "ImageType",
        "AcquisitionDate",
        "ContentDate",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "PixelSpacing",
        "SliceThickness",
        "SpacingBetweenSlices",
        "SliceLocation",
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "BitsAllocated",
        "BitsStored",
        "PixelRepresentation",
        "RescaleIntercept",
        "RescaleSlope",
        "WindowCenter",
        "WindowWidth",
        "NumberOfFrames",
        "EchoTime",
        "RepetitionTime",
        "FlipAngle",
        "BurnedInAnnotation",
    ),
}

# Transfer syntax UID -> (pydicom plugin package that decodes it, human name).
DECODERS = {
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg",  # JPEG 2000
    "1.2.840.10008.1.2.4.80": "pylibjpeg-libjpeg",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": "pylibjpeg-libjpeg",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.50": "pylibjpeg-libjpeg",  # JPEG baseline
    "1.2.840.10008.1.2.4.51": "pylibjpeg-libjpeg",  # JPEG extended
    "1.2.840.10008.1.2.4.57": "pylibjpeg-libjpeg",  # JPEG lossless
    "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",  # JPEG lossless SV1
    "1.2.840.10008.1.2.5": "numpy",  # RLE lossless: pydicom decodes it with numpy alone
}


@dataclass(frozen=True)
class HeaderTable:
    """Header elements grouped by category: ``rows`` of (category, tag, keyword, VR, value)."""

    rows: tuple[tuple[str, str, str, str, str], ...]

    def category(self, name: str) -> dict[str, str]:
        """``{keyword: value}`` of one category (``patient``, ``study``, ...)."""
        return {keyword: value for cat, _, keyword, _, value in self.rows if cat == name}

    def __str__(self) -> str:
        lines = [f"{'category':10} {'tag':12} {'keyword':28} {'VR':3} value"]
        lines += [
            f"{cat:10} {tag:12} {keyword:28} {vr:3} {value}"
            for cat, tag, keyword, vr, value in self.rows
        ]
        return "\n".join(lines)


def short_value(element, width: int = 48) -> str:
    """An element's value as one line of at most ``width`` characters."""
    text = str(element.value) if element.VR != "SQ" else f"<sequence of {len(element.value)}>"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def header_table(ds, categories: Sequence[str] | None = None) -> HeaderTable:
    """Group the elements of a pydicom ``Dataset`` by information-model category.

    Only elements present in ``ds`` appear, in the order of `HEADER_CATEGORIES`; values are
    shortened to one line. ``print(header_table(ds))`` shows it as a text table.
    """
    rows = []
    for category in categories or HEADER_CATEGORIES:
        for keyword in HEADER_CATEGORIES[category]:
            if keyword in ds:
                element = ds[keyword]
                tag = f"({element.tag.group:04X},{element.tag.element:04X})"
                rows.append((category, tag, keyword, element.VR, short_value(element)))
    return HeaderTable(tuple(rows))


@dataclass(frozen=True)
class RawElement:
    """One data element as found in the file's bytes."""

    offset: int
    group: int
    element: int
    vr: str
    length: int
    value: bytes
    keyword: str

    def __str__(self) -> str:
        preview = self.value[:16]
        text = preview.decode("ascii", "replace") if self.vr in TEXT_VRS else preview.hex(" ")
        more = "…" if len(self.value) > 16 else ""
        return (
            f"{self.offset:6d}  ({self.group:04X},{self.element:04X})  {self.vr:2}  "
            f"{self.length:6d}  {self.keyword:28} {text!s}{more}"
        )


# Value representations stored as (ASCII) character strings.
TEXT_VRS = frozenset("AE AS CS DA DS DT IS LO LT PN SH ST TM UI UT".split())
LONG_LENGTH_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


@dataclass(frozen=True)
class FileAnatomy:
    """The raw structure of a DICOM file: preamble, prefix and the first data elements."""

    path: str
    size: int
    preamble: bytes
    prefix: bytes
    elements: tuple[RawElement, ...]

    def __str__(self) -> str:
        zeros = "all zero" if not any(self.preamble) else "not all zero"
        lines = [
            f"{Path(self.path).name}: {self.size} bytes",
            f"bytes 0-127    preamble ({zeros}): {self.preamble[:8].hex(' ')} …",
            f"bytes 128-131  prefix: {self.prefix!r}",
            f"{'offset':>6}  {'tag':11}  VR  {'length':>6}  {'keyword':28} value",
        ]
        return "\n".join(lines + [str(element) for element in self.elements])


def file_anatomy(path: str | os.PathLike[str], n_elements: int = 12) -> FileAnatomy:
    """Parse the first ``n_elements`` data elements of a DICOM file from its raw bytes.

    Reads the file meta group (explicit VR little endian, as PS3.10 requires) and carries
    on into the dataset for explicit-VR little-endian files. Raises `CorruptFileError`
    when the preamble or ``DICM`` prefix is missing.
    """
    from pydicom.datadict import keyword_for_tag

    data = Path(path).read_bytes()
    if len(data) < 132 or data[128:132] != b"DICM":
        raise CorruptFileError(
            path,
            "no 128-byte preamble followed by 'DICM': not a DICOM Part 10 file.",
            "Read it with pydicom.dcmread(path, force=True) if it is a bare dataset.",
        )
    offset, elements = 132, []
    while offset + 8 <= len(data) and len(elements) < n_elements:
        group, element = struct.unpack_from("<HH", data, offset)
        vr = data[offset + 4 : offset + 6].decode("ascii", "replace")
        if vr in LONG_LENGTH_VRS:
            (length,) = struct.unpack_from("<I", data, offset + 8)
            header = 12
        else:
            (length,) = struct.unpack_from("<H", data, offset + 6)
            header = 8
        if length == 0xFFFFFFFF:  # undefined length (sequences): stop the walk here
            length = 0
        value = data[offset + header : offset + header + min(length, 64)]
        keyword = keyword_for_tag((group << 16) | element) or "(private or unknown)"
        elements.append(RawElement(offset, group, element, vr, length, value, keyword))
        offset += header + length
    return FileAnatomy(str(path), len(data), data[:128], data[128:132], tuple(elements))


# Transfer syntaxes whose compression may discard information.
LOSSY_SYNTAXES = {
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.4.51",  # JPEG extended
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000 (lossless or lossy)
}


def transfer_syntax_info(transfer_syntax_uid: str) -> dict[str, object]:
    """Name, whether it is compressed, whether it may be lossy, and the decoder package.

    Examples
    --------
    >>> transfer_syntax_info("1.2.840.10008.1.2.4.90")["decoder"]
    'pylibjpeg-openjpeg'
    """
    from pydicom.uid import UID

    uid = UID(str(transfer_syntax_uid))
    return {
        "name": uid.name,
        "compressed": uid.is_compressed,
        "lossy": str(uid) in LOSSY_SYNTAXES,
        "decoder": decoder_package(uid) or ("numpy" if not uid.is_compressed else "unknown"),
    }


def decoder_package(transfer_syntax_uid: str) -> str | None:
    """The pip package whose pydicom plugin decodes this transfer syntax (None if native)."""
    return DECODERS.get(str(transfer_syntax_uid))


NATIVE_LITTLE_ENDIAN = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


NUMBER_STRING_VRS = {"DS", "IS"}
BINARY_INTEGER_VRS = {"US": "<u", "SS": "<i", "UL": "<u", "SL": "<i"}


@functools.lru_cache(maxsize=256)
def tag_and_vr(keyword: str):
    """``(Tag, VR)`` of a dictionary keyword, looked up once."""
    from pydicom.datadict import dictionary_VR
    from pydicom.tag import Tag

    tag = Tag(keyword)
    return tag, dictionary_VR(tag)


def raw_value(ds, keyword: str, default=None):
    """An element's value, parsed straight from its bytes when pydicom hasn't yet.

    pydicom converts a value on first access, which for decimal strings (positions,
    orientations, spacings) costs more than reading the whole file. Here numbers come back
    as a float (one value) or a list of floats, integers as ``int``, text as ``str``.
    Big-endian files, and values pydicom already converted, go through pydicom.
    """
    tag, vr = tag_and_vr(keyword)
    element = ds.get_item(tag)
    if element is None or element.value is None:
        return default
    value = element.value
    is_little_endian = getattr(ds, "original_encoding", (None, True))[1] is not False
    if not isinstance(value, bytes) or not is_little_endian:
        return ds[tag].value
    if vr in NUMBER_STRING_VRS:
        text = value.decode("ascii").strip(" \x00")
        if not text:
            return default
        numbers = [float(part) for part in text.split("\\")]
        return numbers[0] if len(numbers) == 1 else numbers
    if vr in BINARY_INTEGER_VRS:
        size = 2 if vr in ("US", "SS") else 4
        return int(np.frombuffer(value[:size], dtype=f"{BINARY_INTEGER_VRS[vr]}{size}")[0])
    if vr in TEXT_VRS:
        return value.decode("ascii", "replace").strip(" \x00")
    return ds[tag].value


def native_pixels(ds, syntax: str) -> np.ndarray | None:
    """Uncompressed little-endian greyscale pixels read straight from the bytes, or ``None``.

    The common case of a series (one frame, all bits used) skips pydicom's general
    decoder, which checks far more than such a file needs; anything else returns ``None``.
    """
    if str(syntax) not in NATIVE_LITTLE_ENDIAN or int(raw_value(ds, "NumberOfFrames", 1)) != 1:
        return None
    bits, stored = raw_value(ds, "BitsAllocated"), raw_value(ds, "BitsStored")
    if raw_value(ds, "SamplesPerPixel", 1) != 1 or bits not in (8, 16, 32) or stored != bits:
        return None
    kind = "i" if raw_value(ds, "PixelRepresentation", 0) == 1 else "u"
    rows, columns = raw_value(ds, "Rows"), raw_value(ds, "Columns")
    raw = ds.get_item(0x7FE00010).value
    if not isinstance(raw, bytes) or len(raw) < rows * columns * bits // 8:
        return None  # let pydicom decode it, or report the truncation
    values = np.frombuffer(raw, dtype=f"<{kind}{bits // 8}", count=rows * columns)
    return values.reshape(rows, columns)


def pixel_values(ds, path: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Decoded pixels in physical units: ``pixel_array * RescaleSlope + RescaleIntercept``.

    Shape ``(rows, columns)``, ``(frames, rows, columns)`` or with a trailing colour axis,
    as pydicom returns it. float32 when a rescale applies, else the stored integer type.
    Raises `MissingDecoderError` (naming the package to install) or `CorruptFileError`.
    """
    where = path or getattr(ds, "filename", None)
    syntax = ds.file_meta.get("TransferSyntaxUID", "") if hasattr(ds, "file_meta") else ""
    if "PixelData" not in ds:
        raise CorruptFileError(where, "has no pixel data.", "Leave non-image files out.")
    try:
        pixels = native_pixels(ds, syntax)
        if pixels is None:
            pixels = ds.pixel_array
    except RuntimeError as error:
        package = decoder_package(syntax) or "pylibjpeg"
        raise MissingDecoderError(
            where,
            f"its pixels are compressed as '{getattr(syntax, 'name', syntax)}' and no "
            f"installed plugin can decode them ({error}).",
            f"pip install {package}",
        ) from error
    except ValueError as error:
        raise CorruptFileError(
            where, f"its pixel data is truncated or damaged ({error}).", "Copy the file again."
        ) from error
    slope, intercept = rescale_of(ds, pixels)
    if np.all(slope == 1) and np.all(intercept == 0):
        return pixels
    return (
        pixels.astype(np.float32) * slope.astype(np.float32) + intercept.astype(np.float32)
    ).astype(np.float32)


def rescale_of(ds, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(slope, intercept)`` arrays that broadcast against ``pixels``.

    Enhanced multi-frame objects carry one rescale per frame in their Pixel Value
    Transformation functional groups (`multiframe.frame_rescale`); other files one
    RescaleSlope/RescaleIntercept (1 and 0 when absent). Colour pixels are never rescaled:
    the Modality LUT is defined for greyscale only (a colour CT may still carry -1024).
    """
    from . import multiframe

    if int(raw_value(ds, "SamplesPerPixel", 1) or 1) > 1:
        # colour: the Modality LUT (rescale) applies to greyscale only (PS3.3 C.11.1)
        return np.array([1.0]), np.array([0.0])
    if multiframe.has_functional_groups(ds):
        slopes, intercepts = multiframe.frame_rescale(ds)
        frames = multiframe.number_of_frames(ds)
        if frames > 1 and len(slopes) == frames and pixels.shape[0] == frames:
            shape = (frames,) + (1,) * (pixels.ndim - 1)
            return slopes.reshape(shape), intercepts.reshape(shape)
        return slopes[:1], intercepts[:1]
    slope = float(raw_value(ds, "RescaleSlope", 1.0))
    intercept = float(raw_value(ds, "RescaleIntercept", 0.0))
    return np.array([slope]), np.array([intercept])


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
