"""Benchmark: ``course-utils predict`` end to end on a BraTS-sized subject (issue 19).

A SynthBraTS subject generated at 1 mm (``synth.make_subject(seed, spacing_mm=1.0)``, 197 x 233 x
189) is padded (x, y) and cropped about its brain (z) to BraTS's 240 x 240 x 155 and written as
four NIfTI files; then ``python -m course_utils predict --threads 2`` runs on them in a child
process. Reported: the child's wall-clock time and peak resident memory (``VmHWM``, read by
the child itself: on Linux a forked child's ``ru_maxrss`` starts at its parent's, here the
generator's), and the
per-stage split that ``predict`` writes into ``<out>.json`` (load, resample to the checkpoint's
2 mm and normalise, sliding windows, resample back, write). The issue's targets: <= 60 s and
<= 2 GB on 2 cores.

With ``--series`` the subject is written as four DICOM series instead
(`acquisition.write_separate_series`: the T1ce at 1 mm, the others at
`acquisition.SERIES_SPACING_MM`, each after its own known move), so the time includes reading
the series and co-registering three contrasts to the T1ce.

Run ``python benchmarks/predict_brats_size.py [--seed 5] [--grid reference|ras1mm] [--series]``
on a quiet machine (the timing is the point).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Runs ``course-utils predict`` and prints this process's peak resident set (kB) at exit.
MEASURED = (
    "import atexit, re, runpy, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('VmHWM', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['course-utils', *sys.argv[1:]]\n"
    "runpy.run_module('course_utils', run_name='__main__')\n"
)
#: BraTS's grid: 240 x 240 x 155 voxels of 1 mm.
BRATS_SHAPE = (240, 240, 155)


def fit_to_shape(volume: np.ndarray, affine: np.ndarray, shape, brain: np.ndarray):
    """``(volume, affine)`` padded with zeros or cropped about the brain's centre to ``shape``."""
    out = np.zeros(shape, dtype=volume.dtype)
    found = np.argwhere(brain)
    centre = (found.min(0) + found.max(0)) // 2
    source, target, start = [], [], np.zeros(3)
    for axis, (n, m) in enumerate(zip(volume.shape, shape, strict=True)):
        first = int(np.clip(centre[axis] - m // 2, min(0, n - m), max(0, n - m)))
        lo, hi = max(first, 0), min(first + m, n)
        source.append(slice(lo, hi))
        target.append(slice(lo - first, hi - first))
        start[axis] = first
    out[tuple(target)] = volume[tuple(source)]
    moved = affine.copy()
    moved[:3, 3] = affine[:3, :3] @ start + affine[:3, 3]
    return out, moved


def write_subject(folder: Path, seed: int, as_series: bool) -> tuple[dict[str, Path], object]:
    """``(paths, series)``: the contrasts' files or series folders and the seg file; ``series``
    is the `acquisition.SeparateSeries` (its moves) for ``as_series``, else ``None``."""
    import nibabel as nib

    from course_utils import acquisition, brats, synth

    subject = synth.make_subject(seed, spacing_mm=1.0)
    brain = np.asarray(subject["t1"].dataobj) > 0
    fitted, written = {}, {}
    for key, image in subject.items():
        data, affine = fit_to_shape(np.asarray(image.dataobj), image.affine, BRATS_SHAPE, brain)
        fitted[key] = nib.Nifti1Image(data, affine)
        written[key] = folder / f"{key}.nii.gz"
        nib.save(fitted[key], written[key])
    series = None
    if as_series:
        spacing = {**acquisition.SERIES_SPACING_MM, brats.T1CE: (1.0, 1.0, 1.0)}
        contrasts = {m: fitted[m] for m in brats.MODALITIES}
        series = acquisition.write_separate_series(contrasts, folder, spacing_mm=spacing)
        written.update(series.folders)
    return {m: written[m] for m in (*brats.MODALITIES, "seg")}, series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grid", default="reference")
    parser.add_argument("--series", action="store_true", help="four moved DICOM series")
    args = parser.parse_args()
    import nibabel as nib

    from course_utils import acquisition

    with tempfile.TemporaryDirectory() as tmp:
        written, series = write_subject(Path(tmp), args.seed, args.series)
        command = [sys.executable, "-c", MEASURED, "predict", "--quiet"]
        command += [a for m, p in written.items() if m != "seg" for a in (f"--{m}", str(p))]
        command += ["--out", f"{tmp}/pred", "--threads", str(args.threads), "--grid", args.grid]
        start = time.perf_counter()
        done = subprocess.run(command, check=True, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        peak_gb = int(re.search(r"VmHWM (\d+)", done.stderr).group(1)) / 1024**2
        record = json.loads(Path(f"{tmp}/pred.json").read_text())
        labels = nib.load(f"{tmp}/pred.nii.gz")
        truth = nib.load(written["seg"])
        if series is not None:
            truth = acquisition.labels_as_seen(truth, labels, series)
        labels, truth = np.asarray(labels.dataobj) > 0, np.asarray(truth.dataobj) > 0
        dice = 2 * (labels & truth).sum() / (labels.sum() + truth.sum())
    kind = "four DICOM series" if args.series else "four NIfTI files"
    print(f"subject {BRATS_SHAPE} at 1 mm as {kind}, {args.threads} threads, grid {args.grid}")
    print(f"end to end: {seconds:.1f} s (target 60), peak memory {peak_gb:.2f} GB (target 2)")
    print("stages (s): " + ", ".join(f"{k} {v}" for k, v in record["seconds"].items()))
    for modality, found in record["registration"].items():
        print(f"registered {modality}: {found['seconds']} s, MI {found['mutual_information']}")
    print(f"model grid {record['model_grid_shape']}, WT Dice vs the generator's labels {dice:.3f}")


if __name__ == "__main__":
    main()
