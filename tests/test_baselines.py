"""course_utils.baselines: thresholds without learning, on hand-built volumes."""

import numpy as np
import pytest

from course_utils import baselines, brats


def volume():
    """FLAIR with a 27-voxel blob and a 1-voxel speck; T1ce bright in the blob and far away."""
    flair = np.zeros((12, 12, 12), np.float32)
    flair[2:5, 2:5, 2:5] = 3.0
    flair[9, 9, 9] = 3.0
    t1ce = np.zeros_like(flair)
    t1ce[3, 3, 3] = 4.0
    t1ce[10, 1, 1] = 4.0  # a "vessel"
    return flair, t1ce


def test_whole_tumour_is_the_largest_piece_and_enhancing_is_everywhere_bright():
    flair, t1ce = volume()
    wt, et = baselines.threshold_baseline(flair, t1ce, 2.0, 3.0)
    assert wt.sum() == 27 and not wt[9, 9, 9]
    assert et.sum() == 2 and et[10, 1, 1]  # the vessel is enhancing tumour to a threshold


def test_a_threshold_is_strict_and_an_empty_result_is_no_error():
    flair, t1ce = volume()
    wt, et = baselines.threshold_baseline(flair, t1ce, 3.0, 4.0)
    assert not wt.any() and not et.any()


def test_diagonal_neighbours_are_one_component():
    mask = np.zeros((6, 6, 6), bool)
    mask[1, 1, 1] = mask[2, 2, 2] = True
    mask[4, 4, 0] = True
    assert baselines.largest_component(mask).sum() == 2


def test_fit_finds_the_thresholds_that_separate_the_classes():
    rng = np.random.default_rng(0)
    seg = np.zeros((16, 16, 16), np.uint8)
    seg[4:12, 4:12, 4:12] = 2
    seg[6:10, 6:10, 6:10] = 4
    image = rng.normal(0, 0.3, (4, *seg.shape)).astype(np.float32)
    flair = brats.MODALITIES.index(brats.FLAIR)
    t1ce = brats.MODALITIES.index(brats.T1CE)
    image[flair][seg > 0] += 3.0
    image[t1ce][seg == 4] += 4.0
    fit = baselines.fit_thresholds([image], [seg], candidates=(0.5, 1.5, 2.5, 3.5))
    assert fit.flair_threshold == 1.5 and fit.fit_dice_WT == pytest.approx(1.0)
    assert fit.t1ce_threshold in (1.5, 2.5) and fit.fit_dice_ET == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same number"):
        baselines.fit_thresholds([image], [])
