"""Patches: grids that cover every voxel, exact round trips, views, sampling, sliding windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.patches import (
    WEIGHTINGS,
    _copy,
    extract_patches,
    gaussian_weights,
    grid_origins,
    memory,
    patch_grid,
    patch_memory,
    sample_patches,
    sliding_window_inference,
    stitch_patches,
)


def random_grids(seed: int, count: int, max_size: int = 14, max_patches: int = 200):
    """``count`` random (volume shape, patch, stride) cases, some smaller than their patch."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        shape = tuple(int(s) for s in rng.integers(1, max_size + 1, 3))
        patch = tuple(int(p) for p in rng.integers(1, 9, 3))
        stride = tuple(int(rng.integers(1, p + 1)) for p in patch)
        if len(grid_origins(shape, patch, stride)) <= max_patches:
            cases.append((shape, patch, stride))
    return cases


def shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


# --- the grid --------------------------------------------------------------------------------


def test_the_grid_covers_every_voxel_and_its_last_patch_ends_at_the_border():
    for shape, patch, stride in random_grids(seed=1, count=300):
        origins = grid_origins(shape, patch, stride)
        covered = np.zeros(shape, dtype=int)
        for d, h, w in origins:
            covered[d : d + patch[0], h : h + patch[1], w : w + patch[2]] += 1
        assert covered.min() >= 1, (shape, patch, stride)
        for axis in range(3):
            starts = np.unique(origins[:, axis])
            assert starts[0] == 0
            assert starts[-1] + patch[axis] == max(shape[axis], patch[axis])
            assert np.all(np.diff(starts)[:-1] == stride[axis])
            assert np.all(np.diff(starts) <= stride[axis])


def test_grid_origins_are_hand_computed_for_a_small_case():
    origins = grid_origins((9, 3, 10), patch_size=(4, 4, 4), stride=(3, 2, 4))
    assert origins.dtype == np.int64 and origins.shape == (3 * 1 * 3, 3)
    assert np.unique(origins[:, 0]).tolist() == [0, 3, 5]
    assert np.unique(origins[:, 1]).tolist() == [0]  # 3 < patch: one padded patch
    assert np.unique(origins[:, 2]).tolist() == [0, 4, 6]
    assert origins[:2].tolist() == [[0, 0, 0], [0, 0, 4]]  # C order: last axis fastest


# --- extraction and stitching ----------------------------------------------------------------


def test_patches_are_the_volume_at_their_origins_zero_padded_beyond_it():
    rng = np.random.default_rng(2)
    for shape, patch, stride in random_grids(seed=2, count=80):
        volume = rng.standard_normal((2, *shape)).astype(np.float32)
        patches, origins = extract_patches(volume, patch, stride)
        assert patches.shape == (len(origins), 2, *patch)
        padded = np.zeros((2, *np.maximum(shape, patch)), np.float32)
        padded[:, : shape[0], : shape[1], : shape[2]] = volume
        for patch_values, (d, h, w) in zip(patches, origins, strict=True):
            expected = padded[:, d : d + patch[0], h : h + patch[1], w : w + patch[2]]
            np.testing.assert_array_equal(patch_values, expected)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_copies_split_over_threads_give_every_patch_exactly(monkeypatch, kind):
    monkeypatch.setattr(_copy, "PARALLEL_COPY_BYTES", 0)  # every copy takes the threaded path
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the thread policy's count
    rng = np.random.default_rng(3)
    for shape, patch, stride in random_grids(seed=3, count=40):
        volume = rng.standard_normal((2, *shape)).astype(np.float32)
        source = torch.from_numpy(volume) if kind == "torch" else volume
        patches, origins = extract_patches(source, patch, stride, copy=True)
        assert _copy.copy_threads(1, len(origins)) == min(3, len(origins))
        padded = np.zeros((2, *np.maximum(shape, patch)), np.float32)
        padded[:, : shape[0], : shape[1], : shape[2]] = volume
        expected = np.stack(
            [
                padded[:, d : d + patch[0], h : h + patch[1], w : w + patch[2]]
                for d, h, w in origins
            ]
        )
        np.testing.assert_array_equal(np.asarray(patches), expected)


