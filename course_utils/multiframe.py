"""Enhanced multi-frame DICOM under its first name (notebooks and older code import it here).

The public names of ``course_utils.dicom.multiframe`` (reading: `read_multiframe`,
`frames_of`, ...) and of ``course_utils.dicom.enhanced_mr`` (writing: `write_enhanced_mr`)
are re-exported, and any other attribute is read from ``course_utils.dicom.multiframe``
itself, so both import paths give the same objects.
"""

from __future__ import annotations

from .dicom import enhanced_mr as _writer
from .dicom import multiframe as _module
from .dicom.enhanced_mr import *  # noqa: F403
from .dicom.multiframe import *  # noqa: F403

__all__ = [*_module.__all__, *_writer.__all__]


def __getattr__(name: str):
    return getattr(_module, name)
