"""The ``course-utils`` command line (also ``python -m course_utils``).

``course-utils data`` builds (or verifies) a SynthBraTS cohort; ``course-utils student``
writes the student version of the notebooks. Errors in the data are printed as one sentence
with the fix, not as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import paths, synth
from .errors import CourseDataError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course-utils", description="Tools for the brain tumour segmentation course."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser(
        "data",
        help="build or verify a SynthBraTS cohort",
        description="Build a SynthBraTS cohort in the BraTS 2021 layout, or verify the cached "
        "one against its manifest.",
    )
    data.add_argument(
        "--out",
        type=Path,
        default=None,
        help="cohort folder (default: data/synthbrats, or $COURSE_DATA/synthbrats)",
    )
    data.add_argument("--subjects", type=int, default=synth.DEFAULT_SUBJECTS, help="how many")
    data.add_argument("--seed", type=int, default=synth.DEFAULT_SEED, help="cohort seed")
    data.add_argument("--spacing", type=float, default=2.0, help="isotropic voxel size in mm")
    data.set_defaults(handler=run_data)

    student = commands.add_parser(
        "student",
        help="write the student version of the notebooks",
        description="Write student/ from notebooks/: solution cells removed, outputs cleared.",
    )
    student.add_argument("source", nargs="?", type=Path, default=Path("notebooks"))
    student.add_argument("target", nargs="?", type=Path, default=Path("student"))
    student.set_defaults(handler=run_student)
    return parser


def run_data(args: argparse.Namespace) -> int:
    if args.subjects < 1:
        raise SystemExit("course-utils data: --subjects must be at least 1")
    root = args.out if args.out is not None else paths.synthbrats_dir()
    root = synth.ensure_dataset(root, args.subjects, args.seed, args.spacing, progress=True)
    print(
        f"SynthBraTS: {args.subjects} subjects (seed {args.seed}, {args.spacing:g} mm) in {root}"
    )
    return 0


def run_student(args: argparse.Namespace) -> int:
    from .student import make_student_notebooks

    written = make_student_notebooks(args.source, args.target)
    print(f"{args.target}/: {len(written)} student notebooks written")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CourseDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
