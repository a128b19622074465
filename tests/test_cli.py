"""The course-utils command line, run as a user would."""

from __future__ import annotations

import subprocess
import sys

from course_utils import synth


def run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "course_utils", *args], capture_output=True, text=True, **kwargs
    )


def test_data_builds_a_cohort_where_asked(tmp_path):
    result = run("data", "--out", str(tmp_path / "c"), "--subjects", "1", "--seed", "9")
    assert result.returncode == 0, result.stderr
    assert "SynthBraTS: 1 subjects (seed 9, 2 mm)" in result.stdout
    assert [p.name for p in synth.list_subjects(tmp_path / "c")] == ["SynthBraTS_s9_0000"]


def test_data_honours_course_data(tmp_path):
    env = {"COURSE_DATA": str(tmp_path), "PATH": ""}
    result = run("data", "--subjects", "1", "--seed", "8", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "synthbrats" / synth.MANIFEST_NAME).is_file()


def test_nonsense_arguments_are_refused_with_a_message():
    result = run("data", "--subjects", "0")
    assert result.returncode != 0
    assert "--subjects must be at least 1" in result.stderr


def test_help_lists_the_data_command():
    result = run("--help")
    assert result.returncode == 0 and "data" in result.stdout


def test_student_writes_the_student_version(tmp_path):
    from course_utils import paths

    result = run("student", str(paths.repository_root() / "notebooks"), str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    assert "student notebooks written" in result.stdout
    assert sorted(p.name for p in (tmp_path / "s").glob("*.ipynb"))
