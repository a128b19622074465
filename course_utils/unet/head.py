"""Head: one logit per output channel and voxel at full resolution.

`Head` combines the half-resolution features with the image itself, and `depth_to_space`
rearranges channels into a 2x2(x2) finer grid ("pixel shuffle"). Tensors are
``(B, C, *spatial)``; sizes in voxels. Used by `nets.UNet`.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import (
    UP_MODES,
    UpMode,
    check_choice,
    conv_layer,
    doubling_interpolation,
    transposed_conv_layer,
)

__all__ = ["Head", "depth_to_space"]


class Head(nn.Module):
    """The default `UNet`'s last layer: full-resolution logits from half-resolution features.

    The sum of two terms:

    - ``upsample``: the decoder's features, doubled in size by a 4x4(x4) transposed convolution
      with stride 2, so every voxel blends its 2x2(x2) nearest half-resolution voxels (a 2x2(x2)
      kernel would paint each 2x2(x2) cell from a single voxel); with ``"linear"``, a 1x1(x1)
      convolution and then interpolation.
    - ``image``: a linear function of the input image's 3x3(x3) neighbourhood of every voxel.
      It is the only path left that sees each voxel's own intensities, and it is what puts an
      outline between two half-resolution voxels: without it, the thin enhancing rim came out
      about one voxel too wide (``benchmarks/unet.py``). It is computed at half resolution, as a
      stride-2 4x4(x4) convolution with ``out_channels * 2 ** spatial_dims`` channels (one group
      per position in each 2x2(x2) cell) that `depth_to_space` rearranges: that form holds every
      full-resolution 3x3(x3) convolution, and on a CPU it ran twice as fast as one with only
      ``out_channels`` outputs.

    Parameters
    ----------
    spatial_dims
        2 or 3.
    feature_channels
        Channels of the half-resolution features.
    image_channels
        Channels of the input image.
    out_channels
        Logits per voxel.
    upsample
        ``"transpose"`` or ``"linear"``, as in `Up`.

    Examples
    --------
    >>> head = Head(2, feature_channels=8, image_channels=4, out_channels=3)
    >>> head(torch.zeros(1, 8, 5, 6), image=torch.zeros(1, 4, 10, 12)).shape
    torch.Size([1, 3, 10, 12])
    """

    def __init__(
        self,
        spatial_dims: int,
        feature_channels: int,
        image_channels: int,
        out_channels: int,
        upsample: UpMode = "transpose",
    ):
        super().__init__()
        check_choice("upsample", upsample, UP_MODES)
        conv = conv_layer(spatial_dims)
        if upsample == "transpose":
            self.upsample = transposed_conv_layer(spatial_dims)(
                feature_channels, out_channels, kernel_size=4, stride=2, padding=1
            )
        else:
            self.upsample = nn.Sequential(  # a 1x1 convolution commutes with interpolation
                conv(feature_channels, out_channels, kernel_size=1),
                doubling_interpolation(spatial_dims),
            )
        self.out_channels = out_channels
        self.image = conv(
            image_channels,
            out_channels * 2**spatial_dims,
            kernel_size=4,
            stride=2,
            padding=1,
            bias=False,  # upsample has the bias
        )

    def forward(self, features: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, out, *image_spatial)`` from ``(B, feature, *image_spatial / 2)``."""
        return self.upsample(features) + depth_to_space(self.image(image), self.out_channels)


def depth_to_space(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``(B, channels * 2**n, *sizes)`` to ``(B, channels, *(2 * sizes))``, for n spatial axes.

    Group ``k`` of the ``2**n`` channel groups fills position ``k`` of every 2x2(x2) cell, its
    bits read as the offsets along the axes in order (PyTorch's ``pixel_shuffle`` in any
    dimension, for a factor of 2).

    Examples
    --------
    >>> x = torch.arange(4.0).reshape(1, 4, 1, 1)  # one voxel, four groups
    >>> depth_to_space(x, channels=1)[0, 0]
    tensor([[0., 1.],
            [2., 3.]])
    """
    batch, sizes = x.shape[0], tuple(x.shape[2:])
    n = len(sizes)
    x = x.reshape(batch, channels, *([2] * n), *sizes)
    interleaved = [0, 1] + [axis for a in range(n) for axis in (2 + n + a, 2 + a)]
    return x.permute(interleaved).reshape(batch, channels, *(2 * size for size in sizes))
