"""Intensity transforms: `RandomIntensityScaleShift`, `RandomGamma`, `RandomGaussianNoise`.

Each changes the image inside the brain only (voxels non-zero in some channel, `brain_mask`),
so the background stays 0 as `course_utils.datasets.zscore_normalise` left it; the label is
never touched. Parameters are drawn per channel (scale, shift, gamma) or per item (the noise's
standard deviation) from the generator, and applied with vectorised torch operations: nothing
loops over voxels.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import RandomTransform, brain_mask, channel_view
from .generators import uniform

__all__ = ["RandomIntensityScaleShift", "RandomGamma", "RandomGaussianNoise"]


class RandomIntensityScaleShift(RandomTransform):
    """Multiply each channel by ``1 + U(-scale, scale)``, add ``U(-shift, shift)``, in the brain.

    On z-scored images the shift is in standard deviations. Background voxels stay 0.
    """

    def __init__(self, scale: float = 0.1, shift: float = 0.1, p: float = 0.5) -> None:
        super().__init__(p)
        self.scale, self.shift = float(scale), float(shift)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        image = item["image"]
        channels = len(image)
        factor = 1 + uniform(-self.scale, self.scale, channels, generator)
        offset = uniform(-self.shift, self.shift, channels, generator)
        factor, offset = (
            torch.from_numpy(v).to(image.dtype).view(channel_view(image)) for v in (factor, offset)
        )
        # Background voxels are 0 in every channel, so scaling keeps them 0; only the offset
        # needs the mask. addcmul_ adds mask * offset without a full-size temporary.
        scaled = (image * factor).addcmul_(brain_mask(image).to(image.dtype), offset)
        return {**item, "image": scaled}


class RandomGamma(RandomTransform):
    """Raise each channel to a power ``gamma = exp(U(log_gamma))``, safely for z-scored data.

    A z-scored brain is half negative, and a negative number to a fractional power is not a
    real number (``torch.pow`` gives NaN). So each channel's brain voxels are first rescaled to
    [0, 1] with their own minimum and maximum, raised to ``gamma``, and mapped back: the
    channel keeps its range and the order of its values, only the contrast between them
    changes (gamma < 1 brightens the dark end, > 1 darkens it). Background stays 0.
    """

    def __init__(self, log_gamma: tuple[float, float] = (-0.3, 0.3), p: float = 0.3) -> None:
        super().__init__(p)
        self.log_gamma = tuple(log_gamma)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        image = item["image"]
        gamma = np.exp(uniform(*self.log_gamma, len(image), generator))
        gamma = torch.from_numpy(gamma).to(image.dtype).view(channel_view(image))
        mask = brain_mask(image)
        if not mask.any():
            return item
        low, high = torch.aminmax(image[:, mask[0]], dim=1)
        low, high = low.view(channel_view(image)), high.view(channel_view(image))
        span = torch.where(high > low, high - low, 1.0)
        # One new tensor, then in-place steps: rescale to [0, 1], raise to gamma (as
        # exp(gamma log u), faster than pow; u = 0 gives exp(-inf) = 0), scale back.
        unit = image.sub(low).div_(span).clamp_(0.0, 1.0)
        result = unit.log_().mul_(gamma).exp_().mul_(span).add_(low)
        return {**item, "image": result.masked_fill_(~mask, 0.0)}


class RandomGaussianNoise(RandomTransform):
    """Add Gaussian noise of standard deviation ``U(0, std)`` to the brain (background stays 0)."""

    def __init__(self, std: float = 0.1, p: float = 0.2) -> None:
        super().__init__(p)
        self.std = float(std)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        image = item["image"]
        sigma = float(uniform(0.0, self.std, 1, generator)[0])
        noise = torch.randn(image.shape, generator=generator, dtype=image.dtype)
        noise.mul_(sigma).mul_(brain_mask(image)).add_(image)
        return {**item, "image": noise}
