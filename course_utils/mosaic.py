"""`course_utils.dicom.mosaic` under its first name (notebooks and older code import it here).

Every public name is re-exported, and any other attribute is read from
``course_utils.dicom.mosaic`` itself, so both import paths give the same objects.
"""

from __future__ import annotations

from .dicom import mosaic as _module
from .dicom.mosaic import *  # noqa: F403

__all__ = list(_module.__all__)


def __getattr__(name: str):
    return getattr(_module, name)
