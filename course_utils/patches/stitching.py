"""Stitching: patches (or a model's predictions on them) put back together into one volume.

`stitch_patches` blends the overlaps in one of `WEIGHTINGS`: a plain mean (``"constant"``),
a mean weighted by `gaussian_weights` (``"gaussian"``), or each voxel from the one patch
whose interior holds it (``"crop"``, `crop_ranges`). `window_regions` says where each patch
lands; `sliding_window_inference` uses it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ._validation import Array, as_triple, check_volume, is_torch, to_numpy

__all__ = [
    "WEIGHTINGS",
    "SIGMA_SCALE",
    "GAUSSIAN_FLOOR",
    "gaussian_weights",
    "crop_ranges",
    "window_regions",
    "check_weighting",
    "stitch_patches",
]


Weighting = Literal["constant", "gaussian", "crop"]


#: How `stitch_patches` and `sliding_window_inference` blend overlapping patches.
WEIGHTINGS = ("constant", "gaussian", "crop")


#: Gaussian weights: sigma = patch size x SIGMA_SCALE on each axis (MONAI's default, 0.125).
SIGMA_SCALE = 0.125


#: Smallest Gaussian weight (the peak is 1), so every voxel gets a positive total weight.
GAUSSIAN_FLOOR = 1e-3


def gaussian_weights(patch_size: int | Sequence[int]) -> np.ndarray:
    """Separable Gaussian weights for one patch, for blending overlapping predictions.

    Sigma is ``SIGMA_SCALE`` (0.125, MONAI's default) times the patch size on each axis. The
    peak is 1 at the patch centre (a little less along an even-sized axis, whose centre falls
    between two voxels) and every weight is at least ``GAUSSIAN_FLOOR`` (1e-3), so no voxel
    ends up with zero total weight.

    Returns
    -------
    numpy.ndarray
        ``patch_size`` float64 array in ``[1e-3, 1]``.

    Examples
    --------
    >>> gaussian_weights((1, 1, 16))[0, 0, :8].round(3)  # the first half of 16
    array([0.001, 0.005, 0.023, 0.08 , 0.216, 0.458, 0.755, 0.969])
    """
    patch = as_triple(patch_size, "patch_size")
    weights = np.ones(patch)
    for axis, size in enumerate(patch):
        offset = np.arange(size) - (size - 1) / 2
        profile = np.exp(-0.5 * (offset / (SIGMA_SCALE * size)) ** 2)
        weights = weights * profile.reshape([-1 if a == axis else 1 for a in range(3)])
    return np.maximum(weights, GAUSSIAN_FLOOR)


def crop_ranges(origins: np.ndarray, patch: tuple[int, ...]) -> np.ndarray:
    """The part of each patch that ``crop`` keeps, as ``(N, 3, 2)`` ``[start, stop)`` voxels.

    Along each axis, two neighbouring patches split their overlap at its middle: each gives up
    half of it at an inner border. The first patch keeps its start and the last its end,
    which are the volume's own borders for a grid from `grid_origins`.
    """
    ranges = np.empty((len(origins), 3, 2), dtype=np.int64)
    for axis in range(3):
        starts = np.unique(origins[:, axis])
        cuts = (starts[:-1] + patch[axis] + starts[1:]) // 2
        low = np.maximum(np.concatenate([starts[:1], cuts]), starts)
        high = np.minimum(np.concatenate([cuts, starts[-1:] + patch[axis]]), starts + patch[axis])
        which = np.searchsorted(starts, origins[:, axis])
        ranges[:, axis] = np.stack([low[which], high[which]], axis=1)
    return ranges


def window_regions(
    origins: np.ndarray, patch: tuple[int, ...], weighting: str
) -> list[tuple[tuple[slice, ...], tuple[slice, ...]]]:
    """For each patch: ``(where it lands in the volume, which part of the patch is used)``."""
    if weighting == "crop":
        ranges = crop_ranges(origins, patch)
    else:
        ranges = np.stack([origins, origins + np.asarray(patch)], axis=2)
    regions = []
    for origin, box in zip(origins.tolist(), ranges.tolist(), strict=True):
        target = tuple(slice(lo, hi) for lo, hi in box)
        source = tuple(slice(lo - o, hi - o) for (lo, hi), o in zip(box, origin, strict=True))
        regions.append(((slice(None), *target), (slice(None), *source)))
    return regions


def check_weighting(weighting: str) -> str:
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}; got {weighting!r}.")
    return weighting


def check_origins(
    origins: object, count: int, patch: tuple[int, ...], canvas: tuple[int, ...]
) -> np.ndarray:
    origins = np.asarray(origins)
    if origins.shape != (count, 3) or not np.issubdtype(origins.dtype, np.integer):
        raise ValueError(
            f"origins must be an ({count}, 3) integer array, one row per patch; "
            f"got shape {origins.shape} and dtype {origins.dtype}."
        )
    if count and (origins.min() < 0 or np.any(origins + patch > np.asarray(canvas))):
        raise ValueError(f"some patches reach outside the volume {canvas}; check shape.")
    return origins.astype(np.int64)


def stitch_patches(
    patches: Array,
    origins: np.ndarray,
    shape: Sequence[int],
    *,
    weighting: Weighting = "constant",
) -> Array:
    """Put patches back together into one volume, blending where they overlap.

    With patches from `extract_patches` this is its exact inverse, in every mode. With
    predictions, overlaps are blended by ``weighting``:

    - ``"constant"``: the mean of every patch that covers the voxel;
    - ``"gaussian"``: a mean weighted by `gaussian_weights`, which trusts patch centres more
      than their borders;
    - ``"crop"``: each voxel from exactly one patch, the one whose interior holds it (half
      of each overlap is trimmed from inner borders, never from the volume's own borders).
      This is the one mode in which a convolutional model gives exactly its whole-volume
      answer, when its receptive-field radius is at most half the overlap (rounded down).

    Parameters
    ----------
    patches
        ``(N, C, pD, pH, pW)`` NumPy array or torch tensor.
    origins
        ``(N, 3)`` int patch origins ``(d, h, w)`` in voxels, as returned by `extract_patches`.
    shape
        Spatial shape ``(D, H, W)`` of the volume; padding beyond it is cropped away.
    weighting
        ``"constant"``, ``"gaussian"`` or ``"crop"``.

    Returns
    -------
    volume
        ``(C, D, H, W)``, same kind and device as ``patches``; float dtype: ``patches``' own
        if floating point, otherwise float32 (int32/int64: float64). Sums are accumulated in
        float64 (8 bytes per voxel and channel), so float32 round trips are bit-exact.
        Torch tensors are stitched on the CPU.

    Raises
    ------
    ValueError
        If some voxel is covered by no patch (or, in ``crop`` mode, by no patch interior), or
        the shapes don't match.

    Examples
    --------
    >>> from course_utils.patches import extract_patches
    >>> volume = np.random.default_rng(0).random((2, 5, 6, 7)).astype(np.float32)
    >>> patches, origins = extract_patches(volume, patch_size=4, stride=2)
    >>> again = stitch_patches(patches, origins, volume.shape[1:], weighting="gaussian")
    >>> np.array_equal(again, volume)
    True
    """
    check_weighting(weighting)
    check_volume(patches, "patches", ndim=5)
    values = to_numpy(patches)
    shape = as_triple(shape, "shape")
    patch = tuple(values.shape[2:])
    canvas = tuple(max(s, p) for s, p in zip(shape, patch, strict=True))
    origins = check_origins(origins, len(values), patch, canvas)
    total = np.zeros((values.shape[1], *canvas))
    weight = np.zeros(canvas)
    kernel = gaussian_weights(patch) if weighting == "gaussian" else 1.0
    for value, (target, source) in zip(
        values, window_regions(origins, patch, weighting), strict=True
    ):
        if weighting == "gaussian":
            total[target] += value * kernel
        else:
            total[target] += value[source]
        weight[target[1:]] += kernel
    if not weight.all():
        raise ValueError(
            f"{np.count_nonzero(weight == 0)} voxels are covered by no patch; stitch a grid "
            "that covers the whole volume (see grid_origins)."
        )
    total /= weight
    result = total[:, : shape[0], : shape[1], : shape[2]]
    result = result.astype(np.result_type(values.dtype, np.float32))
    if is_torch(patches):
        import torch

        return torch.from_numpy(result).to(patches.device)
    return result
