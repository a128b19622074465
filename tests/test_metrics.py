"""Metrics: overlap counts, HD95 in millimetres on known geometry, BraTS empty-mask conventions,
per-region scores and the tracker."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.metrics import (
    EMPTY_HD95_MM,
    REGIONS,
    MetricTracker,
    dice_score,
    hausdorff95,
    region_metrics,
    sensitivity,
    specificity,
    surface_distances,
)

# 10 voxels: TP 3, FN 1, FP 2, TN 4
PRED = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0], dtype=bool)
TRUTH = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)


def cube_pair(axis: int, offset: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Two 6-voxel cubes in a 14^3 grid, the second shifted by ``offset`` voxels on ``axis``."""
    a = np.zeros((14, 14, 14), bool)
    a[2:8, 2:8, 2:8] = True
    return a, np.roll(a, offset, axis=axis)


def ball(radius_mm: float, spacing_mm: tuple[float, ...], extent_mm: float = 36.0) -> np.ndarray:
    """A centred ball of ``radius_mm`` in a grid ``extent_mm`` wide of ``spacing_mm`` voxels."""
    axes = [(np.arange(int(extent_mm / s)) - int(extent_mm / s) // 2) * s for s in spacing_mm]
    grids = np.meshgrid(*axes, indexing="ij")
    return sum(g**2 for g in grids) <= radius_mm**2


def test_dice_of_perfect_overlap_is_one():
    assert dice_score(TRUTH, TRUTH) == 1.0


def test_dice_of_a_known_partial_overlap():
    assert dice_score(PRED, TRUTH) == pytest.approx(2 * 3 / (5 + 4))


def test_dice_of_disjoint_masks_is_zero():
    assert dice_score(PRED & ~TRUTH, TRUTH) == 0.0


def test_sensitivity_and_specificity_count_the_confusion_matrix():
    assert sensitivity(PRED, TRUTH) == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert specificity(PRED, TRUTH) == pytest.approx(4 / 6)  # TN / (TN + FP)


def test_torch_tensors_and_zero_one_numbers_are_accepted():
    pred, truth = torch.from_numpy(PRED).float(), torch.from_numpy(TRUTH).long()
    assert dice_score(pred, truth) == pytest.approx(2 * 3 / 9)


@pytest.mark.parametrize("function", [dice_score, sensitivity, specificity, hausdorff95])
def test_probability_maps_are_refused(function):
    with pytest.raises(ValueError, match="Threshold probabilities first"):
        function(np.full(4, 0.7), np.ones(4))


def test_masks_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match=r"differ in shape: \(4,\) and \(5,\)"):
        dice_score(np.ones(4), np.ones(5))


@pytest.mark.parametrize(
    ("pred_empty", "truth_empty", "dice", "hd95", "sens", "spec"),
    [
        # BraTS 2023 (rachitsaluja/BraTS-2023-Metrics metrics.py) and CaPTk: both empty is a
        # perfect answer; exactly one empty scores Dice 0, HD95 374 mm and sensitivity 0.
        # Specificity is as usual: with an empty truth all 64 voxels are background and the
        # 8 predicted ones are false positives, TN / (TN + FP) = 56 / 64.
        (True, True, 1.0, 0.0, 1.0, 1.0),
        (False, True, 0.0, EMPTY_HD95_MM, 0.0, 56 / 64),
        (True, False, 0.0, EMPTY_HD95_MM, 0.0, 1.0),
    ],
)
def test_empty_masks_follow_the_brats_conventions(pred_empty, truth_empty, dice, hd95, sens, spec):
    full = np.zeros((4, 4, 4), bool)
    full[1:3, 1:3, 1:3] = True
    pred = np.zeros_like(full) if pred_empty else full
    truth = np.zeros_like(full) if truth_empty else full
    assert dice_score(pred, truth) == dice
    assert hausdorff95(pred, truth, (1.0, 1.0, 2.5)) == hd95
    assert sensitivity(pred, truth) == sens
    assert specificity(pred, truth) == pytest.approx(spec)


def test_sensitivity_of_an_invented_region_is_zero_not_one():
    # no tumour in the truth, one voxel predicted: TP / (TP + FN + tiny) = 0 / tiny = 0 in the
    # BraTS 2023 code; the old course convention (1: "nothing was missed") hid the mistake
    assert sensitivity(np.array([0, 1, 0]), np.zeros(3)) == 0.0


def test_the_empty_hd95_is_the_brats_2023_penalty():
    # 374: the diagonal of the 240 x 240 x 155 BraTS grid (373.13 mm at 1 mm), rounded up
    assert EMPTY_HD95_MM == 374.0 == np.ceil(np.sqrt(240**2 + 240**2 + 155**2))


def test_the_empty_hd95_can_be_nan():
    assert np.isnan(hausdorff95(np.ones(4), np.zeros(4), empty_value=float("nan")))


def test_specificity_with_no_background_is_zero():
    # TN / (TN + FP) = 0 / 0; BraTS 2023 (TN / (TN + FP + tiny)) and MedPy return 0
    assert specificity(np.ones(4), np.ones(4)) == 0.0


def test_hd95_of_identical_masks_is_zero():
    a, _ = cube_pair(0)
    assert hausdorff95(a, a, (1.0, 1.0, 2.5)) == 0.0


@pytest.mark.parametrize(("axis", "expected_mm"), [(2, 3 * 2.5), (0, 3 * 1.0), (1, 3 * 1.0)])
def test_hd95_of_cubes_offset_by_three_voxels_is_the_offset_in_mm(axis, expected_mm):
    # Of each cube's 152 surface voxels, the 36 of its trailing face are 3 voxels from the other
    # cube's surface and no voxel is farther: 72 of the 304 pooled distances (24 %) equal the
    # offset, so the 95th percentile is the offset, in mm along that axis.
    a, b = cube_pair(axis)
    assert hausdorff95(a, b, spacing_mm=(1.0, 1.0, 2.5)) == pytest.approx(expected_mm)
    distances = np.concatenate(surface_distances(a, b, (1.0, 1.0, 2.5)))
    assert len(distances) == 2 * 152 and np.sum(distances == expected_mm) == 72


@pytest.mark.parametrize(
    ("spacing_mm", "inner_mm", "outer_mm"),
    [((0.5, 0.5, 0.5), 5.0, 8.0), ((1.0, 1.0, 2.0), 6.0, 10.0)],
)
def test_hd95_of_concentric_balls_is_their_radius_difference(spacing_mm, inner_mm, outer_mm):
    inner, outer = ball(inner_mm, spacing_mm), ball(outer_mm, spacing_mm)
    # on a voxel grid the surfaces are jagged by up to half the largest voxel
    tolerance = max(spacing_mm) / 2
    hd95 = hausdorff95(inner, outer, spacing_mm)
    assert abs(hd95 - (outer_mm - inner_mm)) <= tolerance


def test_hd95_is_symmetric_and_ignores_the_worst_five_percent():
    a = np.zeros(200, bool)  # 1D, so the surface of a segment is its two ends
    a[10:190] = True
    b = a.copy()
    b[199] = True  # one stray voxel 10 voxels beyond the segment's end
    # surfaces: a = {10, 189}; b = {10, 189, 199}. Pooled distances 0, 0, 0, 0, 10: the
    # maximum is 10, the 95th percentile 0 + 0.8 * 10 = 8 (position 0.95 * 4 = 3.8)
    assert hausdorff95(a, b) == pytest.approx(8.0) == hausdorff95(b, a)


def test_hd95_works_in_2d():
    a, b = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    a[2, 2], b[2, 6] = True, True
    assert hausdorff95(a, b, spacing_mm=(3.0, 0.5)) == pytest.approx(2.0)


def test_a_spacing_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="one per axis"):
        hausdorff95(np.ones((2, 2)), np.ones((2, 2)), spacing_mm=(1.0, 1.0, 1.0))


