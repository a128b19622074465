"""Nets: `UNet`, the encoder-decoder network that segments the tumour, in 2D or 3D.

`UNet` stacks the `blocks` and the `head` (Ronneberger et al., "U-Net: convolutional
networks for biomedical image segmentation", MICCAI 2015; Cicek et al., "3D U-Net", MICCAI
2016); `size_multiple` and `nearest_valid_sizes` say which input sizes it takes.

Tensors are ``(B, C, *spatial)``: ``(B, C, H, W)`` for ``spatial_dims=2``, ``(B, C, D, H, W)``
for ``spatial_dims=3``, spatial axes in the volume's own index order (see `datasets`). Sizes are
in voxels.

Used by notebook 07 (U-Net training), `training` and `inference`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .blocks import (
    DOWN_MODES,
    UP_MODES,
    Activation,
    ConvBlock,
    Down,
    DownMode,
    Norm,
    Up,
    UpMode,
    block_options,
    check_choice,
    conv_layer,
)
from .head import Head

__all__ = ["UNet", "size_multiple", "nearest_valid_sizes"]


def size_multiple(depth: int) -> int:
    """What every input size must be a multiple of: ``2 ** (depth - 1)`` for ``depth`` levels.

    Each of the ``depth - 1`` `Down` blocks halves the size, and `Up` must give back exactly
    the size of the skip connection it joins, so no halving may round.

    Examples
    --------
    >>> size_multiple(4)
    8
    """
    return 2 ** (depth - 1)


def nearest_valid_sizes(size: int, multiple: int) -> tuple[int, ...]:
    """The multiples of ``multiple`` on either side of ``size`` (one if ``size`` is one).

    Examples
    --------
    >>> nearest_valid_sizes(63, 8), nearest_valid_sizes(64, 8), nearest_valid_sizes(5, 8)
    ((56, 64), (64,), (8,))
    """
    lower = size // multiple * multiple
    if lower == size:
        return (size,)
    return (lower, lower + multiple) if lower else (multiple,)


class UNet(nn.Module):
    """A 2D or 3D U-Net that returns logits.

    One level per entry of ``features``. By default every level starts by halving the size
    (`Down` with a strided convolution), the first one included, so the finest features live at
    half resolution; as many `Up` blocks come back up, joining the encoder's features of each
    size (the skip connections; the last `Up` only joins, since the head convolves), and the
    `Head` returns one logit per output channel at the input's full resolution, from those
    features and from the image itself. ``full_resolution=True`` builds the classic U-Net
    instead: a `ConvBlock` at full resolution first, then ``len(features) - 1`` `Down` blocks,
    `Up` blocks with a convolution each, and a 1x1 convolution as head.

    Parameters
    ----------
    spatial_dims
        2 (slices) or 3 (volumes or patches).
    in_channels
        Input channels: 4 for the BraTS modalities (FLAIR, T1, T1ce, T2).
    out_channels
        Output channels: 3 for the WT/TC/ET regions (sigmoid, ``target="regions"``), 4 for the
        classes (softmax, ``target="labels"``).
    features
        Channels at each level, from the finest to the bottleneck; at least two levels.
    norm
        ``"instance"`` (default; statistics per sample, so batch size 1 or 2 is fine) or
        ``"batch"`` (statistics over the batch; noisy at the small batches 3D training allows).
    dropout
        Dropout probability after each activation (0 disables it).
    activation
        ``"leaky_relu"`` (default, slope 0.01, as nnU-Net) or ``"relu"`` (the original U-Net).
    downsample
        ``"strided"`` (default, a learned stride-2 convolution) or ``"maxpool"`` (the original).
    upsample
        ``"transpose"`` (default, learned transposed convolution) or ``"linear"``
        (bi/trilinear interpolation).
    full_resolution
        ``False`` (default): the first level already halves the size. ``True``: the classic
        U-Net with a `ConvBlock` at full resolution.

    Notes
    -----
    **Input size.** Every spatial size must be divisible by `size_multiple`: ``2 **
    len(features)``, or ``2 ** (len(features) - 1)`` with ``full_resolution=True``, since each
    halving must be exact for `Up` to give back the size of the skip it joins. That is 32 for
    the default five levels. Other sizes are refused with a ``ValueError`` naming the nearest
    valid sizes, rather than padded silently; crop or pad the input (or choose such a patch
    size) yourself. `course_utils.patches.sliding_window_inference` does that for whole volumes.

    **Why the first level halves.** On a CPU a 3D convolution at full resolution is the
    expensive part, and its backward pass costs several times its forward pass. The defaults
    (1,270,027 parameters, about 5 MB in float32: one convolution in the first level, two in
    the others, one per decoder level but the last, and the `Head`) train about as fast per
    step as MONAI's ``UNet`` with channels (16, 32, 64, 128), which also halves in its first
    convolution, and over ten times faster than the classic ``features=(16, 32, 64, 128),
    full_resolution=True`` (``benchmarks/unet.py`` measures both). Half-resolution features
    alone put outlines on a 2-voxel grid: the same network without the head's image path
    segmented the thin enhancing rim about one voxel too wide (held-out ET Dice 0.81 against
    0.96 with it, after the same 800 training steps). With a GPU, the classic design is a fair
    choice.

    Examples
    --------
    >>> net = UNet(spatial_dims=2, in_channels=4, out_channels=3, features=(8, 16, 32))
    >>> net(torch.zeros(2, 4, 32, 24)).shape
    torch.Size([2, 3, 32, 24])
    >>> net(torch.zeros(2, 4, 36, 24))
    Traceback (most recent call last):
    ...
    ValueError: UNet input size (36, 24) is not divisible by 8 on axis 0 (size 36). ...
    """

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 4,
        out_channels: int = 3,
        features: Sequence[int] = (8, 16, 32, 64, 128),
        norm: Norm = "instance",
        dropout: float = 0.0,
        activation: Activation = "leaky_relu",
        downsample: DownMode = "strided",
        upsample: UpMode = "transpose",
        full_resolution: bool = False,
    ):
        super().__init__()
        block = block_options(spatial_dims, norm, activation, dropout)
        check_choice("downsample", downsample, DOWN_MODES)
        check_choice("upsample", upsample, UP_MODES)
        features = tuple(int(f) for f in features)
        if len(features) < 2 or min(features) < 1:
            raise ValueError(
                f"features needs at least two positive channel counts; got {features}"
            )
        self.spatial_dims = spatial_dims
        self.features = features
        self.full_resolution = bool(full_resolution)
        if self.full_resolution:
            self.stem = ConvBlock(spatial_dims, in_channels, features[0], **block)
        else:  # one convolution: the head's image path sees the fine detail
            self.stem = Down(
                spatial_dims, in_channels, features[0], **block, mode=downsample, convs=1
            )
        self.downs = nn.ModuleList(
            Down(spatial_dims, fine, coarse, **block, mode=downsample)
            for fine, coarse in zip(features[:-1], features[1:], strict=True)
        )
        levels = list(reversed(list(zip(features[:-1], features[1:], strict=True))))
        self.ups = nn.ModuleList(
            Up(
                spatial_dims,
                coarse,
                fine,
                **block,
                mode=upsample,
                # the default head convolves the last join itself
                convs=0 if level == len(levels) - 1 and not self.full_resolution else 1,
            )
            for level, (fine, coarse) in enumerate(levels)
        )
        if self.full_resolution:  # the classic head: a 1x1(x1) convolution to the logits
            self.head = conv_layer(spatial_dims)(features[0], out_channels, kernel_size=1)
        else:
            self.head = Head(
                spatial_dims, self.ups[-1].out_channels, in_channels, out_channels, upsample
            )

    @property
    def size_multiple(self) -> int:
        """Every spatial input size must be a multiple of this (32 for the defaults)."""
        return size_multiple(len(self.features) + (0 if self.full_resolution else 1))

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``(B, C, *spatial)`` with valid sizes."""
        if x.ndim != self.spatial_dims + 2:
            axes = "(B, C, H, W)" if self.spatial_dims == 2 else "(B, C, D, H, W)"
            raise ValueError(
                f"a {self.spatial_dims}D UNet takes a {self.spatial_dims + 2}-axis tensor "
                f"{axes}; got shape {tuple(x.shape)}."
            )
        multiple = self.size_multiple
        sizes = tuple(x.shape[2:])
        for axis, size in enumerate(sizes):
            if size % multiple:
                valid = " or ".join(str(s) for s in nearest_valid_sizes(size, multiple))
                raise ValueError(
                    f"UNet input size {sizes} is not divisible by {multiple} on axis {axis} "
                    f"(size {size}). This network halves every size {multiple.bit_length() - 1} "
                    f"times, so each must be a multiple of {multiple}; the nearest valid sizes "
                    f"are {valid}. Crop or pad the input, or choose such a patch."
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, out_channels, *spatial)`` for an input ``(B, in_channels, *spatial)``.

        Float32 in, float32 out; the spatial sizes are unchanged.
        """
        self.check_input(x)
        image = x
        encoded = [self.stem(image)]  # features[0] channels, at half (or full) resolution
        for down in self.downs:  # each halves the size; the last output is the bottleneck
            encoded.append(down(encoded[-1]))
        x = encoded.pop()
        for up in self.ups:  # each doubles the size and joins the skip of that resolution
            x = up(x, skip=encoded.pop())
        if self.full_resolution:
            return self.head(x)  # one logit per output channel and voxel of the input
        return self.head(x, image=image)  # the same, from half resolution and the image
