"""U-Net: output shapes in 2D and 3D, refused sizes, normalisations, parameters, gradients."""

from __future__ import annotations

import itertools
import re

import pytest
import torch
from torch import nn

from course_utils.unet import ConvBlock, Down, Head, UNet, Up, depth_to_space, nearest_valid_sizes


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("spatial_dims", "features", "size"),
    [
        (2, (4, 8), (12, 20)),
        (2, (4, 8, 16, 32), (32, 48)),
        (3, (2, 4), (4, 8, 12)),
        (3, (2, 4, 8), (16, 8, 24)),
        (3, (2, 4, 8, 16), (16, 32, 16)),
    ],
)
@pytest.mark.parametrize("full_resolution", [False, True])
def test_output_has_the_input_size_and_one_channel_per_class(
    spatial_dims, features, size, full_resolution
):
    net = UNet(spatial_dims, 4, 3, features=features, full_resolution=full_resolution)
    assert net(torch.randn(2, 4, *size)).shape == (2, 3, *size)


def test_only_the_classic_network_has_features_at_full_resolution():
    seen = {}

    def record(name):
        def hook(module, inputs, output):
            seen[name] = tuple(output.shape[2:])

        return hook

    for full_resolution in (False, True):
        net = UNet(3, 1, 1, features=(2, 4), full_resolution=full_resolution)
        net.stem.register_forward_hook(record(full_resolution))
        net(torch.zeros(1, 1, 8, 8, 8))
    assert seen == {False: (4, 4, 4), True: (8, 8, 8)}


@pytest.mark.parametrize(
    ("downsample", "upsample"), [("strided", "transpose"), ("maxpool", "linear")]
)
def test_every_down_and_up_mode_gives_the_input_size(downsample, upsample):
    net = UNet(3, 1, 2, features=(2, 4, 8), downsample=downsample, upsample=upsample)
    assert net(torch.randn(1, 1, 8, 16, 24)).shape == (1, 2, 8, 16, 24)


def test_blocks_change_channels_and_size_as_documented():
    x = torch.randn(1, 3, 8, 8, 8)
    assert ConvBlock(3, 3, 5)(x).shape == (1, 5, 8, 8, 8)
    assert Down(3, 3, 6)(x).shape == (1, 6, 4, 4, 4)
    assert Down(3, 3, 6, mode="maxpool")(x).shape == (1, 6, 4, 4, 4)
    coarse = torch.randn(1, 6, 4, 4, 4)
    assert Up(3, 6, 3)(coarse, skip=x).shape == (1, 3, 8, 8, 8)
    assert Up(3, 6, 3, convs=0)(coarse, skip=x).shape == (1, 6, 8, 8, 8)  # joined, as is
    assert Down(3, 3, 6, convs=1).convs[0].stride == (2, 2, 2)


@pytest.mark.parametrize(
    ("features", "full_resolution", "shape", "message"),
    [
        ((4, 8, 16, 32), False, (63, 64, 64), "axis 0 (size 63)"),
        ((4, 8, 16, 32), False, (64, 64, 63), "the nearest valid sizes are 48 or 64"),
        ((4, 8, 16, 32), False, (64, 5, 64), "the nearest valid sizes are 16."),
        ((4, 8, 16, 32), True, (64, 64, 63), "the nearest valid sizes are 56 or 64"),
        ((4, 8), False, (8, 8, 6), "not divisible by 4 on axis 2 (size 6)"),
        ((4, 8), True, (8, 8, 7), "not divisible by 2 on axis 2 (size 7)"),
    ],
)
def test_sizes_the_depth_cannot_halve_are_refused_with_the_nearest_valid_sizes(
    features, full_resolution, shape, message
):
    net = UNet(3, 1, 1, features=features, full_resolution=full_resolution)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        net(torch.zeros(1, 1, *shape))


def test_nearest_valid_sizes_lie_on_either_side():
    assert nearest_valid_sizes(63, 8) == (56, 64)
    assert nearest_valid_sizes(65, 8) == (64, 72)
    assert nearest_valid_sizes(16, 8) == (16,)
    assert nearest_valid_sizes(3, 8) == (8,)


def test_a_tensor_without_batch_or_channel_axis_is_refused():
    with pytest.raises(
        ValueError, match=r"5-axis tensor \(B, C, D, H, W\); got shape \(1, 8, 8, 8\)"
    ):
        UNet(3, 1, 1, features=(2, 4))(torch.zeros(1, 8, 8, 8))


@pytest.mark.parametrize(
    "kwargs",
    [{"spatial_dims": 1}, {"norm": "group"}, {"features": (8,)}, {"dropout": 1.0}],
)
def test_nonsense_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        UNet(**kwargs)


def test_parameter_count_matches_a_hand_count():
    # stem: one strided conv 1->2 (18) + norm (4) = 22
    # down: strided conv 2->4 (72) + norm (8) + conv 4->4 (144) + norm (8) = 232
    # up, the finest, without a conv: transposed 4->2, 2x2 (32 + bias 2) = 34
    # head: transposed 4->2, 4x4 (128 + bias 2) = 130; image path 1->2*4, 4x4, no bias = 128
    assert parameter_count(UNet(2, 1, 2, features=(2, 4))) == 22 + 232 + 34 + 130 + 128
    # classic: two convs at full resolution 1->2->2 (18 + 4 + 36 + 4), the same down, an up
    # with one conv 4->2 (72 + norm 4), and a 1x1 conv head (4 + bias 2)
    classic = UNet(2, 1, 2, features=(2, 4), full_resolution=True)
    assert parameter_count(classic) == 62 + 232 + 34 + 76 + 6


