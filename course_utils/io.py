"""Read any of the course's image formats into one currency, and write them back.

`load_volume` turns a file or a DICOM series folder into a ``nibabel.Nifti1Image`` whose
affine maps voxel indices to **RAS+ world millimetres**, whatever the source format:

========================  =====================================================
format                    how it is read
========================  =====================================================
DICOM file / folder       pydicom (``dicom``, ``series``), LPS -> RAS here
NIfTI-1/-2 ``.nii(.gz)``  nibabel
NIfTI pair, Analyze 7.5   nibabel (``.hdr`` + ``.img``)
MINC-1, MINC-2 ``.mnc``   nibabel (MINC-2 needs h5py)
MGH ``.mgh/.mgz``         nibabel
NRRD ``.nrrd/.nhdr``      pynrrd, any ``space`` converted to RAS
========================  =====================================================

Voxel order is kept as stored (use ``nibabel.as_closest_canonical`` to reorient); DICOM
voxel values are rescaled to physical units. Enhanced multi-frame DICOM takes its geometry
from the functional groups (``multiframe``), Siemens mosaics are unpacked (``mosaic``).
A file whose geometry is missing or unusable (DICOM without a position in the patient,
NaN or zero voxel sizes, a NaN affine) raises `GeometryError`: no affine is made up.
Writers (`save_nifti`, `save_nrrd`, `write_dicom_series`) are atomic and round-trip voxels
and affine.

Used by notebooks 01, 02 and 03, and by the datasets from notebook 04 on.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from . import dicom, files, series
from .errors import CorruptFileError, GeometryError, UnsupportedFormatError
from .geometry import LPS_TO_RAS, voxel_sizes  # LPS_TO_RAS stays importable from here

__all__ = [
    "LPS_TO_RAS",
    "load_volume",
    "save_nifti",
    "save_nrrd",
    "write_dicom_series",
]

NIBABEL_SUFFIXES = (
    ".nii",
    ".nii.gz",
    ".hdr",
    ".img",
    ".hdr.gz",
    ".img.gz",
    ".mnc",
    ".mgh",
    ".mgz",
)
NRRD_SUFFIXES = (".nrrd", ".nhdr")
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima", "")
# NRRD "space" values and the sign flips that take them to RAS (LPS's is `LPS_TO_RAS`).
LPS_SIGNS = tuple(float(sign) for sign in np.diag(LPS_TO_RAS)[:3])
NRRD_SPACES = {
    "right-anterior-superior": (1, 1, 1),
    "left-anterior-superior": (-1, 1, 1),
    "left-posterior-superior": LPS_SIGNS,
    "RAS": (1, 1, 1),
    "LAS": (-1, 1, 1),
    "LPS": LPS_SIGNS,
}


def full_suffix(path: Path) -> str:
    """``.nii.gz`` for ``scan.nii.gz``; the last suffix otherwise; lower case."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def load_volume(
    path: str | os.PathLike[str],
    *,
    series_uid: str | None = None,
    frames: Sequence[int] | None = None,
) -> nib.Nifti1Image:
    """Load an image file, or a folder holding a DICOM series, as a NIfTI-1 image.

    Parameters
    ----------
    path
        A file in any format of the table above, or a folder of DICOM slices.
    series_uid
        For a folder holding several series: the SeriesInstanceUID to read.
    frames
        For an enhanced multi-frame DICOM file holding several volumes (stacks, echoes,
        time points, segments): the 1-based frame numbers of the one to read (the error
        raised without it lists them).

    Returns
    -------
    nibabel.Nifti1Image
        Voxels as stored (3D, or 4D for time series and colour), affine voxel -> RAS+ mm.

    Raises
    ------
    CourseDataError
        `UnsupportedFormatError`, `CorruptFileError`, `SeriesError`, `GeometryError` or
        `MissingDecoderError`, each naming the file and the fix.
    """
    path = Path(path)
    if path.is_dir():
        volume = series.read_series(path, series_uid=series_uid)
        return dicom_to_nifti(volume)
    if not path.is_file():
        raise CorruptFileError(path, "does not exist.", "Check the path (and COURSE_DATA).")
    if path.stat().st_size == 0:
        raise CorruptFileError(path, "is empty.", "Copy or download the file again.")
    suffix = full_suffix(path)
    if suffix in NIBABEL_SUFFIXES:
        return load_with_nibabel(path)
    if suffix in NRRD_SUFFIXES:
        return load_nrrd(path)
    if suffix in DICOM_SUFFIXES or is_dicom(path):
        return dicom_to_nifti(dicom.read_file_volume(path, frames=frames))
    raise UnsupportedFormatError(
        path,
        f"'{suffix}' is not a format the course reads.",
        "Use DICOM, NIfTI (.nii/.nii.gz/.hdr+.img), Analyze, MINC (.mnc), MGH (.mgz) or NRRD.",
    )


