"""Run notebooks top to bottom and hold them to the course's time and memory budgets.

CONTRIBUTING.md sets the budgets: a notebook runs in under 2 minutes and 1.5 GB on two CPU
cores. This script executes each notebook in a fresh kernel of the current Python environment
(like ``pytest --nbval-current-env``, whatever kernelspec the notebook names), measures

- the **wall time** from starting the kernel to the end of the last cell, and
- the kernel's **peak resident memory**: ``VmHWM`` from ``/proc/<pid>/status`` (the kernel's
  exact high-water mark, Linux), or the largest PSS of the kernel plus its child processes seen
  by polling with psutil every 0.1 s, whichever is larger (so workers the kernel starts count,
  and pages they share with it count once),

prints a table, and exits with status 1 if any notebook fails or breaks a budget::

    python tools/notebook_budgets.py [NOTEBOOK ...] [--max-seconds 120] [--max-gb 1.5]
                                     [--json OUT]

Without notebooks it runs ``notebooks/NN_*.ipynb``. GB here means 10^9 bytes. Cells run in
the notebook's folder, as in Jupyter. Used by ``make test``; tested in
``tests/test_notebook_budgets.py``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

REPO = Path(__file__).resolve().parents[1]
CURRENT_ENV = "current-env"
POLL_SECONDS = 0.1


@dataclass
class Measurement:
    """One notebook's run: ``seconds`` of wall time, ``peak_bytes`` of resident memory."""

    notebook: str
    seconds: float
    peak_bytes: int
    memory_source: str
    error: str | None = None


class CurrentEnvKernelSpecManager(KernelSpecManager):
    """Finds the ``current-env`` kernel: ipykernel in this very Python (``sys.executable``)."""

    def get_kernel_spec(self, kernel_name: str):
        if kernel_name == CURRENT_ENV:
            spec = ipykernel.kernelspec.get_kernel_dict()
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)
        return super().get_kernel_spec(kernel_name)


class CurrentEnvKernelManager(AsyncKernelManager):
    """A kernel manager that knows the ``current-env`` kernel."""

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self) -> KernelSpecManager:
        return CurrentEnvKernelSpecManager(data_dir=self.data_dir)

    @default("transport_encryption")
    def _default_transport_encryption(self) -> str:
        import zmq

        # Encrypt the kernel's sockets where pyzmq can (and the kernel's TCP warning goes away).
        return "auto" if zmq.has("curve") else "disabled"


def vmhwm_bytes(pid: int) -> int | None:
    """Peak resident memory of process ``pid`` (``VmHWM``), or ``None`` without ``/proc``."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None


class TreePeakPoller(threading.Thread):
    """Polls the RSS of a process plus all its descendants; ``peak`` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = POLL_SECONDS) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.stopped = threading.Event()

    def sample(self) -> int:
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += proportional_memory(process)
            except psutil.Error:  # a child exited between listing and reading
                pass
        return total

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, self.sample())
            self.stopped.wait(self.interval)

    def stop(self) -> int:
        self.stopped.set()
        self.join()
        return self.peak


def proportional_memory(process) -> int:
    """A process's PSS: its resident pages, each page shared with k processes counted 1/k.

    DataLoader workers are forked from the kernel and share most of its pages; adding their
    RSS would count those pages once per worker, while a container's memory limit (Binder's)
    counts them once. Falls back to RSS where PSS can't be read.
    """
    import psutil

    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(process.memory_info().rss)


def psutil_available() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


class Probe:
    """nbclient hooks that watch the kernel: start polling when it starts, read ``VmHWM`` and
    the time after every cell (the kernel is still alive then)."""

    def __init__(self) -> None:
        self.client: NotebookClient | None = None
        self.poller: TreePeakPoller | None = None
        self.pid: int | None = None
        self.vmhwm: int | None = None
        self.polled = 0
        self.last_cell_done = time.perf_counter()

    def on_notebook_start(self, **_) -> None:
        self.pid = self.client.km.provisioner.pid
        if psutil_available():
            self.poller = TreePeakPoller(self.pid)
            self.poller.start()

    def on_cell_executed(self, **_) -> None:
        self.last_cell_done = time.perf_counter()
        self.vmhwm = vmhwm_bytes(self.pid) or self.vmhwm
        self.polled = self.poller.peak if self.poller else 0  # up to the end of this cell

    def peak(self) -> tuple[int, str]:
        """``(bytes, how measured)`` up to the end of the last cell, once the run is over.

        The polled sum exceeds ``VmHWM`` only when child processes hold memory too.
        """
        if self.poller:
            self.poller.stop()
        if self.vmhwm is not None and self.vmhwm >= self.polled:
            return self.vmhwm, "VmHWM"
        return self.polled, "psutil tree" if self.poller else "unmeasured"