def test_only_large_copies_of_several_patches_use_threads():
    assert _copy.copy_threads(_copy.PARALLEL_COPY_BYTES - 1, 18) == 1
    assert _copy.copy_threads(_copy.PARALLEL_COPY_BYTES, 1) == 1
    assert 1 <= _copy.copy_threads(_copy.PARALLEL_COPY_BYTES, 18) <= 4


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_extract_then_stitch_gives_back_the_volume_exactly(weighting):
    rng = np.random.default_rng(3)
    for shape, patch, stride in random_grids(seed=3, count=120):
        volume = rng.standard_normal((int(rng.integers(1, 4)), *shape)).astype(np.float32)
        patches, origins = extract_patches(volume, patch, stride)
        again = stitch_patches(patches, origins, shape, weighting=weighting)
        assert again.dtype == np.float32
        assert np.array_equal(again, volume), (shape, patch, stride, weighting)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_torch_tensors_round_trip_as_tensors(weighting):
    generator = torch.Generator().manual_seed(0)
    for shape, patch, stride in random_grids(seed=4, count=20):
        volume = torch.randn((2, *shape), generator=generator)
        patches, origins = extract_patches(volume, patch, stride)
        assert isinstance(patches, torch.Tensor) and isinstance(origins, np.ndarray)
        again = stitch_patches(patches, origins, shape, weighting=weighting)
        assert isinstance(again, torch.Tensor) and again.dtype == torch.float32
        assert torch.equal(again, volume)


def test_integer_labels_round_trip_as_float32_with_the_same_values():
    label = np.random.default_rng(5).integers(0, 5, (1, 11, 9, 7)).astype(np.uint8)
    patches, origins = extract_patches(label, patch_size=4, stride=3)
    assert patches.dtype == np.uint8
    again = stitch_patches(patches, origins, label.shape[1:], weighting="gaussian")
    assert again.dtype == np.float32 and np.array_equal(again, label)


def test_stitching_averages_overlaps_by_the_chosen_weighting():
    # Two 1x1x4 patches overlapping on 2 voxels of a 1x1x6 volume: 0s, then 1s.
    patches = np.stack([np.zeros((1, 1, 1, 4)), np.ones((1, 1, 1, 4))])
    origins = np.array([[0, 0, 0], [0, 0, 2]])
    constant = stitch_patches(patches, origins, (1, 1, 6), weighting="constant")
    assert constant[0, 0, 0].tolist() == [0, 0, 0.5, 0.5, 1, 1]
    crop = stitch_patches(patches, origins, (1, 1, 6), weighting="crop")
    assert crop[0, 0, 0].tolist() == [0, 0, 0, 1, 1, 1]
    gaussian = stitch_patches(patches, origins, (1, 1, 6), weighting="gaussian")[0, 0, 0]
    w = gaussian_weights((1, 1, 4))[0, 0]  # symmetric: w[2] == w[1], w[3] == w[0]
    expected = w[0] / (w[0] + w[2])  # voxel 2: inner side of patch 0, outer side of patch 1
    np.testing.assert_allclose(gaussian, [0, 0, expected, 1 - expected, 1, 1])


def test_gaussian_weights_are_positive_everywhere_and_peak_at_the_centre():
    weights = gaussian_weights((128, 96, 33))
    assert weights.min() == pytest.approx(1e-3) and weights.max() <= 1
    assert np.unravel_index(weights.argmax(), weights.shape)[2] == 16
    profile = gaussian_weights((1, 1, 33))[0, 0]
    sigma = 33 * 0.125
    assert profile[16] == 1
    assert profile[20] == pytest.approx(np.exp(-0.5 * (4 / sigma) ** 2))


