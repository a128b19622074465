"""The grid of patches that covers every voxel of a volume, and cutting a volume into it.

`axis_origins` and `grid_origins` place the patches (the last one on each axis ends at the
border); `extract_patches` cuts them out, as a view when memory allows and a copy otherwise;
`patch_grid` gives the ``(nD, nH, nW, C, *patch)`` zero-copy view of a regular grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ._copy import gather
from ._validation import Array, as_triple, check_stride, check_volume, is_torch

__all__ = ["axis_origins", "grid_origins", "pad_to_patch", "extract_patches", "patch_grid"]


def axis_origins(size: int, patch: int, stride: int) -> list[int]:
    """Patch starts along one axis: every ``stride`` voxels, the last one ending at the border."""
    last = max(size - patch, 0)
    origins = list(range(0, last + 1, stride))
    if origins[-1] != last:
        origins.append(last)
    return origins


def grid_origins(
    shape: Sequence[int], patch_size: int | Sequence[int], stride: int | Sequence[int]
) -> np.ndarray:
    """Start voxels of a grid of patches that covers every voxel of a volume.

    Along each axis patches start every ``stride`` voxels; the last one is moved back so that
    it ends exactly at the border (it then overlaps its neighbour more than the others do).
    Along an axis shorter than the patch there is one patch, at 0, that `extract_patches`
    zero-pads.

    Parameters
    ----------
    shape
        Spatial shape ``(D, H, W)`` of the volume, in voxels.
    patch_size, stride
        One int for all three axes or three ints ``(D, H, W)``, in voxels;
        ``0 < stride <= patch_size`` (a larger stride would skip voxels).

    Returns
    -------
    numpy.ndarray
        ``(N, 3)`` int64 array of patch origins ``(d, h, w)``, in C order (the last axis
        varies fastest).

    Raises
    ------
    ValueError
        If a size, patch size or stride is not a positive int, or a stride exceeds the patch.

    Examples
    --------
    >>> grid_origins((9, 4, 4), patch_size=4, stride=(3, 4, 4))
    array([[0, 0, 0],
           [3, 0, 0],
           [5, 0, 0]])
    """
    shape = as_triple(shape, "shape")
    patch = as_triple(patch_size, "patch_size")
    steps = as_triple(stride, "stride")
    check_stride(patch, steps)
    axes = [axis_origins(s, p, t) for s, p, t in zip(shape, patch, steps, strict=True)]
    return np.array(list(itertools.product(*axes)), dtype=np.int64)


def pad_to_patch(volume: Array, patch: tuple[int, int, int]) -> Array:
    """``volume`` zero-padded at the far end of each spatial axis shorter than the patch.

    Works on any number of leading axes. Returns ``volume`` itself when nothing is padded.
    """
    missing = [max(p - s, 0) for p, s in zip(patch, volume.shape[-3:], strict=True)]
    if not any(missing):
        return volume
    if is_torch(volume):
        import torch.nn.functional as F

        return F.pad(volume, [v for m in reversed(missing) for v in (0, m)])
    lead = [(0, 0)] * (volume.ndim - 3)
    return np.pad(volume, lead + [(0, m) for m in missing])


def strided_patches(volume: Array, origins: np.ndarray, patch: tuple[int, ...]) -> Array | None:
    """An ``(N, C, *patch)`` view of ``volume``, or None when no strided view exists.

    One strided array can hold the patches only if their first voxels sit at evenly spaced
    memory addresses, so that a single stride steps from one patch to the next.
    """
    element_strides = volume.stride() if is_torch(volume) else volume.strides
    offsets = origins @ np.asarray(element_strides[1:])
    step = int(offsets[1] - offsets[0]) if len(offsets) > 1 else 0
    if np.any(np.diff(offsets) != step):
        return None
    shape = (len(origins), volume.shape[0], *patch)
    start = tuple(slice(int(o), None) for o in origins[0])
    first = volume[(slice(None), *start)]
    if is_torch(volume):
        return first.as_strided(shape, (step, *first.stride()), first.storage_offset())
    strides = (step, *first.strides)
    return np.lib.stride_tricks.as_strided(first, shape, strides, writeable=False)


def extract_patches(
    volume: Array,
    patch_size: int | Sequence[int],
    stride: int | Sequence[int],
    *,
    copy: bool | None = None,
) -> tuple[Array, np.ndarray]:
    """Cut a volume into the grid of patches of `grid_origins`.

    Parameters
    ----------
    volume
        ``(C, D, H, W)`` NumPy array or torch tensor, any dtype.
    patch_size, stride
        One int or three ``(D, H, W)``, in voxels, ``0 < stride <= patch_size``.
    copy
        ``None`` (default): a view when one exists, otherwise a copy. ``True``: always a new
        contiguous array. ``False``: a view or a ``ValueError``.

    Returns
    -------
    patches
        ``(N, C, *patch_size)``, same kind, dtype and device as ``volume``. Axes shorter than
        the patch are zero-padded at their far end.
    origins
        ``(N, 3)`` int64 NumPy array: patch ``i`` is
        ``volume[:, d:d + pd, h:h + ph, w:w + pw]`` with ``(d, h, w) = origins[i]``.

    Notes
    -----
    **View or copy.** Strided arrays have one stride per axis, so ``patches`` can be a view of
    ``volume`` only when the patches' first voxels are evenly spaced in memory: a single patch,
    or patches along one axis only with evenly spaced origins (the stride divides
    ``size - patch``, or there are just two). A grid with several patches along two or three
    axes almost never is (it takes a coincidence of sizes), so it is copied here; `patch_grid`
    returns it as a ``(nD, nH, nW, C, *patch)`` view whenever the origins are evenly spaced on
    every axis. A volume shorter than the patch
    on some axis is padded, which always copies. NumPy views are read-only; a torch view is
    writable, and writing to it writes to ``volume`` and to every patch that overlaps.

    Examples
    --------
    >>> volume = np.arange(2 * 4 * 4 * 10, dtype=np.float32).reshape(2, 4, 4, 10)
    >>> patches, origins = extract_patches(volume, patch_size=4, stride=(4, 4, 3))
    >>> patches.shape, origins[:, 2].tolist()
    ((3, 2, 4, 4, 4), [0, 3, 6])
    >>> np.shares_memory(patches, volume)  # evenly spaced along one axis: a view
    True
    >>> patches, origins = extract_patches(volume, patch_size=4, stride=4)
    >>> origins[:, 2].tolist(), np.shares_memory(patches, volume)  # 0, 4, 6: a copy
    ([0, 4, 6], False)
    """
    check_volume(volume)
    patch = as_triple(patch_size, "patch_size")
    origins = grid_origins(tuple(volume.shape[1:]), patch, stride)
    padded = pad_to_patch(volume, patch)
    view = None if copy else strided_patches(padded, origins, patch)
    if copy is False and (view is None or padded is not volume):
        raise ValueError(
            "these patches cannot be a view of the volume: "
            + (
                "the volume is smaller than the patch and must be padded, which copies."
                if padded is not volume
                else "their starts are not evenly spaced in memory (a 3D grid rarely is). "
                "Use copy=None, or patch_grid for a (nD, nH, nW, C, ...) view."
            )
        )
    if view is not None:
        return view, origins
    return gather(padded, origins, patch), origins


def patch_grid(
    volume: Array, patch_size: int | Sequence[int], stride: int | Sequence[int]
) -> tuple[Array, np.ndarray]:
    """The grid of patches of `extract_patches` as a zero-copy ``(nD, nH, nW, C, *patch)`` view.

    A view needs evenly spaced origins on every axis: ``size - patch`` divisible by the
    stride, or at most two patches along the axis. NumPy gives a read-only
    ``sliding_window_view``; torch gives ``Tensor.unfold``, which is writable (and writes to
    ``volume``). ``grid.reshape(-1, C, *patch)`` gives `extract_patches`' layout, as a copy.

    Parameters
    ----------
    volume
        ``(C, D, H, W)`` NumPy array or torch tensor, at least as large as the patch.
    patch_size, stride
        One int or three ``(D, H, W)``, in voxels, ``0 < stride <= patch_size``.

    Returns
    -------
    grid
        ``(nD, nH, nW, C, pD, pH, pW)`` view of ``volume``, same kind and dtype.
    origins
        ``(nD * nH * nW, 3)`` int64, in the order of ``grid.reshape(-1, C, *patch)``.

    Raises
    ------
    ValueError
        If the volume is smaller than the patch or the origins are not evenly spaced.

    Examples
    --------
    >>> grid, origins = patch_grid(np.zeros((1, 8, 8, 6)), patch_size=4, stride=(2, 4, 4))
    >>> grid.shape
    (3, 2, 2, 1, 4, 4, 4)
    """
    check_volume(volume)
    patch = as_triple(patch_size, "patch_size")
    origins = grid_origins(tuple(volume.shape[1:]), patch, stride)
    steps = []
    for axis, (size, p) in enumerate(zip(volume.shape[1:], patch, strict=True)):
        starts = np.unique(origins[:, axis])
        if size < p or np.any(np.diff(starts) != np.diff(starts[:2])):
            raise ValueError(
                f"on axis {axis} the patches start at {starts.tolist()} (size {size}, patch "
                f"{p}), which are not evenly spaced, so no strided view exists. Choose a stride "
                "that divides size - patch, or use extract_patches (which copies)."
            )
        steps.append(int(starts[1] - starts[0]) if len(starts) > 1 else 1)
    if is_torch(volume):
        grid = volume.unfold(1, patch[0], steps[0]).unfold(2, patch[1], steps[1])
        grid = grid.unfold(3, patch[2], steps[2])
        return grid.permute(1, 2, 3, 0, 4, 5, 6), origins
    windows = np.lib.stride_tricks.sliding_window_view(volume, patch, axis=(1, 2, 3))
    grid = windows[:, :: steps[0], :: steps[1], :: steps[2]]
    return grid.transpose(1, 2, 3, 0, 4, 5, 6), origins
