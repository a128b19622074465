"""Separate series with a known answer: voxel sizes, moves and the labels that go with them."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from course_utils import acquisition, brats, io
from course_utils.geometry import voxel_sizes
from course_utils.registration import resample


@pytest.fixture(scope="module")
def images():
    """Four contrasts on one 2 mm grid: an off-centre ellipsoid with an intensity gradient."""
    x, y, z = np.meshgrid(*[np.arange(40.0)] * 3, indexing="ij")
    inside = ((x - 18) / 14) ** 2 + ((y - 21) / 11) ** 2 + ((z - 20) / 9) ** 2 < 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (-40, -40, -40)
    made = {}
    for i, m in enumerate(brats.MODALITIES):
        values = np.where(inside, 200 + 10 * x + (i + 1) * 5 * y, 0.0).astype(np.int16)
        made[m] = nib.Nifti1Image(values, affine)
    made["seg"] = nib.Nifti1Image(inside.astype(np.uint8) * 2, affine)
    return made


@pytest.fixture(scope="module")
def written(images, tmp_path_factory):
    contrasts = {m: images[m] for m in brats.MODALITIES}
    return acquisition.write_separate_series(contrasts, tmp_path_factory.mktemp("series"))


def test_each_series_has_its_own_voxel_size_over_the_same_field_of_view(images, written):
    for modality, folder in written.folders.items():
        loaded = io.load_volume(folder)
        spacing = acquisition.SERIES_SPACING_MM[modality]
        assert np.allclose(voxel_sizes(loaded.affine), spacing, atol=1e-4)
        extent = np.array(loaded.shape) * spacing
        assert np.all(np.abs(extent - 80.0) <= np.array(spacing) / 2 + 1e-6)


def test_the_known_move_brings_each_series_back_onto_the_anatomy(images, written):
    from scipy import ndimage

    inside = ndimage.binary_erosion(np.asarray(images["seg"].dataobj) > 0, iterations=3)
    for modality, folder in written.folders.items():
        loaded = io.load_volume(folder)
        original = np.asarray(images[modality].dataobj, float)
        undone = resample(loaded, images[modality], written.moves[modality]).get_fdata()
        ignored = resample(loaded, images[modality]).get_fdata()  # the move left in
        error = np.abs(undone - original)[inside].mean()
        assert error < 0.3 * np.abs(ignored - original)[inside].mean(), modality


def test_the_true_matrix_of_the_reference_is_the_identity_and_the_labels_follow_it(
    images, written
):
    assert np.allclose(acquisition.true_matrix(written, "t1ce"), np.eye(4))
    move = acquisition.true_matrix(written, "flair")
    assert not np.allclose(move, np.eye(4)) and np.allclose(
        move[:3, :3] @ move[:3, :3].T, np.eye(3)
    )  # rigid
    t1ce = io.load_volume(written.folders["t1ce"])
    seen = acquisition.labels_as_seen(images["seg"], t1ce, written)
    assert seen.shape == t1ce.shape and set(np.unique(np.asarray(seen.dataobj))) == {0, 2}
    corners = acquisition.brain_corners(images["seg"], written)
    assert corners.shape == (8, 3)
