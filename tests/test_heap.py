"""course_utils.heap: freed heap pages go back to the operating system (glibc only)."""

import subprocess
import sys

import pytest

from course_utils import heap

GLIBC = sys.platform.startswith("linux") and heap._malloc_trim() is not None
needs_glibc = pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")


#: Run in a fresh interpreter: 200 chunks of 1 MB are written and freed while the last one
#: pins the top of the heap (as a live tensor does), then the resident size is read before
#: and after ``release_free_memory``. ``M_MMAP_THRESHOLD`` is fixed at 32 MB, the value
#: glibc's own dynamic threshold reaches once a volume-sized tensor has been freed, so that
#: the chunks live on the heap as freed tensors do in a notebook's kernel.
FRAGMENT = """
import ctypes, ctypes.util, sys
from course_utils import heap
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallopt(-3, 32 << 20)
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
chunks = [libc.malloc(1 << 20) for _ in range(200)]
for chunk in chunks:
    ctypes.memset(chunk, 1, 1 << 20)
for chunk in chunks[:-1]:
    libc.free(chunk)
before = resident()
released = heap.release_free_memory() if sys.argv[1] == "release" else None
print(released, before - resident())
"""


def freed_then(action: str) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", FRAGMENT, action], capture_output=True, text=True, check=True
    )
    returned, came_back = result.stdout.split()
    return returned, int(came_back)


@needs_glibc
def test_freed_heap_chunks_come_back_only_after_release():
    assert freed_then("nothing")[1] < 10 << 20  # free() alone keeps them resident
    returned, came_back = freed_then("release")
    assert returned == "True"
    assert came_back > 150 << 20, f"only {came_back / 2**20:.0f} MB came back"


def test_release_is_a_harmless_no_op_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)
    assert heap.release_free_memory() is False


def test_compose_releases_after_each_sample(monkeypatch):
    import torch

    from course_utils import transforms
    from course_utils.transforms import compose

    calls = []
    monkeypatch.setattr(compose, "release_free_memory", lambda: calls.append(1))
    augment = transforms.Compose([transforms.RandomFlip(p=1.0)])
    augment({"image": torch.zeros(1, 2, 2, 2)}, transforms.sample_generator(0))
    assert calls == [1]
