"""Transforms: seeded and reproducible, image and label kept aligned, labels never interpolated."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.datasets import classes_to_regions
from course_utils.transforms import (
    Compose,
    RandomAffine,
    RandomFlip,
    RandomGamma,
    RandomGaussianNoise,
    RandomIntensityScaleShift,
    RandomResample,
    default_augmentation,
    sample_generator,
    training_augmentation,
    voxel_sampling_matrix,
    warp,
)

SHAPE = (7, 10, 13)  # deliberately not a cube: D, H and W all differ


def brain_item(shape=SHAPE, channels=2, seed=0, regions=False):
    """A z-scored-looking item: Gaussian values inside an ellipsoid, 0 outside; classes 0..3."""
    rng = np.random.default_rng(seed)
    centre = (np.array(shape) - 1) / 2
    grid = np.indices(shape)
    radius = np.sqrt(sum(((g - c) / (c + 0.5)) ** 2 for g, c in zip(grid, centre, strict=True)))
    brain = radius < 0.9
    image = rng.normal(0.0, 1.0, (channels, *shape)).astype(np.float32) * brain
    classes = rng.integers(0, 4, shape) * brain
    label = torch.from_numpy(classes).long()
    return {
        "image": torch.from_numpy(image),
        "label": classes_to_regions(label) if regions else label,
        "id": "test",
        "affine": np.eye(4),
    }


def ramp_item(shape=SHAPE, seed=0, regions=False):
    """Channels: each voxel's own coordinates + 10 (one channel per axis), then all ones."""
    coordinates = np.indices(shape).astype(np.float32) + 10.0
    image = np.concatenate([coordinates, np.ones((1, *shape), np.float32)])
    item = brain_item(shape, seed=seed, regions=regions)
    item["image"] = torch.from_numpy(image)
    return item


def always(transform_class, **settings):
    return transform_class(p=1.0, **settings)


ALWAYS = {
    "flip": lambda: RandomFlip(p=0.5),
    "affine": lambda: always(RandomAffine),
    "scale_shift": lambda: always(RandomIntensityScaleShift),
    "gamma": lambda: always(RandomGamma),
    "noise": lambda: always(RandomGaussianNoise),
    "compose": lambda: Compose(
        [RandomFlip(), always(RandomAffine), always(RandomGamma), always(RandomGaussianNoise)]
    ),
    "default": default_augmentation,
    "resample": lambda: always(RandomResample, p_thick=0.5),
    "training": training_augmentation,
}


def same(a: dict, b: dict) -> bool:
    return torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])


# --- seeding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALWAYS))
def test_the_same_seed_gives_identical_output(name):
    transform, item = ALWAYS[name](), brain_item()
    first = transform(item, sample_generator(3, epoch=1, index=2))
    again = transform(item, sample_generator(3, epoch=1, index=2))
    assert same(first, again)


@pytest.mark.parametrize("name", list(ALWAYS))
def test_different_seeds_give_different_outputs(name):
    transform, item = ALWAYS[name](), brain_item()
    outputs = [transform(item, sample_generator(seed)) for seed in range(6)]
    distinct = {o["image"].numpy().tobytes() for o in outputs}
    assert len(distinct) >= 3


def test_sample_generators_differ_by_seed_epoch_and_index_and_repeat_for_the_same_triple():
    triples = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (7, 3, 5)]
    first_draws = {
        t: torch.rand(4, generator=sample_generator(*t)).numpy().tobytes() for t in triples
    }
    assert len(set(first_draws.values())) == len(triples)
    again = torch.rand(4, generator=sample_generator(7, 3, 5)).numpy().tobytes()
    assert again == first_draws[(7, 3, 5)]


def test_compose_passes_one_generator_through_its_transforms_in_order():
    flip, noise, item = RandomFlip(), always(RandomGaussianNoise), brain_item()
    composed = Compose([flip, noise])(item, sample_generator(5))
    generator = sample_generator(5)
    by_hand = noise(flip(item, generator), generator)
    assert same(composed, by_hand)


