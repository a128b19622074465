"""De-identification of DICOM headers by PS3.15 Annex E, driven by Table E.1-1 as data.

`anonymize` applies the **Basic Application Level Confidentiality Profile** with the
**Retain Longitudinal Temporal Information with Modified Dates Option** (PS3.15 E.3.6): every
attribute of Table E.1-1 (``annex_e_table.csv``, DICOM 2024b, 621 rows, read by `annex_e_table`)
gets its action, found **by tag** (never by VR: an Operators' Name stored as LO is still a
name) at every nesting level of sequences, and in the file meta group:

======  ======================================================================
action  what is done
======  ======================================================================
X       removed
Z       emptied (a sequence keeps zero items)
D       replaced by a dummy of the element's own VR: a fake name (dicognito) for PN, a
        seeded token for text, 0 for numbers; a sequence is kept and cleaned inside, its
        free text (even attributes the table does not list) replaced too
U       UIDs replaced, through one ``uid_map`` so a batch stays consistent (a derived SEG
        still references its de-identified source); standard UIDs (``1.2.840.10008.``) kept
C       (Modified Dates option) dates and date-times shifted back by one seeded offset
        (62 to 730 days plus a number of seconds); a time is shifted with its date (Study
        Time with Study Date...) when that date exists, and emptied when it is empty or absent
======  ======================================================================

Compound actions keep the file valid for its IOD without knowing its Type: ``X/Z`` -> Z
(Type 2 stays present), ``X/D``, ``Z/D`` and ``X/Z/D`` -> D (Type 1 stays non-empty),
``X/Z/U*`` (Referenced/Source Image Sequence) -> U on the UIDs inside. Under the option, a
``C`` on an attribute that is not a date, time or date-time (Timezone Offset From UTC) falls
back to its basic action. Private attributes are removed (``(gggg,eeee)`` odd, action X), as
are curves (50xx), overlay data and comments (60xx,3000/4000) and the file meta group's
application entity titles (PS3.10), which can name the sending site; the 128-byte preamble is
zeroed. PatientIdentityRemoved, DeidentificationMethod and the method codes 113100 and 113107
(DeidentificationMethodCodeSequence) record what was done, and a file whose pixels may carry
burned-in text is refused or warned about. Pixel data and geometry are never touched (Annex
E's Clean Pixel Data option is not done here).

Every replacement is a pure function of a *seed* and the original value, so one seed gives
the same dummy, UID and date offset in every file and on every machine.

Used by notebook 02 ("DICOM in depth").
"""

from __future__ import annotations

import copy
import csv
import datetime
import functools
import hashlib
import os
import re
import secrets
import warnings
from collections.abc import Collection, MutableMapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .dicom import read_dataset
from .errors import (
    BurnedInAnnotationError,
    CorruptFileError,
    CourseDataError,
    DatasetNotFoundError,
    DeidentificationError,
    SeriesError,
)
from .files import atomic_directory
from .series import list_files

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "ANNEX_E_REMOVED",
    "ANNEX_E_EMPTIED",
    "METHOD_CODES",
    "AnnexERule",
    "annex_e_table",
    "action_for",
    "DeidentificationError",
    "BurnedInAnnotationError",
    "BurnedInAnnotationWarning",
    "anonymize",
    "anonymize_series",
]

TABLE_FILE = "annex_e_table.csv"
#: How a compound basic-profile action resolves (see the module docstring).
COMPOUND = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}
DATE_VRS = {"DA", "DT", "TM"}
FREE_TEXT_VRS = {"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
# Application entity titles of the file meta group (PS3.10): they can name the sending site.
FILE_META_REMOVED = {0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102}

# PS3.16 CID 7050 codes recorded in DeidentificationMethodCodeSequence: the basic profile,
# and the option that allows shifted (rather than removed) dates.
METHOD_CODES: tuple[tuple[str, str], ...] = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)
DICOM_ROOT = "1.2.840.10008."  # standard UIDs (SOP classes, transfer syntaxes, ...): kept


