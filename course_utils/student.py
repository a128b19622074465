"""Student versions of the course notebooks: solutions out, outputs cleared, badges repointed.

The notebooks in ``notebooks/`` are the instructor versions: every exercise is a stub, its
solution (a code cell tagged ``solution``) and a check. ``make student`` (``python -m
course_utils.student``) writes ``student/NN_name.ipynb`` for every ``notebooks/NN_name.ipynb``:

- every solution cell removed (the stub before it stays, so the exercise stays);
- every output, execution count and execution timing cleared, widget state dropped;
- the Binder and Colab badges of the title cell pointed at ``student/`` instead of
  ``notebooks/``, and a note after the title cell saying how the exercises work (it does not
  link to the instructor version: that is where the solutions are).

A solution cell must follow its stub: the nearest code cell before it defines the same
functions and raises ``NotImplementedError``. The code cell after it must be the check, written
``name = exercises.check_<name>(name)``: the check hands back the learner's function once it
passes and the course's version until then, so a student notebook runs top to bottom with its
exercises left undone (``tests/test_student_notebooks_run.py`` executes every one). Anything
else raises `ExerciseStructureError` rather than silently dropping an exercise, leaking a
solution or leaving a notebook that stops at the first exercise. The output is deterministic
(same notebook in, same bytes out), so ``tests/test_student.py`` can check with
`check_student_notebooks` that the committed ``student/`` folder is up to date.

Used by ``make student`` and the tests; no notebook imports it.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .errors import CourseDataError, ExerciseStructureError
from .files import atomic_write_text

__all__ = [
    "ExerciseStructureError",
    "Exercise",
    "SOLUTION_TAG",
    "is_solution",
    "python_source",
    "source_notebooks",
    "exercises",
    "student_notebook",
    "student_notebook_text",
    "make_student_notebooks",
    "check_student_notebooks",
]

#: The cell tag that marks an exercise's solution.
SOLUTION_TAG = "solution"
#: The notebooks that get a student version: ``NN_topic.ipynb``.
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: Badge hosts whose URLs are repointed from ``notebooks/`` to ``student/``.
BADGE_URL = re.compile(r"https://(?:mybinder\.org|colab\.research\.google\.com)/[^)\s\"']*")
#: How a badge URL names the instructor folder, and the student folder instead.
BADGE_FOLDERS = (("notebooks%2F", "student%2F"), ("/notebooks/", "/student/"))
#: Cell metadata that records a run rather than the notebook (timestamps).
RUN_METADATA = ("execution", "collapsed", "scrolled")
NOTE_ID = "student-version-note"


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: cell indices of its stub, solution and check, and the names
    the stub defines."""

    stub: int
    solution: int
    names: tuple[str, ...]
    check: int


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is tagged `SOLUTION_TAG` (a code solution, or a written answer)."""
    return SOLUTION_TAG in cell.metadata.get("tags", [])


def python_source(source: str) -> str:
    """A cell's source as plain Python: IPython magics (``%pip``) become function calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def parse_cell(source: str) -> ast.Module | None:
    """The cell's syntax tree, or ``None`` if it isn't valid (IPython) Python."""
    try:
        return ast.parse(python_source(source))
    except SyntaxError:
        return None


def defined_names(source: str) -> tuple[str, ...]:
    """Names of the functions and classes a cell defines at top level, in order.

    Examples
    --------
    >>> defined_names("import numpy as np\\n\\ndef f(x):\\n    return x\\n\\nclass C: pass")
    ('f', 'C')
    """
    tree = parse_cell(source)
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return tuple(node.name for node in (tree.body if tree else []) if isinstance(node, kinds))


def raises_not_implemented(source: str) -> bool:
    """Whether a cell contains ``raise NotImplementedError(...)``, the mark of a stub.

    Examples
    --------
    >>> raises_not_implemented('def f():\\n    raise NotImplementedError("Student exercise")')
    True
    >>> raises_not_implemented("def f():\\n    return 1")
    False
    """
    tree = parse_cell(source)
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                return True
    return False


def rebinds_with_check(source: str, name: str) -> bool:
    """Whether a cell rebinds ``name`` to what a check returns: ``name = exercises.check_x(name)``.

    Examples
    --------
    >>> rebinds_with_check("f = exercises.check_f(f)\\nprint(f(2))", "f")
    True
    >>> rebinds_with_check("exercises.check_f(f)", "f")
    False
    """
    tree = parse_cell(source)
    for node in tree.body if tree else []:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call, targets = node.value, node.targets
        if (
            [getattr(target, "id", None) for target in targets] == [name]
            and isinstance(call.func, ast.Attribute)
            and getattr(call.func.value, "id", None) == "exercises"
            and call.func.attr.startswith("check_")
            and [getattr(arg, "id", None) for arg in call.args[:1]] == [name]
        ):
            return True
    return False