def is_dicom(path: Path) -> bool:
    """Whether the file starts with a 128-byte preamble and ``DICM``."""
    with open(path, "rb") as handle:
        head = handle.read(132)
    return len(head) == 132 and head[128:] == b"DICM"


def load_with_nibabel(path: Path) -> nib.Nifti1Image:
    """A nibabel-readable file as a NIfTI-1 image in RAS+ mm (voxels loaded now)."""
    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError) as error:
        hint = (
            "Keep the .hdr and .img files together, with the same name."
            if full_suffix(path) in (".hdr", ".img")
            else "Copy the file again; if it is MINC-2, `pip install h5py`."
        )
        raise CorruptFileError(path, f"nibabel cannot read it ({error}).", hint) from error
    check_pixdim(path, image)
    check_affine(path, image.affine, header_detail(image))
    if isinstance(image, nib.Nifti1Image):  # NIfTI-1 or NIfTI-2 (a subclass)
        header = nib.Nifti1Header.from_header(image.header, check=False)
        header["sizeof_hdr"] = 348  # a NIfTI-2 header's size (540) does not carry over
        return nib.Nifti1Image(data, image.affine, header)
    result = nib.Nifti1Image(data, image.affine)
    result.header.set_xyzt_units("mm", "sec")
    return result


def header_detail(image) -> str:
    """The header fields the affine came from, for messages (NIfTI: pixdim and codes)."""
    if isinstance(image, nib.Nifti1Image):
        header = image.header
        pixdim = [float(v) for v in header["pixdim"][1:4]]
        return (
            f"pixdim {pixdim}, qform_code {int(header['qform_code'])}, "
            f"sform_code {int(header['sform_code'])}"
        )
    return f"zooms {[float(v) for v in image.header.get_zooms()[:3]]}"


def raw_header(image):
    """The image's header as stored, before nibabel's repairs (it sets zero pixdims to 1)."""
    holder = image.file_map.get("header") or image.file_map["image"]  # pair, or one .nii
    header_file = holder.filename
    with nib.openers.ImageOpener(header_file) as handle:
        return type(image.header).from_fileobj(handle, check=False)


def check_pixdim(path: Path, image) -> None:
    """Refuse an Analyze/NIfTI header whose stored voxel sizes are NaN, zero or negative.

    nibabel warns and replaces a zero pixdim by 1 mm; with qform and sform codes 0 those
    pixdims are the only geometry, and a made-up 1 mm is as wrong as an identity affine.
    """
    if not isinstance(image, nib.analyze.AnalyzeImage):  # NIfTI-1/-2 and Analyze only
        return
    header = raw_header(image)
    spatial = min(3, max(int(header["dim"][0]), 1))
    sizes = np.asarray(header["pixdim"][1 : 1 + spatial], dtype=np.float64)
    if np.all(np.isfinite(sizes)) and np.all(sizes > 0):
        return
    raise GeometryError(
        path,
        f"its header stores voxel sizes (pixdim) {sizes.tolist()} mm, which are not positive "
        f"numbers ({header_detail(image)}).",
        "Rewrite the file with its true voxel sizes, e.g. "
        "nib.save(nib.Nifti1Image(data, affine), path) with a known affine.",
    )