# --- probabilities and purity ----------------------------------------------------------------


@pytest.mark.parametrize(
    "transform_class",
    [RandomFlip, RandomAffine, RandomIntensityScaleShift, RandomGamma, RandomGaussianNoise],
)
def test_probability_zero_returns_the_item_unchanged(transform_class):
    item = brain_item()
    result = transform_class(p=0.0)(item, sample_generator(0))
    assert same(result, item)


def test_a_transform_is_applied_about_p_of_the_time():
    item = brain_item(shape=(3, 3, 3))
    noise = RandomGaussianNoise(p=0.3)
    applied = [
        not torch.equal(noise(item, sample_generator(s))["image"], item["image"])
        for s in range(400)
    ]
    assert 0.22 < np.mean(applied) < 0.38


@pytest.mark.parametrize("regions", [False, True])
def test_transforms_never_modify_their_input(regions):
    item = brain_item(regions=regions)
    before = {"image": item["image"].clone(), "label": item["label"].clone()}
    for seed in range(3):
        ALWAYS["compose"]()(item, sample_generator(seed))
        for make in (ALWAYS["scale_shift"], ALWAYS["noise"]):
            make()(item, sample_generator(seed))
    assert same(item, before)


# --- spatial transforms keep image and label together ----------------------------------------


@pytest.mark.parametrize("regions", [False, True])
def test_a_flip_keeps_an_image_equal_to_its_label(regions):
    item = brain_item(regions=regions)
    label = item["label"]
    item["image"] = (label[None] if label.ndim == 3 else label).float()
    for seed in range(8):
        flipped = RandomFlip()(item, sample_generator(seed))
        image = flipped["image"][0] if label.ndim == 3 else flipped["image"]
        assert torch.equal(image, flipped["label"].float())


def check_label_follows_the_image_ramp(before: dict, after: dict) -> int:
    """Assert that every label voxel comes from where the image ramp says it was sampled.

    Returns the number of voxels checked. The ramp channels hold coordinate + 10 and the last
    channel holds ones: where that channel is still exactly 1, every voxel the interpolation
    used was inside the volume, so the ramp gives the sampled position exactly.
    """
    n = before["image"].ndim - 1
    shape = before["image"].shape[1:]
    inside = torch.isclose(after["image"][n], torch.tensor(1.0), atol=1e-5)
    position = after["image"][:n] - 10.0
    fraction = position - position.floor()
    clear_of_ties = ((fraction - 0.5).abs() > 1e-3).all(dim=0)
    checked = inside & clear_of_ties
    nearest = position.round().long()
    for axis in range(n):
        assert (nearest[axis][checked] >= 0).all()
        assert (nearest[axis][checked] < shape[axis]).all()
    label_before, label_after = before["label"], after["label"]
    lead = (slice(None),) * (label_before.ndim - n)
    expected = label_before[(*lead, *(nearest[axis][checked] for axis in range(n)))]
    assert torch.equal(label_after[(*lead, checked)], expected)
    outside = after["image"][n] == 0  # sampled wholly outside: background
    assert (label_after[(*lead, outside)] == 0).all()
    return int(checked.sum())


@pytest.mark.parametrize("regions", [False, True])
@pytest.mark.parametrize("shape", [SHAPE, (12, 9)], ids=["3d", "2d"])
def test_random_affine_samples_the_label_exactly_where_it_samples_the_image(regions, shape):
    transform = RandomAffine(degrees=25.0, scale=(0.8, 1.25), translation=2.0, p=1.0)
    for seed in range(4):
        item = ramp_item(shape, seed=seed, regions=regions)
        checked = check_label_follows_the_image_ramp(item, transform(item, sample_generator(seed)))
        assert checked > 0.3 * np.prod(shape)


