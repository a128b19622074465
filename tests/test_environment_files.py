"""environment.yml and binder/ must mirror pyproject.toml, the source of truth."""

from __future__ import annotations

import re

import tomllib
import yaml

from course_utils import paths

ROOT = paths.repository_root()
# pip name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch-cpu", "SimpleITK": "simpleitk"}


def split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name, spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(split(line) for line in lines)


def environment_requirements(path) -> tuple[dict[str, str], dict[str, str]]:
    environment = yaml.safe_load(path.read_text())
    conda, pip = {}, {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip.update(split(line) for line in entry["pip"])
        else:
            name, spec = split(entry)
            conda[name] = spec
    return conda, pip


def test_environment_yml_lists_every_requirement_with_the_same_minimum():
    conda, pip = environment_requirements(ROOT / "environment.yml")
    assert conda.pop("python") == "=3.11"
    assert conda.pop("pip") == ""
    expected = pyproject_requirements()
    found = {**{name: spec for name, spec in pip.items()}}
    reverse = {conda_name: pip_name for pip_name, conda_name in CONDA_NAMES.items()}
    found.update({reverse.get(name, name): spec for name, spec in conda.items()})
    assert found == expected


def test_torchvision_is_never_installed():
    conda, pip = environment_requirements(ROOT / "environment.yml")
    names = {*pyproject_requirements(), *conda, *pip}
    assert not {"torchvision", "pytorch", "opencv-python"} & names


def test_binder_uses_the_same_environment_and_builds_the_data():
    assert (ROOT / "binder" / "environment.yml").read_text() == (
        ROOT / "environment.yml"
    ).read_text()
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert post_build.splitlines()[0].startswith("#!")
    assert "set -e" in post_build
    assert "pip install --no-deps -e ." in post_build
    assert "course-utils data" in post_build
