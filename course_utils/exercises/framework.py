"""The check framework behind every exercise: `Case`, `check`, `run_cases`, and the
comparison and feedback helpers (`same`, `difference`) that tell a learner what was
expected, what came back and, with a hint, why.

A check never raises, and it returns the function the rest of the notebook should use: the
learner's once it passes every case, until then the course's own version (its name printed
under the feedback).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Case",
    "check",
    "run_cases",
    "course_version",
    "same",
    "difference",
]

#: Tolerances of `same`: relative and absolute.
RTOL, ATOL = 1e-6, 1e-9


@dataclass(frozen=True)
class Case:
    """One test case: call with ``args``, expect ``expected``; ``hint`` is shown on failure."""

    description: str
    args: tuple
    expected: Any
    hint: str = ""
    kwargs: dict = field(default_factory=dict)


def plain(value: Any) -> Any:
    """A torch tensor as a (detached, CPU) NumPy array; anything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def numeric(value: Any) -> np.ndarray | None:
    """``value`` as a numeric (bool, int or float) array, or ``None`` if it isn't one."""
    try:
        array = np.asarray(plain(value))
    except (TypeError, ValueError):  # ragged lists
        return None
    return array if array.dtype.kind in "biuf" else None


def same(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether ``got`` matches ``expected``: numbers, arrays and tensors to a tolerance (shapes
    must agree), anything else by ``==``."""
    got_array, expected_array = numeric(got), numeric(expected)
    if got_array is not None and expected_array is not None:
        return got_array.shape == expected_array.shape and bool(
            np.allclose(got_array, expected_array, rtol=rtol, atol=atol)
        )
    try:
        return bool(got == expected)
    except (TypeError, ValueError):  # an array compared with a list of strings
        return False


def number_text(value: float, digits: int | None = 6) -> str:
    """One number: ``digits`` significant digits, or (``None``) the shortest exact text.

    Examples
    --------
    >>> number_text(0.651300013), number_text(0.651300013, None), number_text(float("nan"))
    ('0.6513', '0.651300013', 'NaN')
    """
    value = float(value)
    if np.isnan(value):
        return "NaN"
    return repr(value) if digits is None else f"{value:.{digits}g}"


def array_text(array: np.ndarray, digits: int | None = 6) -> str:
    """A small numeric array as a (nested) list, floats by `number_text`."""
    if array.dtype.kind != "f":
        return repr(array.tolist())
    if array.ndim == 0:
        return number_text(array, digits)
    return np.array2string(
        array,
        separator=", ",
        max_line_width=10**6,
        formatter={"float_kind": lambda value: number_text(value, digits)},
    )


def distinct_texts(expected: np.ndarray, got: np.ndarray) -> tuple[str, str]:
    """``expected`` and ``got`` as text, with enough digits to show that they differ."""
    texts = array_text(expected), array_text(got)
    if texts[0] == texts[1]:
        texts = array_text(expected, None), array_text(got, None)
    return texts


def short(value: Any) -> str:
    """A one-line description of a value for feedback messages."""
    array = numeric(value)
    if array is not None and array.size > 6:
        return f"array of shape {array.shape}, dtype {array.dtype}"
    if array is not None:
        return array_text(array)
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def difference(got: Any, expected: Any) -> str:
    """How ``got`` differs from ``expected``, in one line: values with enough digits to tell
    them apart, the shapes when they differ, NaN named as NaN."""
    got_array, expected_array = numeric(got), numeric(expected)
    if got_array is None or expected_array is None:
        expected_text, got_text = short(expected), short(got)
        if got is None:
            got_text += " (does the function `return` its result?)"
        elif expected_text == got_text:
            got_text += f" (a {type(got).__name__}, not a {type(expected).__name__})"
        return f"expected {expected_text}, got {got_text}"
    if got_array.shape != expected_array.shape:
        text = f"expected shape {expected_array.shape}, got shape {got_array.shape}"
        if max(got_array.size, expected_array.size) <= 6:
            text += f": expected {array_text(expected_array)}, got {array_text(got_array)}"
        return text
    if got_array.size <= 6:
        expected_text, got_text = distinct_texts(expected_array, got_array)
        return f"expected {expected_text}, got {got_text}"
    got_float, expected_float = got_array.astype(float), expected_array.astype(float)
    nan = np.isnan(got_float) & ~np.isnan(expected_float)
    if nan.any():
        first = tuple(int(i) for i in np.argwhere(nan)[0])
        return (
            f"got NaN at {int(nan.sum())} of {nan.size} places (a 0 / 0?), the first at index "
            f"{first}, where {number_text(expected_float[first])} was expected"
        )
    wrong = ~np.isclose(got_float, expected_float, rtol=RTOL, atol=ATOL)
    error = np.abs(got_float - expected_float)
    where = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape))
    expected_text, got_text = distinct_texts(expected_array[where], got_array[where])
    return (
        f"values differ at {int(wrong.sum())} of {error.size} places, most at index {where}: "
        f"expected {expected_text}, got {got_text}"
    )


def snapshot(args: tuple) -> list[tuple[int, np.ndarray]]:
    """Copies of the array and tensor arguments, to tell whether a function changed them."""
    return [
        (i, np.array(plain(a), copy=True)) for i, a in enumerate(args) if numeric(a) is not None
    ]


def changed_argument(args: tuple, copies: list[tuple[int, np.ndarray]]) -> int | None:
    """The (1-based) position of the first array argument that differs from its copy."""
    for position, copy in copies:
        if not np.array_equal(np.asarray(plain(args[position])), copy, equal_nan=True):
            return position + 1
    return None


def course_version(reference: Callable) -> str:
    """The importable name of a course function, as a check's feedback shows it: through the
    package that re-exports it (``course_utils.exercises.slice_order``, not the module of
    ``course_utils.exercises`` that defines it), else through its own module.

    Examples
    --------
    >>> from course_utils.exercises import slice_order
    >>> course_version(slice_order)
    'course_utils.exercises.slice_order'
    >>> from nibabel.affines import apply_affine
    >>> course_version(apply_affine)
    'nibabel.affines.apply_affine'
    """
    import importlib
    import sys

    module, name = reference.__module__, reference.__qualname__
    package = module.rpartition(".")[0]
    if package and package in sys.modules:
        parent = importlib.import_module(package)
        if name in getattr(parent, "__all__", ()) and getattr(parent, name, None) is reference:
            module = package
    return f"{module}.{name}"


def check(
    name: str,
    function: Callable,
    cases: Sequence[Case],
    reference: Callable,
    run: Callable | None = None,
) -> Callable:
    """Run ``function`` on every case, print one tick or feedback for each failing case, and
    return the function later cells should use: ``function`` if it passed, else ``reference``.

    ``run`` (default ``function``) is what the cases call, for checks that wrap the learner's
    function (to time it, differentiate it, or compare it to a tolerance).
    """
    passed, feedback = run_cases(name, function if run is None else run, cases)
    if not passed:
        feedback += (
            "\n  Until yours passes, the cells below use the course's version, "
            f"{course_version(reference)}."
        )
    print(feedback)
    return function if passed else reference


def run_cases(name: str, function: Callable, cases: Sequence[Case]) -> tuple[bool, str]:
    """``(passed, feedback)`` of ``function`` on ``cases``: the work behind `check`."""
    failures = []
    for case in cases:
        copies = snapshot(case.args)
        try:
            got = function(*case.args, **case.kwargs)
        except NotImplementedError:
            return False, (
                f"✘ {name}: not done yet. Fill in the blanks (...), delete the "
                "`raise NotImplementedError(...)` line and run this cell again."
            )
        except Exception as error:  # the learner's code may raise anything
            message = f"  {case.description}: raised {type(error).__name__}: {error}"
        else:
            changed = changed_argument(case.args, copies)
            if changed is not None:
                message = (
                    f"  {case.description}: changed its argument {changed} in place, the "
                    "caller's data; work on a copy (or build a new array) instead"
                )
            elif same(got, case.expected):
                continue
            else:
                message = f"  {case.description}: {difference(got, case.expected)}"
        failures.append(message + (f"\n    hint: {case.hint}" if case.hint else ""))
    if failures:
        header = f"✘ {name}: {len(failures)} of {len(cases)} cases failed"
        return False, "\n".join([header, *failures])
    return True, f"✔ {name}: all {len(cases)} cases passed"
