"""Every student notebook runs top to bottom as a student gets it, every exercise left undone:
each check says "not done yet" and hands the course's version to the cells after it.

The student versions are generated from notebooks/ into a temporary folder (so the test does
not depend on the committed student/ being regenerated) and executed unmodified, each in a
fresh kernel of the current Python (``tools/notebook_budgets.py``'s kernel), with the
notebook's folder as working directory and the environment (``COURSE_DATA``) passed on.

This takes minutes: ``make test`` runs it; ``pytest -m "not slow_notebooks"`` leaves it out.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import student

pytestmark = pytest.mark.slow_notebooks

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = [path.name for path in student.source_notebooks(NOTEBOOKS)]
CELL_TIMEOUT_S = 1800  # per cell: a loaded 2-core machine trains notebook 07 for minutes


def kernel_tools():
    """``tools/notebook_budgets.py`` as a module: its current-environment kernel manager."""
    name = "notebook_budgets"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def execute(path: Path) -> nbformat.NotebookNode:
    """Run every cell of the notebook at ``path`` as Run All would; returns it with outputs.

    Raises nbclient's ``CellExecutionError`` at the first cell that raises, except in cells
    that are meant to raise (tag ``raises-exception`` or ``# NBVAL_RAISES_EXCEPTION``).
    """
    from nbclient import NotebookClient

    tools = kernel_tools()
    notebook = nbformat.read(path, as_version=4)
    tools.allow_marked_errors(notebook)
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=tools.CURRENT_ENV,
        kernel_manager_class=tools.CurrentEnvKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
        shutdown_kernel="immediate",
    ).execute()
    return notebook


def text_of(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed (streams and plain-text results)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


@pytest.fixture(autouse=True)
def kernel_imports_this_repository(monkeypatch):
    """The kernel imports the ``course_utils`` under test, as this process does (an installed
    copy elsewhere, such as another clone's editable install, must not stand in for it)."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("student")
    student.make_student_notebooks(NOTEBOOKS, target)
    return target


@pytest.mark.parametrize("name", NAMES)
def test_the_student_notebook_runs_top_to_bottom_with_its_exercises_undone(name, generated):
    instructor = nbformat.read(NOTEBOOKS / name, as_version=4)
    check_ids = {instructor.cells[e.check].id for e in student.exercises(instructor, name)}
    ran = execute(generated / name)
    check_cells = [cell for cell in ran.cells if cell.get("id") in check_ids]
    assert len(check_cells) == len(check_ids)
    for cell in check_cells:
        printed = text_of(cell)
        assert "not done yet" in printed, f"{name}, check cell {cell.id}:\n{printed}"
        assert "the cells below use the course's version" in printed