@dataclass(frozen=True)
class AnnexERule:
    """One row of PS3.15 Table E.1-1 as the course uses it.

    ``tag`` as printed in the standard (``"(0010,0010)"``, or a pattern such as
    ``"(50XX,XXXX)"``); ``basic`` the Basic Profile action (``X``, ``Z``, ``D``, ``U`` or a
    compound such as ``X/Z/D``); ``modified_dates`` ``"C"`` where the Modified Dates option
    cleans (shifts) the attribute, else ``""``; ``action`` the single action applied.
    """

    tag: str
    keyword: str
    name: str
    basic: str
    modified_dates: str

    @property
    def action(self) -> str:
        if self.modified_dates == "C":
            return "C"
        return COMPOUND.get(self.basic, self.basic)

    @property
    def basic_resolved(self) -> str:
        """The basic action with compounds resolved (used where ``C`` cannot apply)."""
        return COMPOUND.get(self.basic, self.basic)


@functools.lru_cache(maxsize=1)
def annex_e_table() -> tuple[AnnexERule, ...]:
    """PS3.15 Table E.1-1 (DICOM 2024b) as `AnnexERule` rows, read from ``annex_e_table.csv``.

    Examples
    --------
    >>> rules = {rule.keyword: rule for rule in annex_e_table()}
    >>> len(annex_e_table()), rules["OperatorsName"].basic, rules["OperatorsName"].action
    (621, 'X/Z/D', 'D')
    >>> rules["StudyTime"].basic, rules["StudyTime"].action
    ('Z', 'C')
    """
    text = resources.files(__package__).joinpath(TABLE_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines)
    return tuple(
        AnnexERule(
            r["tag"], r["keyword"], r["name"], r["basic_profile"], r["modified_dates_option"]
        )
        for r in reader
    )


@functools.lru_cache(maxsize=1)
def rules_by_tag() -> dict[int, AnnexERule]:
    """The rows with an exact tag, keyed by the tag as an int."""
    rules = {}
    for rule in annex_e_table():
        match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", rule.tag)
        if match:
            rules[int(match.group(1) + match.group(2), 16)] = rule
    return rules


def action_for(tag: int) -> AnnexERule | None:
    """The Table E.1-1 row that applies to ``tag`` (exact tags, then 50xx/60xx patterns).

    Examples
    --------
    >>> action_for(0x00081070).name, action_for(0x60023000).name, action_for(0x00280010)
    ("Operators' Name", 'Overlay Data', None)
    """
    rule = rules_by_tag().get(int(tag))
    if rule is not None:
        return rule
    group, element = int(tag) >> 16, int(tag) & 0xFFFF
    even_repeating = group % 2 == 0 and group & 0xFF <= 0x1E
    patterns = {rule.tag: rule for rule in annex_e_table()}
    if group & 0xFF00 == 0x5000 and even_repeating:
        return patterns["(50XX,XXXX)"]
    if group & 0xFF00 == 0x6000 and even_repeating and element in (0x3000, 0x4000):
        return patterns[f"(60XX,{element:04X})"]
    return None


def _keywords_with(action: str) -> tuple[str, ...]:
    return tuple(sorted(r.keyword for r in annex_e_table() if r.keyword and r.action == action))


#: Keywords of Table E.1-1 removed (X after resolving compounds) and emptied (Z).
ANNEX_E_REMOVED: tuple[str, ...] = _keywords_with("X")
ANNEX_E_EMPTIED: tuple[str, ...] = _keywords_with("Z")


class BurnedInAnnotationWarning(UserWarning):
    """A dataset that does not say whether its pixels carry burned-in text."""