def test_default_network_has_about_1_3_million_parameters():
    assert parameter_count(UNet()) == 1_270_027


def test_depth_to_space_fills_each_cell_from_the_channel_groups_in_order():
    x = torch.arange(2 * 8 * 2 * 1 * 1.0).reshape(1, 2 * 8, 2, 1, 1)  # 2 channels, 2 voxels
    out = depth_to_space(x, channels=2)
    assert out.shape == (1, 2, 4, 2, 2)
    for channel, voxel, (a, b, c) in itertools.product(
        range(2), range(2), itertools.product(range(2), repeat=3)
    ):
        group = 4 * a + 2 * b + c
        assert out[0, channel, 2 * voxel + a, b, c] == x[0, channel * 8 + group, voxel, 0, 0]


def test_the_heads_image_path_can_be_any_full_resolution_3x3x3_convolution():
    # Each of the 8 channel groups is one position of the 2x2x2 cell; its 4x4x4 stride-2
    # kernel covers that position's 3x3x3 neighbourhood at offset (a, b, c).
    torch.manual_seed(0)
    reference = nn.Conv3d(4, 3, kernel_size=3, padding=1, bias=False)
    head = Head(3, feature_channels=1, image_channels=4, out_channels=3)
    with torch.no_grad():
        head.image.weight.zero_()
        kernels = head.image.weight.view(3, 2, 2, 2, 4, 4, 4, 4)
        for a, b, c in itertools.product(range(2), repeat=3):
            kernels[:, a, b, c, :, a : a + 3, b : b + 3, c : c + 3] = reference.weight
        image = torch.randn(2, 4, 6, 8, 10)
        seen = depth_to_space(head.image(image), channels=3)
        torch.testing.assert_close(seen, reference(image), atol=1e-5, rtol=1e-5)


def test_the_head_sees_each_voxels_own_intensity():
    # Change one input voxel: the logits change there, at full resolution, through the
    # image path alone (the features are held fixed).
    torch.manual_seed(0)
    head = Head(3, feature_channels=2, image_channels=1, out_channels=1)
    features, image = torch.randn(1, 2, 3, 3, 3), torch.randn(1, 1, 6, 6, 6)
    changed = image.clone()
    changed[0, 0, 3, 2, 4] += 1.0
    with torch.no_grad():
        difference = (head(features, changed) - head(features, image)).abs()[0, 0]
    assert difference[3, 2, 4] > 0
    assert difference[0].max() == 0  # beyond the 3x3x3 neighbourhood's 4x4x4 cell block


@pytest.mark.parametrize(
    ("norm", "layer"), [("instance", nn.InstanceNorm3d), ("batch", nn.BatchNorm3d)]
)
def test_norm_chooses_the_normalisation_layer(norm, layer):
    net = UNet(3, 1, 1, features=(2, 4), norm=norm)
    norms = [m for m in net.modules() if isinstance(m, (nn.InstanceNorm3d, nn.BatchNorm3d))]
    assert norms and all(type(m) is layer for m in norms)


def test_instance_norm_treats_each_sample_alone_and_batch_norm_does_not():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 8, 8)
    for norm, independent in [("instance", True), ("batch", False)]:
        net = UNet(2, 1, 1, features=(2, 4), norm=norm).train()
        alone = net(x[:1])
        together = net(x)[:1]
        assert torch.allclose(alone, together, atol=1e-5) == independent, norm


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = UNet(3, 2, 3, features=(2, 4, 8), norm="batch", dropout=0.1)
    net(torch.randn(2, 2, 8, 8, 8)).square().mean().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_dropout_is_active_in_training_only():
    torch.manual_seed(0)
    net = UNet(2, 1, 1, features=(4, 8), dropout=0.5)
    x = torch.randn(1, 1, 8, 8)
    assert not torch.equal(net.train()(x), net(x))
    assert torch.equal(net.eval()(x), net(x))


@pytest.mark.parametrize(
    ("block", "kwargs", "message"),
    [
        (Down, {"mode": "avgpool"}, "mode must be one of ('strided', 'maxpool')"),
        (Up, {"mode": "nearest"}, "mode must be one of ('transpose', 'linear')"),
        (Down, {"norm": "group"}, "norm must be one of ('instance', 'batch')"),
        (Up, {"activation": "gelu"}, "activation must be one of ('leaky_relu', 'relu')"),
        (Down, {"spatial_dims": 1}, "spatial_dims must be one of (2, 3)"),
        (Up, {"dropout": 1.0}, "dropout must be in [0, 1)"),
        (ConvBlock, {"norm": "layer"}, "norm must be one of ('instance', 'batch')"),
    ],
)
def test_blocks_refuse_a_setting_they_do_not_have(block, kwargs, message):
    # Down/Up used to take any other mode as "maxpool"/"linear" and any other norm as batch
    arguments = {"spatial_dims": 3, "in_channels": 4, "out_channels": 2, **kwargs}
    if block is Up:
        arguments["skip_channels"] = arguments.pop("out_channels")
    with pytest.raises(ValueError, match=re.escape(message)):
        block(**arguments)
