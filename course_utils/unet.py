"""U-Net: the encoder-decoder network that segments the tumour, in 2D or 3D.

Built from four small blocks:

- `ConvBlock`: (convolution, normalisation, activation) layers, two by default;
- `Down`: a `ConvBlock` whose first convolution halves the size (or max-pooling, then one);
- `Up`: double the size (transposed convolution or linear interpolation), join the encoder's
  features of that resolution (the skip connection), then a `ConvBlock`;
- `Head`: one logit per output channel and voxel at full resolution, from the half-resolution
  features and the image itself;

and `UNet`, which stacks them (Ronneberger et al., "U-Net: convolutional networks for biomedical
image segmentation", MICCAI 2015; Cicek et al., "3D U-Net", MICCAI 2016).

Tensors are ``(B, C, *spatial)``: ``(B, C, H, W)`` for ``spatial_dims=2``, ``(B, C, D, H, W)``
for ``spatial_dims=3``, spatial axes in the volume's own index order (see `datasets`). Sizes are
in voxels.

Used by notebook 07 (U-Net training).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

__all__ = [
    "ConvBlock",
    "Down",
    "Up",
    "Head",
    "UNet",
    "depth_to_space",
    "size_multiple",
    "nearest_valid_sizes",
]

Norm = Literal["instance", "batch"]
Activation = Literal["leaky_relu", "relu"]
#: Negative slope of the LeakyReLU (nnU-Net's value).
LEAKY_SLOPE = 0.01


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
        mode: Literal["strided", "maxpool"] = "strided",
        convs: int = 2,
    ):
        super().__init__()
        block = {"norm": norm, "activation": activation, "dropout": dropout, "convs": convs}
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
        mode: Literal["transpose", "linear"] = "transpose",
        convs: int = 1,
    ):
        super().__init__()
        if mode == "transpose":
            transpose = transposed_conv_layer(spatial_dims)
            self.upsample = transpose(in_channels, skip_channels, kernel_size=2, stride=2)
            joined = 2 * skip_channels
        else:
            self.upsample = doubling_interpolation(spatial_dims)
            joined = in_channels + skip_channels
        block = {"norm": norm, "activation": activation, "dropout": dropout, "convs": convs}
        if convs:
            self.convs = ConvBlock(spatial_dims, joined, skip_channels, **block)
            self.out_channels = skip_channels
        else:
            self.convs = nn.Identity()
            self.out_channels = joined

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([skip, self.upsample(x)], dim=1))


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
        downsample: Literal["strided", "maxpool"] = "strided",
        upsample: Literal["transpose", "linear"] = "transpose",
        full_resolution: bool = False,
    ):
        super().__init__()
        check_choice("spatial_dims", spatial_dims, (2, 3))
        check_choice("norm", norm, ("instance", "batch"))
        check_choice("activation", activation, ("leaky_relu", "relu"))
        check_choice("downsample", downsample, ("strided", "maxpool"))
        check_choice("upsample", upsample, ("transpose", "linear"))
        features = tuple(int(f) for f in features)
        if len(features) < 2 or min(features) < 1:
            raise ValueError(
                f"features needs at least two positive channel counts; got {features}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        self.spatial_dims = spatial_dims
        self.features = features
        self.full_resolution = bool(full_resolution)
        block = {"norm": norm, "activation": activation, "dropout": dropout}
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
        upsample: Literal["transpose", "linear"] = "transpose",
    ):
        super().__init__()
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


def check_choice(name: str, value: object, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
