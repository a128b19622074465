"""DICOM headers by category, raw file anatomy, pixel values and decoders."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from course_utils import dicom
from course_utils.errors import CorruptFileError


def test_header_table_groups_elements_by_information_model_level():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    table = dicom.header_table(ds)
    assert table.category("patient")["PatientName"] == "CompressedSamples^CT1"
    # age and weight change between visits: the Patient Study module (PS3.3 C.7.2.2)
    assert "PatientAge" in table.category("study")
    assert "PatientAge" not in table.category("patient")
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
