"""load_volume for every format, geometry against SimpleITK and nibabel, atomic writers."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from course_utils import io
from course_utils.errors import CorruptFileError, UnsupportedFormatError

NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


def sitk_affine_ras(image) -> np.ndarray:
    """SimpleITK's geometry (LPS, index order x, y, z) as a RAS 4x4 affine."""
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * np.asarray(image.GetSpacing())
    affine[:3, 3] = image.GetOrigin()
    return io.LPS_TO_RAS @ affine


@pytest.mark.parametrize(
    "name",
    [
        "anatomical.nii",
        "example4d.nii.gz",
        "example_nifti2.nii.gz",
        "tiny.mnc",
        "small.mnc",
        "test.mgz",
    ],
)
def test_nibabel_formats_keep_nibabels_voxels_and_affine(name):
    reference = nib.load(NIBABEL_DATA / name)
    image = io.load_volume(NIBABEL_DATA / name)
    assert isinstance(image, nib.Nifti1Image)
    np.testing.assert_allclose(image.affine, reference.affine)
    np.testing.assert_array_equal(np.asarray(image.dataobj), np.asanyarray(reference.dataobj))


@pytest.mark.parametrize("image_class", [nib.AnalyzeImage, nib.Nifti1Pair])
def test_header_and_image_pairs_load_from_either_file(tmp_path, oblique_image, image_class):
    affine = oblique_image.affine if image_class is nib.Nifti1Pair else np.diag([2, 2, 3, 1.0])
    pair = image_class(np.asarray(oblique_image.dataobj), affine)
    nib.save(pair, tmp_path / "pair.img")
    for name in ("pair.hdr", "pair.img"):
        image = io.load_volume(tmp_path / name)
        np.testing.assert_allclose(image.affine, nib.load(tmp_path / "pair.hdr").affine)
        np.testing.assert_array_equal(np.asarray(image.dataobj), np.asarray(oblique_image.dataobj))


def test_a_pair_without_its_image_file_says_to_keep_them_together(tmp_path, oblique_image):
    nib.save(nib.AnalyzeImage(np.asarray(oblique_image.dataobj), np.eye(4)), tmp_path / "a.img")
    (tmp_path / "a.img").unlink()
    with pytest.raises(CorruptFileError, match="Keep the .hdr and .img files together"):
        io.load_volume(tmp_path / "a.hdr")


@pytest.mark.parametrize("name", ["MR_small.dcm", "CT_small.dcm", "rtdose.dcm"])
def test_single_dicom_files_match_simpleitk_geometry_and_values(name):
    import SimpleITK as sitk

    path = get_testdata_file(name)
    reference = sitk.ReadImage(path)
    image = io.load_volume(path)
    expected_affine = sitk_affine_ras(reference)
    if image.shape[2] == 1:  # one slice: SimpleITK says 1 mm thick, we use SliceThickness
        thickness = float(pydicom.dcmread(path).SliceThickness)
        expected_affine[:3, 2] *= thickness / np.linalg.norm(expected_affine[:3, 2])
    np.testing.assert_allclose(image.affine, expected_affine, atol=1e-4)
    expected = sitk.GetArrayFromImage(reference).transpose(2, 1, 0)
    np.testing.assert_allclose(np.asarray(image.dataobj), expected, rtol=1e-6)


def test_a_dicom_series_folder_matches_simpleitk(tmp_path, oblique_image):
    import SimpleITK as sitk

    folder = tmp_path / "series"
    io.write_dicom_series(oblique_image, folder)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    reference = reader.Execute()
    image = io.load_volume(folder)
    np.testing.assert_allclose(image.affine, sitk_affine_ras(reference), atol=1e-4)
    np.testing.assert_array_equal(
        np.asarray(image.dataobj), sitk.GetArrayFromImage(reference).transpose(2, 1, 0)
    )


