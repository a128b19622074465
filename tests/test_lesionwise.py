"""Lesion-wise Dice and HD95 (BraTS 2023): hand-built scenes checked against the definition.

The definition is that of the organisers' code (rachitsaluja/BraTS-2023-Metrics, metrics.py,
commit 43c9052); expected values are worked out by hand in the comments. Boxes are written as
slices; at 1 mm a box of n voxels is n mm^3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from course_utils.datasets import classes_to_regions
from course_utils.lesionwise import (
    DILATION_MM,
    MIN_LESION_MM3,
    Lesion,
    LesionwiseScores,
    dilation_structure,
    lesionwise_region_scores,
    lesionwise_scores,
)
from course_utils.metrics import EMPTY_HD95_MM, dice_score, hausdorff95

PENALTY = EMPTY_HD95_MM  # 374 mm
SHAPE = (24, 10, 10)
A = np.s_[2:7, 2:7, 2:7]  # 125 voxels
B = np.s_[17:22, 2:7, 2:7]  # 125 voxels, 10 voxels (mm) beyond A along axis 0


def mask(*boxes, shape=SHAPE) -> np.ndarray:
    out = np.zeros(shape, bool)
    for box in boxes:
        out[box] = True
    return out


def statuses(scores: LesionwiseScores) -> list[str]:
    return [lesion.status for lesion in scores.lesions]


def test_the_brats_2023_glioma_parameters():
    # get_LesionWiseResults, challenge_name "BraTS-GLI": dilation_factor 3 (voxels of 1 mm),
    # lesion_volume_thresh 50 (mm^3), inf replaced by 374
    assert (DILATION_MM, MIN_LESION_MM3, PENALTY) == (3.0, 50.0, 374.0)


def test_one_perfect_lesion_scores_dice_one_and_hd95_zero():
    truth = mask(A)
    assert lesionwise_scores(truth, truth) == LesionwiseScores(
        1.0, 0.0, (Lesion("matched", 125.0, 125.0, 1.0, 0.0),)
    )


def test_a_missed_lesion_scores_zero_and_the_penalty():
    # A found exactly (1, 0 mm), B missed (0, 374 mm): means 0.5 and 187 mm. The legacy Dice
    # of the same masks is 2 * 125 / (125 + 250) = 0.67: it barely notices a missed lesion.
    scores = lesionwise_scores(mask(A), mask(A, B))
    assert scores.lesions == (
        Lesion("matched", 125.0, 125.0, 1.0, 0.0),
        Lesion("missed", 125.0, 0.0, 0.0, PENALTY),
    )
    assert (scores.dice, scores.hd95_mm) == (0.5, 187.0)
    assert dice_score(mask(A), mask(A, B)) == pytest.approx(2 / 3)


def test_a_false_positive_component_adds_a_zero_and_the_penalty_whatever_its_size():
    # a 27-voxel component 10 voxels from A: below the 50 mm^3 lesion size, but the threshold is
    # for truth lesions only; every unmatched predicted component is an entry (0, 374 mm)
    fp = np.s_[17:20, 2:5, 2:5]
    scores = lesionwise_scores(mask(A, fp), mask(A))
    assert scores.lesions == (
        Lesion("matched", 125.0, 125.0, 1.0, 0.0),
        Lesion("false positive", 0.0, 27.0, 0.0, PENALTY),
    )
    assert (scores.dice, scores.hd95_mm) == (0.5, 187.0)
    assert scores.count("false positive") == 1


def test_predicted_components_are_26_connected_as_in_brats():
    # two voxels touching at a corner only are one component (cc3d, connectivity=26): one false
    # positive of 2 mm^3, not two
    pred = mask(A)
    pred[17, 2, 2] = pred[18, 3, 3] = True
    scores = lesionwise_scores(pred, mask(A))
    assert scores.lesions[1:] == (Lesion("false positive", 0.0, 2.0, 0.0, PENALTY),)


def test_a_component_within_the_dilation_of_a_lesion_is_matched_not_a_false_positive():
    # 4 voxels at x = 9, two voxels (mm) beyond A's last slice x = 6: inside A's 3 mm dilation,
    # so they belong to A's prediction: Dice 2 * 125 / (125 + 129) = 250 / 254
    near = np.s_[9:10, 3:5, 3:5]
    scores = lesionwise_scores(mask(A, near), mask(A))
    assert statuses(scores) == ["matched"]
    assert scores.dice == pytest.approx(250 / 254)
    assert scores.lesions[0].pred_mm3 == 129.0


def test_a_prediction_that_merges_two_lesions_is_charged_to_both():
    # One 20x5x5 box (500 voxels) over A, B and the gap: both lesions match the whole box.
    # Dice of each: 2 * 125 / (125 + 500) = 0.4.
    # HD95 of each, pooled over both surfaces (box surface 338 voxels, A's 98): 178 zeros where
    # they coincide, 24 ones and 17 twos (the box's side ring at x = 7, 8 and the 9 voxels
    # inside A's face x = 6), 16 each at 3..14 mm (the ring at x = 9..20), 25 at 15 mm (the far
    # face x = 21). 436 values; the 95th percentile sits at position 0.95 * 435 = 413.25, past
    # index 410, inside the 15 mm block: 15 mm. B is the mirror image.
    pred = mask(np.s_[2:22, 2:7, 2:7])
    scores = lesionwise_scores(pred, mask(A, B))
    assert scores.lesions == (
        Lesion("matched", 125.0, 500.0, pytest.approx(0.4), 15.0),
        Lesion("matched", 125.0, 500.0, pytest.approx(0.4), 15.0),
    )
    assert scores.dice == pytest.approx(0.4) and scores.hd95_mm == 15.0
    assert dice_score(pred, mask(A, B)) == pytest.approx(2 * 250 / 750)  # legacy: 0.67


def test_a_lesion_below_the_minimum_size_is_ignored_and_so_is_its_prediction():
    small = np.s_[17:20, 2:5, 2:5]  # 27 mm^3 <= 50 mm^3
    missed_small = lesionwise_scores(mask(A), mask(A, small))
    assert missed_small.lesions[1] == Lesion("ignored", 27.0, 0.0, 0.0, PENALTY)
    assert (missed_small.dice, missed_small.hd95_mm) == (1.0, 0.0)  # A alone
    # predicting it is not a false positive either: its component matches the small lesion
    found_small = lesionwise_scores(mask(small), mask(small))
    assert statuses(found_small) == ["ignored"] and found_small.count("false positive") == 0
    assert (found_small.dice, found_small.hd95_mm) == (1.0, 0.0)  # no entry: BraTS's nan -> 1, 0


def test_the_minimum_size_keeps_lesions_above_it_only():
    fifty = np.s_[17:19, 2:7, 2:7]  # 2 x 5 x 5 = 50 mm^3: BraTS drops gt_lesion_vol <= 50
    truth = mask(A, fifty)
    assert statuses(lesionwise_scores(mask(A), truth)) == ["matched", "ignored"]
    truth[19, 2, 2] = True  # 51 mm^3: now a missed lesion, (1 + 0) / 2
    scores = lesionwise_scores(mask(A), truth)
    assert statuses(scores) == ["matched", "missed"] and scores.dice == 0.5
    assert statuses(lesionwise_scores(mask(A), truth, min_lesion_mm3=51.0)) == [
        "matched",
        "ignored",
    ]


@pytest.mark.parametrize(
    ("pred_boxes", "truth_boxes", "expected"),
    [
        ((), (), (1.0, 0.0, [])),  # nothing to find, nothing found (BraTS: nan -> 1 and 0)
        ((A,), (), (0.0, PENALTY, ["false positive"])),
        ((), (A,), (0.0, PENALTY, ["missed"])),
    ],
)
def test_empty_masks(pred_boxes, truth_boxes, expected):
    scores = lesionwise_scores(mask(*pred_boxes), mask(*truth_boxes))
    assert (scores.dice, scores.hd95_mm, statuses(scores)) == expected


@pytest.mark.parametrize(("gap_mm", "lesions"), [(6, 1), (7, 2)])
def test_truth_foci_closer_than_twice_the_dilation_are_one_lesion(gap_mm, lesions):
    # Each focus is dilated by 3 voxels: a gap of 6 is covered from both sides and the two
    # dilations touch (one lesion of 250 mm^3); a gap of 7 leaves its middle voxel uncovered.
    second = np.s_[7 + gap_mm : 12 + gap_mm, 2:7, 2:7]
    truth = mask(A, second)
    scores = lesionwise_scores(truth, truth)
    assert len(scores.lesions) == lesions
    assert sum(lesion.truth_mm3 for lesion in scores.lesions) == 250.0


@pytest.mark.parametrize("reach", [1, 2, 3])
def test_the_dilation_at_1_mm_is_the_brats_element_iterated(reach):
    # BraTS: binary_dilation(structure=generate_binary_structure(3, 2), iterations=factor)
    point = np.zeros((9, 9, 9), bool)
    point[4, 4, 4] = True
    iterated = ndimage.binary_dilation(
        point, ndimage.generate_binary_structure(3, 2), iterations=reach
    )
    structure = dilation_structure((1.0, 1.0, 1.0), float(reach))
    padded = np.zeros_like(point)
    padded[tuple(slice(4 - n // 2, 5 + n // 2) for n in structure.shape)] = structure
    assert np.array_equal(padded, iterated)


def test_the_dilation_is_the_same_shape_in_mm_on_other_grids():
    # 2 mm: every neighbour is within 2 mm per axis and 6 mm in sum: the full 3x3x3 cube
    assert dilation_structure((2.0, 2.0, 2.0)).shape == (3, 3, 3)
    assert dilation_structure((2.0, 2.0, 2.0)).all()
    anisotropic = dilation_structure((1.0, 1.0, 2.5))  # reach 3, 3 and 1 voxels
    assert anisotropic.shape == (7, 7, 3)
    centre = np.array([3, 3, 1])
    assert anisotropic[tuple(centre + (3, 3, 0))]  # 3 + 3 = 6 mm
    assert anisotropic[tuple(centre + (2, 1, 1))]  # 2 + 1 + 2.5 = 5.5 mm
    assert not anisotropic[tuple(centre + (3, 2, 1))]  # 3 + 2 + 2.5 = 7.5 mm


@pytest.mark.parametrize(("gap_voxels", "lesions"), [(2, 1), (3, 2)])
def test_anisotropic_grouping_is_in_mm(gap_voxels, lesions):
    # voxels of 2.5 mm along axis 2: the 3 mm dilation reaches 1 voxel, so gaps of 2 voxels
    # (5 mm) close and gaps of 3 (7.5 mm) do not, as 5 mm closes and 7 mm does not at 1 mm
    truth = np.zeros((8, 8, 16), bool)
    truth[2:6, 2:6, 2:5] = True
    truth[2:6, 2:6, 5 + gap_voxels : 8 + gap_voxels] = True
    scores = lesionwise_scores(truth, truth, (1.0, 1.0, 2.5))
    assert len(scores.lesions) == lesions


def test_anisotropic_volumes_are_in_mm3_and_distances_in_mm():
    spacing = (1.0, 1.0, 2.5)
    truth = np.zeros((12, 12, 12), bool)
    truth[1:4, 1:4, 1:3] = True  # 18 voxels = 45 mm^3: ignored
    truth[7:10, 7:10, 7:10] = True  # 27 voxels = 67.5 mm^3: scored
    pred = np.zeros_like(truth)
    pred[7:10, 7:10, 8:11] = True  # the scored lesion, one voxel (2.5 mm) along axis 2
    scores = lesionwise_scores(pred, truth, spacing)
    assert [(lesion.status, lesion.truth_mm3) for lesion in scores.lesions] == [
        ("ignored", 45.0),
        ("matched", 67.5),
    ]
    lesion = scores.lesions[1]
    assert lesion.dice == pytest.approx(2 * 18 / 54)  # 2 of 3 slices overlap
    assert lesion.hd95_mm == hausdorff95(pred[7:10, 7:10], truth[7:10, 7:10], spacing)
    assert lesion.hd95_mm == 2.5  # the shifted faces: one 2.5 mm voxel apart


def scene_at_1_mm() -> tuple[np.ndarray, np.ndarray]:
    """Boxes on even coordinates, so that 2x2x2 blocks make the same scene at 2 mm."""
    truth, pred = np.zeros((48, 24, 24), bool), np.zeros((48, 24, 24), bool)
    truth[2:10, 2:10, 2:10] = True  # lesion 1 (512 mm^3) ...
    truth[14:18, 2:6, 2:6] = True  # ... and a focus 4 mm away: one lesion with it
    truth[30:38, 2:10, 2:10] = True  # lesion 2, 12 mm beyond the focus: missed
    truth[2:4, 20:22, 20:22] = True  # 8 mm^3, far from the others: ignored
    pred[2:10, 2:10, 4:12] = True  # lesion 1 found, shifted 2 mm
    pred[40:44, 16:20, 16:20] = True  # a false positive, 64 mm^3
    return pred, truth


def test_the_same_scene_scores_the_same_at_1_mm_and_2_mm():
    pred, truth = scene_at_1_mm()
    fine = lesionwise_scores(pred, truth, 1.0)
    blocks = np.s_[::2, ::2, ::2]
    coarse = lesionwise_scores(pred[blocks], truth[blocks], 2.0)
    entries = [(lesion.status, lesion.truth_mm3, lesion.pred_mm3) for lesion in fine.lesions]
    assert entries == [  # truth lesions by first voxel (C order), then false positives
        ("matched", 576.0, 512.0),
        ("ignored", 8.0, 0.0),
        ("missed", 512.0, 0.0),
        ("false positive", 0.0, 64.0),
    ]
    assert [(e.status, e.truth_mm3, e.pred_mm3) for e in coarse.lesions] == entries
    # lesion 1: overlap 8 x 8 x 6 = 384 of 576 + 512 voxels -> 2 * 384 / 1088
    assert fine.lesions[0].dice == coarse.lesions[0].dice == pytest.approx(768 / 1088)
    assert fine.dice == coarse.dice == pytest.approx(768 / 1088 / 3)


def test_brats_voxel_parameters_taken_literally_at_2_mm_would_merge_lesions_12_mm_apart():
    # 3 voxels of 2 mm = 6 mm, which closes gaps of 12 mm: the missed lesion 2 (12 mm from the
    # focus) and the small lesion (10 mm from lesion 1 in y and z) join lesion 1
    pred, truth = scene_at_1_mm()
    blocks = np.s_[::2, ::2, ::2]
    literal = lesionwise_scores(pred[blocks], truth[blocks], 2.0, dilation_mm=6.0)
    assert statuses(literal) == ["matched", "false positive"]
    assert literal.lesions[0].truth_mm3 == 576.0 + 512.0 + 8.0


def test_the_penalty_and_the_parameters_are_keywords():
    scores = lesionwise_scores(mask(), mask(A), penalty_hd95_mm=100.0)
    assert scores.hd95_mm == 100.0
    with pytest.raises(TypeError):
        lesionwise_scores(mask(), mask(A), 1.0, 3.0)


def test_region_scores_come_from_the_class_maps():
    truth = np.zeros((24, 12, 12), np.int64)
    truth[2:10, 2:10, 2:10] = 2  # oedema
    truth[4:8, 4:8, 4:8] = 1  # necrosis, 64 mm^3
    truth[4:8, 4:8, 4] = 3  # an enhancing rim slice, 16 mm^3: ignored
    truth[17:21, 2:6, 2:6] = 3  # an enhancing focus 7 mm away, 64 mm^3
    pred = truth.copy()
    pred[17:21, 2:6, 2:6] = 0  # the focus is missed
    scores = lesionwise_region_scores(torch.from_numpy(pred), truth, 1.0)
    assert list(scores) == ["WT", "TC", "ET"]
    assert statuses(scores["WT"]) == ["matched", "missed"]
    assert statuses(scores["ET"]) == ["ignored", "missed"]
    assert (scores["ET"].dice, scores["ET"].hd95_mm) == (0.0, PENALTY)
    for region, channel_pred, channel_truth in zip(
        scores, classes_to_regions(pred), classes_to_regions(truth), strict=True
    ):
        assert scores[region] == lesionwise_scores(channel_pred, channel_truth, 1.0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="3D masks"):
        lesionwise_scores(np.ones((4, 4)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="differ in shape"):
        lesionwise_scores(np.ones((4, 4, 4)), np.ones((4, 4, 5)))
    with pytest.raises(ValueError, match="one per axis"):
        lesionwise_scores(np.ones((4, 4, 4)), np.ones((4, 4, 4)), (1.0, 1.0))
    with pytest.raises(ValueError, match="Threshold probabilities"):
        lesionwise_scores(np.full((4, 4, 4), 0.5), np.ones((4, 4, 4)))
    with pytest.raises(ValueError, match="differ in shape"):
        lesionwise_region_scores(np.zeros((4, 4, 4), int), np.zeros((4, 4, 5), int))


def load_reference_tool():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "brats2023_reference.py"
    spec = importlib.util.spec_from_file_location("brats2023_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_agrees_with_the_organisers_code_on_recorded_scenes():
    # tests/data/brats2023_lesionwise.json: 20 random multi-lesion scenes at 1 mm and what
    # get_LesionWiseResults(..., "BraTS-GLI") of rachitsaluja/BraTS-2023-Metrics returned for
    # them (written by tools/brats2023_reference.py, which runs that code). Everything but HD95
    # must agree; HD95 is left out because BraTS computes it with DeepMind's surface-distance
    # (larger one-way percentile, area-weighted), not MedPy's pooled percentile.
    import json
    from pathlib import Path

    from course_utils.metrics import region_metrics

    tool = load_reference_tool()
    record = json.loads((Path(__file__).parent / "data" / "brats2023_lesionwise.json").read_text())
    assert record["commit"].startswith("43c9052")
    totals = dict.fromkeys(("tp", "fn", "fp", "ignored"), 0)
    for case in record["cases"]:
        shape = tuple(record["shape"])
        truth = tool.render(shape, case["truth"])
        pred = tool.render(shape, case["pred"], case["bridges"])
        ours = lesionwise_region_scores(pred, truth, record["spacing_mm"])
        legacy = region_metrics(classes_to_regions(pred), classes_to_regions(truth))
        for region, theirs in case["reference"].items():
            scores = ours[region]
            assert scores.dice == pytest.approx(theirs["lesionwise_dice"], abs=1e-12)
            counts = (scores.count("matched"), scores.count("missed"))
            assert counts == (theirs["tp"], theirs["fn"])
            assert scores.count("false positive") == theirs["fp"]
            for metric in ("dice", "sensitivity", "specificity"):
                assert legacy[f"{metric}_{region}"] == pytest.approx(theirs[metric], abs=1e-12)
            totals = {key: totals[key] + theirs.get(key, 0) for key in totals}
            totals["ignored"] += scores.count("ignored")
    # the scenes exercise every kind of entry
    assert min(totals.values()) >= 5, totals