def check_affine(path: Path, affine: np.ndarray, detail: str) -> None:
    """Refuse an affine with NaN/inf entries or a zero (or NaN) voxel size.

    Raises
    ------
    GeometryError
        Naming the file, the voxel sizes it gives and ``detail`` (where they came from).
    """
    affine = np.asarray(affine, dtype=np.float64)
    sizes = voxel_sizes(affine) if np.all(np.isfinite(affine)) else None
    if sizes is not None and np.all(sizes > 1e-6) and abs(np.linalg.det(affine[:3, :3])) > 0:
        return
    shown = "NaN or infinite" if sizes is None else f"{np.round(sizes, 6).tolist()} mm"
    raise GeometryError(
        path,
        f"its voxel-to-world affine is unusable: voxel sizes {shown} ({detail}).",
        "Rewrite the file with its true voxel sizes and orientation, e.g. "
        "nib.save(nib.Nifti1Image(data, affine), path) with a known affine; a header "
        "without them cannot be placed in millimetres.",
    )


def load_nrrd(path: Path) -> nib.Nifti1Image:
    """A NRRD file as a NIfTI-1 image: ``space directions`` and ``space origin`` -> RAS."""
    import nrrd

    try:
        data, header = nrrd.read(str(path))
    except (nrrd.NRRDError, OSError, ValueError) as error:
        raise CorruptFileError(
            path, f"pynrrd cannot read it ({error}).", "Copy it again."
        ) from error
    space = header.get("space", "right-anterior-superior")
    if space not in NRRD_SPACES:
        raise UnsupportedFormatError(
            path,
            f"its space '{space}' is not an anatomical RAS/LAS/LPS space.",
            "Resave it in a patient space (e.g. with 3D Slicer).",
        )
    directions = np.asarray(header["space directions"], dtype=np.float64)
    spatial = [i for i, row in enumerate(directions) if not np.all(np.isnan(row))]
    affine = np.eye(4)
    affine[:3, :3] = directions[spatial].T
    affine[:3, 3] = np.asarray(header.get("space origin", np.zeros(3)), dtype=np.float64)
    affine = np.diag([*NRRD_SPACES[space], 1.0]) @ affine
    check_affine(path, affine, "NRRD space directions")
    if spatial != list(range(len(spatial))):  # a leading list axis (e.g. vectors): move it last
        data = np.moveaxis(data, [i for i in range(data.ndim) if i not in spatial], -1)
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    return image


def dicom_to_nifti(volume: dicom.DicomVolume) -> nib.Nifti1Image:
    """A `dicom.DicomVolume` (LPS) as a NIfTI-1 image whose affine is RAS+ mm."""
    image = nib.Nifti1Image(volume.voxels, LPS_TO_RAS @ volume.affine_lps)
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(image.affine, code="scanner")
    image.set_sform(image.affine, code="scanner")
    return image


def save_nifti(image: nib.spatialimages.SpatialImage, path: str | os.PathLike[str]) -> Path:
    """Save ``image`` as NIfTI-1 (``.nii`` or ``.nii.gz``) atomically; returns the path."""
    path = Path(path)
    if full_suffix(path) not in (".nii", ".nii.gz"):
        raise UnsupportedFormatError(path, "is not a .nii or .nii.gz name.", "Rename it.")
    if not isinstance(image, nib.Nifti1Image):
        image = nib.Nifti1Image(np.asanyarray(image.dataobj), image.affine)
    with files.atomic_path(path) as temporary:
        nib.save(image, temporary)
    return path


def save_nrrd(image: nib.spatialimages.SpatialImage, path: str | os.PathLike[str]) -> Path:
    """Save ``image`` as NRRD in LPS space (what 3D Slicer and ITK write), atomically.

    Data are written in the voxel order of ``image``; ``space directions`` are the
    affine's columns, flipped to LPS, so SimpleITK and Slicer place it correctly.
    """
    import nrrd

    path = Path(path)
    if full_suffix(path) != ".nrrd":
        raise UnsupportedFormatError(path, "is not a .nrrd name.", "Rename it.")
    data = np.asanyarray(image.dataobj)
    affine_lps = LPS_TO_RAS @ image.affine
    header = {
        "space": "left-posterior-superior",
        "space directions": affine_lps[:3, :3].T,
        "space origin": affine_lps[:3, 3],
        "kinds": ["domain"] * 3 + ["list"] * (data.ndim - 3),
        "encoding": "gzip",
    }
    if data.ndim > 3:
        header["space directions"] = np.vstack(
            [affine_lps[:3, :3].T, np.full((data.ndim - 3, 3), np.nan)]
        )
    with files.atomic_path(path) as temporary:
        nrrd.write(str(temporary), data, header)
    return path


