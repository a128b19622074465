"""Compared notebook outputs carry no timings and no compressed byte counts.

nbval compares every output of a cell that is not tagged ``nbval-ignore-output`` (or marked
``# NBVAL_IGNORE_OUTPUT`` / skipped). A timing changes with the machine and its load; the size of
a file compressed at run time changes with the bytes of the data (SynthBraTS differs in a few
voxels between NumPy's AVX2 and AVX-512 paths) and with the compressor. Neither is a fact of the
lesson, so neither may appear there: print it in an ignored cell, with a comment saying why.
"""

from __future__ import annotations

import json
import re

import pytest

from course_utils import paths

NOTEBOOKS = sorted((paths.repository_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TIMING = re.compile(
    r"\d(?:\.\d+)?\s?(?:ms|µs|us|s|secs?|seconds?|min|minutes?|h)\b(?!\w)"
    r"|\d\s?it/s\b|\ds/it\b|\d\d:\d\d<\d\d:\d\d|\b(?:took|elapsed)\b",
    re.IGNORECASE,
)
COMPRESSED_SIZE = re.compile(
    r"(?:\.gz|\.mgz|\.zip|compress)[^\n]*\b\d[\d,_.]*\s?(?:bytes|B|kB|KB|MB|KiB|MiB)\b",
    re.IGNORECASE,
)


def compared_output_lines(notebook):
    """``(code cell number, line)`` of every compared text output of a notebook."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    for number, cell in enumerate(cells, start=1):
        source = "".join(cell["source"])
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"nbval-ignore-output", "nbval-skip"} or re.search(
            r"NBVAL_(IGNORE|SKIP)", source
        ):
            continue
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(
                output.get("data", {}).get("text/plain", "")
            )
            for line in text.splitlines():
                yield number, line


def unportable(line: str) -> str | None:
    if TIMING.search(line):
        return "a timing"
    if COMPRESSED_SIZE.search(line):
        return "the size of a compressed file"
    return None


@pytest.mark.parametrize(
    "line",
    [
        "two epochs took 845 s",
        "a training step: 0.116 s",
        "Registration ran in 3.2 seconds",
        "100%|██████████| 24/24 [00:17<00:00, 1.39it/s]",
        "t1.nii.gz     360668 bytes",
        "flair  SynthBraTS_s0_0000_flair.nii.gz  (322 kB)",
        "gzip-compressed: 1.2 MB",
    ],
)
def test_the_check_catches_timings_and_compressed_sizes(line):
    assert unportable(line) is not None


@pytest.mark.parametrize(
    "line",
    [
        "voxel size 2 mm, 98 x 116 x 94 voxels",
        "units: ('mm', 'sec')",
        "t1.nii       2137536 bytes",
        "TR is stored as repetition time in the header",
        "WT 0.93, TC 0.91, ET 0.82",
        "ExposureTime           1601 (ms)",  # a header's value, with its unit
    ],
)
def test_the_check_lets_facts_of_the_lesson_through(line):
    assert unportable(line) is None


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_compared_outputs_carry_no_timings_or_compressed_sizes(notebook):
    found = [
        f"code cell {number}: {what}: {line.strip()!r}"
        for number, line in compared_output_lines(notebook)
        if (what := unportable(line))
    ]
    assert not found, (
        "move these to a cell tagged nbval-ignore-output, or stop printing them:\n"
        + "\n".join(found)
    )
