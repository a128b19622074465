"""Losses: soft Dice and Dice + cross-entropy against hand-computed values, empty channels,
target checks, and a tiny network that learns with them."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.losses import DiceCELoss, SoftDiceLoss
from course_utils.unet import UNet

TRUTH = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])  # (B=1, C=1, W=4): two foreground voxels


def probabilities(*values: float) -> torch.Tensor:
    return torch.tensor([[list(values)]])


def dice(**kwargs) -> SoftDiceLoss:
    return SoftDiceLoss("regions", from_logits=False, **kwargs)


@pytest.mark.parametrize("squared", [False, True])
def test_dice_loss_of_a_perfect_prediction_is_zero(squared):
    loss = dice(squared_denominator=squared)(TRUTH.clone(), TRUTH)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("squared", [False, True])
def test_dice_loss_of_a_disjoint_prediction_is_one(squared):
    loss = dice(squared_denominator=squared)(probabilities(0, 0, 1, 1), TRUTH)
    assert float(loss) == pytest.approx(1.0, abs=1e-5)


def test_dice_loss_of_a_soft_partial_overlap_has_the_exact_value():
    # p = (0.5, 1, 0.5, 0): overlap 1.5, sum p 2, sum g 2 -> 1 - 3 / 4
    loss = dice(smooth=0.0)(probabilities(0.5, 1.0, 0.5, 0.0), TRUTH)
    assert float(loss) == pytest.approx(0.25, abs=1e-7)


def test_squared_denominator_gives_the_v_net_value():
    # sum p**2 = 0.25 + 1 + 0.25 = 1.5, sum g**2 = 2 -> 1 - 3 / 3.5
    p = probabilities(0.5, 1.0, 0.5, 0.0)
    squared = dice(smooth=0.0, squared_denominator=True)(p, TRUTH)
    assert float(squared) == pytest.approx(1 - 3 / 3.5, abs=1e-7)
    assert float(squared) != pytest.approx(float(dice(smooth=0.0)(p, TRUTH)))


def test_smooth_is_added_to_numerator_and_denominator():
    loss = dice(smooth=1.0)(probabilities(1, 0, 0, 0), TRUTH)  # 1 - (2 + 1) / (3 + 1)
    assert float(loss) == pytest.approx(0.25, abs=1e-7)


def test_logits_go_through_a_sigmoid_in_regions_mode():
    logits = torch.tensor([[[0.0, 0.0, -100.0, -100.0]]])  # sigmoid (0.5, 0.5, 0, 0)
    loss = SoftDiceLoss("regions", smooth=0.0)(logits, TRUTH)  # 1 - 2 * 1 / (1 + 2)
    assert float(loss) == pytest.approx(1 / 3, abs=1e-6)


def test_an_empty_channel_costs_nothing_when_predicted_empty():
    empty = torch.zeros(1, 1, 4)
    assert float(dice()(empty, empty)) == 0.0


def test_an_empty_channel_costs_nearly_one_for_any_predicted_mass():
    # smooth / (sum p + smooth) = 1e-5 / (0.1 + 1e-5): the loss is about 1
    loss = dice()(probabilities(0.1, 0, 0, 0), torch.zeros(1, 1, 4))
    assert float(loss) == pytest.approx(1 - 1e-5 / (0.1 + 1e-5), rel=1e-6)


def test_reduction_none_gives_one_loss_per_sample_and_channel():
    target = torch.stack([TRUTH[0], 1 - TRUTH[0]])[:, :, None].repeat(1, 2, 1, 1)  # (2, 2, 1, 4)
    prediction = target.clone()
    prediction[1, 0] = 1 - prediction[1, 0]  # sample 1, channel 0 disjoint
    losses = dice(reduction="none")(prediction, target)
    assert losses.shape == (2, 2)
    assert torch.allclose(losses, torch.tensor([[0.0, 0.0], [1.0, 0.0]]), atol=1e-5)


def test_batch_dice_pools_the_samples():
    target = torch.tensor([[[1.0, 1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]])
    prediction = torch.tensor([[[1.0, 1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0, 0.0]]])
    # per sample: 0 and ~1 -> mean 0.5; pooled: 1 - 2 * 2 / (3 + 2) = 0.2
    assert float(dice(smooth=0.0, batch=True)(prediction, target)) == pytest.approx(0.2)
    assert float(dice()(prediction, target)) == pytest.approx(0.5, abs=1e-4)


def label_logits(classes: torch.Tensor, n: int, confidence: float = 50.0) -> torch.Tensor:
    """Logits (1, n, W) that put almost all probability on ``classes`` (W,)."""
    return confidence * torch.nn.functional.one_hot(classes, n).T[None].float()


def test_labels_mode_one_hot_encodes_the_target():
    target = torch.tensor([[0, 1, 1, 2]])
    assert float(SoftDiceLoss("labels")(label_logits(target[0], 3), target)) < 1e-5
    # every voxel one class off: all three channels disjoint
    wrong = label_logits(torch.tensor([1, 2, 2, 0]), 3)
    assert float(SoftDiceLoss("labels")(wrong, target)) == pytest.approx(1.0, abs=1e-5)


def test_excluding_the_background_averages_the_other_classes_only():
    target = torch.tensor([[0, 0, 1, 2]])
    prediction = label_logits(torch.tensor([0, 0, 1, 1]), 3)
    # background perfect (0); class 1: 1 - 2 / 3; class 2: disjoint (1)
    with_background = (0 + 1 / 3 + 1) / 3
    without = (1 / 3 + 1) / 2
    assert float(SoftDiceLoss("labels")(prediction, target)) == pytest.approx(
        with_background, abs=1e-5
    )
    loss = SoftDiceLoss("labels", include_background=False)(prediction, target)
    assert float(loss) == pytest.approx(without, abs=1e-5)


@pytest.mark.parametrize(
    ("mode", "target", "message"),
    [
        ("regions", torch.zeros(1, 2, 4), "must have the prediction's shape"),
        ("labels", torch.zeros(1, 1, 4, dtype=torch.long), r"shape \(1, 4\)"),
        ("labels", torch.zeros(1, 4), "integer classes"),
        ("labels", torch.tensor([[0, 1, 2, 3]]), "target classes must be 0..2"),
    ],
)
def test_targets_that_do_not_fit_are_refused(mode, target, message):
    logits = torch.zeros(1, 3 if mode == "labels" else 1, 4)
    with pytest.raises(ValueError, match=message):
        SoftDiceLoss(mode)(logits, target)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="'regions' .* or 'labels'"):
        SoftDiceLoss("softmax")


def test_dice_ce_for_regions_adds_binary_cross_entropy():
    logits = torch.zeros(1, 1, 4)  # sigmoid 0.5: BCE log 2; Dice 1 - 2 / (2 + 2)
    loss = DiceCELoss("regions", dice_weight=2.0, ce_weight=3.0, smooth=0.0)(logits, TRUTH)
    assert float(loss) == pytest.approx(2 * 0.5 + 3 * math.log(2), abs=1e-6)


def test_dice_ce_for_labels_adds_cross_entropy_over_every_class():
    logits = torch.zeros(1, 4, 3)  # uniform softmax: CE log 4; Dice per class 1 - 2x/(x + n)
    target = torch.tensor([[0, 0, 3]])
    dice_only = DiceCELoss("labels", ce_weight=0.0, smooth=0.0)(logits, target)
    ce_only = DiceCELoss("labels", dice_weight=0.0, include_background=False)(logits, target)
    # class 0: 1 - 2*0.5/(0.75+2); classes 1, 2: 1; class 3: 1 - 2*0.25/(0.75+1)
    expected_dice = (1 - 1 / 2.75 + 1 + 1 + 1 - 0.5 / 1.75) / 4
    assert float(dice_only) == pytest.approx(expected_dice, abs=1e-6)
    assert float(ce_only) == pytest.approx(math.log(4), abs=1e-6)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        DiceCELoss(dice_weight=-1.0)


@pytest.mark.parametrize("mode", ["regions", "labels"])
def test_a_tiny_unet_overfits_one_batch(mode):
    torch.manual_seed(0)
    image = torch.randn(2, 1, 16, 16)
    classes = (image[:, 0] > 0.5).long() + (image[:, 0] > 1.2).long()  # 0, 1, 2 by intensity
    if mode == "regions":  # nested regions: class >= 1, class == 2
        target = torch.stack([classes >= 1, classes == 2], dim=1).float()
    else:
        target = classes
    net = UNet(2, 1, 2 if mode == "regions" else 3, features=(8, 16))
    loss_fn = DiceCELoss(mode)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        optimiser.zero_grad()
        loss = loss_fn(net(image), target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
