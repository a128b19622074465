"""Benchmark: patch extraction and sliding-window inference, ours against MONAI and TorchIO.

The bars (from the issue): sliding-window inference takes <= 1.0x MONAI's time and <= its peak
memory, and is exact in ``crop`` mode; extracting a grid of patches is >= 5x as fast as
TorchIO's ``GridSampler`` (patches per second).

Run with ``python benchmarks/patches.py`` (BraTS size: 4 x 240 x 240 x 155 float32, windows of
128^3, a few minutes) or ``--small`` for a quick run. Prints tables; nothing here is asserted,
because timings on shared machines are noisy. MONAI and TorchIO are course dependencies;
in an environment without them their rows say "not installed".

How things are measured
- Time: the best of ``--reps`` runs, after a warm-up forward pass on a tiny input. The
  sliding-window methods take turns (one run each per round, rounds repeated ``--reps``
  times), so a burst of load from other processes hits them all alike. They run on one
  thread, so besides wall-clock seconds the table gives CPU seconds (user + system time of
  the process, ``time.process_time``), which barely change when other processes compete
  for the cores; the time bars are judged on CPU seconds. The load average is printed.
- Peak memory: each sliding-window method runs in a fresh Python process. Once the volume and
  the model are built, the process resets the kernel's resident-set high-water mark (writes
  "5" to /proc/self/clear_refs) and, after the runs, reports VmHWM minus the RSS at the reset:
  the extra resident memory the method needed at its peak, whoever allocated it (torch, NumPy,
  MONAI, TorchIO). Linux only; elsewhere the column is blank. tracemalloc would miss torch.
- Accuracy: max |difference| from one whole-volume pass of the same model, a 3x3x3
  convolution (receptive-field radius 1) so that only a crop-style blend can be exact.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL = {"shape": (4, 240, 240, 155), "window": 128}
SMALL = {"shape": (4, 120, 120, 78), "window": 64}
SLIDING_METHODS = [
    ("whole", "whole volume, one pass"),
    ("ours-gaussian", "ours, gaussian"),
    ("ours-constant", "ours, constant"),
    ("ours-crop", "ours, crop"),
    ("monai-gaussian", "MONAI sliding_window_inference, gaussian"),
    ("monai-constant", "MONAI sliding_window_inference, constant"),
    ("torchio-crop", "TorchIO GridSampler + GridAggregator, crop"),
    ("torchio-hann", "TorchIO GridSampler + GridAggregator, hann"),
]


def best_time(function, reps: int):
    """``(fastest wall seconds, fastest CPU seconds, result of the last run)``."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(reps):
        result = None  # free the previous result before the next run
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return wall, cpu, result


