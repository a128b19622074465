"""Normalisation: each subject's intensities made comparable, deterministically.

Intensity normalisation lives here rather than in `transforms` because it is not augmentation:
it is deterministic, done once per subject, and part of what an item *is* (it is what
``cache=True`` keeps), whereas `transforms` holds only the random augmentation that runs on
every draw.

Images are float ``(C, D, H, W)``; a NumPy array or a torch tensor comes back as the same kind.
Used by notebook 04, `training` (recorded in the checkpoint) and `inference`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..transforms.base import channel_view
from ._types import Array

__all__ = [
    "zscore_normalise",
    "robust_brain_mask",
    "NORMALISATIONS",
    "DEFAULT_NORMALISATION",
    "normalisation_record",
    "normalise_image",
    "max_scale",
]


def as_float_tensor(image: Array) -> tuple[torch.Tensor, bool]:
    """``(float32 tensor, whether the input was NumPy)``; shares memory when it can."""
    if isinstance(image, torch.Tensor):
        return image.to(torch.float32), False
    return torch.from_numpy(np.asarray(image, dtype=np.float32)), True


def channel_percentiles(
    image: torch.Tensor, mask: torch.Tensor, percentiles: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(low, high)`` percentiles of the masked voxels, each ``(C,)``.

    ``mask`` is ``(C, *spatial)``, or ``(1, *spatial)`` for one mask shared by every channel.
    """
    low, high = torch.full((len(image),), -torch.inf), torch.full((len(image),), torch.inf)
    for c in range(len(image)):  # a loop over channels (4), not voxels
        values = image[c][mask[c if len(mask) > 1 else 0]]
        if values.numel():  # NumPy selects in linear time; torch.quantile sorts (~10x slower)
            low[c], high[c] = (float(v) for v in np.percentile(values.numpy(), percentiles))
    return low, high


def zscore_normalise(
    image: Array, mask: Array | None = None, *, clip_percentiles: tuple[float, float] | None = None
) -> Array:
    """Z-score each channel over the brain: zero mean and unit standard deviation inside it.

    Parameters
    ----------
    image
        ``(C, *spatial)`` array or tensor, e.g. ``(C, D, H, W)``, any real dtype, raw scanner
        units (MRI intensities have no fixed scale, so each channel is scaled by its own
        statistics).
    mask
        Boolean ``(*spatial)`` or ``(C, *spatial)``: the voxels to normalise over. Default:
        the voxels that are non-zero in at least one channel, which for skull-stripped data
        (BraTS, SynthBraTS) is the brain. (MONAI's ``NormalizeIntensity(nonzero=True)`` uses
        each channel's own non-zero voxels instead; they agree wherever no brain voxel is
        exactly zero.)
    clip_percentiles
        ``(low, high)`` in percent, e.g. ``(0.5, 99.5)``: clip each channel's masked voxels to
        these percentiles of themselves first, so that a few extreme voxels can't move the
        mean or inflate the standard deviation. ``None`` (default) clips nothing.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32, same shape and kind as ``image``. Outside the mask every voxel is 0; a
        channel whose masked voxels are all equal becomes 0, and an empty mask gives zeros.

    Examples
    --------
    >>> zscore_normalise(np.array([[0.0, 2.0, 4.0, 6.0]]))
    array([[ 0.       , -1.2247448,  0.       ,  1.2247448]], dtype=float32)
    """
    x, was_numpy = as_float_tensor(image)
    if mask is None:
        mask = (x != 0).any(dim=0)
    if not isinstance(mask, torch.Tensor):
        mask = torch.from_numpy(np.asarray(mask, dtype=bool))
    mask = mask.to(torch.bool)
    mask = mask if mask.ndim == x.ndim else mask[None]  # (1 or C, *spatial)
    if clip_percentiles is not None:
        low, high = channel_percentiles(x, mask, clip_percentiles)
        x = torch.clamp(x, low.view(channel_view(x)), high.view(channel_view(x)))
    # Sums of products with a 0/1 weight, not boolean indexing: no copies of the brain voxels.
    weight = mask.to(torch.float32)
    spatial = tuple(range(1, x.ndim))
    count = weight.sum(spatial).clamp(min=1.0)
    weighted = x * weight
    mean = weighted.sum(spatial) / count
    centred = weighted.addcmul_(weight, -mean.view(channel_view(x)))  # (x - mean) inside, +0 out
    flat = centred.flatten(1)
    std = torch.sqrt(torch.linalg.vecdot(flat, flat) / count)
    result = centred.div_(torch.where(std > 0, std, 1.0).view(channel_view(x)))
    return result.numpy() if was_numpy else result


