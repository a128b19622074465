"""De-identification of DICOM headers after PS3.15 Annex E, built on dicognito.

`dicognito <https://github.com/blairconrad/dicognito>`_ does the replacing: every
instance UID is remapped, dates and date-times are shifted back by one offset (62 to
730 days, in whole hours), names become plausible fake names, IDs become random-looking
IDs and the institution a made-up clinic. Everything it makes is a pure function of a
*seed* and the original value (an MD5 hash of the two), so one seed gives the same fake
name, ID, UID and date offset in every file and on every machine.

This module adds what dicognito leaves out of the Basic Application Level
Confidentiality Profile (PS3.15 E.1): private tags are removed; so are the attributes in
`ANNEX_E_REMOVED` (free text, descriptions, patient characteristics, device identity,
icons, original-attributes sequences) and the overlay (60xx) and curve (50xx) groups;
those in `ANNEX_E_EMPTIED` are emptied; the 128-byte file preamble is zeroed; standard
UIDs (under the DICOM root ``1.2.840.10008``) are kept; PatientIdentityRemoved,
DeidentificationMethod(CodeSequence) and LongitudinalTemporalInformationModified record
what was done; and a file whose pixels may carry burned-in text is refused or warned
about. Pixel data and geometry are never touched: cleaning the pixels themselves (Annex
E's Clean Pixel Data option) is not done here.

Used by notebook 02 ("DICOM in depth").
"""

from __future__ import annotations

import copy
import os
import secrets
import warnings
from collections.abc import Collection, MutableMapping
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
    "DeidentificationError",
    "BurnedInAnnotationError",
    "BurnedInAnnotationWarning",
    "anonymize",
    "anonymize_series",
]

# Keywords of PS3.15 Table E.1-1 whose basic-profile action is X (remove) and that dicognito
# leaves in place, plus the application entity titles of the file meta group (PS3.10), which
# can name the sending site. Removed at every nesting level unless listed in `keep`.
ANNEX_E_REMOVED: tuple[str, ...] = tuple(
    """
    AcquisitionComments AcquisitionDeviceProcessingDescription AcquisitionProtocolDescription
    ActualHumanPerformersSequence AdditionalPatientHistory AdmissionID
    AdmittingDiagnosesCodeSequence AdmittingDiagnosesDescription Allergies Arbitrary
    AuthorObserverSequence CommentsOnThePerformedProcedureStep CustodialOrganizationSequence
    DerivationDescription DetectorID DeviceSerialNumber DigitalSignaturesSequence
    DischargeDiagnosisDescription DistributionAddress EthnicGroup FrameComments GantryID
    GeneratorID IconImageSequence IdentifyingComments ImageComments ImagePresentationComments
    ImagingServiceRequestComments InstitutionAddress InsurancePlanIdentification
    IntendedRecipientsOfResultsIdentificationSequence InterpretationApproverSequence
    InterpretationAuthor InterpretationDiagnosisDescription InterpretationIDIssuer
    InterpretationRecorder InterpretationText InterpretationTranscriber IssuerOfAdmissionID
    IssuerOfPatientIDQualifiersSequence MACParametersSequence MedicalAlerts
    ModifiedAttributesSequence ModifyingDeviceID ModifyingDeviceManufacturer
    OperatorIdentificationSequence OrderCallbackPhoneNumber OrderEnteredBy OrderEntererLocation
    OriginalAttributesSequence OtherPatientIDsSequence ParticipantSequence PatientAge
    PatientBirthTime PatientComments PatientInstitutionResidence
    PatientPrimaryLanguageCodeSequence PatientPrimaryLanguageModifierCodeSequence
    PatientSexNeutered PatientSize PatientState PatientTransportArrangements PatientWeight
    PerformedLocation PerformedProcedureStepDescription PerformingPhysicianIdentificationSequence
    PersonAddress PersonIdentificationCodeSequence PersonTelephoneNumbers
    PhysiciansOfRecordIdentificationSequence PhysiciansReadingStudyIdentificationSequence
    PlateID PregnancyStatus ProtocolName ReasonForStudy ReasonForTheImagingServiceRequest
    ReasonForTheRequestedProcedure ReferencedDigitalSignatureSequence
    ReferencedPatientAliasSequence ReferencedPatientSequence ReferencedSOPInstanceMACSequence
    ReferringPhysicianAddress ReferringPhysicianIdentificationSequence
    ReferringPhysicianTelephoneNumbers RequestAttributesSequence RequestedContrastAgent
    RequestedProcedureComments RequestedProcedureDescription RequestedProcedureLocation
    ResultsComments ResultsID ResultsIDIssuer ScheduledHumanPerformersSequence
    ScheduledPatientInstitutionResidence ScheduledPerformingPhysicianIdentificationSequence
    ScheduledProcedureStepDescription ScheduledProcedureStepLocation SeriesDescription
    ServiceEpisodeDescription ServiceEpisodeID SmokingStatus SoftwareVersions SpecialNeeds
    StudyComments StudyDescription StudyIDIssuer TextComments TextString TopicAuthor
    TopicKeywords TopicSubject TopicTitle VerifyingOrganization VisitComments
    SourceApplicationEntityTitle SendingApplicationEntityTitle ReceivingApplicationEntityTitle
    PrivateInformationCreatorUID PrivateInformation
    """.split()
)
# Action Z (empty the value) on a Type 2 attribute that dicognito keeps.
ANNEX_E_EMPTIED: tuple[str, ...] = ("PatientSex",)

