"""Series assembly from messy folders: order, spacing, mixed series, gaps, scouts, junk."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from course_utils import io, series
from course_utils.errors import CorruptFileError, SeriesError


@pytest.fixture
def series_folder(tmp_path, oblique_image):
    """An oblique 8-slice series written by the course, with shuffled file names."""
    folder = tmp_path / "series"
    paths = io.write_dicom_series(oblique_image, folder)
    names = [f"IM{n:05d}" for n in random.Random(3).sample(range(100000), len(paths))]
    for path, name in zip(paths, names, strict=True):
        path.rename(folder / name)
    return folder


def edit(path, **changes):
    """Rewrite one DICOM file with some elements changed (None deletes)."""
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path)


def test_a_shuffled_series_is_sorted_by_position_not_by_name(series_folder, oblique_image):
    volume = series.read_series(series_folder)
    np.testing.assert_array_equal(volume.voxels, np.asarray(oblique_image.dataobj))
    np.testing.assert_allclose(io.LPS_TO_RAS @ volume.affine_lps, oblique_image.affine, atol=1e-4)
    by_name = sorted(series_folder.iterdir())
    assert [str(p) for p in by_name] != list(volume.files)


def test_slice_spacing_comes_from_positions_not_slice_thickness(series_folder, oblique_image):
    for path in series_folder.iterdir():
        edit(path, SliceThickness="1.0")  # wrong on purpose, as in many real files
    volume = series.read_series(series_folder)
    np.testing.assert_allclose(np.linalg.norm(volume.affine_lps[:3, 2]), 3.0, atol=1e-5)


def test_a_folder_with_two_series_is_refused_unless_one_is_chosen(series_folder, oblique_image):
    other = series_folder.parent / "other"
    io.write_dicom_series(oblique_image, other, series_description="T2 axial", seed=7)
    for path in other.iterdir():
        shutil.move(path, series_folder / f"other_{path.name}")
    with pytest.raises(SeriesError, match="holds 2 series.*T2 axial, 8 files.*series_uid") as info:
        series.read_series(series_folder)
    uid = str(pydicom.dcmread(next(series_folder.glob("other_*"))).SeriesInstanceUID)
    assert uid in str(info.value)
    chosen = series.read_series(series_folder, series_uid=uid)
    assert all("other_" in f for f in chosen.files)


def test_a_missing_slice_is_reported_as_a_gap(series_folder):
    volume = series.read_series(series_folder)
    (series_folder / volume.files[3].split("/")[-1]).unlink()
    with pytest.raises(SeriesError, match="uneven.*6.000 mm.*3.000 mm apart"):
        series.read_series(series_folder)


def test_duplicate_positions_are_refused(series_folder):
    first = sorted(series_folder.iterdir())[0]
    copy = series_folder / "copy_of_first"
    shutil.copy(first, copy)
    edit(copy, SOPInstanceUID=generate_uid())
    with pytest.raises(SeriesError, match="same position"):
        series.read_series(series_folder)


def test_a_scout_at_another_orientation_is_refused(series_folder):
    scout = series_folder / "scout"
    shutil.copy(sorted(series_folder.iterdir())[0], scout)
    edit(scout, ImageOrientationPatient=[0, 1, 0, 0, 0, -1], SOPInstanceUID=generate_uid())
    with pytest.raises(SeriesError, match="scout.*oriented differently|oriented differently"):
        series.read_series(series_folder)


def test_a_file_without_pixel_data_is_refused(series_folder):
    edit(sorted(series_folder.iterdir())[2], PixelData=None)
    with pytest.raises(SeriesError, match="no pixel data"):
        series.read_series(series_folder)


def test_a_non_dicom_file_in_the_folder_is_named(series_folder):
    (series_folder / "notes.txt").write_text("scanned on Tuesday")
    with pytest.raises(CorruptFileError, match="notes.txt.*not a readable DICOM"):
        series.read_series(series_folder)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(SeriesError, match="no files"):
        series.read_series(tmp_path)


def test_a_single_slice_is_as_thick_as_its_slice_thickness(tmp_path, oblique_image):
    folder = tmp_path / "one"
    single = oblique_image.slicer[:, :, :1]
    io.write_dicom_series(single, folder)
    volume = series.read_series(folder)
    assert volume.voxels.shape == (12, 10, 1)
    np.testing.assert_allclose(np.linalg.norm(volume.affine_lps[:3, 2]), 3.0, atol=1e-5)


def test_header_values_parsed_from_bytes_match_pydicom(series_folder):
    from course_utils import dicom

    path = next(series_folder.iterdir())
    record = series.read_slice(path)
    ds = pydicom.dcmread(path)
    np.testing.assert_allclose(record.position, [float(v) for v in ds.ImagePositionPatient])
    np.testing.assert_allclose(record.orientation, [float(v) for v in ds.ImageOrientationPatient])
    assert record.series_uid == ds.SeriesInstanceUID and record.rows == ds.Rows
    assert dicom.raw_value(ds, "PixelSpacing") == [float(v) for v in ds.PixelSpacing]


def test_a_multi_frame_file_in_a_series_folder_is_refused(series_folder, oblique_image):
    from course_utils import multiframe

    multiframe.write_enhanced_mr(oblique_image, series_folder / "enhanced.dcm", seed=0)
    edit(
        series_folder / "enhanced.dcm",
        SeriesInstanceUID=pydicom.dcmread(
            next(p for p in series_folder.iterdir() if p.name != "enhanced.dcm")
        ).SeriesInstanceUID,
    )
    with pytest.raises(SeriesError, match="enhanced.dcm: is a multi-frame file \\(8 frames\\)"):
        series.read_series(series_folder)