def load_average() -> str:
    try:
        return ", ".join(f"{load:.1f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


# --- one sliding-window method, in its own process -------------------------------------------


def proc_status_kib(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def reset_peak_rss() -> int | None:
    """Reset VmHWM to the current RSS; returns that RSS in KiB (None if not Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return proc_status_kib("VmRSS")


def small_conv_model():
    import torch
    from torch import nn

    torch.manual_seed(1)
    conv = nn.Sequential(nn.Conv3d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 3, 1))
    return conv.eval()


def sliding_runner(method: str, model, image, window: int):
    """A no-argument function that runs ``method`` once and returns ``(1, 3, D, H, W)``."""
    import torch

    if method == "whole":
        return lambda: torch.no_grad()(model)(image)
    if method.startswith("ours-"):
        from course_utils.patches import sliding_window_inference

        weighting = method.removeprefix("ours-")
        return lambda: sliding_window_inference(
            model, image, patch_size=window, overlap=0.5, batch_size=4, weighting=weighting
        )
    if method.startswith("monai-"):
        from monai.inferers import sliding_window_inference as monai_sliding_window

        mode = method.removeprefix("monai-")
        return lambda: torch.no_grad()(monai_sliding_window)(
            image, window, 4, model, overlap=0.5, mode=mode
        )
    import torchio as tio

    def torchio_run():
        subject = tio.Subject(image=tio.ScalarImage(tensor=image[0]))
        sampler = tio.GridSampler(subject, patch_size=window, patch_overlap=window // 2)
        aggregator = tio.GridAggregator(sampler, overlap_mode=method.removeprefix("torchio-"))
        with torch.no_grad():
            for batch in tio.SubjectsLoader(sampler, batch_size=4):
                aggregator.add_batch(model(batch["image"][tio.DATA]), batch[tio.LOCATION])
        return aggregator.get_output_tensor()[None]

    return torchio_run


def worker(method: str, shape: tuple[int, ...], window: int, reps: int, reference: Path) -> None:
    """Run one sliding-window method and print one JSON line with its measurements."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    model = small_conv_model()
    torch.manual_seed(0)
    image = torch.randn(1, *shape)
    try:
        run = sliding_runner(method, model, image, window)
    except ImportError:
        print(json.dumps({"status": "not installed"}))
        return
    with torch.no_grad():
        model(torch.zeros(1, 4, 8, 8, 8))  # warm-up: thread pool, convolution kernels
    baseline = reset_peak_rss()
    seconds, cpu_seconds, output = best_time(run, reps)
    peak = proc_status_kib("VmHWM")
    peak_mib = None if baseline is None or peak is None else (peak - baseline) / 1024
    result = output.detach().numpy()
    del output
    if method == "whole":
        np.save(reference, result)
        max_diff = 0.0
    else:
        max_diff = float(np.abs(result - np.load(reference)).max())
    row = {"seconds": seconds, "cpu": cpu_seconds, "peak_mib": peak_mib, "diff": max_diff}
    print(json.dumps(dict(row, status="ok")))


def run_worker(method: str, args, reference: Path) -> dict:
    command = [sys.executable, __file__, "--worker", method, "--reps", "1"]
    command += ["--reference", str(reference)] + (["--small"] if args.small else [])
    done = subprocess.run(command, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"status": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def best_of(previous: dict | None, new: dict) -> dict:
    """Merge two runs of one method: the shorter time, the larger peak, the first accuracy."""
    if previous is None or previous["status"] != "ok":
        return new
    if new["status"] != "ok":
        return previous
    peaks = [p for p in (previous["peak_mib"], new["peak_mib"]) if p is not None]
    fastest = {key: min(previous[key], new[key]) for key in ("seconds", "cpu")}
    return dict(previous, **fastest, peak_mib=max(peaks) if peaks else None)


# --- patch extraction, in this process ---------------------------------------------------------


def extraction_rows(shape: tuple[int, ...], window: int, reps: int) -> list[tuple]:
    """``(name, patches, seconds, bytes moved or None)`` for each way of extracting patches."""
    import numpy as np
    import torch

    from course_utils.patches import _copy, extract_patches, grid_origins, patch_grid

    stride = window // 2
    volume = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    tensor = torch.from_numpy(volume)
    patch_bytes = shape[0] * window**3 * 4
    origins = grid_origins(shape[1:], window, stride)
    regular = tuple(regular_stride(size, window, stride) for size in shape[1:])
    rows = []

    def extract(array):
        return extract_patches(array, window, stride)[0]

    def add(name, function):
        seconds, _, result = best_time(function, reps)
        count = len(result) if not isinstance(result, int) else result
        rows.append((name, count, seconds, count * patch_bytes))

    threads = _copy.copy_threads(len(origins) * patch_bytes, len(origins))
    add(f"ours extract_patches, NumPy (copy, {threads} threads)", lambda: extract(volume))
    add(f"ours extract_patches, torch (copy, {threads} threads)", lambda: extract(tensor))
    add("ours extract_patches, NumPy (copy, 1 thread)", lambda: one_thread(extract, volume))
    view_name = f"ours patch_grid view, stride {regular} (regular grid)"
    seconds, _, grid = best_time(lambda: patch_grid(volume, window, regular)[0], reps)
    rows.append((view_name, int(np.prod(grid.shape[:3])), seconds, None))
    add("  ... then np.ascontiguousarray (copy)", lambda: contiguous(volume, window, regular))
    add("NumPy slicing + np.stack", lambda: numpy_stack(volume, origins, window))
    rows += optional_rows(tensor, window, stride, reps, patch_bytes)
    return rows


def one_thread(function, *args):
    """``function(*args)`` with `course_utils.patches` copying on a single thread."""
    from course_utils.patches import _copy

    threshold = _copy.PARALLEL_COPY_BYTES
    _copy.PARALLEL_COPY_BYTES = float("inf")
    try:
        return function(*args)
    finally:
        _copy.PARALLEL_COPY_BYTES = threshold


def regular_stride(size: int, window: int, stride: int) -> int:
    """The largest stride <= ``stride`` whose grid is evenly spaced (same number of patches)."""
    if size <= window:
        return stride
    count = -(-(size - window) // stride)  # steps after the first patch
    return -(-(size - window) // count)


def contiguous(volume, window: int, stride: tuple[int, ...]):
    import numpy as np

    from course_utils.patches import patch_grid

    grid = patch_grid(volume, window, stride)[0]
    return np.ascontiguousarray(grid).reshape(-1, volume.shape[0], window, window, window)


def numpy_stack(volume, origins, window: int):
    import numpy as np

    return np.stack(
        [volume[:, d : d + window, h : h + window, w : w + window] for d, h, w in origins]
    )


def optional_rows(tensor, window: int, stride: int, reps: int, patch_bytes: int) -> list[tuple]:
    rows = []
    try:
        import torchio as tio
    except ImportError:
        rows.append(("TorchIO GridSampler", None, None, None))
    else:

        def torchio_patches():
            subject = tio.Subject(image=tio.ScalarImage(tensor=tensor))
            sampler = tio.GridSampler(subject, patch_size=window, patch_overlap=window - stride)
            return [patch["image"][tio.DATA] for patch in sampler]

        seconds, _, result = best_time(torchio_patches, reps)
        rows.append(("TorchIO GridSampler", len(result), seconds, len(result) * patch_bytes))
    try:
        from monai.transforms import GridPatch
    except ImportError:
        return rows + [("MONAI GridPatch", None, None, None)]
    for pad, label in [(None, "drops partial patches"), ("constant", "pads")]:
        patcher = GridPatch(patch_size=(window,) * 3, overlap=1 - stride / window, pad_mode=pad)
        seconds, _, result = best_time(lambda patcher=patcher: patcher(tensor), reps)
        name = f"MONAI GridPatch ({label})"
        rows.append((name, len(result), seconds, len(result) * patch_bytes))
    return rows


# --- report ------------------------------------------------------------------------------------


def print_sliding(results: dict, shape, window: int) -> None:
    print(
        f"\nSliding-window inference: 1x{'x'.join(map(str, shape))} float32, window {window}^3, "
        "overlap 0.5, 4 windows per batch, torch.set_num_threads(1)"
    )
    print("model: Conv3d(4, 8, 3, padding=1) -> ReLU -> Conv3d(8, 3, 1), seeded")
    header = f"{'method':44} {'wall s':>7} {'CPU s':>7} {'x whole':>8} {'peak MiB':>9}"
    print(header + f" {'max |diff|':>11}")
    whole = results["whole"].get("cpu")
    for key, name in SLIDING_METHODS:
        row = results[key]
        if row["status"] != "ok":
            print(f"{name:44} {row['status']}")
            continue
        ratio = f"{row['cpu'] / whole:8.2f}" if whole else f"{'':8}"
        peak = f"{row['peak_mib']:9.0f}" if row["peak_mib"] is not None else f"{'':9}"
        times = f"{row['seconds']:7.2f} {row['cpu']:7.2f}"
        print(f"{name:44} {times} {ratio} {peak} {row['diff']:11.2e}")
    print("x whole: CPU seconds over the whole-volume pass's CPU seconds")


def print_extraction(rows: list[tuple], shape, window: int) -> None:
    print(
        f"\nPatch extraction: {'x'.join(map(str, shape))} float32 NumPy array (a tensor for "
        f"TorchIO, MONAI), {window}^3 patches, stride {window // 2}, "
        f"{__import__('torch').get_num_threads()} torch threads"
    )
    print(f"{'method':58} {'patches':>7} {'seconds':>8} {'patches/s':>10} {'GB/s':>6}")
    for name, count, seconds, moved in rows:
        if count is None:
            print(f"{name:58} not installed")
            continue
        rate = f"{moved / seconds / 1e9:6.2f}" if moved else f"{'view':>6}"
        print(f"{name:58} {count:7d} {seconds:8.4f} {count / seconds:10,.0f} {rate}")


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def print_bars(results: dict, rows: list[tuple]) -> None:
    print("\nBars")
    for ours, theirs in [("gaussian", "gaussian"), ("constant", "constant"), ("crop", "gaussian")]:
        mine, peer = results[f"ours-{ours}"], results[f"monai-{theirs}"]
        if peer["status"] != "ok" or mine["status"] != "ok":
            print(f"ours {ours} vs MONAI {theirs}: not measured")
            continue
        time_ratio = mine["cpu"] / peer["cpu"]
        wall_ratio = mine["seconds"] / peer["seconds"]
        line = (
            f"ours {ours} vs MONAI {theirs}: CPU time {time_ratio:.2f}x "
            f"({verdict(time_ratio <= 1)}; wall {wall_ratio:.2f}x)"
        )
        if mine["peak_mib"] is not None and peer["peak_mib"] is not None:
            memory_ratio = mine["peak_mib"] / peer["peak_mib"]
            line += f", peak memory {memory_ratio:.2f}x ({verdict(memory_ratio <= 1)})"
        print(line)
    crop = results["ours-crop"]
    if crop["status"] == "ok":
        print(f"ours crop exact: max |diff| {crop['diff']:.1e} ({verdict(crop['diff'] <= 1e-5)})")
    rates = {name: count / seconds for name, count, seconds, _ in rows if count}
    torchio = rates.get("TorchIO GridSampler")
    for name, rate in rates.items():
        if name.startswith("ours extract_patches, NumPy") and torchio:
            ratio = rate / torchio
            label = name.removeprefix("ours extract_patches, NumPy ")
            print(
                f"extraction, ours {label} vs TorchIO: {ratio:.1f}x patches/s "
                f"({verdict(ratio >= 5)})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small volume, for a quick run")
    parser.add_argument("--reps", type=int, default=None, help="runs per method (best is kept)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = SMALL if args.small else FULL
    args.reps = args.reps or (3 if args.small else 2)
    if args.worker:
        worker(args.worker, size["shape"], size["window"], args.reps, args.reference)
        return
    print(f"{os.cpu_count()} CPUs, load average {load_average()}; best of {args.reps} runs")
    with tempfile.TemporaryDirectory() as folder:
        reference = Path(folder) / "whole.npy"
        results = {}
        for round_ in range(args.reps):
            print(f"  round {round_ + 1}/{args.reps}, wall/CPU s:", end="", flush=True)
            for key, _ in SLIDING_METHODS:
                run = run_worker(key, args, reference)
                results[key] = best_of(results.get(key), run)
                if run["status"] == "ok":
                    print(f" {key} {run['seconds']:.1f}/{run['cpu']:.1f}", end="", flush=True)
            print()
    print_sliding(results, size["shape"], size["window"])
    rows = extraction_rows(size["shape"], size["window"], max(args.reps, 3))
    print_extraction(rows, size["shape"], size["window"])
    print_bars(results, rows)
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
