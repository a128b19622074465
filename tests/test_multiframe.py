"""Enhanced multi-frame DICOM: geometry and rescale from the functional groups (PS3.3 C.7.6.16).

The regression tests of issue 15 are here, one per measurement: nibabel's enhanced Philips
MPRAGE (geometry only in per-frame groups, per-frame RescaleSlope), pydicom-data's enhanced
CT (RescaleIntercept in the shared groups) and enhanced MR without any geometry.
"""

from __future__ import annotations

import copy
import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from conftest import corners_mm
from pydicom.data import get_testdata_file

from course_utils import io, multiframe
from course_utils.errors import CourseDataError, GeometryError, SeriesError

NICOM_DATA = Path(nib.__file__).parent / "nicom" / "tests" / "data"


@pytest.fixture(scope="module")
def mprage(tmp_path_factory):
    """nibabel's enhanced Philips MPRAGE with its (zeroed) pixels set to 7, and its dataset."""
    ds = pydicom.dcmread(gzip.open(NICOM_DATA / "philips_mprage.dcm.gz"))
    ds.PixelData = np.full(len(ds.PixelData) // 2, 7, dtype="<u2").tobytes()
    path = tmp_path_factory.mktemp("mprage") / "mprage.dcm"
    ds.save_as(path)
    return path, ds


def test_enhanced_mr_geometry_comes_from_per_frame_groups_and_matches_dcm2niix(mprage, dcm2niix):
    # Measured before: an identity-like affine, 498 mm from the true corners.
    path, _ = mprage
    image = io.load_volume(path)
    (reference,) = dcm2niix(path)
    ours, theirs = nib.as_closest_canonical(image), nib.as_closest_canonical(reference)
    assert ours.shape == theirs.shape == (176, 256, 256)
    assert np.abs(corners_mm(ours) - corners_mm(theirs)).max() <= 0.05


def test_enhanced_mr_applies_the_per_frame_rescale_slope(mprage, dcm2niix):
    # Measured before: the per-frame RescaleSlope (2.108) was ignored.
    path, ds = mprage
    slope = float(
        ds.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence[0].RescaleSlope
    )
    assert abs(slope - 2.108) < 1e-3
    values = np.asarray(io.load_volume(path).dataobj)
    np.testing.assert_allclose(values, 7 * slope, rtol=1e-6)
    (reference,) = dcm2niix(path)
    np.testing.assert_allclose(reference.get_fdata(), 7 * slope, rtol=1e-5)


def test_per_frame_groups_override_shared_ones():
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    frame = ds.PerFrameFunctionalGroupsSequence[1]
    frame.PixelValueTransformationSequence = copy.deepcopy(
        ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence
    )
    frame.PixelValueTransformationSequence[0].RescaleIntercept = "-1000"
    slopes, intercepts = multiframe.frame_rescale(ds)
    assert slopes.tolist() == [1.0, 1.0] and intercepts.tolist() == [-1024.0, -1000.0]


def test_enhanced_ct_applies_the_shared_rescale_intercept(dcm2niix):
    # Measured before: RescaleIntercept -1024 ignored, stored values instead of HU.
    path = get_testdata_file("eCT_Supplemental.dcm")
    ds = pydicom.dcmread(path)
    image = io.load_volume(path)
    expected = np.moveaxis(ds.pixel_array.astype(np.float64) - 1024, 0, 2).swapaxes(0, 1)
    positions = [
        float(f.PlanePositionSequence[0].ImagePositionPatient[2])
        for f in ds.PerFrameFunctionalGroupsSequence
    ]
    # rows run along -x, columns along +y: the normal is -z, so frames go from high z to low
    order = np.argsort(-np.array(positions))
    np.testing.assert_array_equal(np.asarray(image.dataobj), expected[:, :, order])
    (reference,) = dcm2niix(path)
    np.testing.assert_array_equal(
        nib.as_closest_canonical(image).get_fdata(),
        nib.as_closest_canonical(reference).get_fdata(),
    )
    diff = corners_mm(nib.as_closest_canonical(image)) - corners_mm(
        nib.as_closest_canonical(reference)
    )
    assert np.abs(diff).max() <= 0.05


def test_an_enhanced_file_without_geometry_is_refused_not_given_an_identity():
    # Measured before: loaded silently with a made-up identity affine.
    with pytest.raises(GeometryError, match="emri_small.dcm.*no ImagePositionPatient"):
        io.load_volume(get_testdata_file("emri_small.dcm"))


def test_a_frame_without_plane_position_is_refused(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    del ds.PerFrameFunctionalGroupsSequence[1].PlanePositionSequence
    ds.save_as(tmp_path / "ct.dcm")
    with pytest.raises(GeometryError, match="frame 2 has no Plane Position"):
        io.load_volume(tmp_path / "ct.dcm")


def stacked_ct(tmp_path, positions, stacks=None) -> Path:
    """eCT_Supplemental's first frame repeated at ``positions`` (z, mm), optional StackIDs."""
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    frame_bytes = len(ds.PixelData) // 2
    template = ds.PerFrameFunctionalGroupsSequence[0]
    items = []
    for k, z in enumerate(positions):
        item = copy.deepcopy(template)
        position = item.PlanePositionSequence[0].ImagePositionPatient
        item.PlanePositionSequence[0].ImagePositionPatient = [position[0], position[1], z]
        if stacks is not None:
            item.FrameContentSequence[0].StackID = stacks[k]
            item.FrameContentSequence[0].InStackPositionNumber = k + 1
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = items
    ds.NumberOfFrames = len(positions)
    ds.PixelData = ds.PixelData[:frame_bytes] * len(positions)
    path = tmp_path / "stacked.dcm"
    ds.save_as(path)
    return path


def test_frames_are_sorted_along_the_normal_not_by_frame_number(tmp_path):
    path = stacked_ct(tmp_path, [-10.0, -4.0, -7.0, -1.0])
    image = io.load_volume(path)
    assert image.shape == (512, 512, 4)
    # the normal of eCT_Supplemental's orientation (-1, 0, 0, 0, 1, 0) is -z (LPS and RAS)
    np.testing.assert_allclose(image.affine[:3, 2], [0, 0, -3.0], atol=1e-6)
    np.testing.assert_allclose(image.affine[2, 3], -1.0, atol=1e-6)


def test_a_gap_between_frames_is_refused(tmp_path):
    path = stacked_ct(tmp_path, [0.0, 3.0, 9.0, 12.0])
    with pytest.raises(SeriesError, match="uneven.*6.000 mm between frame 3 and frame 2"):
        io.load_volume(path)


def test_several_stacks_are_refused_with_the_choices_and_one_can_be_picked(tmp_path):
    path = stacked_ct(tmp_path, [0.0, 3.0, 6.0, 0.0, 3.0, 6.0], stacks=["1"] * 3 + ["2"] * 3)
    with pytest.raises(SeriesError, match="holds 2 volumes") as info:
        io.load_volume(path)
    message = str(info.value)
    assert "StackID 1: frames 1-3 (3 frames)" in message
    assert "StackID 2: frames 4-6 (3 frames)" in message and "dcm2niix" in message
    assert io.load_volume(path, frames=[4, 5, 6]).shape == (512, 512, 3)


def test_a_fourth_dimension_is_refused_with_the_choices_listed(tmp_path):
    path = stacked_ct(tmp_path, [0.0, 3.0, 0.0, 3.0])  # two time points, no dimension index
    with pytest.raises(SeriesError, match="share positions.*repeat 1: frames 1-2.*repeat 2"):
        io.load_volume(path)


def test_a_segmentation_with_several_segments_lists_them(tmp_path):
    # liver.dcm (pydicom-data) is a SEG of 3 frames of segment 1; give its last frame to a
    # segment 2: its dimension index (ReferencedSegmentNumber) now says two volumes.
    ds = pydicom.dcmread(get_testdata_file("liver.dcm"))
    ds.PerFrameFunctionalGroupsSequence[2].FrameContentSequence[0].DimensionIndexValues = [2, 1]
    ds.save_as(tmp_path / "two_segments.dcm")
    with pytest.raises(SeriesError, match="ReferencedSegmentNumber 1: frames 1-2") as info:
        io.load_volume(tmp_path / "two_segments.dcm")
    assert "ReferencedSegmentNumber 2: frames 3 (1 frame)" in str(info.value)
    assert io.load_volume(tmp_path / "two_segments.dcm", frames=[3]).shape == (512, 512, 1)


def test_frames_out_of_range_are_refused(tmp_path):
    path = stacked_ct(tmp_path, [0.0, 3.0])
    with pytest.raises(CourseDataError, match="has frames 1-2"):
        io.load_volume(path, frames=[3])


def test_the_course_writes_an_enhanced_mr_file_that_reads_back_exactly(tmp_path, oblique_image):
    path = multiframe.write_enhanced_mr(oblique_image, tmp_path / "enhanced.dcm")
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID.name == "Enhanced MR Image Storage" and ds.NumberOfFrames == 8
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert {"PixelMeasuresSequence", "PlaneOrientationSequence"} <= set(shared.dir())
    assert "PlanePositionSequence" not in shared
    assert all("PlanePositionSequence" in f for f in ds.PerFrameFunctionalGroupsSequence)
    image = io.load_volume(path)
    np.testing.assert_array_equal(np.asarray(image.dataobj), np.asarray(oblique_image.dataobj))
    np.testing.assert_allclose(image.affine, oblique_image.affine, atol=1e-5)


def test_the_course_enhanced_writer_agrees_with_dcm2niix(tmp_path, oblique_image, dcm2niix):
    path = multiframe.write_enhanced_mr(oblique_image, tmp_path / "enhanced.dcm")
    (reference,) = dcm2niix(path)
    ours = nib.as_closest_canonical(io.load_volume(path))
    theirs = nib.as_closest_canonical(reference)
    assert ours.shape == theirs.shape
    assert np.abs(corners_mm(ours) - corners_mm(theirs)).max() <= 0.05
    np.testing.assert_allclose(ours.get_fdata(), theirs.get_fdata())


def test_a_per_frame_counter_in_the_dimension_index_does_not_split_the_volume(tmp_path):
    # one value of a non-spatial index per frame labels frames (an acquisition counter),
    # it does not make each frame a volume of its own
    ds = pydicom.dcmread(get_testdata_file("liver.dcm"))
    for k, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        frame.FrameContentSequence[0].DimensionIndexValues = [k + 1, 1]
    ds.save_as(tmp_path / "counter.dcm")
    assert io.load_volume(tmp_path / "counter.dcm").shape == (512, 512, 3)


def test_frames_at_two_orientations_are_refused(tmp_path):
    path = stacked_ct(tmp_path, [0.0, 3.0])
    ds = pydicom.dcmread(path)
    ds.PerFrameFunctionalGroupsSequence[1].PlaneOrientationSequence = [pydicom.Dataset()]
    ds.PerFrameFunctionalGroupsSequence[1].PlaneOrientationSequence[0].ImageOrientationPatient = [
        0,
        1,
        0,
        0,
        0,
        -1,
    ]
    ds.save_as(path)
    with pytest.raises(SeriesError, match="different orientations"):
        io.load_volume(path)
