"""Pixel data: transfer syntaxes, decoders, and physical values.

`transfer_syntax_info` says what a transfer syntax is (compressed? lossy?) and
`decoder_package` which package decodes it; `pixel_values` decodes pixel data to physical
values (rescale slope/intercept, per frame for enhanced multi-frame files), naming the
package to install when a decoder is missing. `raw_value` reads one element without
pydicom's value conversion.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ..errors import CorruptFileError, MissingDecoderError
from .anatomy import TEXT_VRS

__all__ = ["DECODERS", "transfer_syntax_info", "decoder_package", "raw_value", "pixel_values"]


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