def test_stitching_refuses_origins_that_leave_voxels_uncovered():
    patches = np.ones((2, 1, 2, 2, 2))
    origins = np.array([[0, 0, 0], [0, 0, 4]])  # voxels 2 and 3 of the last axis: no patch
    for weighting in WEIGHTINGS:
        with pytest.raises(ValueError, match="covered by no patch"):
            stitch_patches(patches, origins, (2, 2, 6), weighting=weighting)


# --- view or copy ----------------------------------------------------------------------------


def test_a_single_row_of_evenly_spaced_patches_is_a_read_only_view():
    volume = np.random.default_rng(6).random((2, 8, 8, 20), dtype=np.float32)
    patches, origins = extract_patches(volume, patch_size=8, stride=4)  # 0, 4, ..., 12
    assert len(origins) == 4 and np.shares_memory(patches, volume)
    assert not patches.flags.writeable
    assert np.array_equal(patches[3], volume[:, :, :, 12:20])


def test_torch_views_share_the_volume_storage():
    volume = torch.randn(2, 8, 8, 20)
    row, _ = extract_patches(volume, patch_size=8, stride=4)
    assert shares_storage(row, volume)
    copied, _ = extract_patches(volume, patch_size=8, stride=4, copy=True)
    assert not shares_storage(copied, volume) and torch.equal(copied, row)
    grid_copy, _ = extract_patches(volume, patch_size=4, stride=4)
    assert not shares_storage(grid_copy, volume)


def test_a_3d_grid_is_copied_but_patch_grid_gives_it_as_a_view():
    volume = np.random.default_rng(7).random((3, 12, 10, 8), dtype=np.float32)
    patches, origins = extract_patches(volume, patch_size=(4, 4, 4), stride=(4, 3, 2))
    assert not np.shares_memory(patches, volume) and patches.flags.c_contiguous
    grid, grid_origins_ = patch_grid(volume, patch_size=(4, 4, 4), stride=(4, 3, 2))
    assert grid.shape == (3, 3, 3, 3, 4, 4, 4) and np.shares_memory(grid, volume)
    assert np.array_equal(grid_origins_, origins)
    assert np.array_equal(grid.reshape(patches.shape), patches)
    tensor_grid, _ = patch_grid(torch.from_numpy(volume), patch_size=4, stride=(4, 3, 2))
    assert shares_storage(tensor_grid, torch.from_numpy(volume))
    assert np.array_equal(tensor_grid.numpy(), grid)


def test_patch_grid_refuses_origins_that_are_not_evenly_spaced():
    with pytest.raises(ValueError, match=r"axis 2 .*\[0, 4, 6\].*not evenly spaced"):
        patch_grid(np.zeros((1, 4, 4, 10)), patch_size=4, stride=4)
    with pytest.raises(ValueError, match="not evenly spaced"):
        patch_grid(np.zeros((1, 3, 4, 4)), patch_size=4, stride=4)  # would need padding