def anonymize(
    ds: Dataset,
    *,
    seed: int | str | None = None,
    uid_map: MutableMapping[str, str] | None = None,
    keep: Collection[str] = (),
    on_unknown_burned_in: Literal["warn", "raise"] = "warn",
) -> Dataset:
    """Return a de-identified copy of ``ds`` (PS3.15 Table E.1-1, modified dates option).

    Parameters
    ----------
    ds
        A pydicom dataset; it is not modified. PixelData and every geometry attribute
        (ImagePositionPatient, ImageOrientationPatient, PixelSpacing, SliceThickness, Rows,
        Columns, rescale) are copied unchanged.
    seed
        Fixes every replacement: same ``ds`` and seed, same output. ``None`` draws a fresh
        random seed for this call only, so files anonymized in separate calls get different
        date offsets and fake names: pass one seed to every file of a patient. Anyone who
        knows the seed can undo the date shift and test guesses of names and IDs, so keep
        seeds of real data secret (a fixed seed in a notebook is fine for public test data).
    uid_map
        A dict from original UID to new UID, filled in place and consulted first: share one
        across calls to give the same original UID the same new UID (a series stays one
        series, references stay valid). New entries come from dicognito's seeded mapping:
        ``"2."`` followed by 40 digits. SOP class, transfer syntax and other standard UIDs
        are kept and not recorded.
    keep
        Keywords of Table E.1-1 to retain as they are (any but UIDs), e.g.
        ``("SeriesDescription",)`` after checking that it names no one (Annex E's Clean
        Descriptors option, done by eye); each is recorded in DeidentificationMethod.
    on_unknown_burned_in
        What to do when BurnedInAnnotation is absent or empty: ``"warn"`` (the default,
        because CT and MR files rarely carry this optional attribute and their scanners do
        not write text into the pixels) or ``"raise"``. ``"YES"`` is always refused.

    Returns
    -------
    pydicom.dataset.Dataset
        The copy, with private tags removed, PatientIdentityRemoved ``"YES"`` and the
        file meta's MediaStorageSOPInstanceUID equal to the new SOPInstanceUID.

    Raises
    ------
    BurnedInAnnotationError
        If BurnedInAnnotation is ``"YES"``, or unknown with ``on_unknown_burned_in="raise"``.
    DeidentificationError
        If a date, time or date-time to shift is malformed (not ``YYYYMMDD``, say).

    Examples
    --------
    >>> from pydicom import dcmread
    >>> from pydicom.data import get_testdata_file
    >>> ds = dcmread(get_testdata_file("MR_small.dcm"))
    >>> ds.BurnedInAnnotation = "NO"
    >>> uid_map = {}
    >>> out = anonymize(ds, seed=0, uid_map=uid_map)
    >>> str(ds.PatientName), ds.StudyDate
    ('CompressedSamples^MR1', '20040826')
    >>> str(out.PatientName), out.PatientID, out.StudyDate, out.PatientIdentityRemoved
    ('', 'ANON0B1DBE90', '20030815', 'YES')
    >>> uid_map[ds.SeriesInstanceUID] == out.SeriesInstanceUID
    True
    """
    where = _name_of(ds)
    if _burned_in_unknown(ds, where, on_unknown_burned_in):
        warnings.warn(
            f"{where}: no BurnedInAnnotation, so nothing says the pixels are free of burned-in"
            " text (names, dates). Look at the image before sharing it.",
            BurnedInAnnotationWarning,
            stacklevel=2,
        )
    return _deidentify(ds, where, _seed_text(seed), {} if uid_map is None else uid_map, keep)