def next_code_cell(cells: Sequence[nbformat.NotebookNode], index: int) -> int | None:
    """Index of the nearest code cell after ``cells[index]``, or ``None``."""
    for later in range(index + 1, len(cells)):
        if cells[later].cell_type == "code":
            return later
    return None


def find_check(cells: Sequence[nbformat.NotebookNode], exercise: Exercise, where: str) -> int:
    """Index of the check cell right after the solution; raises if it doesn't rebind the names."""
    check = next_code_cell(cells, exercise.solution)
    source = cells[check].source if check is not None else ""
    missing = [name for name in exercise.names if not rebinds_with_check(source, name)]
    if check is None or missing:
        name = (missing or exercise.names)[0]
        raise ExerciseStructureError(
            where,
            f"the solution of {name} (cell {exercise.solution}) is not followed by a check "
            f"that hands the function on: its next code cell must contain "
            f"`{name} = exercises.check_<name>({name})`.",
            "A check returns the learner's function once it passes and the course's version "
            "until then, so the cells after it run either way (see CONTRIBUTING.md, 'Adding "
            "an exercise').",
        )
    return check


def previous_code_cell(cells: Sequence[nbformat.NotebookNode], index: int) -> int | None:
    """Index of the nearest code cell before ``cells[index]``, or ``None``."""
    for earlier in range(index - 1, -1, -1):
        if cells[earlier].cell_type == "code":
            return earlier
    return None


def find_stub(cells: Sequence[nbformat.NotebookNode], solution: int, where: str) -> Exercise:
    """The exercise whose solution is ``cells[solution]``; raises if its stub isn't right before.

    ``where`` names the notebook in the error message.
    """
    names = defined_names(cells[solution].source)
    if not names:
        raise ExerciseStructureError(
            where,
            f"the solution cell {solution} (id {cells[solution].get('id')}) defines no function "
            "(or isn't valid Python).",
            "A solution completes the function of the stub just before it; tag only that cell "
            f"{SOLUTION_TAG!r}.",
        )
    stub = previous_code_cell(cells, solution)
    if stub is not None and not is_solution(cells[stub]):
        stub_source = cells[stub].source
        if defined_names(stub_source) == names and raises_not_implemented(stub_source):
            exercise = Exercise(stub, solution, names, check=-1)
            return Exercise(stub, solution, names, find_check(cells, exercise, where))
    raise ExerciseStructureError(
        where,
        f"the solution of {', '.join(names)} (cell {solution}, id {cells[solution].get('id')}) "
        "has no stub: the code cell before it must define the same function with `...` blanks "
        "and `raise NotImplementedError(...)`.",
        "Add the stub right before the solution (see CONTRIBUTING.md, 'Adding an exercise'), "
        f"or remove the {SOLUTION_TAG!r} tag if the cell is not a solution.",
    )


def exercises(notebook: nbformat.NotebookNode, where: str = "notebook") -> list[Exercise]:
    """Every exercise of ``notebook``, in order; raises `ExerciseStructureError` on a bad pair."""
    cells = notebook.cells
    solutions = [
        i for i, cell in enumerate(cells) if is_solution(cell) and cell.cell_type == "code"
    ]
    return [find_stub(cells, index, where) for index in solutions]


def repoint_badges(markdown: str) -> str:
    """Point the Binder and Colab badge URLs in ``markdown`` at ``student/``.

    Examples
    --------
    >>> repoint_badges("(https://mybinder.org/v2/gh/o/r/main?labpath=notebooks%2F00_a.ipynb)")
    '(https://mybinder.org/v2/gh/o/r/main?labpath=student%2F00_a.ipynb)'
    >>> colab = "https://colab.research.google.com/github/o/r/blob/main"
    >>> repoint_badges(f"({colab}/notebooks/00_a.ipynb)") == f"({colab}/student/00_a.ipynb)"
    True
    """

    def repoint(url: re.Match[str]) -> str:
        text = url.group(0)
        for instructor, student in BADGE_FOLDERS:
            text = text.replace(instructor, student)
        return text

    return BADGE_URL.sub(repoint, markdown)


def student_note() -> nbformat.NotebookNode:
    """The markdown cell, placed after the title, that says this is the student version.

    It explains the exercises and does not link to the instructor version (the solutions).
    """
    text = (
        "> **This is the student version.** Each exercise is a function with blanks (`...`):\n"
        "> fill them in, delete the `raise NotImplementedError(...)` line and run the check cell\n"
        "> below it. Until your function passes its check, the cells after it use the course's\n"
        "> own version (the check names it), so **Run All** works with exercises left undone.\n"
        "> Your instructor has the solutions.\n"
        ">\n"
        "> *Generated by `make student` from the instructor version of this notebook: edit that\n"
        "> one, never this file.*"
    )
    cell = nbformat.v4.new_markdown_cell(text)
    cell["id"] = NOTE_ID
    return cell


