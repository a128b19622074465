"""Inference in the input's world: the checkpoint's spacing, and back onto the input grid.

The 1 mm subject is generated at 1 mm by SynthBraTS. SynthBraTS 1 draws its random fields per
voxel, so ``make_subject(seed, 2.0)`` is another subject, not this one at 2 mm; the 2 mm
acquisition of the same anatomy is simulated by averaging each 2 x 2 x 2 block of the 1 mm
intensities (what a coarser voxel integrates). SynthBraTS 2 generates one subject at any
spacing; the comparison should move to it when it lands.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from conftest import load_repo_script

from course_utils import brats, synth
from course_utils.datasets import (
    BraTSDataset,
    brats_to_classes,
    classes_to_regions,
    normalisation_record,
    robust_brain_mask,
)
from course_utils.inference import (
    coregister,
    grid_at_spacing,
    predict_on_input_grid,
    ras_grid,
    resample_channels,
    threshold_regions,
)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


@pytest.fixture(scope="module")
def subject_1mm():
    subject = synth.make_subject((1, 0), spacing_mm=1.0)
    image = np.stack([np.asarray(subject[m].dataobj, np.float32) for m in brats.MODALITIES])
    truth = classes_to_regions(brats_to_classes(np.asarray(subject["seg"].dataobj))) > 0.5
    return image, subject["t1"].affine, truth


def block_average(image: np.ndarray, affine: np.ndarray):
    """``(C, X, Y, Z)`` 1 mm -> 2 mm by averaging 2 x 2 x 2 blocks, and the 2 mm affine."""
    c, *shape = image.shape
    even = [n // 2 * 2 for n in shape]
    cut = image[:, : even[0], : even[1], : even[2]]
    coarse = cut.reshape(c, even[0] // 2, 2, even[1] // 2, 2, even[2] // 2, 2).mean((2, 4, 6))
    to_fine = np.diag([2.0, 2.0, 2.0, 1.0])
    to_fine[:3, 3] = 0.5  # a 2 mm voxel's centre lies between two 1 mm centres
    return coarse.astype(np.float32), affine @ to_fine


def test_a_grid_at_another_spacing_keeps_the_axes_and_the_field_of_view():
    affine = np.array([[-1.0, 0, 0, 90], [0, 1.0, 0, -126], [0, 0, 1.0, -72], [0, 0, 0, 1]])
    shape, coarse = grid_at_spacing((181, 217, 181), affine, (2.0, 2.0, 3.0))
    assert shape == (90, 108, 60)
    assert np.allclose(np.abs(np.diag(coarse)[:3]), [2, 2, 3]) and coarse[0, 0] < 0
    centre = affine @ [90, 108, 90, 1]  # the centre of both grids is the same point
    assert np.allclose(coarse @ [44.5, 53.5, 29.5, 1], centre)


def test_resampling_to_a_coarser_grid_and_back_keeps_a_smooth_image():
    x, y, z = np.meshgrid(*[np.arange(40.0)] * 3, indexing="ij")
    smooth = np.sin(x / 7)[None] + np.cos(y / 9)[None] + z[None] / 40
    shape, coarse = grid_at_spacing(smooth.shape[1:], np.eye(4), (2.0, 2.0, 2.0))
    down = resample_channels(smooth.astype(np.float32), np.eye(4), shape, coarse)
    back = resample_channels(down, coarse, smooth.shape[1:], np.eye(4))
    inner = (slice(None), *[slice(2, -2)] * 3)
    assert np.abs(back[inner] - smooth[inner]).max() < 0.02


def test_nested_regions_put_every_et_voxel_in_tc_and_every_tc_voxel_in_wt():
    probabilities = np.random.default_rng(0).random((3, 6, 6, 6))
    wt, tc, et = threshold_regions(probabilities)
    assert not (et & ~tc).any() and not (tc & ~wt).any()
    assert (et == (probabilities[2] > 0.5)).all()


def test_a_1mm_subject_is_predicted_at_2mm_and_lands_on_its_own_grid(shipped, subject_1mm):
    model, checkpoint = shipped
    image, affine, truth = subject_1mm
    probabilities, info = predict_on_input_grid(
        model, torch.from_numpy(image), affine, checkpoint["input"]
    )
    assert info["resampled"] and info["model_spacing_mm"] == [2.0, 2.0, 2.0]
    assert tuple(probabilities.shape) == (3, *image.shape[1:])  # overlays the input exactly
    fine = threshold_regions(probabilities)
    print("1 mm vs truth:", [round(dice(fine[r], truth[r]), 3) for r in range(3)])
    # SynthBraTS 2, shipped checkpoint: WT measured 0.780 (one subject; a 2 mm network on
    # 1 mm voxels without resampling would lose far more)
    assert dice(fine[0], truth[0]) >= 0.72
    coarse_image, coarse_affine = block_average(image, affine)
    coarse_probabilities, coarse_info = predict_on_input_grid(
        model, torch.from_numpy(coarse_image), coarse_affine, checkpoint["input"]
    )
    assert not coarse_info["resampled"]
    on_fine = threshold_regions(  # as predict does: probabilities resampled, then thresholded
        resample_channels(coarse_probabilities.numpy(), coarse_affine, image.shape[1:], affine)
    )
    agreement = [dice(fine[r], on_fine[r]) for r in range(3)]
    print("1 mm vs 2 mm:", [round(d, 3) for d in agreement])
    assert agreement[0] >= 0.95  # the bar, on the whole tumour
    assert agreement[1] >= 0.92 and agreement[2] >= 0.88  # measured 0.954, 0.945, 0.908


# --- robust to resampling: the four cases of issue 19 on 4 held-out subjects ----------------


@pytest.fixture(scope="module")
def held_out_cases(tmp_path_factory):
    bench = load_repo_script("benchmarks/robustness.py")
    root = synth.ensure_dataset(tmp_path_factory.mktemp("heldout") / "s1", 4, seed=1)
    data = BraTSDataset(root, target="labels", normalise=False)
    subjects = []
    for index in range(len(data)):
        item = data[index]
        truth = classes_to_regions(item["label"].numpy()) > 0.5
        subjects.append(
            (
                item["affine"],
                bench.cases(item["image"].numpy(), truth, item["affine"], brats.MODALITIES),
            )  # fmt: skip
        )
    return subjects


def inside_statistics(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(C, 2)`` mean and standard deviation of each channel inside ``mask``."""
    return np.array([[channel[mask].mean(), channel[mask].std()] for channel in image])


