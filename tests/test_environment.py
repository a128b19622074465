"""The install check reads the requirements from the package metadata."""

from __future__ import annotations

import tomllib

from course_utils import environment, paths


def test_the_required_packages_are_those_of_pyproject():
    pyproject = tomllib.loads((paths.repository_root() / "pyproject.toml").read_text())
    declared = [line.split(">")[0].split("=")[0] for line in pyproject["project"]["dependencies"]]
    assert [r.name for r in environment.required_packages()] == declared


def test_this_environment_passes(capsys):
    environment.report_environment()
    assert capsys.readouterr().out == "✔ every required package is installed and recent enough\n"


def test_missing_and_outdated_packages_are_named_with_the_fix(capsys):
    statuses = [
        environment.PackageStatus("nibabel", ">=5.2", None),
        environment.PackageStatus("torch", ">=2.2", "2.1.0"),
        environment.PackageStatus("numpy", ">=1.26", "2.4.6"),
    ]
    environment.report_environment(statuses)
    out = capsys.readouterr().out
    assert "✘ nibabel>=5.2: missing" in out
    assert "✘ torch>=2.2: found 2.1.0" in out
    assert "numpy" not in out
    assert "make lab" in out