def test_colour_jpeg_baseline_loads_with_a_trailing_colour_axis():
    image = io.load_volume(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    assert image.shape == (100, 100, 1, 3)


def test_nrrd_round_trip_and_simpleitk_agree(tmp_path, oblique_image):
    import SimpleITK as sitk

    path = io.save_nrrd(oblique_image, tmp_path / "scan.nrrd")
    np.testing.assert_allclose(
        sitk_affine_ras(sitk.ReadImage(str(path))), oblique_image.affine, atol=1e-4
    )
    image = io.load_volume(path)
    np.testing.assert_allclose(image.affine, oblique_image.affine, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(image.dataobj), np.asarray(oblique_image.dataobj))


def test_an_nrrd_in_ras_space_is_read_correctly(tmp_path, oblique_image):
    import nrrd

    header = {
        "space": "right-anterior-superior",
        "space directions": oblique_image.affine[:3, :3].T,
        "space origin": oblique_image.affine[:3, 3],
    }
    nrrd.write(str(tmp_path / "ras.nrrd"), np.asarray(oblique_image.dataobj), header)
    image = io.load_volume(tmp_path / "ras.nrrd")
    np.testing.assert_allclose(image.affine, oblique_image.affine, atol=1e-6)


def test_nifti_round_trip_is_exact(tmp_path, oblique_image):
    path = io.save_nifti(oblique_image, tmp_path / "scan.nii.gz")
    image = io.load_volume(path)
    np.testing.assert_allclose(image.affine, oblique_image.affine, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(image.dataobj), np.asarray(oblique_image.dataobj))


def test_dicom_series_round_trip_of_float_data_is_within_half_a_step(tmp_path, oblique_image):
    values = np.asarray(oblique_image.dataobj).astype(np.float32) / 7.3
    image = nib.Nifti1Image(values, oblique_image.affine)
    paths = io.write_dicom_series(image, tmp_path / "series")
    back = io.load_volume(tmp_path / "series")
    slope = float(pydicom.dcmread(paths[0]).RescaleSlope)
    assert np.abs(np.asarray(back.dataobj) - values).max() <= slope / 2 + 1e-4
    np.testing.assert_allclose(back.affine, oblique_image.affine, atol=1e-4)


def test_written_dicom_is_valid_and_carries_only_a_synthetic_identity(tmp_path, oblique_image):
    paths = io.write_dicom_series(oblique_image, tmp_path / "series")
    ds = pydicom.dcmread(paths[0])
    assert ds.PatientName == "SYNTHETIC^SUBJECT" and ds.Modality == "MR"
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert len({pydicom.dcmread(p).SeriesInstanceUID for p in paths}) == 1
    again = io.write_dicom_series(oblique_image, tmp_path / "again")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]


def test_a_failed_series_write_leaves_no_folder(tmp_path, oblique_image, monkeypatch):
    calls = []
    real_save = pydicom.Dataset.save_as

    def fail_on_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(pydicom.Dataset, "save_as", fail_on_third)
    with pytest.raises(OSError, match="disk full"):
        io.write_dicom_series(oblique_image, tmp_path / "series")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "name", "error", "match"),
    [
        (b"", "empty.nii.gz", CorruptFileError, "is empty"),
        (b"not an image at all", "broken.nii.gz", CorruptFileError, "nibabel cannot read"),
        (b"hello", "notes.txt", UnsupportedFormatError, "'.txt' is not a format"),
        (b"\0" * 200, "random.dcm", CorruptFileError, "not a readable DICOM"),
    ],
)
def test_bad_files_raise_a_course_error_naming_the_file(tmp_path, content, name, error, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=match) as info:
        io.load_volume(path)
    assert str(path) in str(info.value)


def test_a_missing_path_is_named():
    with pytest.raises(CorruptFileError, match="does not exist"):
        io.load_volume("/no/such/scan.nii.gz")


def test_writers_refuse_a_wrong_extension(tmp_path, oblique_image):
    with pytest.raises(UnsupportedFormatError):
        io.save_nifti(oblique_image, tmp_path / "scan.nrrd")
    with pytest.raises(UnsupportedFormatError):
        io.save_nrrd(oblique_image, tmp_path / "scan.nii")


def test_an_enhanced_multi_frame_file_takes_geometry_from_its_functional_groups(tmp_path):
    import copy

    ds = pydicom.dcmread(get_testdata_file("liver_1frame.dcm"))  # a 1-bit SEG, one frame
    frame = ds.PerFrameFunctionalGroupsSequence[0]
    frames = []
    for k in range(3):  # stack three copies of the frame, 2.5 mm apart along z
        item = copy.deepcopy(frame)
        position = [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]
        item.PlanePositionSequence[0].ImagePositionPatient = [*position[:2], position[2] + 2.5 * k]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.NumberOfFrames = 3
    ds.PixelData = ds.PixelData * 3
    ds.save_as(tmp_path / "multi.dcm")
    image = io.load_volume(tmp_path / "multi.dcm")
    assert image.shape == (512, 512, 3)
    spacing = 0.810547
    expected = np.array(
        [[-spacing, 0, 0, 235.2], [0, -spacing, 0, 226.8], [0, 0, 2.5, -128.69], [0, 0, 0, 1]]
    )
    np.testing.assert_allclose(image.affine, expected, atol=1e-4)
