"""Check that the packages the course needs are installed, and recent enough.

The list comes from ``course_utils``' own package metadata (``pyproject.toml``), so it can
never drift from what ``pip install`` installs. Used by notebook 00.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement

__all__ = ["PackageStatus", "check_environment", "report_environment"]

DISTRIBUTION = "course-utils"


@dataclass(frozen=True)
class PackageStatus:
    """One requirement: its name, the versions allowed, and what is installed (or ``None``)."""

    name: str
    wanted: str
    installed: str | None

    @property
    def ok(self) -> bool:
        if self.installed is None:
            return False
        return Requirement(f"{self.name}{self.wanted}").specifier.contains(
            self.installed, prereleases=True
        )


def required_packages(extras: tuple[str, ...] = ()) -> list[Requirement]:
    """The course's requirements (plus those of ``extras``) from its installed metadata."""
    requirements = []
    for line in metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
            requirements.append(requirement)
    return requirements


def check_environment(extras: tuple[str, ...] = ()) -> list[PackageStatus]:
    """The status of every required package, in ``pyproject.toml`` order."""
    statuses = []
    for requirement in required_packages(extras):
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            installed = None
        statuses.append(PackageStatus(requirement.name, str(requirement.specifier), installed))
    return statuses


def report_environment(statuses: list[PackageStatus] | None = None) -> None:
    """Print one line if all is well, or one line per missing or outdated package."""
    statuses = check_environment() if statuses is None else statuses
    problems = [status for status in statuses if not status.ok]
    if not problems:
        print("✔ every required package is installed and recent enough")
        return
    for status in problems:
        found = "missing" if status.installed is None else f"found {status.installed}"
        print(f"✘ {status.name}{status.wanted}: {found}")
    print('Fix: run `make lab` again, or `pip install -e ".[test]"` from the repository.')
