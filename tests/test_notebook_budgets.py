"""tools/notebook_budgets.py: wall time and peak memory of a notebook run, and the verdict."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "notebook_budgets.py"
MB = 1_000_000


def load_tool():
    spec = importlib.util.spec_from_file_location("notebook_budgets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


budgets = load_tool()


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def big_and_slow(tmp_path_factory):
    """One run of a notebook that holds a 200 MB array, then sleeps for one second."""
    path = write_notebook(
        tmp_path_factory.mktemp("budgets") / "big_and_slow.ipynb",
        "import time\nimport numpy as np",
        "block = np.ones(200 * 1_000_000 // 8)  # 200 MB, every page touched",
        "time.sleep(1.0)",
    )
    return budgets.measure_notebook(path)


def test_the_peak_memory_includes_a_200_mb_array(big_and_slow):
    assert big_and_slow.error is None
    assert big_and_slow.peak_bytes >= 200 * MB
    assert big_and_slow.peak_bytes < 1000 * MB  # the kernel, not the whole machine


def test_the_wall_time_includes_a_one_second_sleep(big_and_slow):
    assert big_and_slow.seconds >= 1.0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux-only")
def test_linux_peak_memory_is_the_kernels_vmhwm(big_and_slow):
    assert big_and_slow.memory_source == "VmHWM"
    assert budgets.vmhwm_bytes(999_999_999) is None  # no such process


def test_memory_held_by_a_child_process_counts(tmp_path):
    child = "import numpy as np, time; block = np.ones(300 * 1_000_000 // 8); time.sleep(1.0)"
    path = write_notebook(
        tmp_path / "child.ipynb",
        f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {child!r}])",
    )
    measurement = budgets.measure_notebook(path)
    assert measurement.peak_bytes >= 300 * MB
    assert measurement.memory_source == "psutil tree"


@pytest.mark.parametrize(
    "seconds, peak_bytes, error, expected",
    [
        (10.0, 100 * MB, None, []),
        (130.0, 100 * MB, None, ["130.0 s > 120 s"]),
        (10.0, 1600 * MB, None, ["1.60 GB > 1.5 GB"]),
        (10.0, 100 * MB, "ValueError: bad", ["failed: ValueError: bad"]),
    ],
)
def test_a_run_breaks_the_budget_when_slow_big_or_failing(seconds, peak_bytes, error, expected):
    measurement = budgets.Measurement("x.ipynb", seconds, peak_bytes, "VmHWM", error)
    assert budgets.breaches(measurement, max_seconds=120, max_gb=1.5) == expected


def test_a_budget_breach_exits_non_zero_and_is_written_to_json(tmp_path, capsys):
    path = write_notebook(tmp_path / "quick.ipynb", "x = 1")
    out = tmp_path / "results" / "budgets.json"
    assert budgets.main([str(path), "--max-seconds", "0.001", "--json", str(out)]) == 1
    table = capsys.readouterr().out
    assert "quick.ipynb" in table and "s > 0.001 s" in table
    [result] = json.loads(out.read_text())["notebooks"]
    assert result["breaches"] and result["error"] is None


def test_within_budget_exits_zero(tmp_path, capsys):
    path = write_notebook(tmp_path / "quick.ipynb", "x = 1")
    assert budgets.main([str(path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("ok")


def test_a_failing_cell_is_a_failure_but_an_expected_error_is_not(tmp_path):
    failing = write_notebook(tmp_path / "failing.ipynb", "x = 1", "1 / 0", "y = 2")
    measurement = budgets.measure_notebook(failing)
    assert measurement.error and "ZeroDivisionError" in measurement.error
    expected = write_notebook(tmp_path / "expected.ipynb", "# NBVAL_RAISES_EXCEPTION\n1 / 0")
    assert budgets.measure_notebook(expected).error is None
