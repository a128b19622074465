"""The thread policy: counts from affinity, cgroup quotas and OMP_NUM_THREADS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from course_utils import threads


@pytest.fixture
def cgroup(tmp_path):
    """A fake /sys/fs/cgroup folder; write ``cpu.max`` (v2) or ``cpu/cpu.cfs_*`` (v1) into it."""
    return tmp_path


def test_cgroup_v2_quota_is_read_in_cores(cgroup):
    (cgroup / "cpu.max").write_text("150000 100000\n")
    assert threads.cgroup_cpu_quota(cgroup) == 1.5


def test_cgroup_v2_max_means_no_quota(cgroup):
    (cgroup / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_quota(cgroup) is None


def test_cgroup_v1_quota_is_read_and_minus_one_means_none(cgroup):
    (cgroup / "cpu").mkdir()
    (cgroup / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (cgroup / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    assert threads.cgroup_cpu_quota(cgroup) == 0.5
    (cgroup / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_quota(cgroup) is None


def test_no_cgroup_files_or_garbage_mean_no_quota(cgroup):
    assert threads.cgroup_cpu_quota(cgroup) is None
    (cgroup / "cpu.max").write_text("garbage\n")
    assert threads.cgroup_cpu_quota(cgroup) is None


def test_a_quota_smaller_than_the_allowed_cores_wins_rounded_up(cgroup, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    (cgroup / "cpu.max").write_text("250000 100000\n")
    cores, reason = threads.usable_cores(cgroup)
    assert cores == 3
    assert "8 allowed cores" in reason and "quota of 2.5" in reason


def test_a_tiny_quota_still_leaves_one_thread(cgroup, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    (cgroup / "cpu.max").write_text("10000 100000\n")
    assert threads.usable_cores(cgroup)[0] == 1


def test_the_affinity_limits_the_count_when_there_is_no_quota(cgroup, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert threads.decide_threads({}, cgroup) == threads.ThreadPolicy(1, "1 allowed core")


@pytest.mark.parametrize("value", ["", "0", "-2", "two", "1.5"])
def test_an_unusable_omp_num_threads_falls_back_to_the_cores(cgroup, monkeypatch, value):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert threads.decide_threads({"OMP_NUM_THREADS": value}, cgroup).threads == 2


def test_configure_keeps_the_users_settings_and_fills_in_the_rest():
    environ = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "ACTIVE"}
    policy = threads.configure_threads(environ=environ)
    assert policy.threads == 1
    assert environ == {
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "ACTIVE",
    }


def test_configure_with_an_explicit_count_overwrites_every_pool():
    environ = {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4"}
    assert threads.configure_threads(3, environ).threads == 3
    assert {environ[v] for v in threads.POOL_VARIABLES} == {"3"}
    assert environ["OMP_WAIT_POLICY"] == "PASSIVE"
    with pytest.raises(ValueError, match="at least 1"):
        threads.configure_threads(0, {})


def test_configure_before_torch_loads_sizes_torch_and_numpy_in_a_fresh_process():
    code = (
        "from course_utils.threads import configure_threads\n"
        "configure_threads(1)\n"
        "import torch, numpy\n"
        "info = torch.__config__.parallel_info()\n"
        "print(torch.get_num_threads(), info.count('omp_get_max_threads() : 1'))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["1", "1"]


def test_import_course_utils_threads_loads_neither_numpy_nor_torch():
    code = (
        "import sys, course_utils.threads; print('numpy' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_torch_threads_restores_the_previous_count():
    import torch

    before = torch.get_num_threads()
    with threads.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