def anonymize_series(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    seed: int | str | None = None,
    uid_map: MutableMapping[str, str] | None = None,
    keep: Collection[str] = (),
    on_unknown_burned_in: Literal["warn", "raise"] = "warn",
) -> list[Path]:
    """De-identify every DICOM file in folder ``src`` into a new folder ``dst``.

    All files share one seed and one ``uid_map`` (see `anonymize` for the parameters), so
    one series in gives one series out: the same StudyInstanceUID, SeriesInstanceUID and
    FrameOfReferenceUID in every file, distinct SOPInstanceUIDs, and the same date offset.
    Output files are named ``<new SOPInstanceUID>.dcm`` (original names can hold a
    patient's name). ``dst`` is built under a temporary name and appears complete or not
    at all; an existing ``dst`` is replaced. Files whose name starts with ``.`` are skipped
    and subfolders are not entered. Missing BurnedInAnnotation gives one warning for the
    whole folder.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of the sorted source file names.

    Raises
    ------
    CorruptFileError
        If a file is not readable DICOM (checked before anything is written).
    BurnedInAnnotationError, DeidentificationError
        As in `anonymize`.
    SeriesError
        If ``src`` holds no files, or two files share a SOPInstanceUID.
    """
    src, dst = Path(src), Path(dst)
    _checked_keep(keep)
    files = _list_files(src, dst)
    datasets = [_read_dicom(path) for path in files]
    unknown = [
        p
        for p, ds in zip(files, datasets, strict=True)
        if _burned_in_unknown(ds, p, on_unknown_burned_in)
    ]
    if unknown:
        warnings.warn(
            f"{src}: {len(unknown)} of {len(files)} files have no BurnedInAnnotation, so nothing"
            " says their pixels are free of burned-in text. Look at them before sharing.",
            BurnedInAnnotationWarning,
            stacklevel=2,
        )
    seed_text, uid_map = _seed_text(seed), {} if uid_map is None else uid_map
    names: list[str] = []
    with atomic_directory(dst) as temp:
        for path, ds in zip(files, datasets, strict=True):
            out = _deidentify(ds, str(path), seed_text, uid_map, keep)
            name = f"{out.SOPInstanceUID}.dcm"
            if name in names:
                raise SeriesError(
                    path,
                    "has the SOPInstanceUID of another file in the folder.",
                    "Remove the duplicate copy from the folder and run again.",
                )
            out.save_as(temp / name, enforce_file_format=True)
            names.append(name)
    return [dst / name for name in names]


def _deidentify(
    ds: Dataset, where: str, seed: str, uid_map: MutableMapping[str, str], keep: Collection[str]
) -> Dataset:
    """The work of `anonymize` once the burned-in check has passed."""
    keep = _checked_keep(keep)
    out = _detached_copy(ds)
    out.remove_private_tags()  # (gggg,eeee) with gggg odd: action X, at every level
    cleaner = _Cleaner(seed, uid_map, keep, where)
    cleaner.clean(out)
    for tag in FILE_META_REMOVED:
        if tag in out.file_meta:
            del out.file_meta[tag]
    cleaner.clean(out.file_meta)
    if "SOPInstanceUID" in out:
        out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    from dicognito import __version__ as dicognito_version

    method = f"PS3.15 E basic profile, modified dates; dicognito {dicognito_version}"
    _record_method(out, ds, method, keep)
    return out


