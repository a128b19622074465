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
from course_utils.errors import CorruptFileError, GeometryError, UnsupportedFormatError

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


def placed(ds, z: float = 0.0):
    """``ds`` given an axial position in the patient (0.5 mm pixels, at height ``z``)."""
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [10.0, 20.0, z]
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 2.0
    return ds


def test_colour_jpeg_baseline_loads_with_a_trailing_colour_axis(tmp_path):
    placed(pydicom.dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))).save_as(tmp_path / "c.dcm")
    image = io.load_volume(tmp_path / "c.dcm")
    assert image.shape == (100, 100, 1, 3)


def test_a_colour_series_in_a_folder_is_columns_rows_slices_colour(tmp_path):
    # Measured before: (3, columns, slices, rows) for a folder, right for the single file.
    source = pydicom.dcmread(get_testdata_file("SC_rgb_small_odd.dcm"))  # 3 rows x 5 columns
    folder = tmp_path / "colour"
    folder.mkdir()
    for k in range(3):
        ds = placed(pydicom.dcmread(get_testdata_file("SC_rgb_small_odd.dcm")), z=2.0 * k)
        ds.SeriesInstanceUID = "1.2.3.4"
        ds.SOPInstanceUID = f"1.2.3.4.{k}"
        ds.save_as(folder / f"slice{k}.dcm")
    image = io.load_volume(folder)
    assert image.shape == (source.Columns, source.Rows, 3, 3)
    single = io.load_volume(folder / "slice1.dcm")
    np.testing.assert_array_equal(
        np.asarray(image.dataobj)[:, :, 1], np.asarray(single.dataobj)[:, :, 0]
    )
    np.testing.assert_array_equal(
        np.asarray(single.dataobj)[:, :, 0], source.pixel_array.swapaxes(0, 1)
    )


def test_a_file_without_patient_geometry_is_refused_not_given_an_identity():
    with pytest.raises(GeometryError, match="SC_rgb.dcm: has no ImagePositionPatient"):
        io.load_volume(get_testdata_file("SC_rgb.dcm"))


def test_direction_cosines_are_normalised_within_the_tolerance(tmp_path):
    # Measured before: 0.09 mm off at the far corner of a file whose cosine has norm 0.9995.
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    exact = io.load_volume(get_testdata_file("MR_small.dcm")).affine
    row = np.array([float(v) for v in ds.ImageOrientationPatient[:3]])
    ds.ImageOrientationPatient = [*(row * 0.9995), *ds.ImageOrientationPatient[3:]]
    ds.save_as(tmp_path / "short.dcm")
    np.testing.assert_allclose(io.load_volume(tmp_path / "short.dcm").affine, exact, atol=1e-6)


@pytest.mark.parametrize(
    ("orientation", "match"),
    [
        ([0.99, 0, 0, 0, 1, 0], "lengths \\[0.99, 1.0\\]"),
        ([1, 0, 0, 0.01, 0.99995, 0], "not orthogonal"),
        ([1, 0, 0, 0, 0, 0], "lengths"),
    ],
)
def test_direction_cosines_far_from_a_rotation_are_refused(tmp_path, orientation, match):
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.ImageOrientationPatient = orientation
    ds.save_as(tmp_path / "bad.dcm")
    with pytest.raises(GeometryError, match=f"bad.dcm: .*{match}"):
        io.load_volume(tmp_path / "bad.dcm")


def nifti_with_header(tmp_path, pixdim, codes=(0, 0), affine=None) -> Path:
    """A 4x4x4 NIfTI-1 whose pixdim[1:4] bytes and qform/sform codes are set by hand."""
    import struct

    image = nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4) if affine is None else affine)
    path = tmp_path / "odd.nii"
    nib.save(image, path)
    header = bytearray(path.read_bytes())
    header[80:92] = struct.pack("<3f", *pixdim)
    header[252:256] = struct.pack("<2h", *codes)  # qform_code, sform_code
    if affine is not None and not np.all(np.isfinite(affine)):
        header[280:328] = struct.pack("<12f", *np.asarray(affine)[:3].ravel())  # srow_x/y/z
    path.write_bytes(bytes(header))
    return path


@pytest.mark.parametrize(
    ("pixdim", "codes", "nan_affine", "match"),
    [
        ((np.nan, np.nan, np.nan), (0, 0), False, "pixdim.*nan.*qform_code 0, sform_code 0"),
        ((1.0, 0.0, 1.0), (0, 0), False, "pixdim\\) \\[1.0, 0.0, 1.0\\] mm"),
        ((1.0, 1.0, np.nan), (1, 0), False, "pixdim.*qform_code 1"),
        ((1.0, -2.0, 1.0), (0, 0), False, "not positive"),
        ((1.0, 1.0, 1.0), (0, 1), True, "NaN or infinite.*sform_code 1"),
    ],
)
def test_a_nifti_with_unusable_geometry_is_refused(tmp_path, pixdim, codes, nan_affine, match):
    # Measured before: NaN voxel sizes with qform/sform codes 0 loaded without complaint.
    affine = np.eye(4)
    if nan_affine:
        affine[0, 3] = np.nan
    path = nifti_with_header(tmp_path, pixdim, codes, affine if nan_affine else None)
    with pytest.raises(GeometryError, match=f"odd.nii: .*{match}.*Fix: Rewrite"):
        io.load_volume(path)


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
