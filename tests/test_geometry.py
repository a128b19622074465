"""Geometry conventions: LPS <-> RAS, voxel sizes from every affine column, voxel <-> world."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from course_utils import synth
from course_utils.geometry import (
    LPS_TO_RAS,
    canonical,
    voxel_sizes,
    voxel_to_world,
    world_to_voxel,
)

NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


def rotation_z(degrees: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_lps_to_ras_flips_x_and_y_and_is_its_own_inverse():
    left_posterior_superior = np.array([10.0, 20.0, 30.0])  # 10 mm left, 20 mm posterior
    assert (LPS_TO_RAS[:3, :3] @ left_posterior_superior).tolist() == [-10.0, -20.0, 30.0]
    np.testing.assert_array_equal(LPS_TO_RAS @ LPS_TO_RAS, np.eye(4))


def test_an_lps_affine_becomes_the_ras_affine_of_the_same_points():
    affine_lps = np.array([[-1.0, 0, 0, 120], [0, -1.0, 0, 130], [0, 0, 3.0, -40], [0, 0, 0, 1]])
    affine_ras = LPS_TO_RAS @ affine_lps
    voxel = [4, 5, 6]
    lps = voxel_to_world(affine_lps, voxel)  # (116, 125, -22) mm, L P S
    assert lps.tolist() == [116.0, 125.0, -22.0]
    assert voxel_to_world(affine_ras, voxel).tolist() == [-116.0, -125.0, -22.0]


def test_lps_to_ras_cannot_be_changed_in_place():
    with pytest.raises(ValueError, match="read-only"):
        LPS_TO_RAS[0, 0] = 1.0


@pytest.mark.parametrize(
    ("linear", "expected"),
    [
        (np.diag([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0]),
        (np.diag([-0.9, 0.9, 3.0]), [0.9, 0.9, 3.0]),  # a flip is not a smaller voxel
        (rotation_z(30) @ np.diag([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0]),  # oblique, anisotropic
        (np.array([[0.0, 0.0, 1.2], [0.0, -1.0, 0.0], [5.0, 0.0, 0.0]]), [5.0, 1.0, 1.2]),
    ],
)
def test_voxel_sizes_are_the_lengths_of_every_affine_column(linear, expected):
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = (-90.0, 12.0, 7.5)  # the translation never matters
    np.testing.assert_allclose(voxel_sizes(affine), expected, rtol=1e-12)


def test_the_first_column_alone_would_get_anisotropic_voxels_wrong():
    affine = np.diag([1.0, 2.0, 3.0, 1.0])
    first_column_only = np.linalg.norm(affine[:3, 0])
    assert first_column_only == 1.0
    assert voxel_sizes(affine).tolist() == [1.0, 2.0, 3.0]


def test_voxel_sizes_work_for_2d_affines_and_integer_input():
    assert voxel_sizes([[0, 3, 0], [4, 0, 0], [0, 0, 1]]).tolist() == [4.0, 3.0]
    assert voxel_sizes(np.eye(4, dtype=int)).dtype == np.float64


def test_voxel_sizes_refuse_a_matrix_that_is_not_an_affine():
    with pytest.raises(ValueError, match="square"):
        voxel_sizes(np.ones((3, 4)))


@pytest.mark.parametrize("name", ["example4d.nii.gz", "anatomical.nii", "example_nifti2.nii.gz"])
def test_voxel_sizes_agree_with_nibabel_test_files(name):
    image = nib.load(NIBABEL_DATA / name)
    np.testing.assert_allclose(voxel_sizes(image.affine), image.header.get_zooms()[:3], rtol=1e-5)


def test_the_synthbrats_template_grid_is_isotropic_at_every_spacing():
    for spacing in (2.0, 3.0):
        template = synth.load_template(spacing)
        np.testing.assert_array_equal(voxel_sizes(template.affine), [spacing] * 3)
        assert template.spacing_mm == spacing


def test_voxel_to_world_and_back_by_hand():
    affine = np.array([[2.0, 0, 0, -90], [0, 3.0, 0, -126], [0, 0, 4.0, -72], [0, 0, 0, 1]])
    # voxel (1, 2, 3) -> (-90 + 2, -126 + 6, -72 + 12)
    assert voxel_to_world(affine, [1, 2, 3]).tolist() == [-88.0, -120.0, -60.0]
    assert world_to_voxel(affine, [-88.0, -120.0, -60.0]).tolist() == [1.0, 2.0, 3.0]
    # halfway between voxel centres is a fractional index, not rounded
    assert world_to_voxel(affine, [-89.0, -126.0, -72.0]).tolist() == [0.5, 0.0, 0.0]


def test_many_points_round_trip_through_an_oblique_affine():
    affine = np.eye(4)
    affine[:3, :3] = rotation_z(17) @ np.diag([0.8, 1.1, 2.5])
    affine[:3, 3] = (10.0, -20.0, 30.0)
    ijk = np.random.default_rng(0).uniform(0, 50, size=(7, 5, 3))
    world = voxel_to_world(affine, ijk)
    assert world.shape == (7, 5, 3)
    np.testing.assert_allclose(world_to_voxel(affine, world), ijk, atol=1e-10)
    homogeneous = np.c_[ijk.reshape(-1, 3), np.ones(35)]
    np.testing.assert_allclose(world.reshape(-1, 3), (affine @ homogeneous.T).T[:, :3])


def test_canonical_puts_the_voxels_in_ras_order_at_the_same_places():
    # stored as DICOM scanners write axial slices: i runs Left, j Posterior (LPS voxel order)
    values = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    affine = np.array([[-2.0, 0, 0, 10], [0, -2.0, 0, 20], [0, 0, 3.0, -5], [0, 0, 0, 1]])
    image = canonical(nib.Nifti1Image(values, affine))
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    # the voxel at the right-anterior-superior corner is the one stored at i = j = 0, k = 3
    assert image.get_fdata()[-1, -1, -1] == values[0, 0, -1]
    np.testing.assert_allclose(voxel_to_world(image.affine, [1, 2, 3]), [10.0, 20.0, 4.0])
    ras = nib.Nifti1Image(values, np.diag([2.0, 2.0, 3.0, 1.0]))
    assert canonical(ras) is ras
