"""pyproject.toml is the source of truth; the lock, environment.yml and binder/ agree with it.

Checked here: the names (every requirement appears everywhere), the versions (the lock's
version satisfies pyproject's range, and environment.yml pins exactly the lock's version) and
torch (kept out of the lock; the Makefile's CPU wheel and conda's ``pytorch-cpu`` agree).
Whether conda-forge really serves each pinned version can only be seen by building the
environment, which this machine cannot do (no conda); CONTRIBUTING.md says so.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from course_utils import paths

ROOT = paths.repository_root()
sys.path.insert(0, str(ROOT / "tools"))
import lock  # noqa: E402  (tools/lock.py: the generator whose output is checked here)


def environment_requirements(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``({conda name: spec}, {pip name: spec})`` of an environment file."""
    environment = yaml.safe_load(path.read_text())
    conda, pip = {}, {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip.update(lock.split(line) for line in entry["pip"])
        else:
            name, spec = lock.split(entry)
            conda[name] = spec
    return conda, pip


@pytest.fixture(scope="module")
def locked() -> dict[str, str]:
    return lock.lock_versions()


def test_the_lock_pins_every_requirement_but_torch_within_its_range(locked):
    for line in lock.pyproject_requirements():
        requirement = Requirement(line)
        name = lock.normalise(requirement.name)
        if name == "torch":
            assert name not in locked, "torch must stay out of the lock (make installs CPU torch)"
            continue
        assert name in locked, f"{requirement.name} is missing from requirements-lock.txt"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"the lock pins {requirement.name}=={locked[name]}, outside {requirement.specifier}"
        )


def test_every_locked_package_carries_a_hash():
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.LOCK.read_text().split("\n", 3)[3])
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_environment_yml_pins_every_requirement_to_the_locked_version(locked):
    conda, pip = environment_requirements(ROOT / "environment.yml")
    assert conda.pop("python") == "=3.11"
    assert conda.pop("pip") == ""
    reverse = {conda_name: pip_name for pip_name, conda_name in lock.CONDA_NAMES.items()}
    pinned = {lock.normalise(reverse.get(name, name)): ("=", spec) for name, spec in conda.items()}
    pinned.update({lock.normalise(name): ("==", spec) for name, spec in pip.items()})
    wanted = {lock.normalise(Requirement(line).name) for line in lock.pyproject_requirements()}
    assert set(pinned) == wanted
    for name, (operator, spec) in pinned.items():
        version = lock.makefile_torch() if name == "torch" else locked[name]
        assert spec == operator + version, f"environment.yml: {name}{spec}, lock: {version}"


def test_torch_is_the_same_cpu_build_in_make_and_conda():
    conda, _ = environment_requirements(ROOT / "environment.yml")
    assert conda["pytorch-cpu"] == "=" + lock.makefile_torch()


def test_torchvision_is_never_installed(locked):
    conda, pip = environment_requirements(ROOT / "environment.yml")
    names = {*map(lock.normalise, [*conda, *pip]), *locked}
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


def test_make_installs_from_the_lock_after_cpu_torch():
    install = re.search(r"^\$\(STAMP\):.*?(?=^\S)", lock.MAKEFILE.read_text(), re.S | re.M)
    steps = install.group(0)
    assert steps.index('"torch==') < steps.index("-r requirements-lock.txt")
    assert steps.index("-r requirements-lock.txt") < steps.index("--no-deps -e")


def test_the_nnunet_check_file_pins_exactly_its_extra_with_hashes_and_no_torchvision():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["nnunet-check"]
    text = lock.NNUNET_CHECK.read_text()
    pinned = lock.lock_versions(text)
    assert set(pinned) == {lock.normalise(Requirement(r).name) for r in extra}
    for line in extra:
        requirement = Requirement(line)
        assert requirement.specifier.contains(pinned[lock.normalise(requirement.name)])
    assert text.count("--hash=sha256:") >= len(pinned)
    # installed without dependencies: nnunetv2's chain (dynamic-network-architectures -> timm)
    # would pull torchvision, and pip resolves nothing with --no-deps
    assert not {"torchvision", "timm", "dynamic-network-architectures"} & set(pinned)
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-deps --require-hashes -r requirements-nnunet-check.txt" in makefile
