"""`course_utils.dicom.multiframe` under its first name (notebooks and older code import it here).

This file makes ``course_utils.multiframe`` the very same module object as
``course_utils.dicom.multiframe``, so every name, public or not, and every monkeypatch applies
to both.
"""

from __future__ import annotations

import sys

from .dicom import multiframe as _module

__all__ = list(_module.__all__)

sys.modules[__name__] = _module