def test_region_metrics_scores_each_region_with_its_own_conventions():
    truth = np.zeros((3, 4, 4, 4), bool)
    truth[0, 1:3, 1:3, 1:3] = True  # WT: 8 voxels
    truth[1, 1:3, 1:3, 1] = True  # TC: 4 voxels; ET empty
    pred = truth.copy()
    pred[1] = False  # TC missed
    pred[2, 0, 0, 0] = True  # ET invented
    scores = region_metrics(pred, truth, spacing_mm=(1.0, 1.0, 2.5))
    assert list(scores) == [
        f"{m}_{r}" for r in REGIONS for m in ("dice", "hd95", "sensitivity", "specificity")
    ]
    assert scores["dice_WT"] == 1.0 and scores["hd95_WT"] == 0.0
    assert scores["dice_TC"] == 0.0 and scores["hd95_TC"] == EMPTY_HD95_MM
    assert scores["sensitivity_TC"] == 0.0
    assert scores["dice_ET"] == 0.0 and scores["hd95_ET"] == EMPTY_HD95_MM
    assert scores["sensitivity_ET"] == 0.0  # invented where the truth has none
    assert scores["specificity_ET"] == pytest.approx(63 / 64)


def test_region_metrics_takes_the_output_of_classes_to_regions():
    from course_utils.datasets import REGIONS as DATASET_REGIONS
    from course_utils.datasets import classes_to_regions

    assert DATASET_REGIONS == REGIONS
    regions = classes_to_regions(np.array([[[0, 1, 2, 3]]]))  # float32 (3, 1, 1, 4)
    assert region_metrics(regions, regions)["dice_ET"] == 1.0