@pytest.mark.parametrize("regions", [False, True])
def test_random_affine_labels_keep_their_value_set_and_dtype(regions):
    item = brain_item(shape=(12, 14, 10), regions=regions)
    allowed = {0.0, 1.0} if regions else {0, 1, 2, 3}
    transform = RandomAffine(degrees=30.0, p=1.0)
    for seed in range(5):
        label = transform(item, sample_generator(seed))["label"]
        assert label.dtype == item["label"].dtype
        assert set(torch.unique(label).tolist()) <= allowed


def test_the_image_ramp_shows_the_positions_that_voxel_sampling_matrix_promises():
    shape = (9, 12, 16)
    matrix = voxel_sampling_matrix(shape, [30.0, -12.0, 8.0], [1.2, 1.2, 1.2], [1.5, -2.0, 0.5])
    warped = warp(ramp_item(shape), matrix)
    voxels = np.indices(shape).reshape(3, -1)
    expected = (matrix[:3, :3] @ voxels + matrix[:3, 3:]).reshape(3, *shape)
    inside = np.all((expected >= 0) & (expected <= np.array(shape).reshape(3, 1, 1, 1) - 1), 0)
    got = warped["image"][:3].numpy() - 10.0
    assert inside.sum() > 0.3 * np.prod(shape)
    np.testing.assert_allclose(got[:, inside], expected[:, inside], atol=2e-3)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_90_degree_rotation_about_each_axis_is_torch_rot90(axis):
    item = brain_item(shape=(7, 7, 7), channels=1, seed=axis)
    angles = [0.0, 0.0, 0.0]
    angles[axis] = 90.0
    rotated = warp(item, voxel_sampling_matrix((7, 7, 7), angles, [1, 1, 1], [0, 0, 0]))
    dims = [a for a in range(3) if a != axis]
    expected_image = torch.rot90(item["image"], 1, [1 + d for d in dims])
    torch.testing.assert_close(rotated["image"], expected_image, atol=1e-4, rtol=0)
    assert torch.equal(rotated["label"], torch.rot90(item["label"], 1, dims))


def test_a_shift_moves_the_content_by_that_many_voxels():
    item = brain_item(shape=(6, 7, 8), channels=1)
    moved = warp(item, voxel_sampling_matrix((6, 7, 8), [0, 0, 0], [1, 1, 1], [2, -1, 0]))
    torch.testing.assert_close(
        moved["image"][:, 2:, :-1, :], item["image"][:, :-2, 1:, :], atol=1e-5, rtol=0
    )
    assert torch.equal(moved["label"][2:, :-1, :], item["label"][:-2, 1:, :])
    assert not moved["image"][:, :2].any() and not moved["label"][:, -1].any()


def test_a_scale_above_one_magnifies_about_the_centre():
    shape = (9, 9, 9)
    warped = warp(ramp_item(shape), voxel_sampling_matrix(shape, [0, 0, 0], [2, 2, 2], [0, 0, 0]))
    corner_sample = warped["image"][:3, 0, 0, 0] - 10.0  # the centre is voxel 4
    torch.testing.assert_close(corner_sample, torch.full((3,), 2.0), atol=1e-4, rtol=0)


# --- intensity transforms --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["scale_shift", "gamma", "noise"])
def test_intensity_transforms_leave_the_background_zero(name):
    item = brain_item()
    background = ~(item["image"] != 0).any(0)
    for seed in range(3):
        image = ALWAYS[name]()(item, sample_generator(seed))["image"]
        assert not image[:, background].any()
        assert not torch.equal(image, item["image"])


def test_gamma_on_negative_z_scores_gives_no_nan_and_keeps_range_and_order():
    item = brain_item(channels=3)
    naive = item["image"] ** 0.8  # what a plain gamma does to a z-scored brain
    assert torch.isnan(naive).any()
    brain = (item["image"] != 0).any(0)
    for seed in range(4):
        out = always(RandomGamma, log_gamma=(-0.5, 0.5))(item, sample_generator(seed))["image"]
        assert not torch.isnan(out).any()
        for before, after in zip(item["image"][:, brain], out[:, brain], strict=True):
            torch.testing.assert_close(after.min(), before.min())
            torch.testing.assert_close(after.max(), before.max())
            assert (torch.diff(after[torch.argsort(before)]) >= -1e-6).all()


