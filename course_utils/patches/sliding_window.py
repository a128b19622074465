"""Sliding-window inference: a model's answer for a whole volume, one window at a time.

`sliding_window_inference` feeds overlapping windows of the `grid_origins` grid to the model
in batches and blends the predictions in place into one preallocated output, as
`stitch_patches` would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._copy import new_tensor
from ._validation import as_triple, check_volume, is_int
from .grid import grid_origins, pad_to_patch
from .stitching import Weighting, check_weighting, gaussian_weights, window_regions

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = ["sliding_window_inference"]


def sliding_window_inference(
    model: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    *,
    patch_size: int | Sequence[int],
    overlap: float = 0.5,
    batch_size: int = 4,
    weighting: Weighting = "gaussian",
    progress: bool = False,
) -> torch.Tensor:
    """Run ``model`` over a whole volume one window at a time and blend the answers.

    Windows of ``patch_size`` overlap by ``overlap`` of their size (stride
    ``floor(patch * (1 - overlap))``, at least 1) on the grid of `grid_origins`, and are fed
    to the model ``batch_size`` at a time under ``torch.no_grad()``. Each prediction is added
    in place into one preallocated output (plus one weight map), so memory stays at about the
    output, one batch of windows and the model's activations for it. Blending as in
    `stitch_patches`: with a pointwise model every mode equals running the model on the whole
    volume; with a convolutional model only ``"crop"`` does, and only when its receptive-field
    radius is at most half the overlap (``(patch - stride) // 2`` voxels).

    Put the model in ``eval()`` mode first (batch norm, dropout).

    Parameters
    ----------
    model
        Maps a ``(k, C, *patch_size)`` float tensor to ``(k, C_out, *patch_size)``.
    image
        ``(B, C, D, H, W)`` tensor. Axes shorter than the window are zero-padded.
    patch_size
        Window size, one int or three ``(D, H, W)``, in voxels.
    overlap
        Fraction of the window shared with the next one, in ``[0, 1)``.
    batch_size
        Windows per forward pass.
    weighting
        ``"gaussian"`` (default), ``"constant"`` or ``"crop"``, see `stitch_patches`.
    progress
        Show a ``tqdm.auto`` progress bar over the batches.

    Returns
    -------
    torch.Tensor
        ``(B, C_out, D, H, W)``, float32 (or the model's wider float), on ``image``'s device.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Conv3d(2, 3, kernel_size=3, padding=1)
    >>> image = torch.randn(1, 2, 12, 10, 9)
    >>> out = sliding_window_inference(model, image, patch_size=6, weighting="crop")
    >>> out.shape, bool(torch.allclose(out, model(image), atol=1e-5))
    (torch.Size([1, 3, 12, 10, 9]), True)
    """
    import torch

    check_volume(image, "image", ndim=5)
    patch = as_triple(patch_size, "patch_size")
    check_weighting(weighting)
    if not 0 <= overlap < 1 or not is_int(batch_size) or batch_size < 1:
        raise ValueError(
            f"overlap must be in [0, 1) and batch_size a positive int; got {overlap!r}, "
            f"{batch_size!r}."
        )
    stride = tuple(max(1, math.floor(p * (1 - overlap))) for p in patch)
    padded = pad_to_patch(image, patch)
    canvas = tuple(padded.shape[2:])
    origins = grid_origins(canvas, patch, stride)
    regions = window_regions(origins, patch, weighting)
    kernel = None
    if weighting == "gaussian":
        kernel = torch.from_numpy(gaussian_weights(patch)).to(image.device, torch.float32)
    jobs = [(b, index) for b in range(image.shape[0]) for index in range(len(origins))]
    batches = [jobs[start : start + batch_size] for start in range(0, len(jobs), batch_size)]
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="sliding window", unit="batch")
    output = None
    # One buffer for the windows of every batch: a fresh 134 MB torch.stack per batch of four
    # BraTS windows cost 5x more (page faults) than copying into memory already touched.
    buffer = new_tensor((min(batch_size, len(jobs)), image.shape[1], *patch), image)
    with torch.no_grad():
        for batch in batches:
            windows = buffer[: len(batch)]
            for window, (b, index) in zip(windows, batch, strict=True):
                window.copy_(padded[b][full_window(origins[index], patch)])
            predictions = model(windows)
            check_prediction(predictions, windows, patch)
            if output is None:
                output = new_output(predictions, image, canvas, weighting)
            for prediction, (b, index) in zip(predictions, batch, strict=True):
                accumulate(output[b], prediction, regions[index], kernel, weighting)
            del predictions  # free it before the next batch's forward pass
        if weighting != "crop":
            output /= weight_map(regions, canvas, kernel, output)
    if canvas != tuple(image.shape[2:]):
        output = output[(..., *(slice(0, s) for s in image.shape[2:]))].clone()
    return output


def full_window(origin: np.ndarray, patch: tuple[int, ...]) -> tuple[slice, ...]:
    return (slice(None), *(slice(int(o), int(o) + p) for o, p in zip(origin, patch, strict=True)))


def check_prediction(predictions: object, windows: torch.Tensor, patch: tuple[int, ...]) -> None:
    shape = tuple(getattr(predictions, "shape", ()))
    if len(shape) != 5 or shape[0] != len(windows) or shape[2:] != patch:
        raise ValueError(
            f"the model must map ({len(windows)}, C, *{patch}) windows to "
            f"({len(windows)}, C_out, *{patch}); it returned shape {shape}."
        )


def new_output(
    predictions: torch.Tensor, image: torch.Tensor, canvas: tuple[int, ...], weighting: str
) -> torch.Tensor:
    """The ``(B, C_out, *canvas)`` accumulator (``crop`` writes every voxel exactly once)."""
    import torch

    shape = (image.shape[0], predictions.shape[1], *canvas)
    dtype = torch.promote_types(predictions.dtype, torch.float32)
    like = torch.empty(0, dtype=dtype, device=image.device)
    return new_tensor(shape, like, zeros=weighting != "crop")


def accumulate(
    output: torch.Tensor,
    prediction: torch.Tensor,
    region: tuple[tuple[slice, ...], tuple[slice, ...]],
    kernel: torch.Tensor | None,
    weighting: str,
) -> None:
    """Add one ``(C_out, *patch)`` prediction into ``output`` ``(C_out, *canvas)`` in place."""
    target, source = region
    if weighting == "crop":
        output[target].copy_(prediction[source])
    elif weighting == "gaussian":
        output[target].addcmul_(prediction, kernel)
    else:
        output[target].add_(prediction)


def weight_map(
    regions: list, canvas: tuple[int, ...], kernel: torch.Tensor | None, like: torch.Tensor
) -> torch.Tensor:
    """The ``canvas``-shaped sum of the weights of every window (counts, for ``constant``)."""

    weights = new_tensor(canvas, like, zeros=True)
    for target, _ in regions:
        weights[target[1:]] += 1.0 if kernel is None else kernel
    return weights