def test_the_robust_mask_ignores_an_edge_shell_that_the_nonzero_mask_takes_in(held_out_cases):
    for _, cases in held_out_cases:
        image, _ = cases["as generated"]
        shelled, _ = cases["edge shell"]
        assert (robust_brain_mask(shelled) == robust_brain_mask(image)).all()
        clean = robust_brain_mask(image) != (image != 0).any(axis=0)  # clean data: ~the same
        assert clean.sum() < 1e-3 * image[0].size
        assert (shelled != 0).any(axis=0).sum() > 1.05 * (image != 0).any(axis=0).sum()


def test_statistics_inside_the_robust_mask_barely_move_when_the_image_is_resampled(
    held_out_cases,
):
    for _, cases in held_out_cases:
        image, _ = cases["as generated"]
        reference = inside_statistics(image, robust_brain_mask(image))
        for case in ("edge shell", "sub-voxel shift", "round trip"):
            moved, _ = cases[case]
            stats = inside_statistics(moved, robust_brain_mask(moved))
            change = np.abs(stats - reference) / reference[:, 1:]  # in standard deviations
            assert change.max() < 0.25, (case, change.max())  # SynthBraTS 2: up to 0.22 (shift)
        nonzero = inside_statistics(cases["edge shell"][0], (cases["edge shell"][0] != 0).any(0))
        assert (np.abs(nonzero - reference) / reference[:, 1:]).max() > 0.2  # the old mask moves


