"""Benchmark: the course on a shared CPU — thread counts and OpenMP wait policies, quiet and busy.

A 2-core Binder pod or lab server is rarely quiet. This script runs workloads of the course
under each thread setting twice, once on a quiet machine and once beside a *busy* process (a
bounded pure-Python loop, one core's worth of work, started just before and stopped just after
the workload), and prints wall seconds and the busy/quiet ratio:

- ``train``: ``course-utils train`` for 100 steps (20 subjects x 10 patches / batch 2, one
  epoch, then whole-subject validation of 4 subjects);
- ``nbNN``: notebook ``NN`` top to bottom in a fresh kernel (``tools/notebook_budgets.py``).

Settings (environment variables read by `course_utils.threads.configure_threads`, which every
notebook, the CLI and the tests call before torch loads):

- ``policy``: the course's default — the cores this process may use, passive OpenMP waiting;
- ``1-thread``: ``OMP_NUM_THREADS=1``;
- ``2-spin``: 2 threads and libgomp's own default waiting (``GOMP_SPINCOUNT=300000``: spin
  before sleeping), i.e. what torch does when nobody sets anything.

Run ``python benchmarks/contention.py [--workloads train nb07] [--settings ...]``; needs the
SynthBraTS cohort (``make data``). Nothing is asserted: timings on shared machines are noisy,
and the printed ratios are the result (recorded in README.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "policy": {},
    "1-thread": {"OMP_NUM_THREADS": "1"},
    "2-spin": {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "300000"},
}
BUSY_LOOP = (
    "import time, sys\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end: pass\n"
)


def workload_command(name: str, scratch: Path) -> list[str]:
    """The command line of workload ``name`` (``train`` or ``nbNN``)."""
    if name == "train":
        data = Path(os.environ.get("COURSE_DATA", REPO / "data")) / "synthbrats"
        run = scratch / "run"
        return [
            str(Path(sys.executable).with_name("course-utils")),
            "train", "--data", str(data), "--out", str(run), "--epochs", "1",
            "--patches-per-subject", "10", "--quiet",
        ]  # fmt: skip
    if name.startswith("nb"):
        notebook = next((REPO / "notebooks").glob(f"{name[2:]}_*.ipynb"))
        return [
            sys.executable, str(REPO / "tools" / "notebook_budgets.py"), str(notebook),
            "--max-seconds", "3600", "--max-gb", "100",
        ]  # fmt: skip
    raise SystemExit(f"unknown workload {name!r}: use train or nbNN")


def run_once(name: str, setting: str, busy: bool, limit: float) -> float:
    """Wall seconds of one run of ``name`` under ``setting``, beside a busy loop or not."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    env.update(SETTINGS[setting])
    with tempfile.TemporaryDirectory() as scratch:
        command = workload_command(name, Path(scratch))
        spinner = None
        if busy:
            spinner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(limit)])
        start = time.perf_counter()
        # Its own session, so that a run cut at the limit takes its kernel and workers with it.
        process = subprocess.Popen(
            command, env=env, cwd=REPO, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            if process.wait(timeout=limit) != 0:
                raise SystemExit(f"{name} failed under {setting}: {' '.join(command)}")
            return time.perf_counter() - start
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return float("inf")
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["train", "nb07"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--limit", type=float, default=900, help="seconds before a run is cut")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} at the start")
    print("| workload | setting | quiet s | one core busy s | busy / quiet |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.workloads:
        for setting in args.settings:
            quiet = run_once(name, setting, busy=False, limit=args.limit)
            busy = run_once(name, setting, busy=True, limit=args.limit)
            print(f"| {name} | {setting} | {quiet:.1f} | {busy:.1f} | {busy / quiet:.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
