"""A predicted label map as a DICOM Segmentation object, and back (highdicom).

A hospital archive (PACS) does not take NIfTI. It takes DICOM, and a segmentation result is a
**Segmentation** instance (PS3.3 A.51): one binary frame per source slice and segment, each
frame referencing the source image it was drawn on (``DerivationImageSequence`` ->
``ReferencedSOPInstanceUID``) and carrying that slice's ``ImagePositionPatient``. It shares the
source series' patient, study and frame of reference, so a viewer overlays it on the scan.

`write_dicom_seg` writes one segment per label (the disjoint classes necrotic core, oedema,
enhancing tumour: ``segments="labels"``, the default) or per evaluation region (whole tumour,
tumour core, enhancing tumour, which overlap: ``segments="regions"``). BINARY segmentations
allow overlapping segments, so both are stored exactly. Each segment carries coded concepts:

========================  =====================================================================
segment                   segmented property type (category: SCT 49755003 "Morphologically
                          Abnormal Structure", DICOM CID 7150)
========================  =====================================================================
necrotic tumour core      SCT 6574001 "Necrosis" (CID 7151 and 7159)
peritumoural oedema       SCT 79654002 "Edema" (CID 7151 and 7159)
enhancing tumour          no SNOMED CT concept in CID 7151/7159: private ``99COURSE`` "ET"
tumour core (TC)          SCT 108369006 "Neoplasm" (CID 7151 and 7159): the tumour mass itself
whole tumour (WT)         no concept (it includes oedema, which is not neoplasm): ``99COURSE``
                          "WT"
========================  =====================================================================

``99COURSE`` is a private coding scheme (PS3.3 8.2: designators starting with ``99`` are for
local use), defined only here. The algorithm identification the standard requires for an
AUTOMATIC segment names the course's U-Net, family DCM 113037 "Artificial Intelligence"
(CID 7162).

Used by ``course-utils to-dicom-seg``; the hospital loop (DICOM series -> U-Net -> SEG) is for
notebook 08 ("your own scan", planned).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from . import brats, files

__all__ = ["SEGMENT_KINDS", "segment_masks", "labels_on_series_grid", "write_dicom_seg",
           "read_dicom_seg"]  # fmt: skip

SEGMENT_KINDS = ("labels", "regions")
#: A private coding scheme for the concepts SNOMED CT has no code for (PS3.3 8.2).
PRIVATE_SCHEME = "99COURSE"
#: ``(scheme, code, meaning)`` of each segment's property type, by sub-region key or region.
PROPERTY_TYPES = {
    "necrotic_core": ("SCT", "6574001", "Necrosis"),
    "oedema": ("SCT", "79654002", "Edema"),
    "enhancing": (PRIVATE_SCHEME, "ET", "Enhancing tumour"),
    "WT": (PRIVATE_SCHEME, "WT", "Whole tumour"),
    "TC": ("SCT", "108369006", "Neoplasm"),
    "ET": (PRIVATE_SCHEME, "ET", "Enhancing tumour"),
}
#: Type 2 patient and study attributes (PS3.3 C.7.1.1, C.7.2.1) that the Segmentation copies
#: from its source: a source that lacks them (the course's own series writer omits several)
#: gets them empty, in memory only.
TYPE_2_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                        "AccessionNumber")  # fmt: skip
CATEGORY = ("SCT", "49755003", "Morphologically Abnormal Structure")
ALGORITHM_FAMILY = ("DCM", "113037", "Artificial Intelligence")


def segment_masks(
    labels: np.ndarray, segments: str = "labels", coding: brats.LabelCoding = brats.BRATS_2021
) -> tuple[list[str], list[str], np.ndarray]:
    """Binary masks of each segment of a label map.

    Parameters
    ----------
    labels
        Integer label map of ``coding`` (any shape).
    segments
        ``"labels"``: necrotic core, oedema, enhancing tumour (disjoint); ``"regions"``: WT,
        TC, ET (nested).
    coding
        The label coding of ``labels`` (`brats`); sub-regions outside the three tumour classes
        (BraTS 2024's resection cavity) are in no segment.

    Returns
    -------
    keys, names, masks
        The segments' keys (sub-region keys or region names), their human-readable names and
        a bool array ``labels.shape + (n_segments,)``.

    Examples
    --------
    >>> keys, names, masks = segment_masks(np.array([0, 1, 2, 4]), "regions")
    >>> keys, masks.astype(int).T.tolist()
    (['WT', 'TC', 'ET'], [[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]])
    """
    labels = np.asarray(labels)
    if segments == "labels":
        keys = [k for k in brats.BRATS_2021.subregions.values() if k != "background"]
        names = [brats.SUBREGION_NAMES[k] for k in keys]
        values = [[coding.value_of(k)] for k in keys]
    elif segments == "regions":
        keys = list(brats.REGIONS)
        names = [brats.REGION_NAMES[r] for r in keys]
        values = [list(coding.regions[r]) for r in keys]
    else:
        raise ValueError(f"segments must be one of {SEGMENT_KINDS}; got {segments!r}")
    masks = np.stack([np.isin(labels, v) for v in values], axis=-1)
    return keys, names, masks


def series_grid(folder: str | os.PathLike[str]):
    """``(volume, datasets)``: the series' `dicom.DicomVolume` and its files' pydicom datasets
    (without pixel data), both in slice order."""
    import pydicom

    from .series import read_series

    volume = read_series(folder)
    datasets = [pydicom.dcmread(path, stop_before_pixels=True) for path in volume.files]
    for ds in datasets:
        for keyword in TYPE_2_PATIENT_STUDY:
            if keyword not in ds:
                setattr(ds, keyword, "")  # present but empty, as Type 2 allows
    return volume, datasets


def labels_on_series_grid(labels: nib.spatialimages.SpatialImage, affine_lps: np.ndarray,
                          shape: Sequence[int]) -> np.ndarray:  # fmt: skip
    """A label image's values on a DICOM series' voxel grid, by nearest neighbour.

    Parameters
    ----------
    labels
        A 3D label image, affine in RAS+ mm (as `io.load_volume` gives).
    affine_lps
        The series' voxel -> LPS mm affine (``(columns, rows, slices)`` voxel order, as
        `series.read_series` gives it).
    shape
        The series' ``(columns, rows, slices)``.

    Returns
    -------
    np.ndarray
        ``shape``, the label image's dtype: the value of the label voxel whose centre is
        nearest each series voxel's centre (0 outside the label image). Where both grids are
        the same voxels in another order or orientation this is exact.
    """
    from .geometry import LPS_TO_RAS

    data = np.asanyarray(labels.dataobj)
    series_to_labels = np.linalg.inv(labels.affine) @ LPS_TO_RAS @ np.asarray(affine_lps)
    grid = np.indices(tuple(shape), dtype=np.float64).reshape(3, -1)
    index = np.rint(series_to_labels[:3, :3] @ grid + series_to_labels[:3, 3:]).astype(np.int64)
    inside = np.all((index >= 0) & (index < np.array(data.shape)[:, None]), axis=0)
    out = np.zeros(grid.shape[1], dtype=data.dtype)
    out[inside] = data[tuple(index[:, inside])]
    return out.reshape(tuple(shape))


def coded(triple: tuple[str, str, str]):
    from highdicom.sr import CodedConcept

    scheme, value, meaning = triple
    return CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


def segment_descriptions(keys: Sequence[str], names: Sequence[str], algorithm: str) -> list:
    import highdicom as hd

    from . import __version__

    identification = hd.AlgorithmIdentificationSequence(
        name=algorithm, family=coded(ALGORITHM_FAMILY), version=__version__
    )
    return [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=name,
            segmented_property_category=coded(CATEGORY),
            segmented_property_type=coded(PROPERTY_TYPES[key]),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=identification,
        )
        for number, (key, name) in enumerate(zip(keys, names, strict=True), start=1)
    ]


def write_dicom_seg(
    labels: str | os.PathLike[str] | nib.spatialimages.SpatialImage,
    series: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    segments: str = "labels",
    coding: brats.LabelCoding = brats.BRATS_2021,
    algorithm: str = "course_utils U-Net",
    series_number: int = 300,
) -> Path:
    """Write a label map as a DICOM Segmentation of the source series in ``series``.

    Parameters
    ----------
    labels
        The label map (a NIfTI path or image, RAS+ mm), e.g. ``course-utils predict``'s output
        for this series. It is taken onto the series' grid by nearest neighbour
        (`labels_on_series_grid`), so any grid covering the series works.
    series
        The folder of the source DICOM series (`series.read_series`).
    out
        The ``.dcm`` file to write (atomically).
    segments
        ``"labels"`` (necrotic core, oedema, enhancing tumour) or ``"regions"`` (WT, TC, ET).
    coding
        The label coding of ``labels`` (default BraTS 2021, 0/1/2/4).
    algorithm
        The algorithm name recorded in every segment's identification.
    series_number
        SeriesNumber of the new Segmentation series.

    Returns
    -------
    Path
        ``out``. Its UIDs are derived from the source series' UID and ``segments``, so the
        same inputs give the same UIDs. Frames are BINARY, one per source slice that has
        voxels of a segment (empty frames are omitted, as highdicom does by default).
    """
    import highdicom as hd
    from pydicom.uid import generate_uid

    from .io import load_volume

    image = labels if isinstance(labels, nib.spatialimages.SpatialImage) else load_volume(labels)
    volume, datasets = series_grid(series)
    grid = labels_on_series_grid(image, volume.affine_lps, volume.voxels.shape[:3])
    keys, names, masks = segment_masks(grid, segments, coding)
    # (columns, rows, slices, segments) -> (slices, rows, columns, segments), source order
    frames = np.ascontiguousarray(masks.transpose(2, 1, 0, 3)).astype(np.uint8)
    source_uid = str(datasets[0].SeriesInstanceUID)
    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segment_descriptions(keys, names, algorithm),
        series_instance_uid=generate_uid(entropy_srcs=[source_uid, segments, "seg series"]),
        series_number=series_number,
        sop_instance_uid=generate_uid(entropy_srcs=[source_uid, segments, "seg instance"]),
        instance_number=1,
        manufacturer="course_utils",
        manufacturer_model_name=algorithm,
        software_versions=hd.__version__,
        device_serial_number="0",
        content_description=f"BraTS {segments}"[:64],
    )
    out = Path(out)
    with files.atomic_path(out) as temporary:
        seg.save_as(temporary)
    return out


def read_dicom_seg(
    path: str | os.PathLike[str], series: str | os.PathLike[str]
) -> tuple[list[str], np.ndarray]:
    """A Segmentation's segments on its source series' voxel grid (highdicom's reader).

    Parameters
    ----------
    path
        The Segmentation file.
    series
        The folder of the source series it references.

    Returns
    -------
    labels, masks
        The segment labels and a bool array ``(columns, rows, slices, n_segments)`` on the
        series grid (`series.read_series`'s voxel order), slices with no frame being empty.
    """
    import highdicom as hd

    seg = hd.seg.segread(path)
    volume, datasets = series_grid(series)
    uids = [str(ds.SOPInstanceUID) for ds in datasets]
    numbers = list(seg.get_segment_numbers())
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=numbers, ignore_spatial_locations=True
    )  # (slices, rows, columns, segments)
    names = [seg.get_segment_description(n).segment_label for n in numbers]
    return names, pixels.transpose(2, 1, 0, 3).astype(bool)