def robust_brain_mask(image: Array, *, threshold: float = 0.2) -> np.ndarray:
    """One brain mask shared by every contrast, that does not rely on exact zeros.

    A voxel is brain when at least half of the channels exceed ``threshold`` times their
    robust maximum (the 99th percentile of their voxels above 1 % of their peak, so that a
    shell of faint values does not move it); holes are filled and the
    largest connected component is kept. A shell of near-zero values around a skull-stripped
    brain (what interpolation leaves at its edge), a sub-voxel shift or a round trip through
    other voxel sizes move the mask by at most the blur itself, where "non-zero in some
    channel" (`zscore_normalise`'s default) takes in every voxel the shell touches.

    Parameters
    ----------
    image
        ``(C, *spatial)`` array or tensor in raw scanner units (any real dtype).
    threshold
        Fraction of each channel's robust maximum above which a voxel counts for it.

    Returns
    -------
    numpy.ndarray
        bool ``(*spatial)``; all False if no channel has a positive voxel.

    Examples
    --------
    >>> x = np.zeros((2, 5, 5, 5)); x[:, 1:4, 1:4, 1:4] = 100.0; x[:, 0] = 1.0  # a shell of 1
    >>> int(robust_brain_mask(x).sum())
    27
    """
    from scipy import ndimage

    x = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    votes = np.zeros(x.shape[1:], dtype=np.uint8)
    for channel in x:  # a loop over channels (4), not voxels
        peak = float(channel.max()) if channel.size else 0.0
        signal = channel[channel > 0.01 * peak] if peak > 0 else channel[:0]
        if signal.size:  # a shell far below the peak does not move the robust range
            votes += channel > threshold * float(np.percentile(signal, 99))
    mask = votes >= max(1, math.ceil(len(x) / 2))
    components, count = ndimage.label(mask)
    if count > 1:
        sizes = np.bincount(components.ravel())
        sizes[0] = 0
        mask = components == int(np.argmax(sizes))
    return ndimage.binary_fill_holes(mask)


#: The named intensity normalisations a checkpoint can record, with their default parameters.
#: ``zscore_nonzero``: `zscore_normalise` over the voxels non-zero in some channel (what the
#: shipped checkpoint was trained with); ``zscore_brain_mask``: `zscore_normalise` inside
#: `robust_brain_mask`, zero outside it.
NORMALISATIONS = {
    "zscore_nonzero": {"clip_percentiles": None},
    "zscore_brain_mask": {"threshold": 0.2, "clip_percentiles": None},
}
#: What new training runs use and record.
DEFAULT_NORMALISATION = "zscore_brain_mask"


def normalisation_record(method: str | dict = DEFAULT_NORMALISATION) -> dict:
    """``{"method": name, **parameters}`` of a named normalisation, plain types (checkpoints).

    Examples
    --------
    >>> normalisation_record("zscore_nonzero")
    {'method': 'zscore_nonzero', 'clip_percentiles': None}
    """
    if isinstance(method, dict):
        name, given = method.get("method"), {k: v for k, v in method.items() if k != "method"}
    else:
        name, given = method, {}
    if name not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {name!r}; known: {sorted(NORMALISATIONS)}.")
    unknown = set(given) - set(NORMALISATIONS[name])
    if unknown:
        raise ValueError(f"normalisation {name!r} takes no parameter {sorted(unknown)}.")
    return {"method": name, **NORMALISATIONS[name], **given}


def normalise_image(image: Array, method: str | dict = DEFAULT_NORMALISATION) -> Array:
    """Apply a named normalisation (`NORMALISATIONS`, or a `normalisation_record`).

    ``image`` is ``(C, *spatial)`` in raw units; returns float32 of the same shape and kind.
    """
    record = normalisation_record(method)
    clip = record["clip_percentiles"]
    clip = None if clip is None else tuple(clip)
    if record["method"] == "zscore_nonzero":
        return zscore_normalise(image, clip_percentiles=clip)
    mask = robust_brain_mask(image, threshold=record["threshold"])
    return zscore_normalise(image, mask, clip_percentiles=clip)


def max_scale(image: Array) -> Array:
    """Divide each channel by its maximum: the seed material's ``image / np.max(image)``.

    Kept for comparison with `zscore_normalise`: a single bright voxel (a vessel, an artefact)
    sets the scale of every other voxel, so the same tissue lands at different values from
    one scan to the next. Don't use it for MRI.

    Parameters
    ----------
    image
        ``(C, *spatial)`` array or tensor.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32, same shape and kind; each channel's maximum becomes 1 (a channel whose
        maximum is not positive is returned unscaled).

    Examples
    --------
    >>> max_scale(np.array([[0.0, 50.0, 100.0], [0.0, 1.0, 4.0]]))
    array([[0.  , 0.5 , 1.  ],
           [0.  , 0.25, 1.  ]], dtype=float32)
    """
    x, was_numpy = as_float_tensor(image)
    peak = x.flatten(1).amax(1).view(channel_view(x))
    result = x / torch.where(peak > 0, peak, 1.0)
    return result.numpy() if was_numpy else result
