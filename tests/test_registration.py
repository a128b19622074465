"""Registration: metric values on hand-computed cases, gradients, transform conventions,
world-space handling of different grids, the OpenCV feature path, TRE, and the checks of
notebook 05's exercises."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import exercises
from course_utils import registration as reg
from course_utils.errors import CourseDataError, RegistrationInputError
from course_utils.geometry import LPS_TO_RAS

FAST = {"levels": (4, 2), "iterations": (60, 30)}  # a shorter pyramid keeps the tests quick


@pytest.fixture(scope="module")
def t1():
    return reg.mni_image("t1")


@pytest.fixture(scope="module")
def brain_points(t1):
    """World positions (mm) of every tenth brain voxel: the targets of the TRE."""
    ijk = np.argwhere(np.asarray(t1.dataobj) > 0.05)[::10]
    return nib.affines.apply_affine(t1.affine, ijk)


def moved(image, truth, grid=None, order=3):
    """``image``'s anatomy moved by ``truth`` (fixed -> moving) onto ``grid``: resampling pulls,
    so the moving image samples the original at ``inv(truth) @ y``."""
    return reg.resample(image, image if grid is None else grid, np.linalg.inv(truth), order=order)


# --- metrics -----------------------------------------------------------------------------------


def test_mse_of_a_hand_computed_pair():
    assert reg.mse(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 5.0])).item() == (
        pytest.approx(4 / 3)
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1.0, 2, 3], [1.0, 3, 2], 0.5),  # cov 1/3, variances 2/3
        ([[0.0, 1], [2, 3]], [[0.0, 1], [3, 2]], 0.8),  # cov 1, variances 1.25
        ([1.0, 2, 4, 7], [5.0, 8, 14, 23], 1.0),  # b = 3a + 2
        ([1.0, 2, 4], [-1.0, -2, -4], -1.0),
        ([2.0, 2, 2], [1.0, 2, 3], 0.0),  # constant: no correlation, no NaN
    ],
)
def test_ncc_of_hand_computed_pairs(a, b, expected):
    assert reg.ncc(torch.tensor(a), torch.tensor(b)).item() == pytest.approx(expected, abs=1e-6)


def test_local_ncc_is_one_for_the_same_texture_at_any_gain_and_lower_when_shifted():
    from scipy import ndimage

    noise = np.random.default_rng(0).standard_normal((40, 40))
    image = torch.tensor(ndimage.gaussian_filter(noise, 2.0), dtype=torch.float32)[None, None]
    assert reg.local_ncc(image, image, eps=1e-12).item() == pytest.approx(1.0, abs=1e-3)
    assert reg.local_ncc(image, 5 * image, eps=1e-12).item() == pytest.approx(1.0, abs=1e-3)
    shifted = reg.local_ncc(image, torch.roll(image, 3, dims=3)).item()
    assert 0.0 <= shifted < 0.5
    volume = image[..., None].expand(1, 1, 40, 40, 6)  # the 3D path
    assert reg.local_ncc(volume, volume, window=3, eps=1e-12).item() == pytest.approx(
        1.0, abs=1e-3
    )


def test_parzen_weights_of_a_value_on_a_bin_centre_are_the_cubic_b_spline():
    index, weights = reg.parzen_weights(torch.tensor([0.375]), bins=4)  # bin 1's centre
    assert index.tolist() == [[0, 1, 2, 3]]
    assert weights[0].tolist() == pytest.approx([1 / 6, 4 / 6, 1 / 6, 0.0])


def test_joint_histogram_sums_to_one_and_its_rows_are_the_hard_histogram_of_a():
    a, b = torch.rand(500), torch.rand(500)
    histogram = reg.joint_histogram(a, b, bins=8)
    assert histogram.sum().item() == pytest.approx(1.0)
    hard = torch.bincount(reg.hard_bins(a, 8), minlength=8) / 500
    assert torch.allclose(histogram.sum(dim=1), hard)


def test_mutual_information_of_two_equiprobable_states_is_log_2():
    # a and b both take bin 0 or bin 3 of 4 (50/50); b is spread by the B-spline window to
    # columns (5/6, 1/6, 0, 0) and (0, 0, 1/6, 5/6): MI = H(a) = ln 2.
    a = torch.tensor([0.125, 0.875] * 50)
    assert reg.mutual_information(a, a.clone(), bins=4).item() == pytest.approx(math.log(2))


def test_mutual_information_of_independent_images_is_zero():
    a = torch.tensor([0.1, 0.1, 0.9, 0.9] * 25)
    b = torch.tensor([0.1, 0.9, 0.1, 0.9] * 25)
    assert reg.mutual_information(a, b, bins=8).item() == pytest.approx(0.0, abs=1e-6)


def test_mutual_information_does_not_care_how_intensities_map():
    a = torch.rand(2000)
    inverted = 1 - a  # a T2-like inversion: NCC says -1, MI is as high as for a itself
    assert reg.ncc(a, inverted).item() == pytest.approx(-1.0, abs=1e-5)
    same = reg.mutual_information(a, a.clone(), bins=16).item()
    assert reg.mutual_information(a, inverted, bins=16).item() == pytest.approx(same, rel=0.02)


@pytest.mark.parametrize("metric", [reg.mse, reg.ncc, reg.mutual_information])
def test_every_metric_has_a_non_zero_gradient_with_respect_to_the_moving_values(metric):
    fixed = torch.rand(1000, generator=torch.Generator().manual_seed(0))
    moving = (0.8 * fixed + 0.1).clone().requires_grad_()
    metric(fixed, moving).backward()
    assert moving.grad is not None and torch.isfinite(moving.grad).all()
    assert moving.grad.abs().sum().item() > 0


def test_the_gradient_reaches_the_translation_through_grid_sample():
    image = reg.blobs((32, 32))
    t = torch.zeros(2, requires_grad=True)
    theta = torch.cat([torch.eye(2), t[:, None]], dim=1)[None]
    grid = F.affine_grid(theta, (1, 1, 32, 32), align_corners=True)
    warped = F.grid_sample(image[None, None], grid, align_corners=True)[0, 0]
    reg.mse(warped, reg.blobs((32, 32), (2.0, 0.0))).backward()
    assert t.grad[0].item() != 0.0  # the seed's cv2.warpAffine(..., t.item()) gives None


# --- geometry and conventions ------------------------------------------------------------------


def test_world_transform_matrix_rotates_about_its_centre():
    matrix = reg.world_transform_matrix(rotation_deg=(0, 0, 90), centre_mm=(10.0, 0.0, 0.0))
    point = np.array([20.0, 0.0, 0.0, 1.0])  # 10 mm along x from the centre
    assert matrix @ point == pytest.approx([10.0, 10.0, 0.0, 1.0])
    assert matrix @ np.array([10.0, 0, 0, 1]) == pytest.approx([10.0, 0, 0, 1])


def test_world_transform_matrix_scales_before_rotating_and_then_translates():
    matrix = reg.world_transform_matrix(
        rotation_deg=(90, 0, 0), translation_mm=(1, 2, 3), scaling=(1, 2, 1)
    )
    assert matrix @ np.array([0.0, 1, 0, 1]) == pytest.approx([1.0, 2, 5, 1])


def test_random_affine_stays_within_its_limits():
    from scipy.spatial.transform import Rotation

    matrix = reg.random_affine(0, max_rotation_deg=10, max_translation_mm=5, max_scaling=0.0)
    angles = Rotation.from_matrix(matrix[:3, :3]).as_euler("xyz", degrees=True)
    assert np.all(np.abs(angles) <= 10) and np.all(np.abs(matrix[:3, 3]) <= 5)
    assert np.linalg.det(matrix[:3, :3]) == pytest.approx(1.0)  # rigid without scaling


def test_resample_pulls_a_bright_voxel_to_where_the_transform_sends_it():
    values = np.zeros((9, 9, 9), np.float32)
    values[4, 4, 4] = 1.0
    image = nib.Nifti1Image(values, np.diag([2.0, 2.0, 2.0, 1.0]))
    truth = reg.world_transform_matrix(translation_mm=(4.0, -2.0, 0.0))  # +2 voxels in i, -1 in j
    moving = np.asarray(moved(image, truth, order=0).dataobj)
    assert np.argwhere(moving == 1).tolist() == [[6, 3, 4]]


def test_resampling_twice_is_resampling_once_with_the_product():
    # Pull semantics: resample(resample(I, A), B)(x) = I(A B x).
    values = np.random.default_rng(0).random((8, 8, 8)).astype(np.float32)
    image = nib.Nifti1Image(values, np.eye(4))
    a = reg.world_transform_matrix(translation_mm=(1.0, 0.0, -2.0))
    b = reg.world_transform_matrix(rotation_deg=(0, 0, 90), centre_mm=(3.5, 3.5, 3.5))
    twice = reg.resample(reg.resample(image, image, a, order=0), image, b, order=0)
    once = reg.resample(image, image, a @ b, order=0)
    assert np.array_equal(np.asarray(twice.dataobj), np.asarray(once.dataobj))


def test_resample_rejects_a_displacement_on_the_wrong_grid(t1):
    with pytest.raises(ValueError, match="fixed grid"):
        reg.resample(t1, t1, displacement=np.zeros((2, 2, 2, 3)))


def test_centre_of_mass_is_in_world_millimetres():
    values = np.zeros((4, 4, 4))
    values[1, 2, 3] = 1.0
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = (10, 20, 30)
    assert reg.centre_of_mass(nib.Nifti1Image(values, affine)) == pytest.approx([12, 26, 42])


def test_slice_to_world_matrix_turns_a_pixel_shift_into_millimetres():
    affine = np.diag([2.0, 3.0, 1.0, 1.0])
    pixels = np.array([[1.0, 0, 1], [0, 1, 2], [0, 0, 1]])  # +1 column (j), +2 rows (i)
    world = reg.slice_to_world_matrix(pixels, affine)
    assert world[:3, 3] == pytest.approx([4.0, 3.0, 0.0])  # 2 voxels * 2 mm, 1 voxel * 3 mm


def test_jacobian_of_a_linear_field_is_its_stretch_and_negative_when_it_folds():
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    x = nib.affines.apply_affine(affine, np.indices((6, 6, 6)).reshape(3, -1).T)[:, 0]
    field = np.zeros((6, 6, 6, 3))
    field[..., 0] = 0.1 * x.reshape(6, 6, 6)  # u_x = 0.1 x (mm): stretches by 10 %
    assert reg.jacobian_determinant(np.zeros((6, 6, 6, 3)), affine) == pytest.approx(1.0)
    assert reg.jacobian_determinant(field, affine) == pytest.approx(1.1)
    field[..., 0] = -2.0 * x.reshape(6, 6, 6)  # x -> -x: a fold
    assert reg.jacobian_determinant(field, affine) == pytest.approx(-1.0)


def test_checkerboard_rejects_images_of_different_shapes():
    with pytest.raises(ValueError, match="one shape"):
        reg.checkerboard(np.zeros((4, 4)), np.zeros((4, 5)))


def test_metric_values_peak_at_the_true_transform(t1):
    truth = reg.world_transform_matrix(translation_mm=(6.0, 0.0, 0.0))
    moving = moved(t1, truth)
    candidates = [
        truth @ reg.world_transform_matrix(translation_mm=(dx, 0, 0)) for dx in (-4, -2, 0, 2, 4)
    ]
    ncc = reg.metric_values(t1, moving, candidates, metric="ncc")
    mse = reg.metric_values(t1, moving, candidates, metric="mse")
    assert np.argmax(ncc) == 2 and np.argmin(mse) == 2
    assert reg.metric_values(t1, t1, [np.eye(4)], metric="ncc")[0] == pytest.approx(1.0, abs=1e-5)


# --- TRE -----------------------------------------------------------------------------------------


def test_tre_of_a_rotation_about_the_origin_is_the_chord():
    truth = reg.world_transform_matrix(rotation_deg=(0, 0, 90))
    tre = reg.target_registration_error(np.eye(4), truth, [[10.0, 0, 0], [0, 0, 5.0]])
    assert tre == pytest.approx([10 * math.sqrt(2), 0.0])


def test_tre_of_a_perfect_estimate_is_zero():
    truth = reg.random_affine(3, max_scaling=0.1)
    points = np.random.default_rng(0).normal(0, 50, (20, 3))
    assert reg.target_registration_error(truth, truth, points) == pytest.approx(np.zeros(20))


def test_landmark_error_needs_pairs():
    assert reg.landmark_error(np.eye(4), [[1.0, 1, 1]], [[1.0, 4, 5]]) == pytest.approx([5.0])
    with pytest.raises(ValueError, match="pairs"):
        reg.landmark_error(np.eye(4), [[0.0, 0, 0]], [[0.0, 0, 0], [1, 1, 1]])


def test_tre_accepts_a_result_whose_displacement_counts(t1):
    shift = np.zeros((*t1.shape, 3), np.float32)
    shift[..., 2] = 1.5
    result = reg.RegistrationResult(
        matrix=np.eye(4), warped=t1, displacement=shift, fixed_affine=t1.affine
    )
    assert reg.target_registration_error(result, np.eye(4), [[0.0, 0, 0]]) == pytest.approx([1.5])


# --- register ---------------------------------------------------------------------------------


def test_a_known_rigid_transform_is_recovered(t1, brain_points):
    truth = reg.world_transform_matrix((4, -6, 8), (5, -3, 6), centre_mm=reg.centre_of_mass(t1))
    result = reg.register(t1, moved(t1, truth), transform="rigid", metric="ncc", **FAST)
    assert reg.target_registration_error(result.matrix, truth, brain_points).mean() < 0.3
    assert np.linalg.det(result.matrix[:3, :3]) == pytest.approx(1.0, abs=1e-5)


def test_a_known_affine_transform_is_recovered_with_mse(t1, brain_points):
    truth = reg.world_transform_matrix(
        (0, 5, -5), (-4, 6, 2), (1.06, 0.95, 1.02), reg.centre_of_mass(t1)
    )
    result = reg.register(t1, moved(t1, truth), transform="affine", metric="mse", **FAST)
    assert reg.target_registration_error(result.matrix, truth, brain_points).mean() < 0.3


def test_registering_back_gives_the_inverse(t1):
    truth = reg.world_transform_matrix((0, 0, 7), (6, 0, -4), centre_mm=reg.centre_of_mass(t1))
    moving = moved(t1, truth)
    forward = reg.register(t1, moving, transform="rigid", **FAST).matrix
    backward = reg.register(moving, t1, transform="rigid", **FAST).matrix
    points = np.random.default_rng(1).normal(0, 40, (50, 3))
    assert reg.target_registration_error(forward @ backward, np.eye(4), points).max() < 0.5


def test_images_on_different_grids_are_registered_in_world_space(t1, brain_points):
    # The moving image lives on a 3 mm grid with its x axis flipped (LAS) and its own origin.
    affine = np.diag([-3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = (100.0, -120.0, -70.0)
    grid = nib.Nifti1Image(np.zeros((68, 78, 64), np.float32), affine)
    truth = reg.world_transform_matrix((5, 0, -3), (3, 4, -5), centre_mm=reg.centre_of_mass(t1))
    moving = moved(t1, truth, grid=grid)
    result = reg.register(t1, moving, transform="rigid", **FAST)
    assert reg.target_registration_error(result.matrix, truth, brain_points).mean() < 0.5
    assert result.warped.shape == t1.shape and np.allclose(result.warped.affine, t1.affine)


def test_mutual_information_registers_t1_to_t2_where_mse_cannot(t1, brain_points):
    truth = reg.world_transform_matrix((6, 0, 4), (-5, 5, 3), centre_mm=reg.centre_of_mass(t1))
    t2 = moved(reg.mni_image("t2"), truth)
    tre = {
        metric: reg.target_registration_error(
            reg.register(t1, t2, transform="rigid", metric=metric, **FAST).matrix,
            truth,
            brain_points,
        ).mean()
        for metric in ("mi", "mse")
    }
    assert tre["mi"] < 0.5
    assert tre["mse"] > 2 * tre["mi"]


def test_history_records_the_metric_per_level_and_the_result_is_reproducible(t1):
    moving = moved(t1, reg.world_transform_matrix(translation_mm=(4, 0, 0)))
    first = reg.register(t1, moving, levels=(4, 2), iterations=(5, 3), finish="adam")
    again = reg.register(t1, moving, levels=(4, 2), iterations=(5, 3), finish="adam")
    assert [(h.stage, h.shrink, len(h.metric)) for h in first.history] == [
        ("rigid", 4, 5),
        ("rigid", 2, 3),
    ]
    assert np.array_equal(first.matrix, again.matrix)
    assert torch.get_num_threads() >= 1  # restored after the run


def test_progress_and_callback_see_every_iteration(t1):
    seen = []
    reg.register(
        t1, t1, levels=(4,), iterations=4, finish="adam", callback=lambda *a: seen.append(a[:2])
    )
    assert seen == [("rigid", 4)] * 4


def test_deformable_registration_improves_tissue_overlap_without_folding(t1):
    labels = reg.mni_tissue_labels()
    field = reg.smooth_displacement(t1, amplitude_mm=2.5, scale_mm=30.0, seed=0)
    moving = reg.resample(t1, t1, displacement=field, order=3)
    moving_labels = reg.resample(labels, t1, displacement=field, order=0)

    def dice(result):
        warped = reg.resample(
            moving_labels, t1, result.matrix, displacement=result.displacement, order=0
        )
        a, b = np.asarray(labels.dataobj), np.asarray(warped.dataobj)
        overlaps = [
            2 * np.sum((a == k) & (b == k)) / (np.sum(a == k) + np.sum(b == k)) for k in (1, 2, 3)
        ]
        return np.mean(overlaps)

    affine = reg.register(t1, moving, transform="affine", **FAST)
    deformable = reg.register(t1, moving, transform="deformable", **FAST)
    assert deformable.displacement.shape == (*t1.shape, 3)
    assert dice(deformable) > dice(affine) + 0.1
    assert reg.jacobian_determinant(deformable.displacement, t1.affine).min() > 0
    stages = [h.stage for h in deformable.history]
    assert stages == ["affine", "affine", "deformable", "deformable"]


@pytest.mark.parametrize("init", ["com", "moments", "geometry", "none"])
def test_the_initialisation_is_the_starting_matrix(t1, init):
    truth = reg.world_transform_matrix(translation_mm=(6.0, -4.0, 2.0))
    moving = moved(t1, truth)
    start = reg.register(t1, moving, levels=(4,), iterations=0, init=init).matrix
    error = reg.target_registration_error(start, truth, [reg.centre_of_mass(t1)])[0]
    # centres of mass (and moments) find the shift; a grid centre or nothing leaves it whole
    assert (
        error == pytest.approx(np.linalg.norm(truth[:3, 3]), abs=0.01)
        if init in ("geometry", "none")
        else error < 0.5
    )


def test_a_2d_image_is_refused_with_a_course_error(t1):
    flat = nib.Nifti1Image(np.ones((10, 10), np.float32), np.eye(4))
    with pytest.raises(RegistrationInputError, match="3D volume") as raised:
        reg.register(flat, t1)
    assert isinstance(raised.value, CourseDataError)


def test_an_empty_image_and_an_image_without_affine_are_refused(t1):
    empty = nib.Nifti1Image(np.zeros(t1.shape, np.float32), t1.affine)
    with pytest.raises(RegistrationInputError, match="empty"):
        reg.register(t1, empty)
    no_affine = nib.Nifti1Image(np.ones((4, 4, 4), np.float32), None)
    with pytest.raises(RegistrationInputError, match="affine"):
        reg.register(no_affine, t1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"transform": "spline"}, "transform="),
        ({"metric": "dice"}, "metric="),
        ({"levels": (4, 0)}, "levels="),
        ({"levels": (4, 2), "iterations": (10,)}, "one count >= 0 per level"),
        ({"levels": (4, 2), "iterations": (10, -1)}, "one count >= 0 per level"),
        ({"init": "magic"}, "init="),
        ({"fixed_mask": np.ones((3, 3, 3), bool)}, "fixed_mask"),
    ],
)
def test_bad_arguments_raise_value_errors(t1, options, message):
    with pytest.raises(ValueError, match=message):
        reg.register(t1, t1, **options)


def test_settings_fill_in_one_iteration_count_per_level():
    settings = reg.RegistrationSettings(levels=(4, 3, 2, 1))
    assert settings.iterations == (100, 60, 60, 20)  # 60 for a shrink without its own default
    assert reg.RegistrationSettings(levels=[2, 1], iterations=7).iterations == (7, 7)
    assert reg.RegistrationSettings(levels=(4.0, 1)).levels == (4, 1)


def test_settings_count_the_deformable_stage_only_when_there_is_one():
    rigid = reg.RegistrationSettings(deformable_levels=(8,), deformable_iterations=5)
    assert rigid.shrinks == {4, 2, 1} and rigid.total_iterations == 180
    assert rigid.linear_kind == "rigid"
    deformable = reg.RegistrationSettings(
        transform="deformable", deformable_levels=(8,), deformable_iterations=5
    )
    assert deformable.shrinks == {8, 4, 2, 1} and deformable.total_iterations == 185
    assert deformable.linear_kind == "affine"  # a deformable registration starts affine
    assert deformable.deformable_iterations == (5,)


def test_settings_use_histogram_bins_for_mutual_information_only():
    assert reg.RegistrationSettings(metric="mi", bins=16).histogram_bins == 16
    assert reg.RegistrationSettings(metric="ncc", bins=16).histogram_bins == 0


def test_bad_deformable_levels_are_refused_when_the_registration_is_deformable():
    with pytest.raises(ValueError, match="levels="):
        reg.RegistrationSettings(transform="deformable", deformable_levels=())
    reg.RegistrationSettings(transform="affine", deformable_levels=())  # unused: no error


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        reg.RegistrationSettings().metric = "mi"


# --- feature-based 2D registration -----------------------------------------------------------


@pytest.fixture(scope="module")
def slice_pair(t1):
    """An axial slice and the same slice after a known in-plane rotation and shift."""
    truth = reg.world_transform_matrix((0, 0, 12), (6, -8, 0), centre_mm=reg.centre_of_mass(t1))
    moving = moved(t1, truth)
    k = 47
    return np.asarray(t1.dataobj)[:, :, k], np.asarray(moving.dataobj)[:, :, k], truth, k


@pytest.mark.parametrize(("method", "limit_mm"), [("orb", 0.5), ("sift", 0.3)])
def test_features_recover_an_in_plane_transform(t1, slice_pair, method, limit_mm):
    fixed, moving, truth, k = slice_pair
    match = reg.match_features(fixed, moving, method=method)
    assert match.inliers.sum() >= 20 and match.keypoints[0] > 50
    ij = np.argwhere(fixed > 0.05)
    points = nib.affines.apply_affine(t1.affine, np.c_[ij, np.full(len(ij), k)])
    world = reg.slice_to_world_matrix(match.matrix, t1.affine)
    assert reg.target_registration_error(world, truth, points).mean() < limit_mm


def test_drawn_matches_show_both_slices_side_by_side(slice_pair):
    fixed, moving = slice_pair[:2]
    match = reg.match_features(fixed, moving)
    canvas = reg.draw_matches(match, fixed, moving)
    assert canvas.shape == (4 * fixed.shape[0], 8 * fixed.shape[1] + 16, 3)
    nothing = reg.FeatureMatch(None, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, bool), (0, 0))
    plain = reg.draw_matches(nothing, fixed, moving)
    assert (plain[:, 4 * fixed.shape[1] : 4 * fixed.shape[1] + 16] == 255).all()  # the gap

    def green(image):  # RANSAC inliers are drawn in green
        return int(np.sum((image[..., 1] > 150) & (image[..., 0] < 100) & (image[..., 2] < 100)))

    assert green(plain) == 0 and green(canvas) > 1000
    assert canvas.dtype == np.uint8


def test_a_transposed_view_is_matched_like_a_copy(slice_pair):
    fixed, moving = slice_pair[:2]
    upright = [image.T[::-1] for image in (fixed, moving)]  # views, not C-contiguous
    copies = [np.ascontiguousarray(image) for image in upright]
    assert np.array_equal(reg.match_features(*upright).matrix, reg.match_features(*copies).matrix)


def test_a_featureless_slice_gives_no_matrix():
    flat = np.zeros((60, 60), np.float32)
    match = reg.match_features(flat, flat)
    assert match.matrix is None and len(match.inliers) == 0
    with pytest.raises(ValueError, match="2D slice"):
        reg.match_features(np.zeros((4, 4, 4)), flat)


# --- SimpleITK --------------------------------------------------------------------------------


def test_simpleitk_images_sit_where_nibabel_puts_them(t1):
    image = reg.to_simpleitk(t1)
    point = np.array([10.0, 20.0, 5.0])  # RAS mm
    index = image.TransformPhysicalPointToContinuousIndex((LPS_TO_RAS[:3, :3] @ point).tolist())
    assert index == pytest.approx(nib.affines.apply_affine(np.linalg.inv(t1.affine), point))


def test_a_simpleitk_transform_becomes_the_same_ras_matrix():
    import SimpleITK as sitk

    ras = reg.world_transform_matrix(
        (3, -4, 10), (5, 6, -7), (1.1, 1, 0.9), centre_mm=(10, -20, 30)
    )
    lps = LPS_TO_RAS @ ras @ LPS_TO_RAS
    transform = sitk.AffineTransform(3)
    transform.SetCenter((1.0, 2.0, 3.0))
    transform.SetMatrix(lps[:3, :3].ravel().tolist())
    centre = np.array([1.0, 2.0, 3.0])
    transform.SetTranslation((lps[:3, 3] - centre + lps[:3, :3] @ centre).tolist())
    assert reg.simpleitk_matrix(transform) == pytest.approx(ras)


def test_simpleitk_recovers_the_same_transform_reproducibly(t1, brain_points):
    truth = reg.world_transform_matrix((5, 0, 0), (0, 4, -3), centre_mm=reg.centre_of_mass(t1))
    moving = moved(t1, truth)
    result = reg.register_simpleitk(t1, moving, transform="rigid", levels=(4, 2))
    again = reg.register_simpleitk(t1, moving, transform="rigid", levels=(4, 2))
    assert reg.target_registration_error(result.matrix, truth, brain_points).mean() < 0.5
    assert result.history and all(h.metric for h in result.history)
    assert np.array_equal(result.matrix, again.matrix)  # seeded sampling


def test_simpleitk_refuses_the_clock_seed(t1):
    with pytest.raises(ValueError, match="clock"):
        reg.register_simpleitk(t1, t1, seed=0)


# --- test data -------------------------------------------------------------------------------


def test_the_t2_like_contrast_inverts_tissue_order(t1):
    labels = np.asarray(reg.mni_tissue_labels().dataobj)
    t2 = np.asarray(reg.mni_image("t2").dataobj)
    t1_values = np.asarray(t1.dataobj)
    csf, wm = labels == 1, labels == 3
    assert t1_values[wm].mean() > t1_values[csf].mean()
    assert t2[csf].mean() > t2[wm].mean()
    assert np.all(t2[t1_values == 0] == 0)  # skull-stripped like the T1


def test_smooth_displacement_is_seeded_and_of_the_requested_size(t1):
    field = reg.smooth_displacement(t1, amplitude_mm=3.0, seed=4)
    assert field.shape == (*t1.shape, 3) and field.dtype == np.float32
    assert field.std(axis=(0, 1, 2)) == pytest.approx([3.0] * 3, rel=1e-3)
    assert np.array_equal(field, reg.smooth_displacement(t1, amplitude_mm=3.0, seed=4))


def lag_correlation(values: np.ndarray, axis: int, lag: int) -> float:
    n = values.shape[axis]
    ahead, behind = (
        np.take(values, range(lag, n), axis=axis),
        np.take(values, range(n - lag), axis=axis),
    )
    return float(np.corrcoef(ahead.ravel(), behind.ravel())[0, 1])


def test_smooth_displacement_is_smooth_over_the_same_millimetres_along_anisotropic_axes():
    # 1 x 1 x 4 mm voxels: 16 mm is 16 voxels along x and y but 4 along z. Measured with only
    # the first column's 1 mm, z would be smooth over 4 x the millimetres asked for (its
    # correlation at 16 mm was 0.99 against 0.60 and 0.54 along x and y).
    image = nib.Nifti1Image(np.zeros((96, 96, 24), np.float32), np.diag([1.0, 1.0, 4.0, 1.0]))
    field = reg.smooth_displacement(image, amplitude_mm=3.0, scale_mm=24.0, seed=2)[..., 0]
    along = [lag_correlation(field, axis, lag) for axis, lag in ((0, 16), (1, 16), (2, 4))]
    assert along[2] == pytest.approx(along[0], abs=0.15)
    assert along[2] == pytest.approx(along[1], abs=0.15)


# --- the exercises' checks ----------------------------------------------------------------------


def ncc_solution(a, b, eps=1e-8):
    a, b = a - a.mean(), b - b.mean()
    return (a * b).mean() / ((a**2).mean().sqrt() * (b**2).mean().sqrt() + eps)


def translation_solution(fixed, moving, iterations=200, learning_rate=0.1):
    height, width = fixed.shape
    t = torch.zeros(2, requires_grad=True)
    to_normalised = torch.tensor([2 / (width - 1), 2 / (height - 1)])
    optimiser = torch.optim.Adam([t], lr=learning_rate)
    for _ in range(iterations):
        theta = torch.cat([torch.eye(2), (t * to_normalised)[:, None]], dim=1)[None]
        grid = F.affine_grid(theta, (1, 1, height, width), align_corners=True)
        warped = F.grid_sample(moving[None, None], grid, align_corners=True)[0, 0]
        loss = ((warped - fixed) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return t.detach()


def test_check_ncc_ticks_a_right_answer(capsys):
    exercises.check_ncc(ncc_solution)
    assert capsys.readouterr().out == "✔ ncc: all 6 cases passed\n"


def test_check_ncc_catches_the_n_minus_1_std_and_a_broken_gradient(capsys):
    def sample_std(a, b):
        return ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())

    exercises.check_ncc(sample_std)
    out = capsys.readouterr().out
    assert "✘ ncc:" in out and "expected 0.5, got 0.3333" in out and "correction=0" in out

    exercises.check_ncc(lambda a, b: torch.tensor(ncc_solution(a, b).item()))
    out = capsys.readouterr().out
    assert "✘ ncc: 1 of 6 cases failed" in out and "the gradient reaches b: raised" in out


def test_check_translation_registration_ticks_a_right_answer(capsys):
    exercises.check_translation_registration(translation_solution)
    assert capsys.readouterr().out == "✔ register_translation: all 3 cases passed\n"


def test_check_translation_registration_catches_the_inverted_direction(capsys):
    exercises.check_translation_registration(lambda f, m: translation_solution(m, f))
    out = capsys.readouterr().out
    assert "✘ register_translation: 2 of 3 cases failed" in out
    assert "expected [3, -2], got [-3" in out


# --- test pairs with a known relation, analytic images, folding, SimpleITK's B-spline ---


def test_the_flair_like_template_is_not_a_monotonic_function_of_t1(t1):
    flair = np.asarray(reg.mni_image("flair").dataobj)
    labels = np.asarray(reg.mni_tissue_labels().dataobj)
    t1_values = np.asarray(t1.dataobj)
    means = {
        name: (t1_values[labels == k].mean(), flair[labels == k].mean())
        for k, name in [(1, "csf"), (2, "grey"), (3, "white")]
    }
    # T1 orders CSF < grey < white; FLAIR puts grey above white: no monotonic map between them.
    assert means["csf"][0] < means["grey"][0] < means["white"][0]
    assert means["csf"][1] < means["white"][1] < means["grey"][1]


def test_ncc_is_low_but_mutual_information_high_for_the_flair_like_pair(t1):
    from scipy import ndimage

    inner = ndimage.binary_erosion(np.asarray(t1.dataobj) > 0.05, iterations=3)
    a = torch.from_numpy(np.asarray(t1.dataobj)[inner])
    b = torch.from_numpy(np.asarray(reg.mni_image("flair").dataobj)[inner])
    b = b / b.max()
    assert abs(reg.ncc(a, b).item()) < 0.4  # measured +0.26
    assert reg.mutual_information(a, b).item() > 0.8  # measured 0.94 nats
    shuffled = b[torch.randperm(len(b), generator=torch.Generator().manual_seed(0))]
    assert reg.mutual_information(a, shuffled).item() < 0.1  # no alignment, no information


def test_an_unknown_contrast_is_refused():
    with pytest.raises(ValueError, match="flair"):
        reg.mni_image("pd")


def test_shifted_blobs_are_exact_copies_moved_by_whole_pixels():
    image, moved_right = reg.blobs((48, 48)).numpy(), reg.blobs((48, 48), shift=(3, 0)).numpy()
    assert np.allclose(moved_right[:, 3:], image[:, :-3], atol=1e-6)


def test_blobs_and_rotate_slice_turn_the_same_way():
    image = reg.blobs((48, 48)).numpy()
    turned = reg.blobs((48, 48), rotation_deg=90).numpy()
    assert np.allclose(turned, np.rot90(image, -1), atol=1e-6)
    # Pixel centres land on pixel centres at 90 degrees, so even nearest is exact.
    assert np.allclose(reg.rotate_slice(image, 90, order=0), turned, atol=1e-6)


def test_interpolation_error_ranks_cubic_then_linear_then_nearest_against_the_exact_image():
    once = {order: reg.interpolation_error(order, rotation_deg=10).mean() for order in (0, 1, 3)}
    assert once[3] < once[1] / 5 and once[1] < once[0] / 5  # measured 0.00002, 0.0009, 0.010
    assert all(reg.interpolation_error(order, rotation_deg=0).max() < 1e-6 for order in (0, 1, 3))


def test_round_trips_hide_nearest_jumps_in_the_mean_but_not_in_the_maximum():
    trips = {order: reg.interpolation_error(order, round_trips=6) for order in (0, 1, 3)}
    assert trips[0].mean() < trips[1].mean()  # most nearest pixels come back exactly ...
    assert trips[0].max() > 2 * trips[1].max() > 2 * trips[3].max()  # ... the rest jump
    assert trips[1].mean() > 3 * reg.interpolation_error(1, round_trips=1).mean()  # blur adds up


@pytest.mark.parametrize(
    "arguments",
    [{"order": 2}, {"order": 1, "round_trips": -1}],
)
def test_interpolation_error_refuses_orders_and_counts_it_does_not_have(arguments):
    with pytest.raises(ValueError):
        reg.interpolation_error(**arguments)


def test_folding_is_read_from_the_jacobian(t1):
    smooth = reg.smooth_displacement(t1, amplitude_mm=2.0, scale_mm=30.0, seed=0)
    assert reg.folding(reg.jacobian_determinant(smooth, t1.affine)) == (
        "det J > 0 everywhere: no folding"
    )
    x = np.arange(10.0)[:, None, None] * np.ones((10, 4, 4))
    folded = np.zeros((10, 4, 4, 3))
    folded[:5, ..., 0] = -2 * x[:5]  # u_x = -2 x in one half: det J = 1 - 2 = -1 there
    jacobian = reg.jacobian_determinant(folded, np.eye(4))
    message = reg.folding(jacobian)
    count = int(np.count_nonzero(jacobian <= 0))
    assert count > 0 and message.startswith(f"det J <= 0 in {count} voxels (")
    with pytest.raises(ValueError, match="finite"):
        reg.folding(np.array([1.0, np.nan]))


@pytest.fixture(scope="module")
def coarse_warped_pair():
    """The 4 mm template and a smoothly warped copy of it (a known deformable problem)."""
    fixed = reg.mni_image("t1", spacing_mm=4.0)
    field = reg.smooth_displacement(fixed, amplitude_mm=4.0, scale_mm=40.0, seed=3)
    moving = reg.resample(fixed, fixed, np.eye(4), displacement=field, order=3)
    identity = reg.RegistrationResult(matrix=np.eye(4), warped=moving)
    return fixed, moving, identity


def test_simpleitk_bspline_brings_a_warped_copy_closer_and_repeats_exactly(coarse_warped_pair):
    fixed, moving, identity = coarse_warped_pair
    options = {"grid_mm": 40, "iterations": 15, "shrink": 1, "sampling": 0.3}
    first = reg.register_simpleitk_bspline(fixed, moving, identity, **options)
    second = reg.register_simpleitk_bspline(fixed, moving, identity, **options)
    assert first.displacement.shape == (*fixed.shape, 3)
    assert np.array_equal(first.displacement, second.displacement)  # one thread: same sums

    def error(image):
        return np.abs(np.asarray(image.dataobj) - np.asarray(fixed.dataobj)).mean()

    assert error(first.warped) < 0.8 * error(moving)
    assert reg.folding(reg.jacobian_determinant(first.displacement, fixed.affine)).startswith(
        "det J > 0"
    )


@pytest.mark.parametrize("arguments", [{"grid_mm": 0}, {"iterations": 0}, {"seed": 0}])
def test_simpleitk_bspline_refuses_settings_that_cannot_work(coarse_warped_pair, arguments):
    fixed, moving, identity = coarse_warped_pair
    with pytest.raises(ValueError):
        reg.register_simpleitk_bspline(fixed, moving, identity, **arguments)
