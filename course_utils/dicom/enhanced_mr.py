"""Writing an Enhanced MR file: a 3D image as one multi-frame object, geometry in its groups.

`write_enhanced_mr` writes what all frames share once, in the Shared Functional Groups, and
what differs per frame in each frame's Per-Frame Functional Groups item, indexed by a
Dimension Index Sequence (PS3.3 C.7.6.16, C.7.6.17): the structure that
`course_utils.dicom.multiframe` reads back. Notebook 02 writes its T1 this way and takes the
file apart.

Geometry in the file is DICOM's LPS; the image given is RAS+ (``course_utils.geometry``).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import numpy as np

from .multiframe import FRAME_CONTENT, IN_STACK_POSITION, STACK_ID

__all__ = ["write_enhanced_mr"]

#: The roles of the UIDs a file gets, each derived from ``seed`` and its role.
UID_ROLES = ("study", "series", "frame", "instance", "dimensions")


def write_enhanced_mr(
    image,
    path: str | os.PathLike[str],
    *,
    series_description: str = "course_utils enhanced export",
    patient_name: str = "SYNTHETIC^SUBJECT",
    patient_id: str = "SYNTH-0001",
    seed: int = 0,
) -> Path:
    """Write a 3D image as one Enhanced MR Image Storage file, one frame per slice.

    What all frames share is written once, in the Shared Functional Groups: Pixel Measures
    (PixelSpacing, SliceThickness), Plane Orientation (ImageOrientationPatient) and Pixel
    Value Transformation (one RescaleSlope/RescaleIntercept for int16 storage, as in
    `io.write_dicom_series`). What differs per frame is in its Per-Frame Functional Groups
    item: Plane Position (ImagePositionPatient) and Frame Content (StackID "1",
    InStackPositionNumber, DimensionIndexValues), indexed by a DimensionIndexSequence.
    Reading it back with `io.load_volume` gives the same voxels and affine. Enough of the
    Enhanced MR IOD is written for readers (pydicom, dcm2niix, this module), not all of it
    (no MR Image and Spectroscopy Instance Macro details). Identity synthetic, UIDs from
    ``seed``; the file is written atomically.

    Parameters
    ----------
    image
        A 3D ``nibabel`` image (voxels ``(i, j, k)``, affine voxel -> RAS+ mm); frames are
        written along its third axis.
    path
        The ``.dcm`` file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import pydicom
    from pydicom.uid import generate_uid

    from .. import files
    from ..errors import UnsupportedFormatError
    from ..geometry import LPS_TO_RAS
    from ..io import quantise_int16

    data = np.asanyarray(image.dataobj)
    if data.ndim != 3:
        raise UnsupportedFormatError(
            path, f"an enhanced MR file needs a 3D image, not {data.shape}."
        )
    stored, slope, intercept = quantise_int16(data)
    affine_lps = LPS_TO_RAS @ image.affine
    uid = {role: generate_uid(entropy_srcs=[str(seed), "enhanced", role]) for role in UID_ROLES}
    ds = pydicom.Dataset()
    _write_identity(ds, uid, patient_name, patient_id, series_description)
    _write_pixel_description(ds, data.shape)
    ds.SharedFunctionalGroupsSequence = [_shared_groups(affine_lps, slope, intercept)]
    ds.PerFrameFunctionalGroupsSequence = _per_frame_groups(affine_lps, data.shape[2])
    ds.DimensionOrganizationSequence = _macro(DimensionOrganizationUID=uid["dimensions"])
    ds.DimensionIndexSequence = _dimension_index(uid["dimensions"])
    ds.PixelData = np.ascontiguousarray(np.transpose(stored, (2, 1, 0))).tobytes()
    path = Path(path)
    with files.atomic_path(path) as temporary:
        ds.save_as(temporary, enforce_file_format=True)
    return path


def _macro(**attributes):
    """A one-item functional-group macro (a list holding one pydicom Dataset)."""
    from pydicom.dataset import Dataset

    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return [item]


def _write_identity(
    ds, uid: dict[str, str], patient_name: str, patient_id: str, series_description: str
) -> None:
    """File meta, SOP class and instance, patient, study and series of a synthetic file."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import EnhancedMRImageStorage, ExplicitVRLittleEndian

    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = EnhancedMRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = uid["instance"]
    ds.PatientName, ds.PatientID = patient_name, patient_id
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid["study"], uid["series"]
    ds.FrameOfReferenceUID = uid["frame"]
    today = datetime.date(2000, 1, 1).strftime("%Y%m%d")  # fixed: same input, same bytes
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = today
    ds.ContentTime = "000000"
    ds.Modality, ds.SeriesDescription = "MR", series_description
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER", "NONE"]


def _write_pixel_description(ds, shape: tuple[int, int, int]) -> None:
    """Frames, rows and columns of an ``(i, j, k)`` volume stored as signed 16-bit grey."""
    ds.NumberOfFrames = shape[2]
    ds.Rows, ds.Columns = shape[1], shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.BurnedInAnnotation, ds.LossyImageCompression = "NO", "00"


def _shared_groups(affine_lps: np.ndarray, slope: float, intercept: float):
    """The Shared Functional Groups item: pixel measures, orientation and rescale."""
    import pydicom

    from ..geometry import voxel_sizes

    spacing = voxel_sizes(affine_lps)
    row_dir, col_dir = affine_lps[:3, 0] / spacing[0], affine_lps[:3, 1] / spacing[1]
    shared = pydicom.Dataset()
    shared.PixelMeasuresSequence = _macro(
        PixelSpacing=[f"{spacing[1]:.8f}", f"{spacing[0]:.8f}"],
        SliceThickness=f"{spacing[2]:.6f}",
        SpacingBetweenSlices=f"{spacing[2]:.6f}",
    )
    shared.PlaneOrientationSequence = _macro(
        ImageOrientationPatient=[f"{v:.8f}" for v in (*row_dir, *col_dir)]
    )
    shared.PixelValueTransformationSequence = _macro(
        RescaleSlope=f"{slope:.10g}", RescaleIntercept=f"{intercept:.10g}", RescaleType="US"
    )
    return shared


def _per_frame_groups(affine_lps: np.ndarray, count: int) -> list:
    """One Per-Frame Functional Groups item per slice ``k``: its position and frame content."""
    import pydicom

    frames = []
    for k in range(count):
        item = pydicom.Dataset()
        position = affine_lps @ np.array([0.0, 0.0, k, 1.0])
        item.PlanePositionSequence = _macro(
            ImagePositionPatient=[f"{v:.6f}" for v in position[:3]]
        )
        item.FrameContentSequence = _macro(
            StackID="1", InStackPositionNumber=k + 1, DimensionIndexValues=[1, k + 1]
        )
        frames.append(item)
    return frames


def _dimension_index(organization_uid: str) -> list:
    """The DimensionIndexSequence: frames indexed by stack, then position in the stack."""
    return [
        _macro(
            DimensionOrganizationUID=organization_uid,
            DimensionIndexPointer=pointer,
            FunctionalGroupPointer=FRAME_CONTENT,
            DimensionDescriptionLabel=label,
        )[0]
        for pointer, label in (
            (STACK_ID, "Stack ID"),
            (IN_STACK_POSITION, "In-Stack Position Number"),
        )
    ]
