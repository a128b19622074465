"""Burned-in annotation: editing a header cannot remove text written into the pixels.

Some images (screen captures, ultrasound, scanned films) carry names and dates in their pixel
data; BurnedInAnnotation (0028,0301) says whether they do. A file that says ``YES`` is always
refused (`BurnedInAnnotationError`); one that says nothing is warned about
(`BurnedInAnnotationWarning`: CT and MR files rarely carry this optional attribute, and their
scanners do not write text into the pixels) or refused, as the caller chooses. Annex E's Clean
Pixel Data option, blacking the text out, is not done here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import BurnedInAnnotationError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["BurnedInAnnotationError", "BurnedInAnnotationWarning"]


class BurnedInAnnotationWarning(UserWarning):
    """A dataset that does not say whether its pixels carry burned-in text."""


def _burned_in_unknown(ds: Dataset, where: str | os.PathLike[str], policy: str) -> bool:
    """Raise if the pixels carry burned-in text (or may, under ``"raise"``); True if unknown."""
    if policy not in ("warn", "raise"):
        raise ValueError(f"on_unknown_burned_in must be 'warn' or 'raise', not {policy!r}.")
    state = str(ds.get("BurnedInAnnotation") or "").strip().upper()
    if state == "YES":
        raise BurnedInAnnotationError(
            where,
            "BurnedInAnnotation is YES: its pixels carry text (names, dates) that editing the"
            " header cannot remove.",
            "Black out the text in the pixels first, then set BurnedInAnnotation to 'NO'.",
        )
    if state != "NO" and policy == "raise":
        raise BurnedInAnnotationError(
            where,
            "has no BurnedInAnnotation, so nothing says its pixels are free of burned-in text.",
            "Look at the image; if it holds no text, set ds.BurnedInAnnotation = 'NO'"
            " (or pass on_unknown_burned_in='warn').",
        )
    return state != "NO"
