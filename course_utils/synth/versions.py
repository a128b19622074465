"""Versions: which SynthBraTS generator builds a cohort, and the version its manifest records.

``"2"`` (the default) is SynthBraTS 2, `course_utils.synthbrats2`; ``"1"`` is the first
generator, whose pieces are this subpackage's `anatomy`, `tumour` and `contrasts`.
"""

from __future__ import annotations

__all__ = ["DEFAULT_GENERATOR", "GENERATOR_VERSION", "check_version"]


#: The generator `make_subject`, `make_cohort` and `ensure_dataset` use unless told otherwise.
DEFAULT_GENERATOR = "2"
#: The version a cohort's manifest records: the default generator's (`synthbrats2.VERSION`),
#: bumped whenever a change to it changes its output bytes.
GENERATOR_VERSION = "2.0"


def check_version(version: str) -> str:
    """``version`` if it names a generator (``"1"`` or ``"2"``), else ValueError."""
    if version not in ("1", "2"):
        raise ValueError(f"version must be '1' or '2', not {version!r}")
    return version
