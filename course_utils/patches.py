"""Patches: cut a 3D volume into patches, sample training patches, stitch predictions back.

A BraTS volume (4 x 240 x 240 x 155 voxels) and a 3D U-Net's activations don't fit in memory
together, so the network trains on random patches and predicts through a grid of overlapping
windows whose outputs are blended back into one volume:

- `grid_origins`, `extract_patches`, `patch_grid`: a grid of patches that covers every voxel;
- `stitch_patches`: the inverse, with three ways to blend the overlaps;
- `sample_patches`: random training patches, a chosen share of them centred on tumour;
- `sliding_window_inference`: a model's answer for a whole volume, window by window;
- `patch_memory`: how many bytes a batch of patches costs a model.

Volumes are channel-first ``(C, D, H, W)``; ``D, H, W`` are the array's three spatial axes in
its own index order (for the course's NIfTI volumes, R-A-S). Sizes, origins and strides are in
voxels, never millimetres. Functions accept a NumPy array or a PyTorch tensor and return the
same kind.

Used by notebook 06 (patching 3D volumes) and notebook 07 (U-Net training).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Union

import numpy as np

from .threads import decide_threads

if TYPE_CHECKING:
    import torch

__all__ = [
    "WEIGHTINGS",
    "PatchMemory",
    "grid_origins",
    "extract_patches",
    "patch_grid",
    "stitch_patches",
    "gaussian_weights",
    "sample_patches",
    "sliding_window_inference",
    "patch_memory",
]

Array = Union[np.ndarray, "torch.Tensor"]
Weighting = Literal["constant", "gaussian", "crop"]
#: How `stitch_patches` and `sliding_window_inference` blend overlapping patches.
WEIGHTINGS = ("constant", "gaussian", "crop")
#: Gaussian weights: sigma = patch size x SIGMA_SCALE on each axis (MONAI's default, 0.125).
SIGMA_SCALE = 0.125
#: Smallest Gaussian weight (the peak is 1), so every voxel gets a positive total weight.
GAUSSIAN_FLOOR = 1e-3


# --- validation ------------------------------------------------------------------------------


def is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def as_triple(value: int | Sequence[int], name: str) -> tuple[int, int, int]:
    """``value`` as three positive ints, one per spatial axis (one int means all three)."""
    try:
        values = (value,) * 3 if is_int(value) else tuple(value)
    except TypeError:  # not iterable
        values = ()
    if len(values) != 3 or not all(is_int(v) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be one positive integer or three, one per axis (D, H, W); got {value!r}."
        )
    return tuple(int(v) for v in values)


def check_stride(patch: tuple[int, ...], stride: tuple[int, ...]) -> None:
    for axis, (p, s) in enumerate(zip(patch, stride, strict=True)):
        if s > p:
            raise ValueError(
                f"stride {s} is larger than the patch ({p}) on axis {axis}, so the grid would "
                "skip voxels; use a stride no larger than the patch size."
            )


def check_volume(volume: Array, name: str = "volume", ndim: int = 4) -> None:
    axes, missing = ("(C, D, H, W)", "channel") if ndim == 4 else ("(B, C, D, H, W)", "batch")
    if not hasattr(volume, "ndim") or volume.ndim != ndim:
        shape = tuple(getattr(volume, "shape", ()))
        raise ValueError(
            f"{name} must be an array with {ndim} axes {axes}; got shape {shape}. "
            f"If the {missing} axis is missing, add it with {name}[None]."
        )


def is_torch(array: object) -> bool:
    """Whether ``array`` is a torch tensor (or a subclass, like MONAI's ``MetaTensor``)."""
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    return torch is not None and isinstance(array, torch.Tensor)


def to_numpy(array: Array) -> np.ndarray:
    if is_torch(array):
        return array.detach().cpu().numpy()
    return np.asarray(array)


# --- the grid --------------------------------------------------------------------------------


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


def new_tensor(shape: tuple[int, ...], like: torch.Tensor, zeros: bool = False) -> torch.Tensor:
    """An uninitialised (or zero) tensor of ``like``'s dtype and device.

    On the CPU the memory comes from NumPy, which asks Linux for huge pages for large arrays:
    filling a fresh 600 MB buffer took 0.06 s that way against 0.25-0.36 s from torch's own
    allocator on the course's 2-core machine (the difference is page faults). Such a tensor
    works like any other, except that its storage cannot be resized in place.
    """
    import torch

    allocate = torch.zeros if zeros else torch.empty
    if like.device.type != "cpu":
        return allocate(shape, dtype=like.dtype, device=like.device)
    try:
        dtype = torch.empty(0, dtype=like.dtype).numpy().dtype
    except TypeError:  # a dtype NumPy lacks (bfloat16)
        return allocate(shape, dtype=like.dtype)
    return torch.from_numpy((np.zeros if zeros else np.empty)(shape, dtype))


#: Copies of at least this many bytes are split over threads (smaller ones are not worth it).
PARALLEL_COPY_BYTES = 64 * 2**20


def copy_threads(nbytes: int, count: int) -> int:
    """Threads for copying ``count`` patches of ``nbytes`` in all: the thread policy's count
    (`course_utils.threads.decide_threads`), up to 4."""
    if nbytes < PARALLEL_COPY_BYTES or count < 2:
        return 1
    return max(1, min(decide_threads().threads, 4, count))


def gather(volume: Array, origins: np.ndarray, patch: tuple[int, ...]) -> Array:
    """Copy the patches at ``origins`` into one new contiguous ``(N, C, *patch)`` array.

    CPU tensors are copied through their NumPy views: on a busy 2-core machine that was up to
    5x faster than torch's own multi-threaded ``copy_``. Large copies (`PARALLEL_COPY_BYTES`)
    are shared among `copy_threads` threads, each copying whole patches; NumPy releases the
    GIL while it copies, so the threads run at once.
    """
    shape = (len(origins), volume.shape[0], *patch)
    out = new_tensor(shape, volume) if is_torch(volume) else np.empty(shape, volume.dtype)
    source, target = volume, out
    if is_torch(volume) and volume.device.type == "cpu" and not volume.requires_grad:
        with contextlib.suppress(TypeError):  # dtypes NumPy lacks (bfloat16) stay in torch
            source, target = volume.numpy(), out.numpy()
    starts = origins.tolist()

    def copy(indices: range) -> None:
        for index in indices:
            d, h, w = starts[index]
            window = (slice(None), slice(d, d + patch[0]), slice(h, h + patch[1]))
            target[index] = source[(*window, slice(w, w + patch[2]))]

    parallel = isinstance(target, np.ndarray)  # torch-only dtypes and GPUs: one torch copy
    threads = copy_threads(target.nbytes, len(starts)) if parallel else 1
    if threads == 1:
        copy(range(len(starts)))
        return out
    bounds = np.linspace(0, len(starts), threads + 1).astype(int).tolist()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(copy, [range(a, b) for a, b in itertools.pairwise(bounds)]))
    return out


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