def test_the_shipped_network_with_the_robust_mask_survives_the_four_cases(shipped, held_out_cases):
    model, checkpoint = shipped
    robust = {**checkpoint["input"], "normalisation": normalisation_record("zscore_brain_mask")}
    dice_wt = {}
    for affine, cases in held_out_cases:
        for case, (image, truth) in cases.items():
            for name, record in (("own", checkpoint["input"]), ("robust", robust)):
                probabilities, _ = predict_on_input_grid(
                    model, torch.from_numpy(image), affine, record
                )
                wt = threshold_regions(probabilities)[0]
                dice_wt.setdefault((name, case), []).append(dice(wt, truth[0]))
    print({key: round(float(np.min(v)), 3) for key, v in dice_wt.items()})
    own, robust = dice_wt["own", "as generated"], dice_wt["robust", "as generated"]
    assert np.allclose(own, robust, atol=0.005)
    # The shipped checkpoint (SynthBraTS 2, trained with `transforms.training_augmentation`)
    # records the robust mask itself, so "own" is "robust". Measured, min over the 4 subjects:
    # as generated 0.788, edge shell 0.788, shift 0.747, round trip 0.736 (all subject 3). The
    # issue's target (every case within 0.03 of as generated) is met by the shell and missed by
    # 0.011 (shift) and 0.022 (round trip) on that subject; the mean drops over 8 subjects are
    # 0.010 and 0.010. Subject 3's shift drop is the network's own, not the nearest-neighbour
    # truth's: its as-generated prediction, moved the same way, scores 0.799
    # (`benchmarks/robustness.py`, "equivariant reference").
    assert np.allclose(dice_wt["own", "edge shell"], dice_wt["robust", "edge shell"], atol=0.005)
    reference = np.asarray(robust)
    allowed = {"edge shell": 0.01, "sub-voxel shift": 0.06, "round trip": 0.07}
    for case, drop in allowed.items():
        assert (np.asarray(dice_wt["robust", case]) >= reference - drop).all(), case
    assert min(robust) >= 0.75, robust


def test_resample_channels_samples_exactly_what_registration_resample_does():
    from course_utils.registration import resample, world_transform_matrix

    rng = np.random.default_rng(0)
    volume = rng.random((2, 30, 31, 29)).astype(np.float32)
    labels = rng.integers(0, 5, (1, 30, 31, 29)).astype(np.uint8)
    affine = np.diag([1.2, 1.0, 3.0, 1.0])
    affine[:3, 3] = (-5, 3, 2)
    target = world_transform_matrix((5, 3, -4), (1, 2, 0)) @ np.diag([2.0, 1.5, 1.0, 1.0])
    grid = nib.Nifti1Image(np.zeros((20, 25, 60), np.uint8), target)
    for values, order in ((volume, 1), (labels, 0)):
        ours = resample_channels(values, affine, grid.shape, target, order=order)
        theirs = [resample(nib.Nifti1Image(v, affine), grid, order=order).dataobj for v in values]
        assert ours.dtype == (np.uint8 if order == 0 else np.float32)
        assert np.array_equal(ours, np.stack([np.asarray(t) for t in theirs]))


def test_a_ras_grid_covers_an_oblique_thick_slice_grid_with_1_mm_voxels():
    from course_utils.registration import world_transform_matrix

    oblique = world_transform_matrix((10, 0, 25)) @ np.diag([0.9, 0.9, 4.0, 1.0])
    shape, ras = ras_grid((100, 120, 30), oblique)
    assert np.allclose(ras[:3, :3], np.eye(3))
    ends = [(0, n - 1) for n in (100, 120, 30)]
    corners = np.array([[i, j, k, 1] for i in ends[0] for j in ends[1] for k in ends[2]])
    inside = (np.linalg.inv(ras) @ oblique @ corners.T)[:3]
    assert inside.min() > -1e-9 and np.all(inside.max(axis=1) <= np.array(shape) - 1 + 1e-9)
    assert np.all(inside.max(axis=1) > np.array(shape) - 2)  # not a voxel more than needed


def test_coregister_finds_a_known_rigid_move_between_two_contrasts():
    from course_utils.registration import (
        mni_image,
        resample,
        target_registration_error,
        world_transform_matrix,
    )

    t1, t2 = mni_image("t1", 2.0), mni_image("t2", 2.0)
    centre = nib.affines.apply_affine(t1.affine, (np.array(t1.shape) - 1) / 2)
    move = world_transform_matrix((3, -2, 4), (4, -3, 2), centre_mm=centre)
    shape, affine = grid_at_spacing(t2.shape, t2.affine, (1.5, 1.5, 3.0))
    seen = resample(t2, nib.Nifti1Image(np.zeros(shape, np.uint8), affine), np.linalg.inv(move))
    found = coregister(t1, seen)
    brain = np.argwhere(np.asarray(t1.dataobj) > 0)
    box = list(zip(brain.min(0), brain.max(0), strict=True))
    corners = nib.affines.apply_affine(
        t1.affine, np.array([[i, j, k] for i in box[0] for j in box[1] for k in box[2]])
    )
    assert target_registration_error(found.matrix, move, corners).max() < 1.0
    assert target_registration_error(np.eye(4), move, corners).max() > 5.0  # there was a move
    assert found.record()["grid_spacing_mm"] == 3.0 and found.metric > 0