# PS3.16 CID 7050 codes recorded in DeidentificationMethodCodeSequence: the basic profile,
# and the option that allows shifted (rather than removed) dates.
METHOD_CODES: tuple[tuple[str, str], ...] = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)
DICOM_ROOT = "1.2.840.10008."  # standard UIDs (SOP classes, transfer syntaxes, ...): kept


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
    """Return a de-identified copy of ``ds`` (PS3.15 E.1 basic profile, dates shifted).

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
        Keywords from `ANNEX_E_REMOVED` or `ANNEX_E_EMPTIED` to retain (Annex E's Retain
        and Clean Descriptors options, e.g. ``("SeriesDescription",)`` after checking that
        it names no one); each is recorded in DeidentificationMethod.
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
        If dicognito cannot read a value (a date not in ``YYYYMMDD`` form, say).

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
    >>> str(out.PatientName), out.StudyDate, out.PatientIdentityRemoved
    ('PALMER^JOSEPHINE^KERRI', '20040203', 'YES')
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
    _checked_lists(keep)
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
    from dicognito import __version__ as dicognito_version
    from dicognito.anonymizer import Anonymizer

    removed, emptied = _checked_lists(keep)
    out = _detached_copy(ds)
    out.remove_private_tags()
    anonymizer = Anonymizer(seed=seed)
    anonymizer.add_element_handler(_MappedUIDs(seed, uid_map))
    try:
        anonymizer.anonymize(out)
    except ValueError as error:
        raise DeidentificationError(
            where,
            f"dicognito could not process it: {error}",
            "Correct or delete the malformed element with pydicom (dates are YYYYMMDD).",
        ) from error
    for dataset in (out, out.file_meta):
        dataset.walk(lambda parent, element: _apply_annex_e(parent, element, removed, emptied))
    if "SOPInstanceUID" in out:
        out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    _record_method(out, ds, f"PS3.15 E.1 basic profile; dicognito {dicognito_version}", keep)
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
        out.file_meta = FileMetaDataset()  # dicognito walks it
    return out


class _MappedUIDs:
    """A dicognito element handler that remaps instance UIDs through a shared ``uid_map``.

    Registered ahead of dicognito's own handlers, it claims every UI element. Class UIDs,
    the transfer syntax and standard UIDs (under ``1.2.840.10008``) are kept; any other UID
    is looked up in ``uid_map`` and, if new, mapped by dicognito's ``UIAnonymizer`` with
    the same seed and recorded.
    """

    def __init__(self, seed: str, uid_map: MutableMapping[str, str]) -> None:
        from dicognito.randomizer import Randomizer
        from dicognito.uianonymizer import UIAnonymizer

        self.uid_map = uid_map
        self.dicognito = UIAnonymizer(Randomizer(seed))

    def __call__(self, dataset, element) -> bool:
        if element.VR != "UI":
            return False
        if element.keyword.endswith("ClassUID") or element.keyword == "TransferSyntaxUID":
            return True
        if element.VM > 1:
            element.value = [self.new_uid(uid) for uid in element.value]
        elif element.value:
            element.value = self.new_uid(element.value)
        return True

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

    def describe_actions(self):
        yield "Replace instance UIDs through the shared uid_map (dicognito's mapping if new)"


def _apply_annex_e(dataset, element, removed: frozenset[str], emptied: frozenset[str]) -> None:
    """`Dataset.walk` callback: remove or empty one element as Annex E asks."""
    group = element.tag.group
    overlay_or_curve = group & 0xFF00 in (0x5000, 0x6000) and group & 0xFF <= 0x1E
    if element.keyword in removed or (overlay_or_curve and group % 2 == 0):
        del dataset[element.tag]
    elif element.keyword in emptied:
        element.value = None


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


def _checked_lists(keep: Collection[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The keywords to remove and to empty once ``keep`` is taken out; unknown ones raise."""
    unknown = set(keep) - set(ANNEX_E_REMOVED) - set(ANNEX_E_EMPTIED)
    if unknown:
        raise ValueError(
            f"keep must be a collection of keywords from ANNEX_E_REMOVED or ANNEX_E_EMPTIED;"
            f" got {keep!r}. Other attributes are replaced, not removed, and cannot be kept."
        )
    return frozenset(ANNEX_E_REMOVED) - set(keep), frozenset(ANNEX_E_EMPTIED) - set(keep)


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
    """dicognito's seed string; ``None`` gives a fresh random one."""
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
