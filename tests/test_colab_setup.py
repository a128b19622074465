"""The Colab setup cell: first code cell of every notebook, installs course_utils from this
repository on Colab and does nothing anywhere else."""

from __future__ import annotations

import ast
import shlex
import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement

from course_utils import REPOSITORY

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    path.relative_to(REPO).as_posix()
    for folder in ("notebooks", "student")
    for path in (REPO / folder).glob("*.ipynb")
)


class FakeShell:
    """Stands in for ``get_ipython()``: records every call (magics, ``!`` commands)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def __getattr__(self, method: str):
        def record(*args, **kwargs):
            self.calls.append((method, args))

        return record


def setup_cell(path: str) -> str:
    """The source of the notebook's first code cell, as plain Python."""
    cells = nbformat.read(REPO / path, as_version=4).cells
    first = next(cell for cell in cells if cell.cell_type == "code")
    return TransformerManager().transform_cell(first.source)


def run_setup_cell(path: str) -> list[tuple[str, tuple]]:
    """Execute the setup cell with a fake IPython; return the calls it made to the shell."""
    shell = FakeShell()
    exec(compile(setup_cell(path), path, "exec"), {"get_ipython": lambda: shell})
    return shell.calls


def is_colab_guard(node: ast.AST) -> bool:
    """Whether ``node`` is the test ``"google.colab" in sys.modules``."""
    return (
        isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Constant)
        and node.left.value == "google.colab"
        and isinstance(node.ops[0], ast.In)
        and ast.unparse(node.comparators[0]) == "sys.modules"
    )


def shell_calls(nodes) -> int:
    """How many ``get_ipython()`` calls (magics, ``!`` commands) the statements contain."""
    return sum(
        isinstance(node, ast.Call) and ast.unparse(node.func) == "get_ipython"
        for statement in nodes
        for node in ast.walk(statement)
    )


def pip_install_specs(call: tuple[str, tuple]) -> list[str]:
    """The requirement specs of a recorded ``%pip install ...`` line (options left out)."""
    method, (magic, line, *_) = call
    assert (method, magic) == ("run_line_magic", "pip"), call
    words = shlex.split(line)
    assert words[0] == "install", line
    return [word for word in words[1:] if not word.startswith("-")]


def test_every_course_notebook_is_checked():
    assert "notebooks/00_start_here.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_the_first_code_cell_installs_only_under_the_colab_guard(path):
    tree = ast.parse(setup_cell(path))
    guards = [node for node in tree.body if isinstance(node, ast.If) and is_colab_guard(node.test)]
    assert len(guards) == 1, "the first code cell must test `'google.colab' in sys.modules`"
    assert shell_calls(guards[0].body) >= 1, "the Colab branch installs nothing"
    assert shell_calls(tree.body) == shell_calls(guards[0].body), "a shell call outside the guard"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_outside_colab_the_setup_cell_calls_no_pip(path, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert run_setup_cell(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_on_colab_the_setup_cell_installs_course_utils_from_this_repository(path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    calls = run_setup_cell(path)
    assert len(calls) == 1, f"expected one %pip install, got {calls}"
    requirements = [Requirement(spec) for spec in pip_install_specs(calls[0])]
    course = [req for req in requirements if req.name == "course-utils"]
    assert len(course) == 1 and course[0].url == f"git+{REPOSITORY}@main", requirements
    assert "torch" not in {req.name for req in requirements}, "Colab ships torch: don't reinstall"