def quantise_int16(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(stored, slope, intercept)`` with ``stored * slope + intercept ~= values`` in int16.

    Integer data that fits int16 is stored exactly (slope 1, intercept 0).
    """
    values = np.asarray(values)
    low, high = float(values.min()), float(values.max())
    info = np.iinfo(np.int16)
    is_whole = np.issubdtype(values.dtype, np.integer) or np.all(np.mod(values, 1) == 0)
    if is_whole and info.min <= low and high <= info.max:
        return values.astype(np.int16), 1.0, 0.0
    slope = (high - low) / (info.max - info.min) if high > low else 1.0
    intercept = low - info.min * slope
    stored = np.clip(np.rint((values - intercept) / slope), info.min, info.max).astype(np.int16)
    return stored, slope, intercept


def write_dicom_series(
    image: nib.spatialimages.SpatialImage,
    folder: str | os.PathLike[str],
    *,
    series_description: str = "course_utils export",
    patient_name: str = "SYNTHETIC^SUBJECT",
    patient_id: str = "SYNTH-0001",
    seed: int = 0,
) -> list[Path]:
    """Write a 3D image as an MR DICOM series, one file per slice along its third axis.

    Voxels are stored as int16 with RescaleSlope/RescaleIntercept (exact for integer data
    in the int16 range); geometry comes from the affine (RAS -> LPS), so reading the folder
    back gives the same voxels and affine. The identity is synthetic and every UID is
    derived from ``seed``: the same call writes the same files. The folder is written
    atomically: it appears complete, or not at all.
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    data = np.asanyarray(image.dataobj)
    if data.ndim != 3:
        raise UnsupportedFormatError(None, f"a DICOM series needs a 3D image, not {data.shape}.")
    stored, slope, intercept = quantise_int16(data)
    affine_lps = LPS_TO_RAS @ image.affine
    spacing = voxel_sizes(affine_lps)
    row_dir, col_dir = affine_lps[:3, 0] / spacing[0], affine_lps[:3, 1] / spacing[1]
    study_uid, series_uid, frame_uid = (
        generate_uid(entropy_srcs=[str(seed), role]) for role in ("study", "series", "frame")
    )
    today = datetime.date(2000, 1, 1).strftime("%Y%m%d")  # fixed: same input, same bytes
    paths = []
    with files.atomic_directory(folder) as building:
        for k in range(data.shape[2]):
            ds = pydicom.Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
            ds.SOPClassUID = MRImageStorage
            ds.SOPInstanceUID = generate_uid(entropy_srcs=[str(seed), "instance", str(k)])
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PatientName, ds.PatientID = patient_name, patient_id
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.FrameOfReferenceUID = frame_uid
            ds.StudyDate = ds.SeriesDate = ds.ContentDate = today
            ds.Modality, ds.SeriesDescription = "MR", series_description
            ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
            ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row_dir, *col_dir)]
            position = affine_lps @ np.array([0.0, 0.0, k, 1.0])
            ds.ImagePositionPatient = [f"{v:.6f}" for v in position[:3]]
            ds.PixelSpacing = [f"{spacing[1]:.8f}", f"{spacing[0]:.8f}"]
            ds.SliceThickness = f"{spacing[2]:.6f}"
            ds.Rows, ds.Columns = data.shape[1], data.shape[0]
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", f"{intercept:.10g}"
            ds.BurnedInAnnotation = "NO"
            ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).tobytes()
            target = building / f"slice_{k:04d}.dcm"
            ds.save_as(target, enforce_file_format=True)
            paths.append(Path(folder) / target.name)
    return paths
