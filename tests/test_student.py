"""Student notebooks: no solution leaks, every exercise keeps its stub and check, outputs are
cleared, badges point at student/, the output is deterministic, and student/ is up to date."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from scipy import ndimage

from course_utils import REPOSITORY, student
from course_utils.errors import CourseDataError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
STUDENT = REPO / "student"
NAMES = [path.name for path in student.source_notebooks(NOTEBOOKS)]
SLUG = REPOSITORY.removeprefix("https://github.com/")


# --- helpers -------------------------------------------------------------------------------


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_lines(cell: nbformat.NotebookNode) -> set[str]:
    return {line.strip() for line in cell.source.splitlines() if line.strip()}


def functions(source: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(student.python_source(source))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def body_lines(source: str) -> set[str]:
    """Stripped source lines of each function's body, beyond the def line and the docstring."""
    lines = source.splitlines()
    body = set()
    for function in functions(source).values():
        statements = function.body[1:] if ast.get_docstring(function) else function.body
        for statement in statements:
            chunk = lines[statement.lineno - 1 : statement.end_lineno]
            body |= {line.strip() for line in chunk if line.strip()}
    return body


def secret_lines(notebook: nbformat.NotebookNode, exercise: student.Exercise) -> set[str]:
    """Body lines of a solution that no cell other than a solution shows (the stub included)."""
    public = set()
    for cell in notebook.cells:
        if cell.cell_type == "code" and not student.is_solution(cell):
            public |= code_lines(cell)
    return body_lines(notebook.cells[exercise.solution].source) - public


def next_code_cell(cells: list, index: int) -> nbformat.NotebookNode:
    return next(cell for cell in cells[index + 1 :] if cell.cell_type == "code")


