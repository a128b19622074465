"""Where the course keeps its data, checkpoints and outputs.

``COURSE_DATA`` overrides the data folder. Otherwise, inside a clone of the course
repository (an editable install, as ``make`` does) data lives in ``<repo>/data``; for a
plain install (Colab) it lives in ``~/course_data``.

Used by every notebook's configuration cell and by ``course_utils.synth``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["repository_root", "data_dir", "synthbrats_dir", "checkpoints_dir"]


def repository_root() -> Path | None:
    """The course repository this package was installed from, or ``None``.

    Returns the folder that holds both ``pyproject.toml`` and ``notebooks/`` next to the
    ``course_utils`` package, i.e. an editable install inside a clone.
    """
    candidate = Path(__file__).resolve().parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
        return candidate
    return None


def data_dir() -> Path:
    """The folder for generated and downloaded course data (``$COURSE_DATA`` wins)."""
    override = os.environ.get("COURSE_DATA")
    if override:
        return Path(override).expanduser()
    root = repository_root()
    return root / "data" if root is not None else Path.home() / "course_data"


def synthbrats_dir() -> Path:
    """Where the default SynthBraTS cohort is cached: ``data_dir() / "synthbrats"``."""
    return data_dir() / "synthbrats"


def checkpoints_dir() -> Path:
    """Where trained model checkpoints live: ``data_dir() / "checkpoints"``."""
    return data_dir() / "checkpoints"
