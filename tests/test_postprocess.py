"""course_utils.postprocess: BraTS post-processing on hand-built label maps."""

import numpy as np
import pytest

from course_utils import brats, postprocess

NCR, ED, ET = 1, 2, 4  # BraTS 2021


def two_lesions(shape=(20, 20, 20)):
    """A 4x4x4 lesion (64 voxels: oedema with an ET centre of 8) and a 2x2x2 speck of oedema."""
    labels = np.zeros(shape, np.uint8)
    labels[2:6, 2:6, 2:6] = ED
    labels[3:5, 3:5, 3:5] = ET
    labels[14:16, 14:16, 14:16] = ED
    return labels


def test_small_components_go_whole_and_large_ones_stay_untouched():
    labels = two_lesions()
    # at 2 mm a voxel is 8 mm^3: the speck is 0.064 cm^3, the lesion 0.512 cm^3
    cleaned = postprocess.remove_small_components(labels, 2.0, min_cm3=0.1)
    assert not cleaned[14:16, 14:16, 14:16].any()
    np.testing.assert_array_equal(cleaned[:10, :10, :10], labels[:10, :10, :10])
    assert labels[14, 14, 14] == ED  # the input is not modified


def test_component_size_is_in_millimetres_not_voxels():
    labels = two_lesions()
    # at 1 mm the lesion is 0.064 cm^3 and goes too
    assert not postprocess.remove_small_components(labels, 1.0, min_cm3=0.1).any()
    # anisotropic voxels: 1 x 1 x 4 mm makes the speck 32 mm^3
    kept = postprocess.remove_small_components(labels, (1.0, 1.0, 4.0), min_cm3=0.03)
    assert kept[14, 14, 14] == ED


def test_components_are_26_connected_like_the_brats_code():
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[2:4, 2:4, 2:4] = ED
    labels[4:6, 4:6, 4:6] = ED  # touches the first only at a corner
    cleaned = postprocess.remove_small_components(labels, 2.0, min_cm3=0.1)
    assert cleaned.sum() == labels.sum()  # 16 voxels, 0.128 cm^3, one component


def test_tiny_enhancing_tumour_becomes_necrosis_and_large_stays():
    labels = two_lesions()
    small = postprocess.relabel_small_enhancing(labels, 2.0, max_cm3=0.1)  # ET 0.064 cm^3
    assert not (small == ET).any()
    np.testing.assert_array_equal(small == NCR, labels == ET)
    np.testing.assert_array_equal(small == ED, labels == ED)
    kept = postprocess.relabel_small_enhancing(labels, 2.0, max_cm3=0.05)
    np.testing.assert_array_equal(kept, labels)


def test_relabelling_follows_the_label_coding():
    labels = two_lesions()
    labels[labels == ET] = 3  # BraTS 2023 codes ET as 3
    out = postprocess.relabel_small_enhancing(
        labels, 2.0, max_cm3=0.1, coding=brats.BRATS_2023_GLI
    )
    assert set(np.unique(out)) == {0, 1, 2}


def test_threshold_is_chosen_where_validation_et_dice_is_best():
    truth_empty = two_lesions()
    truth_empty[truth_empty == ET] = NCR  # this subject has no ET at all
    truth_big = two_lesions()
    predictions = [two_lesions(), two_lesions()]  # both predict 8 ET voxels (0.064 cm^3)
    choice = postprocess.choose_enhancing_threshold(
        predictions, [truth_empty, truth_big], 2.0, candidates_cm3=(0.0, 0.1)
    )
    # keeping ET: Dice 0 (empty truth, false positive) and 1 -> 0.5; relabelling: 1 and 0 -> 0.5
    assert choice.scores == pytest.approx({0.0: 0.5, 0.1: 0.5})
    assert choice.threshold_cm3 == 0.0  # ties keep the smaller threshold (change less)
    truth_empty_2 = truth_empty.copy()
    choice = postprocess.choose_enhancing_threshold(
        predictions, [truth_empty, truth_empty_2], 2.0, candidates_cm3=(0.0, 0.1)
    )
    assert choice.threshold_cm3 == 0.1 and choice.scores[0.1] == 1.0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="min_cm3"):
        postprocess.remove_small_components(two_lesions(), 2.0, min_cm3=-1)
    with pytest.raises(ValueError, match="same number"):
        postprocess.choose_enhancing_threshold([two_lesions()], [], 2.0, (0.0,))
