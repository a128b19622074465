"""Benchmark: how hard is SynthBraTS to segment? The realism report on unseen seeds.

Builds a cohort (default: 40 subjects of seed 100, a seed never used to tune the generator;
tuning used seeds 7 and 8) and prints `course_utils.synthbrats2.realism_report`: the trivial
baselines' Dice, the variety shares, volumes, inter-rater Dice and the image statistics of
``REALISM.md``, each target against its bar. Needs scikit-learn (the ``test`` extra).

    python benchmarks/realism.py [--subjects 40] [--seed 100] [--version 2] [--root DIR]

``--version 1`` measures the first generator instead (no second rater: its inter-rater row is
NaN). ``--root`` keeps the cohort (and reuses it when it is already there).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def build(root: Path, subjects: int, seed: int, version: str) -> float:
    """Write the cohort into ``root`` unless it is already there; return seconds per subject."""
    from course_utils import synth

    if root.is_dir() and len(synth.list_subjects(root)) >= subjects:
        return float("nan")
    start = time.perf_counter()
    synth.make_cohort(root, subjects, seed, version=version)
    return (time.perf_counter() - start) / subjects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=40)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--version", choices=("1", "2"), default="2")
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()

    from course_utils import synthbrats2

    with tempfile.TemporaryDirectory() as folder:
        root = args.root or Path(folder) / "cohort"
        per_subject = build(root, args.subjects, args.seed, args.version)
        print(f"generator {args.version}, seed {args.seed}, {args.subjects} subjects, ", end="")
        print(f"threads {os.environ.get('OMP_NUM_THREADS', 'default')}")
        if per_subject == per_subject:
            print(f"generation + writing: {per_subject:.2f} s per subject")
        synthbrats2.realism_report(root)


if __name__ == "__main__":
    main()
