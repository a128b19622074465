"""Action C of the Modified Dates option: dates, times and date-times moved by one seeded offset.

A seed gives one offset (`_date_offset`: back by 62 to 730 days plus a number of seconds), the
same in every file de-identified with that seed, so intervals between a patient's studies
survive. `_shifted` moves a DA, TM or DT value by it, keeping the value's precision (digits,
fraction, UTC offset); a date moves together with its time (Study Date with Study Time...), and
a time without its date is emptied, because a time alone cannot be moved across midnight.
Nothing here is public API: `course_utils.deidentify.cleaner` applies it.
"""

from __future__ import annotations

import datetime
import hashlib
import re

from ..errors import DeidentificationError

__all__: list[str] = []

DATE_VRS = {"DA", "DT", "TM"}
TIME_TEXT = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$")
DATETIME_TEXT = re.compile(r"^(\d{4,14})(\.\d{1,6})?([+-]\d{4})?$")


def _date_offset(seed: str) -> datetime.timedelta:
    """The (negative) shift of every date and time de-identified with ``seed``."""
    digest = int.from_bytes(hashlib.sha256(f"date shift {seed}".encode()).digest()[:8], "big")
    span = (730 - 62) * 86400
    return -datetime.timedelta(days=62, seconds=digest % span)


def _shifted(element, dates: dict, shift: datetime.timedelta, where: str):
    """A date, time or date-time moved by the offset; a time without its date emptied.

    ``dates`` maps the keywords of the DA and TM elements of the same dataset to their original
    values (to find a time's date and a date's time); ``None`` means "empty the element".
    """
    values = element.value if element.VM > 1 else [element.value]
    values = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not values:
        return None
    if element.VR == "DT":
        new = [_shift_datetime(v, shift) for v in values]
    elif element.VR == "DA":
        partner = _partner(element.keyword, "Date", "Time", dates)
        new = [_shift_date(v, partner if len(values) == 1 else None, shift) for v in values]
    else:
        partner = _partner(element.keyword, "Time", "Date", dates)
        if partner is None or len(values) > 1:
            return None  # no date to move it with: emptied (Z)
        new = [_shift_time(values[0], partner, shift)]
    if any(v is None for v in new):
        raise DeidentificationError(
            where,
            f"{element.keyword or element.tag} holds {element.value!r}, which is not a "
            f"{element.VR} value that can be shifted.",
            "Correct or delete the malformed element with pydicom (dates are YYYYMMDD, "
            "times HHMMSS, date-times YYYYMMDDHHMMSS).",
        )
    return new[0] if len(new) == 1 else new


def _partner(keyword: str, this: str, other: str, dates: dict):
    """The original value of the date (or time) that goes with ``keyword``, if present."""
    if this not in keyword:
        return None
    head, _, tail = keyword.rpartition(this)
    value = dates.get(head + other + tail)
    value = None if value is None else str(value).strip()
    return value or None


def _parse_time(text: str):
    """``(time of day, digits kept, fraction)`` of a TM value, or None."""
    match = TIME_TEXT.match(text.replace(":", ""))
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    try:
        value = datetime.time(int(hours), int(minutes or 0), int(seconds or 0))
    except ValueError:
        return None
    digits = 2 + 2 * (minutes is not None) + 2 * (seconds is not None)
    return value, digits, fraction or ""


def _parse_date(text: str) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(text.replace(".", ""), "%Y%m%d").date()
    except ValueError:
        return None


def _shift_date(text: str, time_text: str | None, shift: datetime.timedelta) -> str | None:
    """A DA value moved by ``shift``, together with its time (at 00:00 without one)."""
    date = _parse_date(text)
    if date is None:
        return None
    parsed = _parse_time(time_text) if time_text else None
    moment = datetime.datetime.combine(date, parsed[0] if parsed else datetime.time())
    return (moment + shift).strftime("%Y%m%d")


def _shift_time(text: str, date_text: str, shift: datetime.timedelta) -> str | None:
    """A TM value moved by ``shift`` with its date, keeping its precision."""
    date, parsed = _parse_date(date_text), _parse_time(text)
    if date is None or parsed is None:
        return None
    value, digits, fraction = parsed
    moved = datetime.datetime.combine(date, value) + shift
    return moved.strftime("%H%M%S")[:digits] + (fraction if digits == 6 else "")


def _shift_datetime(text: str, shift: datetime.timedelta) -> str | None:
    """A DT value moved by ``shift``, keeping its precision, fraction and UTC offset."""
    match = DATETIME_TEXT.match(text)
    if not match or len(match.group(1)) % 2:
        return None
    digits, fraction, offset = match.group(1), match.group(2) or "", match.group(3) or ""
    full = digits + "0101000000"[len(digits) - 4 :] if len(digits) < 14 else digits
    try:
        moment = datetime.datetime.strptime(full, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    moved = (moment + shift).strftime("%Y%m%d%H%M%S")[: len(digits)]
    return moved + (fraction if len(digits) == 14 else "") + offset
