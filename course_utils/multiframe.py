"""`course_utils.dicom.multiframe` under its first name (notebooks and older code import it here).

Every public name is re-exported, and any other attribute is read from
``course_utils.dicom.multiframe`` itself, so both import paths give the same objects.
"""

from __future__ import annotations

from .dicom import multiframe as _module
from .dicom.multiframe import *  # noqa: F403

__all__ = list(_module.__all__)


def __getattr__(name: str):
    return getattr(_module, name)
