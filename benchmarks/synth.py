"""Benchmark: how fast SynthBraTS generates subjects (bars at 2 mm: SynthBraTS 2 1.5 s, 1: 1 s).

Run with ``make bench`` or ``python benchmarks/synth.py [--subjects N] [--threads T]``.
Prints a table; nothing here is asserted, because timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--spacing", type=float, default=2.0)
    args = parser.parse_args()

    from course_utils import synth

    template_s, _ = timed(synth.load_template, args.spacing)
    per_subject = []
    for index in range(args.subjects):
        seconds, images = timed(synth.make_subject, (0, index), args.spacing, version="1")
        per_subject.append(seconds)
    write_s, _ = timed(lambda: [synth.nifti_gz_bytes(image) for image in images.values()])
    synth.make_subject((0, 0), args.spacing, version="2")  # its template extras, once
    per_subject_2 = [
        timed(synth.make_subject, (0, index), args.spacing, version="2")[0]
        for index in range(args.subjects)
    ]
    with tempfile.TemporaryDirectory() as folder:
        cohort = Path(folder) / "cohort"
        build_s, _ = timed(synth.ensure_dataset, cohort, 4, 0, args.spacing, progress=False)
        verify_s, _ = timed(synth.ensure_dataset, cohort, 4, 0, args.spacing, progress=False)

    shape = images["t1"].shape
    rows = [
        ("load + resample MNI152 template (once per process)", template_s),
        (f"SynthBraTS 1 make_subject, median of {args.subjects}", statistics.median(per_subject)),
        (f"SynthBraTS 1 make_subject, slowest of {args.subjects}", max(per_subject)),
        ("compress one SynthBraTS 1 subject's 5 files (.nii.gz)", write_s),
        (
            f"SynthBraTS 2 make_subject, median of {args.subjects}",
            statistics.median(per_subject_2),
        ),
        (f"SynthBraTS 2 make_subject, slowest of {args.subjects}", max(per_subject_2)),
        ("ensure_dataset: build 4 SynthBraTS 2 subjects (generate, write, hash)", build_s),
        ("ensure_dataset: verify 4 cached subjects", verify_s),
    ]
    print(f"SynthBraTS at {args.spacing:g} mm, grid {shape}, {os.cpu_count()} CPUs")
    print(f"{'step':58} {'seconds':>8}")
    for name, seconds in rows:
        print(f"{name:58} {seconds:8.2f}")
    verdict = "meets" if statistics.median(per_subject) <= 1.0 else "MISSES"
    print(f"median per subject {statistics.median(per_subject):.2f} s: {verdict} the 1 s bar")
    median_2 = statistics.median(per_subject_2)
    verdict = "meets" if median_2 <= 1.5 else "MISSES"
    print(f"SynthBraTS 2 median per subject {median_2:.2f} s: {verdict} its 1.5 s bar")


if __name__ == "__main__":
    main()
