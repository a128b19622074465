"""How many CPU threads the course uses: one static policy, decided before torch loads.

On a 2-core machine that another process keeps busy (a Binder pod, a shared lab server, a
laptop compiling something), torch's default OpenMP threads *spin* while they wait for a core
the other process holds: a notebook that takes 47 s on a quiet machine took 389 s beside one
busy process. Containers also report more CPUs than their quota lets them use. This module
decides once, from facts the operating system states:

- the cores this process may run on (``os.sched_getaffinity``);
- the container's CPU quota (cgroup v2 ``/sys/fs/cgroup/cpu.max``, or cgroup v1
  ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded up;
- ``OMP_NUM_THREADS`` when the user set it (their word wins);

and applies it to every pool the course uses: torch's intra-op threads, OpenMP's wait policy
(passive: a waiting thread sleeps instead of spinning, measured in ``benchmarks/contention.py``),
the BLAS threads of NumPy and SciPy, and the patch-copy threads of ``course_utils.patches``.

OpenMP and OpenBLAS read their settings when their libraries load, so `configure_threads` must
run before the first ``import numpy`` or ``import torch``: first thing in every notebook's
imports cell, in the CLI and in the tests' ``conftest.py``. DataLoader workers inherit the
environment (torch gives each worker one thread). The policy is static: it does not watch the
load, it only refuses to plan for cores the process cannot have.

Used by every notebook, ``course_utils.cli``, ``registration`` and ``patches``.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ThreadPolicy",
    "usable_cores",
    "cgroup_cpu_quota",
    "decide_threads",
    "configure_threads",
    "torch_threads",
]

#: Environment variables that size a thread pool; each gets the policy's count unless set.
POOL_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: OpenMP waits passively (sleeps) instead of spinning: see the module docstring.
WAIT_POLICY = "PASSIVE"
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ThreadPolicy:
    """The decision: ``threads`` for every pool, and the facts it came from, in words."""

    threads: int
    reason: str

    def __str__(self) -> str:
        return f"{self.threads} thread{'s' if self.threads != 1 else ''} ({self.reason})"


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """The container's CPU quota in cores (``2.5`` = two and a half), or ``None`` if unlimited.

    Reads cgroup v2 (``cpu.max``: ``"QUOTA PERIOD"`` or ``"max PERIOD"``) and falls back to
    cgroup v1 (``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us``; a quota of -1 is
    unlimited). Unreadable or malformed files count as no quota.
    """
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def usable_cores(root: Path = CGROUP_ROOT) -> tuple[int, str]:
    """``(cores, reason)``: the cores this process may use, with the facts behind the number.

    The smaller of the allowed cores (``os.sched_getaffinity``, or ``os.cpu_count`` where the
    platform has no affinity) and the cgroup quota rounded up; at least 1.
    """
    try:
        allowed = len(os.sched_getaffinity(0))
        facts = [f"{allowed} allowed core{'s' if allowed != 1 else ''}"]
    except AttributeError:  # macOS, Windows
        allowed = os.cpu_count() or 1
        facts = [f"{allowed} CPUs"]
    cores = allowed
    quota = cgroup_cpu_quota(root)
    if quota is not None:
        facts.append(f"a CPU quota of {quota:g}")
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores), ", ".join(facts)


def decide_threads(
    environ: Mapping[str, str] | None = None, root: Path = CGROUP_ROOT
) -> ThreadPolicy:
    """The thread count for every pool: ``OMP_NUM_THREADS`` if set to a positive integer,
    else `usable_cores`.

    >>> decide_threads({"OMP_NUM_THREADS": "3"})
    ThreadPolicy(threads=3, reason='OMP_NUM_THREADS=3')
    """
    environ = os.environ if environ is None else environ
    requested = environ.get("OMP_NUM_THREADS", "").strip()
    if requested.isdigit() and int(requested) > 0:
        return ThreadPolicy(int(requested), f"OMP_NUM_THREADS={requested}")
    cores, reason = usable_cores(root)
    return ThreadPolicy(cores, reason)


def configure_threads(
    threads: int | None = None, environ: MutableMapping[str, str] | None = None
) -> ThreadPolicy:
    """Apply `decide_threads` (or an explicit ``threads``) to every pool, and return it.

    Sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
    ``OMP_WAIT_POLICY=PASSIVE`` where they are not set yet (a user's setting is kept; an
    explicit ``threads``, such as the CLI's ``--threads``, overwrites the counts), so that
    OpenMP and BLAS read them when they load; if torch is already imported, also calls
    ``torch.set_num_threads``. Call it before importing NumPy or torch. Idempotent.
    """
    environ = os.environ if environ is None else environ
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        for variable in POOL_VARIABLES:
            environ[variable] = str(threads)
    policy = decide_threads(environ)
    for variable in POOL_VARIABLES:
        environ.setdefault(variable, str(policy.threads))
    environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(policy.threads)
    return policy


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (``None``: leave them), then restore them."""
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
