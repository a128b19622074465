"""The checks behind every exercise: ``check_<name>(fn)`` runs a learner's function on small
cases and prints a tick, or what was expected and what came back.

An exercise in a notebook has three cells (see CONTRIBUTING.md):

1. a stub: the function with its docstring, ``...`` blanks and
   ``raise NotImplementedError("Student exercise: ...")``;
2. the solution: the same function completed, in a cell tagged ``solution`` (removed from
   the student version);
3. the check: ``exercises.check_<name>(function)``.

Checks never raise, so a notebook can always be run top to bottom, and return nothing, so
the check cell shows only the feedback; ``run_cases`` gives the pass/fail result to code.

Used by notebook 00 onwards; each check names the notebook it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Case", "check", "run_cases", "check_tumour_volume"]


@dataclass(frozen=True)
class Case:
    """One test case: call with ``args``, expect ``expected``; ``hint`` is shown on failure."""

    description: str
    args: tuple
    expected: Any
    hint: str = ""
    kwargs: dict = field(default_factory=dict)


def same(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``got`` matches ``expected``: numbers and arrays to a tolerance, else ``==``."""
    try:
        got_array, expected_array = np.asarray(got), np.asarray(expected)
        if got_array.dtype.kind in "biuf" and expected_array.dtype.kind in "biuf":
            return got_array.shape == expected_array.shape and bool(
                np.allclose(got_array, expected_array, rtol=rtol, atol=atol)
            )
    except (TypeError, ValueError):
        pass
    return bool(got == expected)


def short(value: Any) -> str:
    """A one-line description of a value for feedback messages."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def check(name: str, function: Callable, cases: Sequence[Case]) -> None:
    """Run ``function`` on every case; print one tick, or feedback for each failing case."""
    print(run_cases(name, function, cases)[1])


def run_cases(name: str, function: Callable, cases: Sequence[Case]) -> tuple[bool, str]:
    """``(passed, feedback)`` of ``function`` on ``cases``: the work behind `check`."""
    failures = []
    for case in cases:
        try:
            got = function(*case.args, **case.kwargs)
        except NotImplementedError:
            return False, f"✘ {name}: not implemented yet. Fill in the blanks (...) and run again."
        except Exception as error:  # the learner's code may raise anything
            failures.append(f"  {case.description}: raised {type(error).__name__}: {error}")
            continue
        if not same(got, case.expected):
            message = f"  {case.description}: expected {short(case.expected)}, got {short(got)}"
            failures.append(message + (f"\n    hint: {case.hint}" if case.hint else ""))
    if failures:
        header = f"✘ {name}: {len(failures)} of {len(cases)} cases failed"
        return False, "\n".join([header, *failures])
    return True, f"✔ {name}: all {len(cases)} cases passed"


def labelled_volume(shape, counts: dict[int, int]) -> np.ndarray:
    """A uint8 volume of ``shape`` with ``counts[label]`` voxels of each label, scattered."""
    values = np.zeros(int(np.prod(shape)), dtype=np.uint8)
    start = 0
    for label, count in counts.items():
        values[start : start + count] = label
        start += count
    return np.random.default_rng(0).permutation(values).reshape(shape)


def check_tumour_volume(function: Callable) -> None:
    """Notebook 00: ``function(seg, voxel_size_mm)`` returns the whole-tumour volume in cm^3.

    ``seg`` holds BraTS labels 0/1/2/4; ``voxel_size_mm`` is ``(dx, dy, dz)`` in mm.
    """
    unit_hint = "1 cm^3 is 1000 mm^3, and a voxel's volume is dx * dy * dz."
    cases = [
        Case("no tumour", (np.zeros((4, 4, 4), np.uint8), (1.0, 1.0, 1.0)), 0.0),
        Case(
            "1000 oedema voxels of 1 mm^3",
            (labelled_volume((20, 10, 10), {2: 1000}), (1.0, 1.0, 1.0)),
            1.0,
            unit_hint,
        ),
        Case(
            "10 voxels of each label, 2 mm isotropic",
            (labelled_volume((6, 6, 6), {1: 10, 2: 10, 4: 10}), (2.0, 2.0, 2.0)),
            0.24,
            "The whole tumour is every non-zero label: 1, 2 and 4.",
        ),
        Case(
            "200 enhancing voxels of 1 x 1 x 5 mm",
            (labelled_volume((10, 10, 5), {4: 200}), (1.0, 1.0, 5.0)),
            1.0,
            unit_hint,
        ),
    ]
    check("whole_tumour_volume_cm3", function, cases)
