"""DICOM series assembly from messy folders, headers by category, raw file anatomy, decoders."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from course_utils import dicom, io
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
    volume = dicom.read_series(series_folder)
    np.testing.assert_array_equal(volume.voxels, np.asarray(oblique_image.dataobj))
    np.testing.assert_allclose(io.LPS_TO_RAS @ volume.affine_lps, oblique_image.affine, atol=1e-4)
    by_name = sorted(series_folder.iterdir())
    assert [str(p) for p in by_name] != list(volume.files)


def test_slice_spacing_comes_from_positions_not_slice_thickness(series_folder, oblique_image):
    for path in series_folder.iterdir():
        edit(path, SliceThickness="1.0")  # wrong on purpose, as in many real files
    volume = dicom.read_series(series_folder)
    np.testing.assert_allclose(np.linalg.norm(volume.affine_lps[:3, 2]), 3.0, atol=1e-5)


def test_a_folder_with_two_series_is_refused_unless_one_is_chosen(series_folder, oblique_image):
    other = series_folder.parent / "other"
    io.write_dicom_series(oblique_image, other, series_description="T2 axial", seed=7)
    for path in other.iterdir():
        shutil.move(path, series_folder / f"other_{path.name}")
    with pytest.raises(SeriesError, match="holds 2 series.*T2 axial, 8 files.*series_uid") as info:
        dicom.read_series(series_folder)
    uid = str(pydicom.dcmread(next(series_folder.glob("other_*"))).SeriesInstanceUID)
    assert uid in str(info.value)
    chosen = dicom.read_series(series_folder, series_uid=uid)
    assert all("other_" in f for f in chosen.files)


def test_a_missing_slice_is_reported_as_a_gap(series_folder):
    volume = dicom.read_series(series_folder)
    (series_folder / volume.files[3].split("/")[-1]).unlink()
    with pytest.raises(SeriesError, match="uneven.*6.000 mm.*3.000 mm apart"):
        dicom.read_series(series_folder)


def test_duplicate_positions_are_refused(series_folder):
    first = sorted(series_folder.iterdir())[0]
    copy = series_folder / "copy_of_first"
    shutil.copy(first, copy)
    edit(copy, SOPInstanceUID=generate_uid())
    with pytest.raises(SeriesError, match="same position"):
        dicom.read_series(series_folder)


def test_a_scout_at_another_orientation_is_refused(series_folder):
    scout = series_folder / "scout"
    shutil.copy(sorted(series_folder.iterdir())[0], scout)
    edit(scout, ImageOrientationPatient=[0, 1, 0, 0, 0, -1], SOPInstanceUID=generate_uid())
    with pytest.raises(SeriesError, match="scout.*oriented differently|oriented differently"):
        dicom.read_series(series_folder)


def test_a_file_without_pixel_data_is_refused(series_folder):
    edit(sorted(series_folder.iterdir())[2], PixelData=None)
    with pytest.raises(SeriesError, match="no pixel data"):
        dicom.read_series(series_folder)


def test_a_non_dicom_file_in_the_folder_is_named(series_folder):
    (series_folder / "notes.txt").write_text("scanned on Tuesday")
    with pytest.raises(CorruptFileError, match="notes.txt.*not a readable DICOM"):
        dicom.read_series(series_folder)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(SeriesError, match="no files"):
        dicom.read_series(tmp_path)


def test_header_table_groups_elements_by_information_model_level():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    table = dicom.header_table(ds)
    assert table.category("patient")["PatientName"] == "CompressedSamples^CT1"
    assert table.category("series")["Modality"] == "CT"
    assert table.category("equipment")["Manufacturer"] == "GE MEDICAL SYSTEMS"
    assert table.category("image")["Rows"] == "128"
    assert "(0010,0010)" in str(table) and "PatientName" in str(table)


def test_file_anatomy_reads_preamble_prefix_and_elements_from_raw_bytes():
    anatomy = dicom.file_anatomy(get_testdata_file("MR_small.dcm"), n_elements=8)
    assert len(anatomy.preamble) == 128 and anatomy.prefix == b"DICM"
    first = anatomy.elements[0]
    assert (first.group, first.element, first.vr, first.offset) == (2, 0, "UL", 132)
    keywords = [e.keyword for e in anatomy.elements]
    assert "TransferSyntaxUID" in keywords
    syntax = next(e for e in anatomy.elements if e.keyword == "TransferSyntaxUID")
    assert syntax.value.rstrip(b"\x00") == b"1.2.840.10008.1.2.1"
    assert "(0002,0010)  UI" in str(anatomy)


def test_file_anatomy_refuses_a_file_without_preamble():
    with pytest.raises(CorruptFileError, match="DICM"):
        dicom.file_anatomy(get_testdata_file("no_meta.dcm"))


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
    ],
)
def test_compressed_and_old_encodings_decode_to_the_same_pixels(name):
    reference = dicom.pixel_values(pydicom.dcmread(get_testdata_file("MR_small.dcm")))
    np.testing.assert_array_equal(
        dicom.pixel_values(pydicom.dcmread(get_testdata_file(name))), reference
    )


def test_rescale_slope_and_intercept_give_physical_values(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "-1024"
    values = dicom.pixel_values(ds)
    np.testing.assert_allclose(values, ds.pixel_array * 0.5 - 1024)
    assert values.dtype == np.float32


def test_a_truncated_file_is_reported_as_damaged():
    ds = pydicom.dcmread(get_testdata_file("MR_truncated.dcm"))
    with pytest.raises(CorruptFileError, match="truncated or damaged"):
        dicom.pixel_values(ds, "MR_truncated.dcm")


def test_a_missing_decoder_names_the_package_to_install():
    script = textwrap.dedent(
        f"""
        import sys
        for name in ("openjpeg", "pylibjpeg", "libjpeg", "gdcm", "PIL"):
            sys.modules[name] = None  # as if the plugin packages were not installed
        from course_utils import io
        from course_utils.errors import MissingDecoderError
        try:
            io.load_volume({get_testdata_file("MR_small_jp2klossless.dcm")!r})
        except MissingDecoderError as error:
            print(error)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "JPEG 2000" in result.stdout and "Fix: pip install pylibjpeg-openjpeg" in result.stdout