class _Cleaner:
    """Applies Table E.1-1 to a dataset in place, recursing into sequences."""

    def __init__(self, seed: str, uid_map: MutableMapping[str, str], keep, where: str) -> None:
        from dicognito.pnanonymizer import PNAnonymizer
        from dicognito.randomizer import Randomizer

        self.seed, self.keep, self.where = seed, frozenset(keep), where
        self.uids = _MappedUIDs(seed, uid_map)
        self.names = PNAnonymizer(Randomizer(seed))
        digest = int.from_bytes(hashlib.sha256(f"date shift {seed}".encode()).digest()[:8], "big")
        span = (730 - 62) * 86400
        self.shift = -datetime.timedelta(days=62, seconds=digest % span)

    def clean(self, dataset, scrub: bool = False) -> None:
        """Apply the table to ``dataset`` and every item of its sequences.

        ``scrub`` (inside a sequence whose action is D, such as Content Sequence or Graphic
        Annotation Sequence) also gives free-text attributes the table does not list a dummy
        value: "replace with dummy values" covers everything the sequence holds.
        """
        dates = {
            element.keyword: element.value for element in dataset if element.VR in ("DA", "TM")
        }
        for element in list(dataset):
            rule = action_for(element.tag)
            if rule is None or rule.keyword in self.keep:
                if element.VR == "SQ":
                    for item in element.value:
                        self.clean(item, scrub)
                elif scrub and rule is None and element.VR in FREE_TEXT_VRS:
                    self.dummy(dataset, element)
                continue
            action = rule.action
            if action == "C" and element.VR not in DATE_VRS:
                action = rule.basic_resolved
            self.apply(dataset, element, action, dates)

    def apply(self, dataset, element, action: str, dates: dict) -> None:
        if action == "X":
            del dataset[element.tag]
        elif action == "Z":
            _empty(element)
        elif element.VR == "SQ":  # D or U on a sequence: keep it, clean what it holds
            for item in element.value:
                self.clean(item, scrub=action == "D")
        elif action == "U" and element.VR == "UI":
            self.uids(dataset, element)
        elif action == "C" or element.VR in DATE_VRS:
            element.value = self.shifted(element, dates)
            if element.value is None:
                _empty(element)
        else:
            self.dummy(dataset, element)

    def shifted(self, element, dates: dict):
        """A date, time or date-time moved by the offset; a time without its date emptied."""
        values = element.value if element.VM > 1 else [element.value]
        values = [str(v).strip() for v in values if v is not None and str(v).strip()]
        if not values:
            return None
        if element.VR == "DT":
            new = [_shift_datetime(v, self.shift) for v in values]
        elif element.VR == "DA":
            partner = _partner(element.keyword, "Date", "Time", dates)
            new = [
                _shift_date(v, partner if len(values) == 1 else None, self.shift) for v in values
            ]
        else:
            partner = _partner(element.keyword, "Time", "Date", dates)
            if partner is None or len(values) > 1:
                return None  # no date to move it with: emptied (Z)
            new = [_shift_time(values[0], partner, self.shift)]
        if any(v is None for v in new):
            raise DeidentificationError(
                self.where,
                f"{element.keyword or element.tag} holds {element.value!r}, which is not a "
                f"{element.VR} value that can be shifted.",
                "Correct or delete the malformed element with pydicom (dates are YYYYMMDD, "
                "times HHMMSS, date-times YYYYMMDDHHMMSS).",
            )
        return new[0] if len(new) == 1 else new

    def dummy(self, dataset, element) -> None:
        """Action D: a value of the element's own VR that says nothing about the original."""
        if element.value in (None, "", b""):
            return
        if element.VR == "PN":
            self.names(dataset, element)
            return
        token = hashlib.sha256(f"{self.seed}|{element.value}".encode()).hexdigest()[:8].upper()
        if element.VR in BINARY_VRS - {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "AT"}:
            element.value = 0
        elif element.VR in ("IS", "DS"):
            element.value = "0"
        elif element.VR == "AS":
            element.value = "000D"
        elif element.VR in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
            element.value = b"\0\0"
        elif element.VR == "UI":
            self.uids(dataset, element)
        else:  # AE CS LO LT SH ST UC UR UT
            element.value = f"ANON{token}"


BINARY_VRS = {"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"}
BINARY_VRS |= {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}


def _empty(element) -> None:
    """Action Z: a zero-length value (a sequence with no items)."""
    if element.VR == "SQ":
        element.value = []
    else:
        element.value = None if element.VR in BINARY_VRS else ""


def _partner(keyword: str, this: str, other: str, dates: dict):
    """The original value of the date (or time) that goes with ``keyword``, if present."""
    if this not in keyword:
        return None
    head, _, tail = keyword.rpartition(this)
    value = dates.get(head + other + tail)
    value = None if value is None else str(value).strip()
    return value or None


TIME_TEXT = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$")
DATETIME_TEXT = re.compile(r"^(\d{4,14})(\.\d{1,6})?([+-]\d{4})?$")


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


def _detached_copy(ds: Dataset) -> Dataset:
    """A deep copy that keeps neither the source file name nor the 128-byte preamble."""
    from pydicom.dataset import FileMetaDataset

    out = copy.deepcopy(ds)
    if getattr(out, "filename", None) is not None:
        out.filename = None  # the original path can name the patient
    if getattr(out, "preamble", None):
        out.preamble = bytes(128)  # free bytes (a TIFF header, text) that save_as writes back
    if not hasattr(out, "file_meta"):
        out.file_meta = FileMetaDataset()  # its UIDs are cleaned too
    return out


