"""DICOM headers by category: `header_table` groups a dataset's elements by the levels of
the DICOM information model (patient, study, series, equipment, image)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["HEADER_CATEGORIES", "HeaderTable", "header_table"]


# Keywords of the commonest elements of each information-model level (PS3.3 modules:
# Patient; General Study and Patient Study; General Series; General Equipment; and the
# image-level modules).
HEADER_CATEGORIES: dict[str, tuple[str, ...]] = {
    "patient": (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
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
        # the Patient Study module (PS3.3 C.7.2.2): they change from visit to visit
        "PatientAge",
        "PatientWeight",
        "PatientSize",
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