def allow_marked_errors(notebook: nbformat.NotebookNode) -> None:
    """Tag cells marked ``# NBVAL_RAISES_EXCEPTION`` ``raises-exception``, which nbclient knows."""
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "NBVAL_RAISES_EXCEPTION" in cell.source and "raises-exception" not in tags:
            tags.append("raises-exception")


def measure_notebook(path: str | Path, cell_timeout: int = 600) -> Measurement:
    """Execute the notebook at ``path`` in a fresh current-environment kernel and measure it.

    Every cell runs, as a student's Run All would. A cell that raises ends the run and the
    error is recorded, except in cells that nbval expects to raise (tag ``raises-exception``
    or comment ``# NBVAL_RAISES_EXCEPTION``).
    """
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    probe = Probe()
    allow_marked_errors(notebook)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name=CURRENT_ENV,
        kernel_manager_class=CurrentEnvKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
        shutdown_kernel="immediate",  # measured already; a graceful shutdown costs ~2 s
        on_notebook_start=probe.on_notebook_start,
        on_cell_executed=probe.on_cell_executed,
    )
    probe.client = client
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as exc:  # a failing cell, a timeout, a dead kernel
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200]}"
    peak, source = probe.peak()
    seconds = max(probe.last_cell_done - start, 0.0)
    return Measurement(str(path), round(seconds, 2), peak, source, error)


def breaches(measurement: Measurement, max_seconds: float, max_gb: float) -> list[str]:
    """What is wrong with a run: an error, too slow, too much memory (empty when fine)."""
    problems = [f"failed: {measurement.error}"] if measurement.error else []
    if measurement.seconds > max_seconds:
        problems.append(f"{measurement.seconds:.1f} s > {max_seconds:g} s")
    if measurement.peak_bytes > max_gb * 1e9:
        problems.append(f"{measurement.peak_bytes / 1e9:.2f} GB > {max_gb:g} GB")
    return problems


def format_table(measurements: Sequence[Measurement], max_seconds: float, max_gb: float) -> str:
    """A plain-text table: notebook, time, peak memory, how measured, verdict."""
    width = max([len(Path(m.notebook).name) for m in measurements] + [8])
    rows = [
        f"{'notebook':{width}}  {'time (s)':>8}  {'peak (GB)':>9}  {'measured by':11}  verdict",
        f"{'budget':{width}}  {max_seconds:8.0f}  {max_gb:9.2f}",
    ]
    for m in measurements:
        verdict = "; ".join(breaches(m, max_seconds, max_gb)) or "ok"
        name = Path(m.notebook).name
        rows.append(
            f"{name:{width}}  {m.seconds:8.1f}  {m.peak_bytes / 1e9:9.2f}  "
            f"{m.memory_source:11}  {verdict}"
        )
    return "\n".join(rows)


def write_json(path: Path, measurements: Sequence[Measurement], budgets: dict) -> None:
    """Save the measurements and budgets as JSON (atomically)."""
    from course_utils.files import atomic_write_text

    results = [{**asdict(m), "breaches": breaches(m, **budgets)} for m in measurements]
    text = json.dumps({"budgets": budgets, "notebooks": results}, indent=2)
    atomic_write_text(path, text + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notebook_budgets.py",
        description="Execute notebooks in fresh kernels; fail if one is too slow or too big.",
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="wall time budget")
    parser.add_argument("--max-gb", type=float, default=1.5, help="peak RSS budget (10^9 B)")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--cell-timeout", type=int, default=240, help="seconds per cell (budget: 120 a notebook)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the budget check; returns the exit status (1 if any notebook breaks a budget)."""
    args = build_parser().parse_args(argv)
    paths = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit("notebook_budgets.py: no notebooks to run")
    budgets = {"max_seconds": args.max_seconds, "max_gb": args.max_gb}
    measurements = []
    for path in paths:
        print(f"running {path} ...", flush=True)
        measurement = measure_notebook(path, args.cell_timeout)
        if measurement.error and "Timeout" in measurement.error:
            # Seen twice here: the client and an idle kernel both waiting on their sockets,
            # once in a while, not reproducible; a second run in a fresh kernel is honest.
            print(f"  {measurement.error}; running it once more in a fresh kernel", flush=True)
            measurement = measure_notebook(path, args.cell_timeout)
        measurements.append(measurement)
    print(format_table(measurements, **budgets))
    if args.json:
        write_json(args.json, measurements, budgets)
    return 1 if any(breaches(m, **budgets) for m in measurements) else 0


if __name__ == "__main__":
    raise SystemExit(main())