# --- stitching -------------------------------------------------------------------------------


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


# --- sampling --------------------------------------------------------------------------------


def sample_patches(
    image: Array,
    label: Array,
    n: int,
    patch_size: int | Sequence[int],
    *,
    foreground_ratio: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> tuple[Array, Array, np.ndarray]:
    """Random training patches, a chosen share of them centred on tumour.

    Exactly ``round(n * foreground_ratio)`` centres (Python's ``round``: halves go to the
    even number) are drawn uniformly from the foreground voxels (``label > 0``), and the rest
    uniformly from the whole volume, so those land on tumour as often as tumour fills the
    volume. There is no rejection loop: no patch is ever drawn and thrown away.

    Each patch is placed with its centre voxel (``origin + patch // 2``) on the drawn centre,
    then moved inside the volume where it would stick out, so near a border the centre
    shifts. Axes shorter than the patch are zero-padded. The patches come out in a random
    order (the tumour-centred ones are not first).

    If the label has no foreground, every centre is drawn uniformly, silently.

    Parameters
    ----------
    image
        ``(C, D, H, W)`` NumPy array or torch tensor.
    label
        ``(D, H, W)`` or ``(1, D, H, W)`` segmentation, same spatial shape; ``> 0`` is tumour.
    n
        Number of patches.
    patch_size
        One int or three ``(D, H, W)``, in voxels.
    foreground_ratio
        Share of patches centred on foreground, in ``[0, 1]``.
    rng
        A ``numpy.random.Generator`` (advanced by the call) or an int seed; the same seed
        gives the same patches.

    Returns
    -------
    image_patches
        ``(n, C, *patch_size)``, same kind and dtype as ``image``.
    label_patches
        ``(n, *patch_size)`` or ``(n, 1, *patch_size)``, following ``label``.
    origins
        ``(n, 3)`` int64 patch origins in voxels.

    Examples
    --------
    >>> label = np.zeros((8, 8, 8), dtype=np.uint8)
    >>> label[6, 6, 6] = 1
    >>> image = np.zeros((2, 8, 8, 8), dtype=np.float32)
    >>> x, y, origins = sample_patches(image, label, 4, 3, foreground_ratio=1.0, rng=0)
    >>> x.shape, y.shape, origins[0].tolist(), int(y[:, 1, 1, 1].sum())
    ((4, 2, 3, 3, 3), (4, 3, 3, 3), [5, 5, 5], 4)
    """
    check_volume(image, "image")
    patch = as_triple(patch_size, "patch_size")
    spatial = tuple(image.shape[1:])
    label_ok = label.ndim == 3 or (label.ndim == 4 and label.shape[0] == 1)
    if not label_ok or tuple(label.shape[-3:]) != spatial:
        raise ValueError(
            f"label must be (D, H, W) or (1, D, H, W) matching the image's {spatial}; "
            f"got {tuple(label.shape)}."
        )
    if not is_int(n) or n < 0 or not 0 <= foreground_ratio <= 1:
        raise ValueError(
            f"n must be an int >= 0 and foreground_ratio in [0, 1]; got {n!r}, "
            f"{foreground_ratio!r}."
        )
    centres = draw_centres(to_numpy(label).reshape(spatial), n, foreground_ratio, rng)
    last = np.maximum(np.asarray(spatial) - patch, 0)
    origins = np.clip(centres - np.asarray(patch) // 2, 0, last)
    image_patches = gather(pad_to_patch(image, patch), origins, patch)
    channel_label = label if label.ndim == 4 else label[None]
    label_patches = gather(pad_to_patch(channel_label, patch), origins, patch)
    return image_patches, label_patches if label.ndim == 4 else label_patches[:, 0], origins


def draw_centres(
    label: np.ndarray, n: int, ratio: float, rng: np.random.Generator | int | None
) -> np.ndarray:
    """``(n, 3)`` centre voxels: ``round(n * ratio)`` on ``label > 0``, the rest anywhere."""
    rng = np.random.default_rng(rng)
    foreground = np.flatnonzero(label > 0)
    n_foreground = round(n * ratio) if foreground.size else 0
    picked = foreground[rng.integers(0, max(foreground.size, 1), n_foreground)]
    on_tumour = np.stack(np.unravel_index(picked, label.shape), axis=1)
    anywhere = rng.integers(0, label.shape, size=(n - n_foreground, 3))
    centres = np.concatenate([on_tumour, anywhere]).astype(np.int64)
    return centres[rng.permutation(n)]


# --- inference -------------------------------------------------------------------------------


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


# --- memory ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchMemory:
    """Bytes one forward pass over a batch of patches needs (see `patch_memory`).

    ``activation_bytes`` adds up every tensor the forward pass creates (layer outputs, the
    concatenations of skip connections, normalisation temporaries), each storage once. That
    is about what training keeps for the backward pass, and an upper bound for inference,
    which frees each activation once the next layer has used it.
    """

    input_bytes: int
    activation_bytes: int
    parameter_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.activation_bytes + self.parameter_bytes

    def __str__(self) -> str:
        parts = [
            f"input {self.input_bytes / 2**20:,.1f} MiB",
            f"activations {self.activation_bytes / 2**20:,.1f} MiB",
            f"parameters {self.parameter_bytes / 2**20:,.1f} MiB",
        ]
        return " + ".join(parts) + f" = {self.total_bytes / 2**20:,.1f} MiB"


def patch_memory(
    patch_size: int | Sequence[int],
    channels: int,
    batch_size: int,
    model: torch.nn.Module | None = None,
) -> PatchMemory:
    """Estimate the memory a batch of float32 patches costs, with and without a model.

    The model is run once on a ``meta`` tensor of the full batch: shapes only, no arithmetic
    and no memory, so a 128^3 batch is estimated in well under a second (the very first call
    takes a few seconds more while torch loads its meta kernels). Every tensor the pass
    creates is counted, once per storage (see `forward_bytes`).

    Parameters
    ----------
    patch_size
        One int or three ``(D, H, W)``, in voxels.
    channels
        Input channels (4 for BraTS).
    batch_size
        Patches per batch.
    model
        Optional ``torch.nn.Module``; without it ``activation_bytes`` and ``parameter_bytes``
        are 0.

    Returns
    -------
    PatchMemory
        Bytes of the input batch, of the activations and of the parameters.

    Examples
    --------
    >>> patch_memory(128, channels=4, batch_size=2).input_bytes / 2**20
    64.0
    """
    import torch

    patch = as_triple(patch_size, "patch_size")
    if not (is_int(channels) and is_int(batch_size) and channels > 0 and batch_size > 0):
        raise ValueError(
            f"channels and batch_size must be positive ints; got {channels!r}, {batch_size!r}."
        )
    input_bytes = batch_size * channels * math.prod(patch) * 4
    if model is None:
        return PatchMemory(input_bytes, 0, 0)
    sample = torch.empty((batch_size, channels, *patch), device="meta")
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    return PatchMemory(input_bytes, forward_bytes(model, sample), parameters)


def forward_bytes(model: torch.nn.Module, sample: torch.Tensor) -> int:
    """Bytes of every tensor that one forward pass of ``model`` on ``sample`` creates.

    Every torch function the forward pass calls is watched (``TorchFunctionMode``); each
    tensor it returns is counted once by the storage it owns, so views and in-place results
    add nothing, and neither do ``sample``, the parameters and the buffers. A ``meta`` sample
    runs the model with meta stand-ins for its parameters and buffers (through
    ``torch.func.functional_call``), leaving the model itself untouched.
    """
    import torch
    from torch.func import functional_call
    from torch.overrides import TorchFunctionMode

    state = dict(itertools.chain(model.named_parameters(), model.named_buffers()))
    if sample.is_meta:
        state = {name: torch.empty_like(t, device="meta") for name, t in state.items()}
    known = {id(sample), *(id(t) for t in state.values())}
    created = {}  # id -> tensor; holding the tensors keeps their ids unique

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            result = func(*args, **(kwargs or {}))
            for tensor in result if isinstance(result, (tuple, list)) else [result]:
                if isinstance(tensor, torch.Tensor):
                    owner = tensor if tensor._base is None else tensor._base
                    if id(owner) not in known:
                        created[id(owner)] = owner
            return result

    with torch.no_grad(), Record():
        functional_call(model, state, (sample,))
    return sum(t.numel() * t.element_size() for t in created.values())
