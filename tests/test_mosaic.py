"""Siemens mosaics unpacked from the CSA header, checked against dcm2niix."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from conftest import corners_mm

from course_utils import io, mosaic
from course_utils.errors import UnsupportedFormatError

NICOM_DATA = Path(nib.__file__).parent / "nicom" / "tests" / "data"


@pytest.fixture(scope="module")
def dwi(tmp_path_factory):
    """nibabel's Siemens DWI mosaic (b=0; 48 slices of 128x128 in a 896x896 image)."""
    path = tmp_path_factory.mktemp("mosaic") / "dwi.dcm"
    path.write_bytes(gzip.open(NICOM_DATA / "siemens_dwi_0.dcm.gz").read())
    return path


def test_a_mosaic_is_unpacked_into_its_slices_as_dcm2niix_does(dwi, dcm2niix):
    # Measured before: one 896x896 tiled image.
    image = io.load_volume(dwi)
    assert image.shape == (128, 128, 48)
    (reference,) = dcm2niix(dwi)
    ours, theirs = nib.as_closest_canonical(image), nib.as_closest_canonical(reference)
    assert ours.shape == theirs.shape
    assert np.abs(corners_mm(ours) - corners_mm(theirs)).max() <= 0.05
    np.testing.assert_array_equal(ours.get_fdata(), theirs.get_fdata())


def test_the_first_tile_is_the_top_left_corner_of_the_mosaic(dwi):
    ds = pydicom.dcmread(dwi)
    volume = mosaic.read_mosaic(ds, dwi)
    np.testing.assert_array_equal(volume.voxels[:, :, 0], ds.pixel_array[:128, :128].T)
    np.testing.assert_array_equal(volume.voxels[:, :, 8], ds.pixel_array[128:256, 128:256].T)


def test_a_mosaic_that_is_not_a_whole_grid_of_tiles_is_refused_naming_dcm2niix():
    # nibabel's 0.dcm: 48 slices (7x7 tiles) in 256x256 pixels, a shrunk test copy.
    with pytest.raises(UnsupportedFormatError, match="0.dcm: is a mosaic of 48.*dcm2niix"):
        io.load_volume(NICOM_DATA / "0.dcm")


def test_a_mosaic_without_its_csa_header_is_refused_naming_dcm2niix(dwi, tmp_path):
    ds = pydicom.dcmread(dwi)
    del ds[0x00291010]
    ds.save_as(tmp_path / "no_csa.dcm")
    with pytest.raises(UnsupportedFormatError, match="CSA image header.*is missing.*dcm2niix"):
        io.load_volume(tmp_path / "no_csa.dcm")