class _MappedUIDs:
    """Action U: remaps a UID element through a shared ``uid_map``.

    Called only for attributes whose Table E.1-1 action is U (class UIDs and the transfer
    syntax are not in the table, so they are kept); standard UIDs (under ``1.2.840.10008``)
    are kept too. Any other UID is looked up in ``uid_map`` and, if new, mapped by
    dicognito's seeded ``UIAnonymizer`` and recorded.
    """

    def __init__(self, seed: str, uid_map: MutableMapping[str, str]) -> None:
        from dicognito.randomizer import Randomizer
        from dicognito.uianonymizer import UIAnonymizer

        self.uid_map = uid_map
        self.dicognito = UIAnonymizer(Randomizer(seed))

    def __call__(self, dataset, element) -> None:
        if element.VM > 1:
            element.value = [self.new_uid(uid) for uid in element.value]
        elif element.value:
            element.value = self.new_uid(element.value)

    def new_uid(self, uid: str) -> str:
        if uid.startswith(DICOM_ROOT):
            return uid
        if uid not in self.uid_map:
            from pydicom.dataelem import DataElement
            from pydicom.dataset import Dataset

            probe = DataElement(0x00080018, "UI", uid)  # a SOPInstanceUID: always remapped
            self.dicognito(Dataset(), probe)
            self.uid_map[uid] = str(probe.value)
        return self.uid_map[uid]


def _record_method(out: Dataset, original: Dataset, method: str, keep: Collection[str]) -> None:
    """Set PatientIdentityRemoved and the method, keeping records of earlier de-identification."""
    from pydicom.dataset import Dataset

    earlier = original.get("DeidentificationMethod") or []
    earlier = [earlier] if isinstance(earlier, str) else list(earlier)
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = [*earlier, method, *(f"kept {keyword}" for keyword in keep)]
    codes = list(out.get("DeidentificationMethodCodeSequence") or [])
    for value, meaning in METHOD_CODES:
        if all(item.get("CodeValue") != value for item in codes):
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            codes.append(item)
    out.DeidentificationMethodCodeSequence = codes
    out.LongitudinalTemporalInformationModified = "MODIFIED"


def _checked_keep(keep: Collection[str]) -> frozenset[str]:
    """``keep`` as a set, after checking each is a Table E.1-1 keyword that is not a UID."""
    keepable = {r.keyword for r in annex_e_table() if r.keyword and r.action != "U"}
    unknown = set(keep) - keepable
    if unknown:
        raise ValueError(
            f"keep must name attributes of PS3.15 Table E.1-1 that are removed, emptied,"
            f" replaced or shifted (not UIDs, which are always remapped); got"
            f" {sorted(unknown)!r}."
        )
    return frozenset(keep)


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


def _name_of(ds: Dataset) -> str:
    """The file ``ds`` was read from, or a description for an in-memory dataset."""
    filename = getattr(ds, "filename", None)
    return filename if isinstance(filename, str) and filename else "the dataset (not from a file)"


def _seed_text(seed: int | str | None) -> str:
    """The seed as text (for dicognito and the date shift); ``None`` gives a fresh random one."""
    return secrets.token_hex(16) if seed is None else str(seed)


def _list_files(src: Path, dst: Path) -> list[Path]:
    """The files to de-identify in ``src``, after checking ``dst`` can be replaced safely."""
    if not src.is_dir():
        raise DatasetNotFoundError(src, "is not a folder.", "Check the path of the series folder.")
    source, target = src.resolve(), dst.resolve()
    if target == source or source in target.parents or target in source.parents:
        raise CourseDataError(
            dst,
            f"is {src} or contains it or lies inside it; replacing it would delete the originals.",
            "Choose a destination folder outside the source folder.",
        )
    files = list_files(src)
    if not files:
        raise SeriesError(src, "holds no files to de-identify.", "Check the folder path.")
    return files


def _read_dicom(path: Path) -> Dataset:
    """``dcmread`` one file; anything but a DICOM image raises `CorruptFileError`."""
    ds = read_dataset(path)
    if "SOPInstanceUID" not in ds:
        raise CorruptFileError(
            path,
            "has no SOPInstanceUID: it is not an image (a DICOMDIR index?).",
            "Remove it from the series folder; rebuild any DICOMDIR after de-identifying.",
        )
    return ds
