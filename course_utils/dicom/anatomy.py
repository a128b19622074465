"""A DICOM file's raw anatomy: `file_anatomy` parses the first data elements from the bytes,
to show what a DICOM file really is: a 128-byte preamble, ``DICM``, then tag / VR / length /
value."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorruptFileError

__all__ = ["RawElement", "FileAnatomy", "file_anatomy"]


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
