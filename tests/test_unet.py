"""U-Net: output shapes in 2D and 3D, refused sizes, normalisations, parameters, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.unet import ConvBlock, Down, UNet, Up, nearest_valid_sizes


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
    # stem: strided conv 1->2 (18) + norm (4) + conv 2->2 (36) + norm (4) = 62
    # down: strided conv 2->4 (72) + norm (8) + conv 4->4 (144) + norm (8) = 232
    # up: transposed 4->2, 2x2 (32 + bias 2) = 34; one conv 4->2 (72) + norm (4) = 76
    # head: transposed 2->2, 2x2 (16 + bias 2) = 18
    assert parameter_count(UNet(2, 1, 2, features=(2, 4))) == 62 + 232 + 34 + 76 + 18
    # classic: the stem keeps the size (same parameters), the head is a 1x1 conv (4 + bias 2)
    classic = UNet(2, 1, 2, features=(2, 4), full_resolution=True)
    assert parameter_count(classic) == 62 + 232 + 34 + 76 + 6


def test_default_network_has_about_1_3_million_parameters():
    assert parameter_count(UNet()) == 1_266_219


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
