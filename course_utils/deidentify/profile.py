"""`anonymize`: one dataset de-identified by the Basic Profile with the Modified Dates option.

A detached copy of the dataset (no file name, a zeroed preamble) has its private tags removed,
Table E.1-1 applied to every element and to the file meta group (`cleaner`), the file meta's
application entity titles removed (PS3.10: they can name the sending site), and what was done
recorded: PatientIdentityRemoved, DeidentificationMethod and the method codes `METHOD_CODES`
in DeidentificationMethodCodeSequence, earlier records kept.
"""

from __future__ import annotations

import copy
import secrets
import warnings
from collections.abc import Collection, MutableMapping
from typing import TYPE_CHECKING, Literal

from ..errors import DeidentificationError
from .annex_e import annex_e_table
from .burned_in import BurnedInAnnotationWarning, _burned_in_unknown
from .cleaner import _Cleaner

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["METHOD_CODES", "DeidentificationError", "anonymize"]

# Application entity titles of the file meta group (PS3.10): they can name the sending site.
FILE_META_REMOVED = {0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102}

# PS3.16 CID 7050 codes recorded in DeidentificationMethodCodeSequence: the basic profile,
# and the option that allows shifted (rather than removed) dates.
METHOD_CODES: tuple[tuple[str, str], ...] = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)


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


def _name_of(ds: Dataset) -> str:
    """The file ``ds`` was read from, or a description for an in-memory dataset."""
    filename = getattr(ds, "filename", None)
    return filename if isinstance(filename, str) and filename else "the dataset (not from a file)"


def _seed_text(seed: int | str | None) -> str:
    """The seed as text (for dicognito and the date shift); ``None`` gives a fresh random one."""
    return secrets.token_hex(16) if seed is None else str(seed)