def test_copy_false_refuses_when_only_a_copy_can_give_the_patches():
    volume = np.zeros((1, 8, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="not evenly spaced in memory"):
        extract_patches(volume, patch_size=4, stride=4, copy=False)
    with pytest.raises(ValueError, match="must be padded"):
        extract_patches(volume, patch_size=(4, 4, 10), stride=4, copy=False)
    row, _ = extract_patches(volume, patch_size=(8, 8, 4), stride=4, copy=False)
    assert np.shares_memory(row, volume)
    fresh, _ = extract_patches(volume, patch_size=(8, 8, 4), stride=4, copy=True)
    assert not np.shares_memory(fresh, volume) and fresh.flags.writeable


def test_volumes_smaller_than_the_patch_are_zero_padded_copies():
    volume = np.arange(1 * 3 * 5 * 7, dtype=np.float32).reshape(1, 3, 5, 7) + 1
    patches, origins = extract_patches(volume, patch_size=6, stride=3)
    assert origins.tolist() == [[0, 0, 0], [0, 0, 1]]
    assert patches.shape == (2, 1, 6, 6, 6) and not np.shares_memory(patches, volume)
    assert np.count_nonzero(patches[0]) == 3 * 5 * 6 and np.all(patches[:, :, 3:] == 0)
    assert np.array_equal(stitch_patches(patches, origins, (3, 5, 7)), volume)


# --- sliding windows -------------------------------------------------------------------------


def seeded(factory, *args) -> nn.Module:
    """``factory(*args)`` in eval mode, with torch's default initialisation from seed 0."""
    torch.manual_seed(0)
    return factory(*args).eval()


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_a_pointwise_model_gives_its_whole_volume_answer_in_every_mode(weighting):
    model = seeded(nn.Conv3d, 3, 2, 1)
    image = torch.randn(2, 3, 13, 11, 9)
    out = sliding_window_inference(
        model, image, patch_size=(6, 5, 4), overlap=0.5, batch_size=3, weighting=weighting
    )
    assert out.shape == (2, 2, 13, 11, 9) and not out.requires_grad
    torch.testing.assert_close(out, model(image).detach(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_convolution_is_exact_in_crop_mode_and_visibly_wrong_when_averaged(layers):
    # Receptive-field radius = layers; the overlap 8 * 0.5 = 4 trims 2 voxels per inner side.
    torch.manual_seed(0)
    convs = [nn.Conv3d(2 if i == 0 else 4, 4, kernel_size=3, padding=1) for i in range(layers)]
    model = nn.Sequential(*convs).eval()
    image = torch.randn(1, 2, 21, 18, 11, generator=torch.Generator().manual_seed(layers))
    whole = model(image).detach()
    crop = sliding_window_inference(model, image, patch_size=8, weighting="crop")
    torch.testing.assert_close(crop, whole, atol=1e-5, rtol=0)
    constant = sliding_window_inference(model, image, patch_size=8, weighting="constant")
    assert (constant - whole).abs().max() > 0.1  # window borders: so this test can fail


def test_volumes_smaller_than_the_window_come_back_at_their_own_size():
    model = seeded(nn.Conv3d, 1, 1, 3, 1, 1)
    image = torch.randn(1, 1, 5, 12, 7)
    out = sliding_window_inference(model, image, patch_size=8, weighting="crop")
    assert out.shape == image.shape and out.is_contiguous()
    torch.testing.assert_close(out, model(image).detach(), atol=1e-5, rtol=0)


def test_windows_go_through_the_model_a_batch_at_a_time_without_gradients():
    calls = []

    def model(windows):
        calls.append((len(windows), torch.is_grad_enabled()))
        return windows * 2

    image = torch.randn(2, 1, 12, 12, 12)
    out = sliding_window_inference(model, image, patch_size=6, batch_size=4)
    per_image = len(grid_origins((12, 12, 12), 6, 3))
    assert sum(n for n, _ in calls) == 2 * per_image and max(n for n, _ in calls) == 4
    assert not any(grad for _, grad in calls)
    torch.testing.assert_close(out, image * 2)


def test_a_model_that_returns_its_input_gives_back_the_image_in_every_mode():
    image = torch.randn(2, 3, 11, 9, 10)  # windows share one buffer: no batch may leak
    for weighting in WEIGHTINGS:
        out = sliding_window_inference(
            lambda x: x, image, patch_size=(4, 6, 5), batch_size=3, weighting=weighting
        )
        torch.testing.assert_close(out, image, atol=1e-5, rtol=0)


def test_a_progress_bar_appears_only_on_request(capsys):
    image = torch.randn(1, 1, 8, 8, 8)
    sliding_window_inference(lambda x: x, image, patch_size=4)
    assert "sliding window" not in capsys.readouterr().err
    sliding_window_inference(lambda x: x, image, patch_size=4, progress=True)
    assert "sliding window" in capsys.readouterr().err


def test_a_model_that_changes_the_spatial_size_is_refused():
    with pytest.raises(ValueError, match="the model must map"):
        sliding_window_inference(lambda x: x[..., :2], torch.zeros(1, 1, 8, 8, 8), patch_size=4)


# --- sampling --------------------------------------------------------------------------------


def tumour_volume():
    """A (2, 32, 32, 32) image and a (32, 32, 32) label with a 6x6x6 tumour (0.66% of it)."""
    label = np.zeros((32, 32, 32), dtype=np.uint8)
    label[10:16, 12:18, 14:20] = 2
    image = np.random.default_rng(8).random((2, 32, 32, 32), dtype=np.float32)
    return image, label


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 1.0])
def test_the_requested_share_of_patches_is_centred_on_tumour(ratio):
    image, label = tumour_volume()
    _, label_patches, origins = sample_patches(
        image, label, 1000, 4, foreground_ratio=ratio, rng=1
    )
    centred = label_patches[:, 2, 2, 2] > 0  # centre voxel = origin + patch // 2
    fraction = np.mean(label > 0)
    assert abs(centred.mean() - (ratio + (1 - ratio) * fraction)) <= 0.03
    assert np.array_equal(centred, label[tuple((origins + 2).T)] > 0)


def test_tumour_centred_patches_are_shuffled_among_the_others():
    image, label = tumour_volume()
    _, label_patches, _ = sample_patches(image, label, 200, 4, foreground_ratio=0.5, rng=2)
    centred = label_patches[:, 2, 2, 2] > 0
    assert 0.3 < centred[:100].mean() < 0.7 and 0.3 < centred[100:].mean() < 0.7


def test_the_same_seed_gives_the_same_patches_and_another_seed_does_not():
    image, label = tumour_volume()
    first = sample_patches(image, label, 20, (4, 6, 8), rng=3)
    again = sample_patches(image, label, 20, (4, 6, 8), rng=np.random.default_rng(3))
    other = sample_patches(image, label, 20, (4, 6, 8), rng=4)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_sampled_patches_are_the_image_and_label_at_their_origins():
    image, label = tumour_volume()
    x, y, origins = sample_patches(image, label[None], 30, (4, 6, 8), rng=5)
    assert x.shape == (30, 2, 4, 6, 8) and y.shape == (30, 1, 4, 6, 8)
    assert origins.min() >= 0 and np.all(origins + (4, 6, 8) <= 32)
    for xi, yi, (d, h, w) in zip(x, y, origins, strict=True):
        assert np.array_equal(xi, image[:, d : d + 4, h : h + 6, w : w + 8])
        assert np.array_equal(yi[0], label[d : d + 4, h : h + 6, w : w + 8])


def test_sampling_works_on_tensors_and_pads_small_volumes():
    image, label = torch.ones(1, 3, 10, 10), torch.ones(3, 10, 10, dtype=torch.uint8)
    x, y, origins = sample_patches(image, label, 5, (4, 8, 8), foreground_ratio=1.0, rng=6)
    assert isinstance(x, torch.Tensor) and x.shape == (5, 1, 4, 8, 8) and y.shape == (5, 4, 8, 8)
    assert (
        np.all(origins[:, 0] == 0) and torch.all(x[:, :, 3] == 0) and torch.all(x[:, :, :3] == 1)
    )


def test_without_foreground_centres_are_uniform_and_nothing_is_printed(capsys):
    image, label = tumour_volume()
    _, _, origins = sample_patches(image, np.zeros_like(label), 500, 4, foreground_ratio=1, rng=7)
    assert len(np.unique(origins, axis=0)) > 400
    assert abs(origins.mean() - 14) < 1.5  # origins uniform on 0..28
    assert capsys.readouterr() == ("", "")


# --- memory ----------------------------------------------------------------------------------


class SkipNet(nn.Module):
    """A two-level U-Net-like model: convolutions, instance norm, pooling, a concatenation."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv3d(4, 8, 3, padding=1), nn.InstanceNorm3d(8), nn.ReLU())
        self.pool = nn.MaxPool3d(2)
        self.middle = nn.Sequential(nn.Conv3d(8, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.up = nn.ConvTranspose3d(16, 8, 2, stride=2)
        self.head = nn.Conv3d(16, 3, 1)

    def forward(self, x):
        skip = self.down(x)
        return self.head(torch.cat([skip, self.up(self.middle(self.pool(skip)))], dim=1))


def allocated_bytes(model: nn.Module, sample: torch.Tensor) -> int:
    """Everything torch's CPU allocator hands out during one real forward pass (profiler)."""
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        model(sample)
    return sum(max(event.self_cpu_memory_usage, 0) for event in prof.events())


def test_patch_memory_counts_the_float32_input_batch():
    memory = patch_memory((128, 128, 96), channels=4, batch_size=2)
    assert memory.input_bytes == 2 * 4 * 128 * 128 * 96 * 4
    assert memory.activation_bytes == memory.parameter_bytes == 0
    assert memory.total_bytes == memory.input_bytes and "MiB" in str(memory)


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: nn.Sequential(nn.Conv3d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 3, 1)),
        lambda: nn.Sequential(nn.Conv3d(4, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU(True)),
        SkipNet,
    ],
)
def test_patch_memory_is_within_a_quarter_of_what_torch_allocates(make_model):
    model = make_model().eval()
    estimate = patch_memory((24, 16, 20), channels=4, batch_size=2, model=model)
    measured = allocated_bytes(model, torch.randn(2, 4, 24, 16, 20))
    assert abs(estimate.activation_bytes - measured) <= 0.25 * measured
    parameters = sum(p.numel() * 4 for p in model.parameters())
    assert estimate.parameter_bytes == parameters
    assert all(p.device.type == "cpu" for p in model.parameters())  # meta pass left it alone


