"""CPU speed-up machinery for copying patches (private: not part of the lesson).

`new_tensor` takes large CPU buffers from NumPy, which asks Linux for huge pages (fewer page
faults than torch's allocator); `gather` copies patches through NumPy views, split among
`copy_threads` threads when the copy is large (`PARALLEL_COPY_BYTES`). What these functions
return is what plain slicing and ``np.stack`` would give, only faster on the course's
2-core machines (``benchmarks/patches.py`` measures it).
"""

from __future__ import annotations

import contextlib
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from ..threads import decide_threads
from ._validation import Array, is_torch

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = ["PARALLEL_COPY_BYTES", "new_tensor", "copy_threads", "gather"]


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