def calls_check_on(cell: nbformat.NotebookNode, name: str) -> bool:
    """Whether the cell calls ``exercises.check_<something>(name)``."""
    for node in ast.walk(ast.parse(cell.source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "exercises"
            and node.func.attr.startswith("check_")
            and any(isinstance(arg, ast.Name) and arg.id == name for arg in node.args)
        ):
            return True
    return False


# --- the real notebooks, generated into a temporary folder ---------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("student")
    written = student.make_student_notebooks(NOTEBOOKS, target)
    assert [path.name for path in written] == NAMES
    return target


def pairs(name: str, generated: Path):
    source = read(NOTEBOOKS / name)
    return source, read(generated / name), student.exercises(source, name)


def test_the_course_has_notebooks_with_exercises():
    assert NAMES[:4] == [
        "00_start_here.ipynb",
        "01_medical_image_formats.ipynb",
        "02_dicom_in_depth.ipynb",
        "03_nifti_and_coordinates.ipynb",
    ]
    assert all(student.exercises(read(NOTEBOOKS / name), name) for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_code_reaches_the_student_notebook(name, generated):
    source, learner, exercises = pairs(name, generated)
    learner_lines = set().union(*(code_lines(c) for c in learner.cells if c.cell_type == "code"))
    for exercise in exercises:
        secrets = secret_lines(source, exercise)
        assert secrets, f"the solution of {exercise.names} adds nothing to its stub"
        assert not secrets & learner_lines, f"{exercise.names} leaks {secrets & learner_lines}"
    assert not any(student.is_solution(cell) for cell in learner.cells)
    solution_ids = {source.cells[exercise.solution].id for exercise in exercises}
    assert not solution_ids & {cell.id for cell in learner.cells}


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_keeps_its_stub_followed_by_its_check(name, generated):
    source, learner, exercises = pairs(name, generated)
    by_id = {cell.id: index for index, cell in enumerate(learner.cells)}
    for exercise in exercises:
        stub = source.cells[exercise.stub]
        check = next_code_cell(source.cells, exercise.solution)
        assert calls_check_on(check, exercise.names[0]), f"no check after {exercise.names}"
        assert learner.cells[by_id[stub.id]].source == stub.source
        assert next_code_cell(learner.cells, by_id[stub.id]).source == check.source


@pytest.mark.parametrize("name", NAMES)
def test_each_stub_has_the_signature_and_docstring_of_its_solution(name, generated):
    source, _, exercises = pairs(name, generated)
    for exercise in exercises:
        stub = functions(source.cells[exercise.stub].source)
        solution = functions(source.cells[exercise.solution].source)
        assert stub.keys() == solution.keys() == set(exercise.names)
        for function in exercise.names:
            assert ast.dump(stub[function].args) == ast.dump(solution[function].args), function
            assert ast.dump(stub[function].returns or ast.Pass()) == ast.dump(
                solution[function].returns or ast.Pass()
            )
            assert ast.get_docstring(stub[function]), f"{function} has no docstring"
            assert ast.get_docstring(stub[function]) == ast.get_docstring(solution[function])


@pytest.mark.parametrize("name", NAMES)
def test_each_stub_raises_a_student_exercise_error(name, generated):
    source, _, exercises = pairs(name, generated)
    for exercise in exercises:
        stub = source.cells[exercise.stub].source
        assert 'raise NotImplementedError("Student exercise: ' in stub
        assert "..." in stub, f"the stub of {exercise.names} has no blanks"


def check_call(cell: nbformat.NotebookNode, name: str) -> ast.Call:
    """The ``exercises.check_x(name)`` call of a check cell."""
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:
            return node.value
    raise AssertionError(f"no `{name} = exercises.check_...({name})` in {cell.source!r}")


@pytest.mark.parametrize("name", NAMES)
def test_an_unfilled_stub_is_not_done_yet_and_its_check_hands_on_the_course_version(name, capsys):
    """Each stub, run as the student gets it, raises NotImplementedError before any blank
    (a truthy ``if ...:`` or ``a - ...``) can run, and its check says so."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from course_utils import exercises as course_exercises
    from course_utils import io as course_io

    source = read(NOTEBOOKS / name)
    for exercise in student.exercises(source, name):
        (function,) = exercise.names
        namespace = {"np": np, "torch": torch, "F": F, "ndimage": ndimage}
        namespace["exercises"] = course_exercises  # the names the notebooks import
        namespace["io"] = course_io
        exec(student.python_source(source.cells[exercise.stub].source), namespace)
        stub = namespace[function]
        call = check_call(source.cells[exercise.check], function)
        use = eval(compile(ast.Expression(call), name, "eval"), namespace)
        out = capsys.readouterr().out
        assert "not done yet" in out, f"{function}: the unfilled stub gives\n{out}"
        assert "the cells below use the course's version" in out
        assert callable(use) and use is not stub


def definitions(cells: list) -> str:
    """The top-level function definitions of ``cells``, without the rest of their code."""
    chunks = []
    for cell in cells:
        if cell.cell_type != "code" or not (tree := student.parse_cell(cell.source)):
            continue
        source = student.python_source(cell.source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                chunks.append(ast.get_source_segment(source, node))
    return "\n\n".join(chunks)


@pytest.mark.parametrize("name", NAMES)
def test_every_solution_passes_its_check_and_is_handed_on(name, capsys):
    """The instructor version's checks tick, so its later cells use the notebook's own code."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from course_utils import exercises as course_exercises
    from course_utils import io as course_io

    source = read(NOTEBOOKS / name)
    for exercise in student.exercises(source, name):
        (function,) = exercise.names
        namespace = {"np": np, "torch": torch, "F": F, "ndimage": ndimage}
        namespace["exercises"] = course_exercises  # the names the notebooks import
        namespace["io"] = course_io
        exec(definitions(source.cells[: exercise.solution + 1]), namespace)
        solution = namespace[function]
        call = check_call(source.cells[exercise.check], function)
        use = eval(compile(ast.Expression(call), name, "eval"), namespace)
        out = capsys.readouterr().out
        assert out.startswith("✔"), f"the solution of {function} fails its check:\n{out}"
        assert use is solution


@pytest.mark.parametrize("name", NAMES)
def test_outputs_counts_and_run_metadata_are_cleared(name, generated):
    learner = read(generated / name)
    for cell in learner.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert "execution" not in cell.metadata
    assert "widgets" not in learner.metadata


@pytest.mark.parametrize("name", NAMES)
def test_badges_point_at_the_student_notebook_and_a_note_follows_the_title(name, generated):
    learner = read(generated / name)
    title, note = learner.cells[0].source, learner.cells[1].source
    assert f"https://mybinder.org/v2/gh/{SLUG}/main?labpath=student%2F{name})" in title
    assert f"https://colab.research.google.com/github/{SLUG}/blob/main/student/{name})" in title
    assert "notebooks%2F" not in title and "/notebooks/" not in title
    assert f"# {name[:2]} · " in title
    assert "student version" in note and "Run All" in note
    assert REPOSITORY not in note and "notebooks/" not in note, "the note links to the solutions"


def test_the_output_is_deterministic(generated, tmp_path):
    again = student.make_student_notebooks(NOTEBOOKS, tmp_path)
    for path in again:
        assert path.read_bytes() == (generated / path.name).read_bytes()
    student.make_student_notebooks(NOTEBOOKS, tmp_path)
    assert [path.read_bytes() for path in again] == [
        (generated / path.name).read_bytes() for path in again
    ]
    assert student.check_student_notebooks(NOTEBOOKS, tmp_path) == []


def test_the_committed_student_folder_is_up_to_date():
    problems = student.check_student_notebooks(NOTEBOOKS, STUDENT)
    assert problems == [], "student/ is stale; run `make student` and commit it:\n" + "\n".join(
        problems
    )


# --- synthetic notebooks for the error cases -----------------------------------------------

TITLE = (
    "[![Binder](https://mybinder.org/badge_logo.svg)]"
    "(https://mybinder.org/v2/gh/o/r/main?labpath=notebooks%2F00_tiny.ipynb)\n\n# 00 · Tiny"
)
STUB = '''def double(x):
    """Twice x."""
    result = ...
    raise NotImplementedError("Student exercise: double it")'''
SOLUTION = '''def double(x):
    """Twice x."""
    return 2 * x  # the secret'''
CHECK = "double = exercises.check_double(double)"


def tiny_notebook(*cells: str | tuple[str, str]) -> nbformat.NotebookNode:
    """A notebook of a title cell and ``cells``: code sources, or ``(tag, source)`` pairs."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell(TITLE, id="title"))
    for number, cell in enumerate(cells):
        tag, source = cell if isinstance(cell, tuple) else (None, cell)
        new = nbformat.v4.new_markdown_cell if tag == "markdown" else nbformat.v4.new_code_cell
        made = new(source, id=f"cell-{number}")
        if tag == "solution":
            made.metadata["tags"] = ["solution"]
        notebook.cells.append(made)
    return notebook


@pytest.fixture
def write_tiny(tmp_path):
    """Write a tiny notebook as ``tmp_path/notebooks/<name>``; returns the source folder."""

    def write(*cells, name: str = "00_tiny.ipynb") -> Path:
        folder = tmp_path / "notebooks"
        folder.mkdir(exist_ok=True)
        nbformat.write(tiny_notebook(*cells), folder / name)
        return folder

    return write


def test_a_tiny_exercise_becomes_stub_and_check(write_tiny, tmp_path):
    source = write_tiny(STUB, ("solution", SOLUTION), CHECK)
    [path] = student.make_student_notebooks(source, tmp_path / "student")
    learner = read(path)
    assert [cell.id for cell in learner.cells] == [
        "title",
        "student-version-note",
        "cell-0",
        "cell-2",
    ]
    assert "the secret" not in path.read_text()
    assert "labpath=student%2F00_tiny.ipynb" in learner.cells[0].source


def test_a_written_answer_tagged_solution_is_removed_too(write_tiny, tmp_path):
    source = write_tiny(("markdown", "Why?"), "answer = 42")
    notebook = read(source / "00_tiny.ipynb")
    notebook.cells[1].metadata["tags"] = ["solution"]
    nbformat.write(notebook, source / "00_tiny.ipynb")
    [path] = student.make_student_notebooks(source, tmp_path / "student")
    assert "Why?" not in path.read_text()


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param([("solution", SOLUTION), CHECK], id="no-stub-at-all"),
        pytest.param(["x = 1", ("solution", SOLUTION), CHECK], id="previous-cell-is-no-stub"),
        pytest.param(
            [STUB.replace("double", "triple"), ("solution", SOLUTION)], id="stub-of-another-name"
        ),
        pytest.param([SOLUTION, ("solution", SOLUTION)], id="stub-without-blanks-leaks"),
        pytest.param(
            [STUB, ("solution", SOLUTION), ("solution", SOLUTION)], id="two-solutions-one-stub"
        ),
        pytest.param([STUB, ("solution", "double = 2")], id="solution-defines-nothing"),
        pytest.param(
            [STUB, ("solution", SOLUTION), "exercises.check_double(double)"],
            id="check-does-not-hand-the-function-on",
        ),
        pytest.param([STUB, ("solution", SOLUTION)], id="no-check-cell"),
        pytest.param(
            [STUB, ("solution", SOLUTION), "triple = exercises.check_double(triple)"],
            id="check-of-another-function",
        ),
    ],
)
def test_a_solution_without_its_stub_raises_and_writes_nothing(cells, write_tiny, tmp_path):
    source = write_tiny(*cells)
    with pytest.raises(student.ExerciseStructureError, match="00_tiny.ipynb"):
        student.make_student_notebooks(source, tmp_path / "student")
    assert not (tmp_path / "student").exists()


def test_markdown_between_stub_and_solution_is_allowed(write_tiny):
    source = write_tiny(STUB, ("markdown", "Try first."), ("solution", SOLUTION), CHECK)
    [exercise] = student.exercises(read(source / "00_tiny.ipynb"))
    assert (exercise.stub, exercise.solution, exercise.names, exercise.check) == (
        1,
        3,
        ("double",),
        4,
    )


def test_the_check_reports_missing_outdated_and_orphaned_notebooks(write_tiny, tmp_path):
    source = write_tiny(STUB, ("solution", SOLUTION), CHECK)
    target = tmp_path / "student"
    assert student.check_student_notebooks(source, target) == [
        f"{target / '00_tiny.ipynb'}: missing; run `make student`"
    ]
    student.make_student_notebooks(source, target)
    assert student.check_student_notebooks(source, target) == []

    write_tiny(STUB, ("solution", SOLUTION), CHECK, "print(double(2))")
    (target / "01_old.ipynb").write_text("{}")
    problems = student.check_student_notebooks(source, target)
    assert [problem.split(": ")[1] for problem in problems] == [
        f"out of date with {source / '00_tiny.ipynb'}; run `make student`",
        "no instructor version; run `make student`",
    ]
    student.make_student_notebooks(source, target)
    assert student.check_student_notebooks(source, target) == []
    assert not (target / "01_old.ipynb").exists()


def test_the_command_line_writes_the_folder_and_reports_errors(write_tiny, tmp_path, capsys):
    source = write_tiny(STUB, ("solution", SOLUTION), CHECK)
    assert student.main([str(source), str(tmp_path / "student")]) == 0
    assert "1 student notebook written" in capsys.readouterr().out
    write_tiny(("solution", SOLUTION))
    assert student.main([str(source), str(tmp_path / "student")]) == 1
    assert "has no stub" in capsys.readouterr().err


def test_a_folder_without_notebooks_is_refused_and_deletes_nothing(write_tiny, tmp_path):
    source = write_tiny(STUB, ("solution", SOLUTION), CHECK)
    target = tmp_path / "student"
    student.make_student_notebooks(source, target)
    with pytest.raises(CourseDataError, match="no .* notebooks here"):
        student.make_student_notebooks(tmp_path / "typo", target)
    with pytest.raises(CourseDataError):
        student.check_student_notebooks(tmp_path / "typo", target)
    assert (target / "00_tiny.ipynb").is_file()