def cleared(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``cell`` without outputs, execution count or run metadata."""
    cell = nbformat.from_dict(cell)
    for key in RUN_METADATA:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def title_index(cells: Sequence[nbformat.NotebookNode], where: str) -> int:
    """Index of the title cell: the first markdown cell (badges and ``# NN · Title``)."""
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            return index
    raise ExerciseStructureError(
        where, "the notebook has no markdown cell.", "Start it with the badges and the title."
    )


def student_notebook(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student version of ``notebook`` (the instructor version called ``name``)."""
    exercises(notebook, where=name)  # refuse a solution without its stub
    cells = [cleared(cell) for cell in notebook.cells if not is_solution(cell)]
    title = title_index(cells, name)
    cells[title].source = repoint_badges(cells[title].source)
    cells.insert(title + 1, student_note())
    student = nbformat.from_dict({**notebook, "cells": cells})
    student.metadata.pop("widgets", None)  # saved widget views are outputs too
    nbformat.validate(student)
    return student


def student_notebook_text(source: str | Path) -> str:
    """The exact text of the student version of the notebook file ``source``."""
    source = Path(source)
    notebook = nbformat.read(source, as_version=4)
    text = nbformat.writes(student_notebook(notebook, source.name))
    return text if text.endswith("\n") else text + "\n"


def source_notebooks(source_dir: str | Path) -> list[Path]:
    """The ``NN_topic.ipynb`` notebooks of ``source_dir``, sorted by name."""
    return sorted(Path(source_dir).glob(NOTEBOOK_GLOB))


def instructor_notebooks(source_dir: str | Path) -> list[Path]:
    """`source_notebooks`, refusing a folder without any (a mistyped path)."""
    sources = source_notebooks(source_dir)
    if not sources:
        raise CourseDataError(
            source_dir,
            f"no {NOTEBOOK_GLOB} notebooks here.",
            "Pass the folder of the instructor notebooks (notebooks/).",
        )
    return sources


def make_student_notebooks(source_dir: str | Path, target_dir: str | Path) -> list[Path]:
    """Write the student version of every ``NN_topic.ipynb`` of ``source_dir`` to ``target_dir``.

    Each file is written atomically. Student notebooks in ``target_dir`` whose instructor
    version no longer exists (a renamed notebook) are deleted, since the folder is generated.
    Returns the paths written, sorted. Raises `ExerciseStructureError` before writing anything
    if any notebook has a solution without its stub, and `CourseDataError` if ``source_dir``
    holds no notebooks (so a mistyped path can't empty ``target_dir``).
    """
    sources = instructor_notebooks(source_dir)
    texts = {source.name: student_notebook_text(source) for source in sources}
    target_dir = Path(target_dir)
    for orphan in set(path.name for path in source_notebooks(target_dir)) - set(texts):
        (target_dir / orphan).unlink()
    return [atomic_write_text(target_dir / name, text) for name, text in texts.items()]


def check_student_notebooks(source_dir: str | Path, target_dir: str | Path) -> list[str]:
    """Problems with the student versions in ``target_dir``: missing, outdated or orphaned.

    An empty list means ``target_dir`` holds exactly what `make_student_notebooks` would write.
    """
    target_dir = Path(target_dir)
    problems = []
    expected = {source.name: source for source in instructor_notebooks(source_dir)}
    for name, source in expected.items():
        target = target_dir / name
        if not target.is_file():
            problems.append(f"{target}: missing; run `make student`")
        elif target.read_text(encoding="utf-8") != student_notebook_text(source):
            problems.append(f"{target}: out of date with {source}; run `make student`")
    for orphan in sorted(set(path.name for path in source_notebooks(target_dir)) - set(expected)):
        problems.append(f"{target_dir / orphan}: no instructor version; run `make student`")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.student [SOURCE] [TARGET]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.student",
        description="Write the student version of every notebook (solutions removed).",
    )
    parser.add_argument("source", nargs="?", type=Path, default=Path("notebooks"))
    parser.add_argument("target", nargs="?", type=Path, default=Path("student"))
    args = parser.parse_args(argv)
    try:
        written = make_student_notebooks(args.source, args.target)
    except CourseDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    plural = "" if len(written) == 1 else "s"
    print(f"{args.target}/: {len(written)} student notebook{plural} written")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