def test_region_metrics_refuses_a_mask_without_three_channels():
    with pytest.raises(ValueError, match=r"\(3, \*spatial\)"):
        region_metrics(np.ones((2, 4, 4)), np.ones((2, 4, 4)))


def test_tracker_averages_per_subject_results():
    tracker = MetricTracker()
    tracker.add("a", {"dice_WT": 1.0, "hd95_WT": 0.0})
    tracker.add("b", {"dice_WT": 0.5, "hd95_WT": 4.0})
    tracker.add("c", {"dice_WT": 0.0, "hd95_WT": EMPTY_HD95_MM})
    assert tracker.mean() == pytest.approx({"dice_WT": 0.5, "hd95_WT": (4.0 + 374.0) / 3})
    assert tracker.std()["dice_WT"] == pytest.approx(np.sqrt(1 / 6))
    assert tracker.values("dice_WT").tolist() == [1.0, 0.5, 0.0]
    assert len(tracker) == 3 and tracker.subjects == ["a", "b", "c"]


def test_tracker_refuses_repeats_mismatched_metrics_and_empty_means():
    tracker = MetricTracker()
    with pytest.raises(ValueError, match="no subjects"):
        tracker.mean()
    tracker.add("a", {"dice_WT": 1.0})
    with pytest.raises(ValueError, match="already added"):
        tracker.add("a", {"dice_WT": 1.0})
    with pytest.raises(ValueError, match="earlier subjects have"):
        tracker.add("b", {"dice_TC": 1.0})


def random_pair(rng: np.random.Generator, shape=(20, 18, 12)) -> tuple[np.ndarray, np.ndarray]:
    """A truth of 1-3 random boxes and a prediction that shifts, trims and adds to it."""
    truth = np.zeros(shape, bool)
    for _ in range(rng.integers(1, 4)):
        start = rng.integers(0, np.array(shape) - 3)
        size = rng.integers(2, 8, size=3)
        truth[tuple(slice(a, a + n) for a, n in zip(start, size, strict=True))] = True
    pred = np.roll(truth, tuple(rng.integers(-2, 3, size=3)), axis=(0, 1, 2))
    pred &= rng.random(shape) > 0.1  # holes
    pred |= rng.random(shape) > 0.995  # stray voxels
    return pred, truth


def test_metrics_agree_with_medpy_on_random_anisotropic_pairs():
    # MedPy's binary metrics (dc, hd95, sensitivity, specificity), which the BraTS evaluations
    # before 2023 built on, computed independently on the same masks.
    from medpy.metric import binary as medpy

    rng = np.random.default_rng(7)
    for _ in range(25):
        pred, truth = random_pair(rng)
        spacing = tuple(rng.choice([0.5, 1.0, 2.0, 2.5, 3.0], size=3))
        assert dice_score(pred, truth) == pytest.approx(medpy.dc(pred, truth), abs=1e-12)
        assert hausdorff95(pred, truth, spacing) == pytest.approx(
            medpy.hd95(pred, truth, voxelspacing=spacing), abs=1e-9
        )
        assert sensitivity(pred, truth) == pytest.approx(medpy.sensitivity(pred, truth))
        assert specificity(pred, truth) == pytest.approx(medpy.specificity(pred, truth))


def test_small_masks_in_a_large_volume_agree_with_medpy_also_at_the_array_edge():
    # surface_distances works inside the masks' bounding box; objects far from each other,
    # touching the array's faces or one voxel wide must score as on the whole array.
    from medpy.metric import binary as medpy

    rng = np.random.default_rng(11)
    shape = (40, 36, 30)
    for case in range(12):
        pred, truth = np.zeros(shape, bool), np.zeros(shape, bool)
        for mask in (pred, truth):
            for _ in range(rng.integers(1, 3)):
                start = rng.integers(0, np.array(shape) - 2)
                size = rng.integers(1, 7, size=3)
                mask[tuple(slice(a, a + n) for a, n in zip(start, size, strict=True))] = True
        if case % 3 == 0:  # a face of the array inside the masks
            truth[0, 5:9, 5:9] = pred[0:2, 6:10, 5:9] = True
        spacing = tuple(rng.choice([0.5, 1.0, 2.0, 3.0], size=3))
        assert hausdorff95(pred, truth, spacing) == pytest.approx(
            medpy.hd95(pred, truth, voxelspacing=spacing), abs=1e-9
        )


def test_medpy_has_no_hd95_for_an_empty_mask_where_brats_puts_374_mm():
    from medpy.metric import binary as medpy

    empty, some = np.zeros((4, 4, 4), bool), np.zeros((4, 4, 4), bool)
    some[1:3, 1:3, 1:3] = True
    assert dice_score(some, empty) == medpy.dc(some, empty) == 0.0
    with pytest.raises(RuntimeError, match="does not contain any binary object"):
        medpy.hd95(some, empty)
    assert hausdorff95(some, empty) == EMPTY_HD95_MM
