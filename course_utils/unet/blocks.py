"""Blocks: the U-Net's building blocks, in 2D or 3D (MONAI's ``networks/blocks``).

- `ConvBlock`: (convolution, normalisation, activation) layers, two by default;
- `Down`: a `ConvBlock` whose first convolution halves the size (or max-pooling, then one);
- `Up`: double the size (transposed convolution or linear interpolation), join the encoder's
  features of that resolution (the skip connection), then a `ConvBlock`;

and the layer factories they share (``spatial_dims`` picks the 2D or 3D layer), with
`block_options`, the one check of the options every block takes (``ValueError`` for a bad
one). Tensors are ``(B, C, *spatial)``; sizes in voxels. Used by `nets.UNet`.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

__all__ = ["ConvBlock", "Down", "Up"]


Norm = Literal["instance", "batch"]
Activation = Literal["leaky_relu", "relu"]
DownMode = Literal["strided", "maxpool"]
UpMode = Literal["transpose", "linear"]
#: The choices of each option, read from the types above so that they are spelled once.
SPATIAL_DIMS = (2, 3)
NORMS, ACTIVATIONS = get_args(Norm), get_args(Activation)
DOWN_MODES, UP_MODES = get_args(DownMode), get_args(UpMode)
#: Negative slope of the LeakyReLU (nnU-Net's value).
LEAKY_SLOPE = 0.01


def check_choice(name: str, value: object, choices: tuple) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def block_options(
    spatial_dims: int, norm: Norm, activation: Activation, dropout: float
) -> dict[str, object]:
    """The options every block shares, checked (``ValueError``), as `ConvBlock` keywords.

    `ConvBlock`, `Down`, `Up` and `UNet` check their arguments here, before building a layer.

    Examples
    --------
    >>> block_options(3, "instance", "relu", 0.1)
    {'norm': 'instance', 'activation': 'relu', 'dropout': 0.1}
    """
    check_choice("spatial_dims", spatial_dims, SPATIAL_DIMS)
    check_choice("norm", norm, NORMS)
    check_choice("activation", activation, ACTIVATIONS)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout}")
    return {"norm": norm, "activation": activation, "dropout": dropout}


def conv_layer(spatial_dims: int) -> type[nn.Module]:
    return {2: nn.Conv2d, 3: nn.Conv3d}[spatial_dims]


def transposed_conv_layer(spatial_dims: int) -> type[nn.Module]:
    return {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[spatial_dims]


def doubling_interpolation(spatial_dims: int) -> nn.Module:
    """Bi- or trilinear interpolation to twice the size (no parameters)."""
    mode = {2: "bilinear", 3: "trilinear"}[spatial_dims]
    return nn.Upsample(scale_factor=2, mode=mode, align_corners=False)


def norm_layer(norm: Norm, spatial_dims: int, channels: int) -> nn.Module:
    if norm == "instance":
        layer = {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[spatial_dims]
        return layer(channels, affine=True)
    return {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[spatial_dims](channels)


def activation_layer(activation: Activation) -> nn.Module:
    if activation == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE, inplace=True)
    return nn.ReLU(inplace=True)


class ConvBlock(nn.Sequential):
    """3x3(x3) convolutions (two by default), each followed by normalisation, activation, dropout.

    Padding keeps the spatial size, unless the first convolution has ``stride=2``: then it
    halves every size (the learned downsampling of `Down`). The convolutions have no bias,
    since the normalisation right after would subtract it again.

    Parameters
    ----------
    spatial_dims
        2 or 3.
    in_channels, out_channels
        Channels before and after the block.
    norm
        ``"instance"`` (per sample and channel, fine at batch size 1-2) or ``"batch"``.
    activation
        ``"leaky_relu"`` (slope 0.01) or ``"relu"``.
    dropout
        Dropout probability after each activation (0 disables it).
    stride
        Stride of the first convolution: 1 keeps the size, 2 halves it.
    convs
        Number of convolutions.

    Examples
    --------
    >>> ConvBlock(2, 1, 4)(torch.zeros(1, 1, 5, 7)).shape
    torch.Size([1, 4, 5, 7])
    >>> ConvBlock(2, 1, 4, stride=2)(torch.zeros(1, 1, 6, 8)).shape
    torch.Size([1, 4, 3, 4])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        norm: Norm = "instance",
        activation: Activation = "leaky_relu",
        dropout: float = 0.0,
        stride: int = 1,
        convs: int = 2,
    ):
        block_options(spatial_dims, norm, activation, dropout)
        if convs < 1:
            raise ValueError(f"a ConvBlock needs at least one convolution; got convs={convs}")
        conv = conv_layer(spatial_dims)
        layers = []
        for index in range(convs):
            layers += [
                conv(
                    in_channels if index == 0 else out_channels,
                    out_channels,
                    kernel_size=3,
                    stride=stride if index == 0 else 1,
                    padding=1,
                    bias=False,
                ),
                norm_layer(norm, spatial_dims, out_channels),
                activation_layer(activation),
            ]
            if dropout:
                layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class Down(nn.Module):
    """Halve every spatial size and change the channels: a `ConvBlock` that starts by halving.

    Parameters
    ----------
    spatial_dims, in_channels, out_channels, norm, activation, dropout
        As in `ConvBlock`.
    mode
        ``"strided"`` (default): the block's first 3x3(x3) convolution has stride 2, so the
        network learns how to downsample and spends no work at the finer size.
        ``"maxpool"``: 2x2(x2) max-pooling (no parameters, the original U-Net), then the block.
    convs
        Convolutions in the block (two by default).

    Examples
    --------
    >>> Down(3, 2, 8)(torch.zeros(1, 2, 4, 6, 8)).shape
    torch.Size([1, 8, 2, 3, 4])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        norm: Norm = "instance",
        activation: Activation = "leaky_relu",
        dropout: float = 0.0,
        mode: DownMode = "strided",
        convs: int = 2,
    ):
        super().__init__()
        block = {**block_options(spatial_dims, norm, activation, dropout), "convs": convs}
        check_choice("mode", mode, DOWN_MODES)
        if mode == "strided":
            self.downsample = nn.Identity()
            self.convs = ConvBlock(spatial_dims, in_channels, out_channels, **block, stride=2)
        else:
            self.downsample = {2: nn.MaxPool2d, 3: nn.MaxPool3d}[spatial_dims](2)
            self.convs = ConvBlock(spatial_dims, in_channels, out_channels, **block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(self.downsample(x))


class Up(nn.Module):
    """Double every spatial size, concatenate the skip connection, then a `ConvBlock`.

    The block has one convolution by default: the decoder only has to merge what the encoder
    found, and at the finest size a second convolution would cost as much as the rest of the
    network.

    Parameters
    ----------
    spatial_dims, norm, activation, dropout
        As in `ConvBlock`.
    in_channels
        Channels of the coarse features to upsample.
    skip_channels
        Channels of the encoder's features at the finer resolution; also the block's output,
        unless ``convs=0``.
    mode
        ``"transpose"``: a learned 2x2(x2) transposed convolution with stride 2 that maps
        ``in_channels`` to ``skip_channels``. ``"linear"``: bi/trilinear interpolation (no
        parameters, channels unchanged), so the `ConvBlock` sees ``in + skip`` channels.
    convs
        Convolutions in the block after the join. ``0``: none, the block returns the joined
        features (``2 * skip_channels`` channels, or ``in + skip`` with ``"linear"``), for a
        next layer that convolves them anyway (`Head`).

    Examples
    --------
    >>> up = Up(2, in_channels=8, skip_channels=4)
    >>> up(torch.zeros(1, 8, 3, 5), skip=torch.zeros(1, 4, 6, 10)).shape
    torch.Size([1, 4, 6, 10])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        skip_channels: int,
        norm: Norm = "instance",
        activation: Activation = "leaky_relu",
        dropout: float = 0.0,
        mode: UpMode = "transpose",
        convs: int = 1,
    ):
        super().__init__()
        block = {**block_options(spatial_dims, norm, activation, dropout), "convs": convs}
        check_choice("mode", mode, UP_MODES)
        if mode == "transpose":
            transpose = transposed_conv_layer(spatial_dims)
            self.upsample = transpose(in_channels, skip_channels, kernel_size=2, stride=2)
            joined = 2 * skip_channels
        else:
            self.upsample = doubling_interpolation(spatial_dims)
            joined = in_channels + skip_channels
        if convs:
            self.convs = ConvBlock(spatial_dims, joined, skip_channels, **block)
            self.out_channels = skip_channels
        else:
            self.convs = nn.Identity()
            self.out_channels = joined

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([skip, self.upsample(x)], dim=1))