def test_scale_shift_is_a_per_channel_linear_map_within_its_ranges():
    item = brain_item(channels=3)
    brain = (item["image"] != 0).any(0)
    for seed in range(5):
        out = always(RandomIntensityScaleShift, scale=0.1, shift=0.2)(item, sample_generator(seed))
        for before, after in zip(item["image"][:, brain], out["image"][:, brain], strict=True):
            slope = (after[1] - after[0]) / (before[1] - before[0])
            offset = after[0] - slope * before[0]
            assert abs(slope - 1) <= 0.1 + 1e-5 and abs(offset) <= 0.2 + 1e-5
            torch.testing.assert_close(after, slope * before + offset, atol=1e-4, rtol=0)


def test_noise_has_zero_mean_and_at_most_the_given_standard_deviation():
    item = brain_item(shape=(20, 20, 20))
    brain = (item["image"] != 0).any(0)
    for seed in range(5):
        out = always(RandomGaussianNoise, std=0.2)(item, sample_generator(seed))
        added = (out["image"] - item["image"])[:, brain]
        assert 0 < added.std() <= 0.2 * 1.05
        assert abs(added.mean()) < 0.02


# --- 2D items and bad input ------------------------------------------------------------------


@pytest.mark.parametrize("regions", [False, True])
def test_every_transform_works_on_2d_slices(regions):
    item = brain_item(shape=(12, 9), channels=4, regions=regions)
    for name in ALWAYS:
        out = ALWAYS[name]()(item, sample_generator(1))
        assert out["image"].shape == item["image"].shape
        assert out["label"].shape == item["label"].shape
        assert out["label"].dtype == item["label"].dtype


def test_bad_items_and_settings_are_refused_with_a_clear_error():
    item = brain_item()
    with pytest.raises(TypeError, match="float torch.Tensor"):
        RandomFlip()({"image": item["image"].numpy()})
    with pytest.raises(ValueError, match="spatial shape"):
        RandomFlip()({"image": item["image"], "label": item["label"][:, :-1]})
    with pytest.raises(ValueError, match="probability"):
        RandomGamma(p=1.5)
    with pytest.raises(ValueError, match="not spatial axes"):
        RandomFlip(axes=(2,))(brain_item(shape=(5, 5)))


def test_resampling_blurs_the_image_as_a_coarser_grid_does_and_keeps_its_mean():
    item = brain_item((24, 24, 24), channels=1)
    blurred = always(RandomResample, factors=(2.0, 2.0), shift=0.0)(item, sample_generator(0))
    assert torch.equal(blurred["label"], item["label"])  # no shift: the label stays
    roughness = (item["image"].diff(dim=1) ** 2).mean()
    assert (blurred["image"].diff(dim=1) ** 2).mean() < 0.5 * roughness  # white noise blurred
    assert abs(float(blurred["image"].mean() - item["image"].mean())) < 0.05


def test_a_resampling_shift_moves_the_label_with_the_image():
    item = ramp_item((12, 12, 12), regions=True)
    moved = always(RandomResample, factors=(1.0, 1.0), p_thick=0.0)(item, sample_generator(3))
    inner = (slice(None), *[slice(3, -3)] * 3)
    offset = moved["image"][:3][inner] - item["image"][:3][inner]  # the shift, in voxels
    assert 0 < float(offset.abs().max()) <= 0.5 + 1e-4
    assert set(moved["label"].unique().tolist()) <= {0.0, 1.0}


def test_training_augmentation_is_the_default_one_plus_resampling():
    names = [type(t).__name__ for t in training_augmentation().transforms]
    default = [type(t).__name__ for t in default_augmentation().transforms]
    assert names == default[:2] + ["RandomResample"] + default[2:]