def test_the_meta_estimate_equals_a_real_forward_pass():
    model = SkipNet().eval()
    meta = memory.forward_bytes(model, torch.empty(2, 4, 16, 16, 16, device="meta"))
    assert meta == memory.forward_bytes(model, torch.randn(2, 4, 16, 16, 16))


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: grid_origins((8, 8, 8), 4, 0), "stride must be one positive integer"),
        (lambda: grid_origins((8, 8, 8), 4, -1), "stride must be one positive integer"),
        (lambda: grid_origins((8, 8, 8), 0, 1), "patch_size must be one positive integer"),
        (lambda: grid_origins((8, 8, 8), (4, 4), 2), "patch_size must be one positive integer"),
        (lambda: grid_origins((8, 8, 8), 2.5, 1), "patch_size must be one positive integer"),
        (lambda: grid_origins((8, 8, 8), 4, 5), "stride 5 is larger than the patch"),
        (lambda: grid_origins((8, 0, 8), 4, 2), "shape must be one positive integer"),
        (lambda: extract_patches(np.zeros((8, 8, 8)), 4, 2), r"4 axes \(C, D, H, W\)"),
        (lambda: stitch_patches(np.zeros((2, 1, 4, 4, 4)), np.zeros((3, 3), int), 8), r"\(2, 3\)"),
        (lambda: stitch_patches(np.zeros((1, 1, 4, 4, 4)), [[0, 0, 6]], 8), "outside the volume"),
        (
            lambda: stitch_patches(np.zeros((1, 1, 2, 2, 2)), [[0, 0, 0]], 2, weighting="mean"),
            "weighting must be one of",
        ),
        (
            lambda: sliding_window_inference(nn.Identity(), torch.zeros(1, 8, 8, 8), patch_size=4),
            r"5 axes \(B, C, D, H, W\)",
        ),
        (
            lambda: sliding_window_inference(
                nn.Identity(), torch.zeros(1, 1, 8, 8, 8), patch_size=4, overlap=1.0
            ),
            r"overlap must be in \[0, 1\)",
        ),
        (
            lambda: sample_patches(np.zeros((1, 8, 8, 8)), np.zeros((8, 8, 7)), 4, 2),
            "label must be",
        ),
        (
            lambda: sample_patches(
                np.zeros((1, 8, 8, 8)), np.zeros((8, 8, 8)), 4, 2, foreground_ratio=1.5
            ),
            r"foreground_ratio in \[0, 1\]",
        ),
        (lambda: patch_memory(64, channels=0, batch_size=1), "positive ints"),
    ],
)
def test_bad_arguments_raise_a_value_error_that_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert str(error.value).endswith(".")
