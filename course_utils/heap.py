"""Give the heap memory that freed tensors leave behind back to the operating system.

glibc's ``malloc`` serves a large allocation with its own ``mmap`` only until the first one
is freed; after that it raises its threshold (up to 32 MB) and serves volumes of the size of a
SynthBraTS subject (4 × 98 × 116 × 94 float32, 17 MB) from its heaps, which it keeps when the
tensor is freed. An augmentation makes several such temporaries per sample (a sampling grid,
the resampled image, the label), so a process that augments keeps growing by tens of MB of
free but resident memory; measured in notebook 04, the kernel grew from 0.56 to 0.94 GB over
four augmented draws, and its two DataLoader workers, forked from it, each grew again. Binder
counts resident memory against its 2 GB limit.

Raising the threshold for good (``mallopt``, or ``MALLOC_MMAP_THRESHOLD_``) would avoid this,
but it makes every U-Net step map and zero its activations afresh: 0.18 s became 0.25-0.28 s
per training step here. Trimming after each augmented sample costs 0.3-3 ms.

Used by `course_utils.transforms.Compose`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_free_memory"]


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (macOS, Windows, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the free pages of every malloc heap to the operating system.

    Returns ``True`` if memory was released, ``False`` if there was none to release or the C
    library cannot do it (then this is a no-op). Live tensors are never touched.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
