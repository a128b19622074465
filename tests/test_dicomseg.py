"""DICOM Segmentation output: a SynthBraTS subject written as a DICOM series, its labels
written as a SEG, read back with highdicom and with plain pydicom, frame by frame."""

from __future__ import annotations

import subprocess
import sys
import warnings

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import SegmentationStorage

from course_utils import brats, dicomseg, io, synth
from course_utils.geometry import LPS_TO_RAS


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """``(series folder, labels path, labels image)`` of SynthBraTS subject (0, 0) at 4 mm."""
    root = tmp_path_factory.mktemp("seg")
    subject = synth.make_subject((0, 0), 4.0)
    io.write_dicom_series(subject["t1ce"], root / "series", seed=3)
    nib.save(subject["seg"], root / "seg.nii.gz")
    return root / "series", root / "seg.nii.gz", subject["seg"]


@pytest.fixture(scope="module")
def written(scan, tmp_path_factory):
    series, labels, _ = scan
    out = tmp_path_factory.mktemp("out")
    return {
        kind: dicomseg.write_dicom_seg(labels, series, out / f"{kind}.dcm", segments=kind)
        for kind in dicomseg.SEGMENT_KINDS
    }


def expected_masks(labels: np.ndarray, kind: str) -> list[np.ndarray]:
    if kind == "labels":
        keys = ("necrotic_core", "oedema", "enhancing")
        return [labels == brats.BRATS_2021.value_of(k) for k in keys]
    return [np.isin(labels, brats.BRATS_2021.regions[r]) for r in brats.REGIONS]


def label_values_under_pixels(source: pydicom.Dataset, image: nib.Nifti1Image) -> np.ndarray:
    """The label voxel under each pixel (rows, columns) of a source slice, from its own
    ImagePositionPatient / ImageOrientationPatient / PixelSpacing (not the course's reader)."""
    row_dir, col_dir = np.array(source.ImageOrientationPatient, float).reshape(2, 3)
    row_step, col_step = (float(v) for v in source.PixelSpacing)  # between rows, columns
    r, c = np.mgrid[: source.Rows, : source.Columns]
    lps = (
        np.array(source.ImagePositionPatient, float)[:, None, None]
        + row_dir[:, None, None] * c * col_step
        + col_dir[:, None, None] * r * row_step
    )
    ras = LPS_TO_RAS[:3, :3] @ lps.reshape(3, -1)
    ijk = np.linalg.inv(image.affine) @ np.vstack([ras, np.ones(ras.shape[1])])
    index = np.rint(ijk[:3]).astype(int)
    assert np.abs(ijk[:3] - index).max() < 1e-3  # the pixel centres are voxel centres
    return np.asanyarray(image.dataobj)[tuple(index)].reshape(source.Rows, source.Columns)


@pytest.mark.parametrize("kind", dicomseg.SEGMENT_KINDS)
def test_plain_pydicom_finds_each_frame_on_its_source_slice_with_the_label_voxels(
    scan, written, kind
):
    series, _, labels = scan
    sources = {str(ds.SOPInstanceUID): ds for ds in (pydicom.dcmread(p) for p in series.iterdir())}
    seg = pydicom.dcmread(written[kind])
    assert seg.SOPClassUID == SegmentationStorage and seg.SegmentationType == "BINARY"
    first = next(iter(sources.values()))
    for keyword in ("StudyInstanceUID", "FrameOfReferenceUID", "PatientID"):
        assert seg[keyword].value == first[keyword].value
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == first.SeriesInstanceUID
    pixels = seg.pixel_array.reshape(int(seg.NumberOfFrames), seg.Rows, seg.Columns)
    seen = set()
    for frame, item in zip(pixels, seg.PerFrameFunctionalGroupsSequence, strict=True):
        segment = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        uid = item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        source = sources[str(uid)]
        position = np.array(item.PlanePositionSequence[0].ImagePositionPatient, float)
        assert np.abs(position - np.array(source.ImagePositionPatient, float)).max() <= 0.01
        under = label_values_under_pixels(source, labels)
        truth = expected_masks(under, kind)[segment - 1]
        np.testing.assert_array_equal(frame.astype(bool), truth)
        seen.add((str(uid), segment))
    # every (slice, segment) with voxels has its frame; the others were omitted as empty
    for uid, source in sources.items():
        under = label_values_under_pixels(source, labels)
        for number, mask in enumerate(expected_masks(under, kind), start=1):
            assert ((uid, number) in seen) == bool(mask.any())


@pytest.mark.parametrize("kind", dicomseg.SEGMENT_KINDS)
def test_highdicom_reads_back_the_label_map_voxel_for_voxel(scan, written, kind):
    series, _, labels = scan
    names, masks = dicomseg.read_dicom_seg(written[kind], series)
    volume = io.load_volume(series)  # the series grid, RAS+
    np.testing.assert_allclose(volume.affine, labels.affine, atol=1e-4)
    values = np.asanyarray(labels.dataobj)
    for k, truth in enumerate(expected_masks(values, kind)):
        np.testing.assert_array_equal(masks[..., k], truth)
    if kind == "labels":
        assert names == [brats.SUBREGION_NAMES[k] for k in ("necrotic_core", "oedema",
                                                              "enhancing")]  # fmt: skip
    else:
        assert names == [brats.REGION_NAMES[r] for r in brats.REGIONS]


def test_segments_carry_snomed_codes_where_they_exist_and_the_algorithm(written):
    import highdicom as hd

    seg = hd.seg.segread(written["labels"])
    types = [seg.get_segment_description(n).segmented_property_type for n in (1, 2, 3)]
    assert [(t.scheme_designator, t.value) for t in types] == [
        ("SCT", "6574001"),
        ("SCT", "79654002"),
        ("99COURSE", "ET"),
    ]
    first = seg.get_segment_description(1)
    assert first.segmented_property_category.value == "49755003"
    assert first.SegmentAlgorithmType == "AUTOMATIC"
    assert first.algorithm_identification[0].AlgorithmName == "course_utils U-Net"


def test_labels_on_another_voxel_order_give_the_same_seg_pixels(scan, written, tmp_path):
    series, _, labels = scan
    # the same voxels stored S-L-P (axes permuted, two of them flipped), affine to match
    change = nib.orientations.ornt_transform(
        nib.orientations.axcodes2ornt("RAS"), nib.orientations.axcodes2ornt("SLP")
    )
    reordered = labels.as_reoriented(change)
    assert nib.aff2axcodes(reordered.affine) == ("S", "L", "P")
    assert np.array_equal(
        np.asanyarray(nib.as_closest_canonical(reordered).dataobj), np.asanyarray(labels.dataobj)
    )
    path = dicomseg.write_dicom_seg(reordered, series, tmp_path / "r.dcm", segments="regions")
    assert np.array_equal(pydicom.dcmread(path).pixel_array,
                          pydicom.dcmread(written["regions"]).pixel_array)  # fmt: skip


def test_the_same_inputs_give_the_same_uids(scan, written, tmp_path):
    series, labels, _ = scan
    again = dicomseg.write_dicom_seg(labels, series, tmp_path / "again.dcm")
    a, b = pydicom.dcmread(written["labels"]), pydicom.dcmread(again)
    assert (a.SOPInstanceUID, a.SeriesInstanceUID) == (b.SOPInstanceUID, b.SeriesInstanceUID)
    assert pydicom.dcmread(written["regions"]).SOPInstanceUID != a.SOPInstanceUID


def test_an_unknown_segment_kind_is_a_value_error():
    with pytest.raises(ValueError, match="segments must be one of"):
        dicomseg.segment_masks(np.zeros(3, int), "classes")


def test_to_dicom_seg_command_writes_the_seg(scan, tmp_path):
    series, labels, _ = scan
    out = tmp_path / "cli.dcm"
    result = subprocess.run(
        [sys.executable, "-m", "course_utils", "to-dicom-seg", "--labels", str(labels),
         "--series", str(series), "--out", str(out), "--segments", "regions"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names, masks = dicomseg.read_dicom_seg(out, series)
    assert names == [brats.REGION_NAMES[r] for r in brats.REGIONS]
    assert (
        masks[..., 0].sum()
        == np.isin(np.asanyarray(nib.load(labels).dataobj), brats.BRATS_2021.regions["WT"]).sum()
    )


def test_the_seg_still_maps_onto_its_series_after_both_are_deidentified(scan, written, tmp_path):
    from course_utils.deidentify import BurnedInAnnotationWarning, anonymize_series

    series, _, labels = scan
    (tmp_path / "seg").mkdir()
    (tmp_path / "seg" / "seg.dcm").write_bytes(written["labels"].read_bytes())
    uid_map: dict[str, str] = {}  # shared: the same UID gets the same new UID in both
    anonymize_series(series, tmp_path / "series", seed=11, uid_map=uid_map)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BurnedInAnnotationWarning)  # a SEG has no such flag
        (seg,) = anonymize_series(tmp_path / "seg", tmp_path / "seg_out", seed=11, uid_map=uid_map)
    original = pydicom.dcmread(written["labels"])
    assert pydicom.dcmread(seg).SOPInstanceUID != original.SOPInstanceUID
    names, masks = dicomseg.read_dicom_seg(seg, tmp_path / "series")
    values = np.asanyarray(labels.dataobj)
    for k, truth in enumerate(expected_masks(values, "labels")):
        np.testing.assert_array_equal(masks[..., k], truth)
