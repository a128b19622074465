"""Tests for course_utils.deidentify: PS3.15 Table E.1-1 as data, applied by tag, recursively."""

from __future__ import annotations

import copy
import datetime
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import UID

from course_utils.deidentify import (
    ANNEX_E_EMPTIED,
    ANNEX_E_REMOVED,
    BurnedInAnnotationError,
    BurnedInAnnotationWarning,
    DeidentificationError,
    anonymize,
    anonymize_series,
)
from course_utils.errors import CorruptFileError, CourseDataError, SeriesError

MR_SMALL = get_testdata_file("MR_small.dcm")
CT_SMALL = get_testdata_file("CT_small.dcm")
ROOT = "1.2.826.0.1.3680043.9.7147."  # a made-up organisation root for the originals
STUDY_UID, SERIES_UID, FRAME_UID = ROOT + "1", ROOT + "2", ROOT + "3"
N_SLICES = 5

# Values that identify the patient, the staff or the site: none may survive in any form.
SECRETS = {
    "PatientName": "QUIXOTE^ZEBULON",
    "PatientID": "MRN7741093",
    "OtherPatientIDs": "OLDMRN4455",
    "PatientBirthDate": "19630517",
    "PatientAge": "058Y",
    "PatientWeight": "71.5",
    "InstitutionName": "SAINT ELSEWHERE INFIRMARY",
    "InstitutionAddress": "12 WOBBLE LANE, LOWER SNODSBURY",
    "ReferringPhysicianName": "HOUSEMAN^GREGORIO",
    "PerformingPhysicianName": "CUDDLESWORTH^LISANDRA",
    "OperatorsName": "WORTHINGTON^BERTRAM",
    "AccessionNumber": "ACC99887766",
    "StudyID": "STUDY4242",
    "StationName": "ELSEWHERE3",
    "StudyDescription": "BRAIN MRI FOR ZEBULON",
    "SeriesDescription": "AX T1 QUIXOTE",
    "ImageComments": "Zebulon moved a lot",
    "DeviceSerialNumber": "SN0042XYZ",
    "ProtocolName": "ELSEWHERE BRAIN PROTOCOL",
}
STUDY_DATE = "20240315"
EXTRA_SECRETS = [
    STUDY_DATE,
    "QUIXOTE",
    "ZEBULON",
    "ELSEWHERE",
    "SNODSBURY",
    "CLUNIE1",  # MR_small's SourceApplicationEntityTitle
    "Zebulon's headache",
    "PRIVATE SECRET",
]


def sop_uid(k: int) -> str:
    return f"{ROOT}4.{k}"


def make_slice(k: int) -> Dataset:
    """MR_small.dcm as slice ``k`` of one identifiable series, with private tags and more."""
    ds = pydicom.dcmread(MR_SMALL)
    for keyword, value in SECRETS.items():
        setattr(ds, keyword, value)
    ds.PatientSex = "M"
    ds.BurnedInAnnotation = "NO"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = (
        STUDY_UID,
        SERIES_UID,
        FRAME_UID,
    )
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid(k)
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [-83.9063, -91.2, 6.6406 + 0.8 * k]
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = STUDY_DATE
    ds.StudyTime, ds.SeriesTime, ds.ContentTime = "101500", "102000", f"1030{10 + 7 * k:02d}"
    ds.AcquisitionDateTime = f"202403151031{10 + 7 * k:02d}.250000"
    reference = Dataset()
    reference.ReferencedSOPClassUID = ds.SOPClassUID
    reference.ReferencedSOPInstanceUID = sop_uid((k + 1) % N_SLICES)
    ds.ReferencedImageSequence = [reference]
    request = Dataset()
    request.RequestedProcedureDescription = "Zebulon's headache"
    request.ScheduledProcedureStepID = "SPS-QUIXOTE"
    ds.RequestAttributesSequence = [request]
    block = ds.private_block(0x0029, "COURSE SECRET 1.0", create=True)
    block.add_new(0x01, "LO", "PRIVATE SECRET QUIXOTE")
    block.add_new(0x02, "DA", STUDY_DATE)
    ds.add_new(0x60000010, "US", 64)  # an overlay plane: rows, columns, data
    ds.add_new(0x60000011, "US", 64)
    ds.add_new(0x60003000, "OW", bytes(64 * 64 // 8))
    ds.preamble = b"ZEBULON QUIXOTE".ljust(128, b"\0")
    return ds


@pytest.fixture
def series_dir(tmp_path: Path) -> Path:
    """A folder of 5 identifiable slices of one series, named slice_0.dcm ... slice_4.dcm."""
    folder = tmp_path / "src"
    folder.mkdir()
    for k in range(N_SLICES):
        make_slice(k).save_as(folder / f"slice_{k}.dcm", enforce_file_format=True)
    return folder


@pytest.fixture
def written(series_dir: Path, tmp_path: Path) -> list[Path]:
    return anonymize_series(series_dir, tmp_path / "dst", seed="course")


def all_text(ds: Dataset) -> list[str]:
    """Every element value of ``ds`` and its file meta, nested ones included, as text."""
    texts = []
    for element in [*ds.file_meta.iterall(), *ds.iterall()]:
        if element.tag == 0x7FE00010 or element.VR == "SQ":
            continue
        value = element.value
        texts.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return texts


def as_datetime(date: str, time: str = "") -> datetime.datetime:
    text = (date + time).split(".")[0]
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%S"[: len(text) - 2])


# -- nothing identifying survives --------------------------------------------------------


def test_no_identifying_value_survives_in_any_element(written):
    originals = [STUDY_UID, SERIES_UID, FRAME_UID, *map(sop_uid, range(N_SLICES))]
    for path in written:
        text = "\n".join(all_text(pydicom.dcmread(path))).upper()
        for secret in [*SECRETS.values(), *EXTRA_SECRETS, *originals]:
            assert secret.upper() not in text, (path.name, secret)


def test_no_identifying_bytes_survive_anywhere_in_the_written_file(written):
    for path in written:
        raw = path.read_bytes()
        for secret in ["QUIXOTE", "ZEBULON", "ELSEWHERE", STUDY_DATE, STUDY_UID, "CLUNIE1"]:
            assert secret.encode() not in raw, (path.name, secret)


def test_private_tags_are_removed_from_ct_small():
    original = pydicom.dcmread(CT_SMALL)
    assert any(element.tag.is_private for element in original.iterall())
    with pytest.warns(BurnedInAnnotationWarning):
        out = anonymize(original, seed=1)
    assert not any(element.tag.is_private for element in out.iterall())


def test_annex_e_removals_and_emptied_attributes(written):
    ds = pydicom.dcmread(written[0])
    for keyword in [  # action X in Table E.1-1
        "StudyDescription",
        "SeriesDescription",
        "ImageComments",
        "PatientAge",
        "PatientWeight",
        "InstitutionAddress",
        "RequestAttributesSequence",
        "OtherPatientIDs",
        "PerformingPhysicianName",
    ]:
        assert keyword not in ds, keyword
    assert (0x6000, 0x3000) not in ds  # overlay data (60xx,3000): X
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    for keyword in ["PatientSex", "PatientName", "ReferringPhysicianName", "AccessionNumber"]:
        assert keyword in ds and not ds[keyword].value, keyword  # action Z: present, empty


def test_replaced_attributes_get_new_non_empty_values(written):
    ds = pydicom.dcmread(written[0])
    # D, or compounds that resolve to D (Z/D, X/D, X/Z/D): present, non-empty, not the original
    for keyword in [
        "PatientID",
        "InstitutionName",
        "OperatorsName",
        "StationName",
        "DeviceSerialNumber",
        "ProtocolName",
    ]:
        assert str(ds.data_element(keyword).value), keyword
        assert str(ds.data_element(keyword).value) != SECRETS[keyword]


def test_keep_retains_listed_attributes_and_records_them():
    out = anonymize(make_slice(0), seed=1, keep=("SeriesDescription", "PatientSex"))
    assert out.SeriesDescription == SECRETS["SeriesDescription"]
    assert out.PatientSex == "M"
    assert "StudyDescription" not in out
    assert "kept SeriesDescription" in out.DeidentificationMethod


def test_keep_of_a_uid_or_an_attribute_outside_the_table_is_an_error():
    with pytest.raises(ValueError, match="StudyInstanceUID"):
        anonymize(make_slice(0), seed=1, keep=("StudyInstanceUID",))
    with pytest.raises(ValueError, match="Rows"):
        anonymize(make_slice(0), seed=1, keep=("Rows",))


def test_every_listed_keyword_is_a_dicom_keyword():
    unknown = [kw for kw in ANNEX_E_REMOVED + ANNEX_E_EMPTIED if tag_for_keyword(kw) is None]
    assert unknown == []


# -- what is recorded --------------------------------------------------------------------


def test_output_records_identity_removed_and_method_codes():
    out = anonymize(make_slice(0), seed=1)
    assert out.PatientIdentityRemoved == "YES"
    assert "dicognito" in str(out.DeidentificationMethod)
    codes = {item.CodeValue: item for item in out.DeidentificationMethodCodeSequence}
    assert codes["113100"].CodingSchemeDesignator == "DCM"
    assert codes["113100"].CodeMeaning == "Basic Application Confidentiality Profile"
    assert "113107" in codes  # dates are shifted, not removed
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_earlier_deidentification_records_are_kept():
    ds = make_slice(0)
    ds.DeidentificationMethod = "EARLIER TOOL"
    out = anonymize(ds, seed=1)
    assert out.DeidentificationMethod[0] == "EARLIER TOOL"
    assert len(out.DeidentificationMethod) == 2


# -- UIDs --------------------------------------------------------------------------------


def test_uids_are_valid_and_at_most_64_characters(written):
    for path in written:
        ds = pydicom.dcmread(path)
        uids = [e.value for e in [*ds.file_meta.iterall(), *ds.iterall()] if e.VR == "UI"]
        assert uids
        for uid in uids:
            assert UID(uid).is_valid and len(uid) <= 64, uid


def test_series_stays_one_series_with_distinct_instances(written):
    datasets = [pydicom.dcmread(path) for path in written]
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
    assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == N_SLICES
    for ds in datasets:
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SeriesInstanceUID != SERIES_UID


def test_references_point_at_the_new_uids_of_the_referenced_slices(written):
    datasets = [pydicom.dcmread(path) for path in written]  # in source order: slice 0..4
    for k, ds in enumerate(datasets):
        referenced = ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID
        assert referenced == datasets[(k + 1) % N_SLICES].SOPInstanceUID


def test_standard_uids_are_kept():
    ds = make_slice(0)
    ds.FrameOfReferenceUID = "1.2.840.10008.1.4.1.1"  # a well-known frame (Talairach)
    out = anonymize(ds, seed=1)
    assert out.FrameOfReferenceUID == "1.2.840.10008.1.4.1.1"
    assert out.SOPClassUID == ds.SOPClassUID == out.file_meta.MediaStorageSOPClassUID
    assert out.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    assert out.ReferencedImageSequence[0].ReferencedSOPClassUID == ds.SOPClassUID


def test_shared_uid_map_keeps_uids_consistent_across_calls_and_seeds():
    uid_map: dict[str, str] = {}
    first = anonymize(make_slice(0), seed=1, uid_map=uid_map)
    second = anonymize(make_slice(1), seed=2, uid_map=uid_map)
    assert first.SeriesInstanceUID == second.SeriesInstanceUID == uid_map[SERIES_UID]
    assert uid_map[sop_uid(1)] == second.SOPInstanceUID
    # Without the shared map, another seed gives another UID; the same seed, the same one.
    assert anonymize(make_slice(1), seed=2).SeriesInstanceUID != first.SeriesInstanceUID
    assert anonymize(make_slice(1), seed=1).SeriesInstanceUID == first.SeriesInstanceUID


def test_entries_already_in_the_uid_map_are_used():
    uid_map = {STUDY_UID: "1.2.3.4.5"}
    out = anonymize(make_slice(0), seed=1, uid_map=uid_map)
    assert out.StudyInstanceUID == "1.2.3.4.5"
    assert uid_map[STUDY_UID] == "1.2.3.4.5"


# -- dates and times ---------------------------------------------------------------------


def test_date_time_intervals_survive_across_the_series(written):
    datasets = [pydicom.dcmread(path) for path in written]
    originals = [make_slice(k) for k in range(N_SLICES)]
    offsets = set()
    for old, new in zip(originals, datasets, strict=True):
        for date, time in [("StudyDate", "StudyTime"), ("ContentDate", "ContentTime")]:
            offsets.add(
                as_datetime(new[date].value, new[time].value)
                - as_datetime(old[date].value, old[time].value)
            )
        offsets.add(as_datetime(new.AcquisitionDateTime) - as_datetime(old.AcquisitionDateTime))
        assert new.AcquisitionDateTime.endswith(".250000")
    assert len(offsets) == 1
    (offset,) = offsets
    assert datetime.timedelta(days=-730) <= offset <= datetime.timedelta(days=-62)


def test_birth_date_is_emptied_as_the_table_says(written):
    # Patient's Birth Date: Z, and the Modified Dates option does not clean it
    ds = pydicom.dcmread(written[0])
    assert "PatientBirthDate" in ds and ds.PatientBirthDate == ""


# -- pixels, geometry and the input ------------------------------------------------------

GEOMETRY = [
    "Rows",
    "Columns",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "RescaleSlope",
    "RescaleIntercept",
    "BitsAllocated",
    "PixelRepresentation",
    "PhotometricInterpretation",
]


@pytest.mark.parametrize("path", [MR_SMALL, CT_SMALL], ids=["MR_small", "CT_small"])
def test_pixel_data_and_geometry_are_untouched(path):
    ds = pydicom.dcmread(path)
    ds.BurnedInAnnotation = "NO"
    out = anonymize(ds, seed=1)
    assert out.PixelData == ds.PixelData
    for keyword in GEOMETRY:
        assert out.get(keyword) == ds.get(keyword), keyword


def test_input_dataset_is_unchanged():
    ds = make_slice(0)
    before = copy.deepcopy(ds)
    anonymize(ds, seed=1)
    assert ds == before
    assert ds.file_meta == before.file_meta
    assert ds.preamble == before.preamble
    assert ds.filename == before.filename


def test_output_is_not_tied_to_the_input_file_name():
    out = anonymize(make_slice(0), seed=1)
    assert out.filename is None
    assert out.preamble == bytes(128)


def test_dataset_without_file_meta_gets_one_that_follows_the_new_uid():
    ds = Dataset()
    ds.PatientName, ds.SOPInstanceUID, ds.BurnedInAnnotation = "QUIXOTE^ZEBULON", ROOT + "9", "NO"
    out = anonymize(ds, seed=1)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != ROOT + "9"
    assert not hasattr(ds, "file_meta")


def test_written_files_read_back_with_identical_pixels(written, series_dir):
    for k, path in enumerate(written):
        ds = pydicom.dcmread(path)
        original = pydicom.dcmread(series_dir / f"slice_{k}.dcm")
        np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)
        assert ds.InstanceNumber == k + 1


def test_returned_paths_are_the_files_in_dst_named_by_new_uid(written, tmp_path):
    assert [p.parent for p in written] == [tmp_path / "dst"] * N_SLICES
    assert sorted(written) == sorted((tmp_path / "dst").iterdir())
    for path in written:
        assert path.name == pydicom.dcmread(path).SOPInstanceUID + ".dcm"


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_output_and_another_seed_does_not():
    first, second = anonymize(make_slice(0), seed=7), anonymize(make_slice(0), seed=7)
    assert first == second and first.file_meta == second.file_meta
    assert anonymize(make_slice(0), seed=8).PatientID != first.PatientID


def test_same_seed_writes_byte_identical_series(series_dir, tmp_path):
    one = anonymize_series(series_dir, tmp_path / "one", seed=3)
    two = anonymize_series(series_dir, tmp_path / "two", seed=3)
    assert [p.name for p in one] == [p.name for p in two]
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


def test_no_seed_gives_a_random_but_consistent_series(series_dir, tmp_path):
    one = anonymize_series(series_dir, tmp_path / "one")
    two = anonymize_series(series_dir, tmp_path / "two")
    assert {p.name for p in one}.isdisjoint(p.name for p in two)
    dates = {pydicom.dcmread(path).StudyDate for path in one}
    assert len(dates) == 1


# -- burned-in annotation ----------------------------------------------------------------


def test_burned_in_annotation_yes_is_refused_naming_the_file():
    ds = pydicom.dcmread(MR_SMALL)
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(BurnedInAnnotationError, match=r"MR_small\.dcm.*Fix:") as caught:
        anonymize(ds, seed=1, on_unknown_burned_in="warn")
    assert isinstance(caught.value, CourseDataError)


def test_missing_burned_in_annotation_warns_by_default_and_still_deidentifies():
    ds = pydicom.dcmread(MR_SMALL)
    with pytest.warns(BurnedInAnnotationWarning, match=r"MR_small\.dcm"):
        out = anonymize(ds, seed=1)
    assert out.PatientIdentityRemoved == "YES"


def test_missing_burned_in_annotation_is_refused_on_request():
    with pytest.raises(BurnedInAnnotationError, match="BurnedInAnnotation = 'NO'"):
        anonymize(pydicom.dcmread(MR_SMALL), seed=1, on_unknown_burned_in="raise")


def test_burned_in_annotation_no_passes_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anonymize(make_slice(0), seed=1, on_unknown_burned_in="raise")


def test_unknown_burned_in_policy_is_an_error():
    with pytest.raises(ValueError, match="on_unknown_burned_in"):
        anonymize(make_slice(0), seed=1, on_unknown_burned_in="ignore")


def test_series_with_missing_burned_in_annotation_warns_once(series_dir, tmp_path):
    for k in (1, 3):
        ds = pydicom.dcmread(series_dir / f"slice_{k}.dcm")
        del ds.BurnedInAnnotation
        ds.save_as(series_dir / f"slice_{k}.dcm")
    with pytest.warns(BurnedInAnnotationWarning, match="2 of 5 files") as record:
        anonymize_series(series_dir, tmp_path / "dst", seed=1)
    assert len([w for w in record if w.category is BurnedInAnnotationWarning]) == 1


def test_series_with_a_burned_in_slice_is_refused_and_nothing_is_written(series_dir, tmp_path):
    ds = pydicom.dcmread(series_dir / "slice_2.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.save_as(series_dir / "slice_2.dcm")
    with pytest.raises(BurnedInAnnotationError, match="slice_2.dcm"):
        anonymize_series(series_dir, tmp_path / "dst", seed=1)
    assert not (tmp_path / "dst").exists()


# -- failures leave nothing half-written -------------------------------------------------


def test_non_dicom_file_raises_and_leaves_no_destination(series_dir, tmp_path):
    (series_dir / "notes.txt").write_text("scanned on Tuesday")
    with pytest.raises(CorruptFileError, match=r"notes\.txt.*not a readable DICOM.*Fix:"):
        anonymize_series(series_dir, tmp_path / "dst", seed=1)
    assert not (tmp_path / "dst").exists()
    assert not list(tmp_path.glob(".partial-*"))


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
def test_failure_while_writing_removes_the_partial_folder(series_dir, tmp_path):
    ds = pydicom.dcmread(series_dir / "slice_4.dcm")
    ds.ContentDate = "2024-03-15"  # not YYYYMMDD: it cannot be shifted
    ds.save_as(series_dir / "slice_4.dcm")
    with pytest.raises(DeidentificationError, match="slice_4.dcm"):
        anonymize_series(series_dir, tmp_path / "dst", seed=1)
    assert not (tmp_path / "dst").exists()
    assert not list(tmp_path.glob(".partial-*"))


def test_failed_run_leaves_an_existing_destination_untouched(series_dir, tmp_path):
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "previous.dcm").write_bytes(b"previous run")
    (series_dir / "notes.txt").write_text("not DICOM")
    with pytest.raises(CorruptFileError):
        anonymize_series(series_dir, tmp_path / "dst", seed=1)
    assert [p.name for p in (tmp_path / "dst").iterdir()] == ["previous.dcm"]


def test_hidden_files_are_skipped(series_dir, tmp_path):
    (series_dir / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert len(anonymize_series(series_dir, tmp_path / "dst", seed=1)) == N_SLICES


def test_file_without_sop_instance_uid_is_refused(series_dir, tmp_path):
    ds = pydicom.dcmread(series_dir / "slice_0.dcm")
    del ds.SOPInstanceUID
    ds.save_as(series_dir / "index.dcm")
    with pytest.raises(CorruptFileError, match="index.dcm.*no SOPInstanceUID"):
        anonymize_series(series_dir, tmp_path / "dst", seed=1)


def test_duplicate_instances_are_refused(series_dir, tmp_path):
    (series_dir / "slice_9.dcm").write_bytes((series_dir / "slice_0.dcm").read_bytes())
    with pytest.raises(SeriesError, match="slice_9.dcm"):
        anonymize_series(series_dir, tmp_path / "dst", seed=1)
    assert not (tmp_path / "dst").exists()


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_destination_overlapping_the_source_is_refused(series_dir, where):
    dst = {"same": series_dir, "inside": series_dir / "out", "parent": series_dir.parent}[where]
    with pytest.raises(CourseDataError, match="outside the source folder"):
        anonymize_series(series_dir, dst, seed=1)
    assert len(list(series_dir.glob("slice_*.dcm"))) == N_SLICES


def test_empty_source_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SeriesError, match="no files"):
        anonymize_series(tmp_path / "empty", tmp_path / "dst", seed=1)


def test_series_fills_and_honours_the_callers_uid_map(series_dir, tmp_path):
    uid_map = {STUDY_UID: "1.2.3.4.5"}
    written = anonymize_series(series_dir, tmp_path / "dst", seed=1, uid_map=uid_map)
    ds = pydicom.dcmread(written[0])
    assert ds.StudyInstanceUID == "1.2.3.4.5"
    assert uid_map[SERIES_UID] == ds.SeriesInstanceUID
    assert {uid_map[sop_uid(k)] + ".dcm" for k in range(N_SLICES)} == {p.name for p in written}


# -- Table E.1-1 as data, one test per action class -----------------------------------------


def test_the_table_is_ps3_15_table_e1_1_with_its_row_counts():
    from course_utils.deidentify import annex_e_table

    rules = annex_e_table()
    assert len(rules) == 621  # DICOM 2024b
    counts = {}
    for rule in rules:
        counts[rule.basic] = counts.get(rule.basic, 0) + 1
    assert counts == {
        "X": 384,
        "D": 92,
        "U": 54,
        "Z": 42,
        "X/D": 22,
        "X/Z": 11,
        "X/Z/D": 8,
        "Z/D": 6,
        "X/Z/U*": 2,
    }
    assert sum(rule.modified_dates == "C" for rule in rules) == 165
    by_tag = {rule.tag: rule for rule in rules}
    # rows checked by hand against the standard's text
    assert (by_tag["(0008,1070)"].name, by_tag["(0008,1070)"].basic) == (
        "Operators' Name",
        "X/Z/D",
    )
    assert (by_tag["(0008,0201)"].basic, by_tag["(0008,0201)"].modified_dates) == ("X", "C")
    assert (by_tag["(0010,0030)"].basic, by_tag["(0010,0030)"].modified_dates) == ("Z", "")
    assert by_tag["(0008,1140)"].basic == "X/Z/U*"
    for rule in rules:
        if rule.keyword:
            assert tag_for_keyword(rule.keyword) == int(rule.tag[1:5] + rule.tag[6:10], 16)


def identified(**elements) -> Dataset:
    """MR_small with BurnedInAnnotation NO and ``elements`` set (keyword=value or (VR, value))."""
    ds = pydicom.dcmread(MR_SMALL)
    ds.BurnedInAnnotation = "NO"
    for keyword, value in elements.items():
        if isinstance(value, tuple):
            ds.add_new(tag_for_keyword(keyword), *value)
        else:
            setattr(ds, keyword, value)
    return ds


def test_action_x_removes_at_every_nesting_level():
    item = Dataset()
    item.PatientComments = "lives at 12 Wobble Lane"
    inner = Dataset()
    inner.PatientComments = "deeper secret"
    item.ReferencedStudySequence = [inner]  # X/Z -> Z on the sequence, X inside would not run
    ds = identified(PatientComments="comment", OtherPatientIDsSequence=[copy.deepcopy(item)])
    ds.ContributingEquipmentSequence = [item]  # not in the table: kept, cleaned inside
    out = anonymize(ds, seed=1)
    assert "PatientComments" not in out and "OtherPatientIDsSequence" not in out
    assert "PatientComments" not in out.ContributingEquipmentSequence[0]
    assert len(out.ContributingEquipmentSequence[0].ReferencedStudySequence) == 0


def test_action_z_empties_and_keeps_the_attribute():
    out = anonymize(identified(AccessionNumber="ACC123456", PatientName="DOE^JANE"), seed=1)
    assert out.AccessionNumber == "" and str(out.PatientName) == ""


def test_action_d_replaces_by_attribute_not_by_vr():
    # Measured before: Operators' Name stored with VR LO survived (replacement went by VR).
    ds = identified(OperatorsName=("LO", "TECHNICIAN^TERESA"), StationName="SCANNER-ROOM-7")
    out = anonymize(ds, seed=1)
    assert out["OperatorsName"].VR == "LO" and out.OperatorsName
    assert "TERESA" not in str(out.OperatorsName) and "ROOM-7" not in out.StationName
    as_pn = anonymize(identified(OperatorsName="TECHNICIAN^TERESA"), seed=1)
    assert as_pn["OperatorsName"].VR == "PN" and "TERESA" not in str(as_pn.OperatorsName)


def test_action_u_remaps_uids_inside_sequences_consistently_across_a_batch():
    source = identified()
    seg = identified(Modality="SEG")
    seg.SOPInstanceUID = ROOT + "77"
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.SOPClassUID
    reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    series = Dataset()
    series.SeriesInstanceUID = source.SeriesInstanceUID
    series.ReferencedInstanceSequence = [reference]
    seg.ReferencedSeriesSequence = [series]
    uid_map: dict[str, str] = {}
    new_source = anonymize(source, seed=4, uid_map=uid_map)
    new_seg = anonymize(seg, seed=4, uid_map=uid_map)
    referenced = new_seg.ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID == new_source.SeriesInstanceUID != source.SeriesInstanceUID
    assert (
        referenced.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
        == new_source.SOPInstanceUID
    )
    assert referenced.ReferencedInstanceSequence[0].ReferencedSOPClassUID == source.SOPClassUID


def test_action_c_shifts_a_date_and_its_time_together():
    out = anonymize(identified(SeriesDate="20240315", SeriesTime="235930.5"), seed=2)
    before = as_datetime("20240315", "235930")
    after = as_datetime(out.SeriesDate, out.SeriesTime.split(".")[0])
    shift = after - before
    assert datetime.timedelta(days=-730) <= shift <= datetime.timedelta(days=-62)
    assert out.SeriesTime.endswith(".5")  # precision kept
    lone = anonymize(identified(SeriesDate="20240315"), seed=2)  # no time: moved from 00:00
    assert lone.SeriesDate == (as_datetime("20240315") + shift).strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("elements", "time_keyword"),
    [
        ({"ContentDate": "", "ContentTime": "093015"}, "ContentTime"),
        ({"SeriesTime": "141516"}, "SeriesTime"),
    ],
    ids=["empty-date", "absent-date"],
)
def test_a_time_whose_date_is_empty_or_absent_is_emptied(elements, time_keyword):
    # Measured before: ContentTime with an empty date and SeriesTime without one were kept.
    ds = identified(**elements)
    if "SeriesTime" in elements:
        del ds.SeriesDate
    out = anonymize(ds, seed=1)
    assert time_keyword in out and out[time_keyword].value == ""


def test_timezone_offset_from_utc_is_removed():
    # Measured before: kept. Its action is X; the Modified Dates option's C cannot shift it.
    out = anonymize(identified(TimezoneOffsetFromUTC="+0100"), seed=1)
    assert "TimezoneOffsetFromUTC" not in out


def test_date_times_keep_precision_fraction_and_offset():
    out = anonymize(identified(AcquisitionDateTime="20240315103010.25+0100"), seed=3)
    assert len(out.AcquisitionDateTime) == len("20240315103010.25+0100")
    assert out.AcquisitionDateTime.endswith(".25+0100")
    short = anonymize(identified(AcquisitionDateTime="202403"), seed=3)
    assert len(short.AcquisitionDateTime) == 6 and short.AcquisitionDateTime != "202403"


def test_curves_and_overlay_data_are_removed_but_overlay_geometry_is_not_in_the_table():
    ds = identified()
    ds.add_new(0x50000010, "US", 1)  # Curve Dimensions: (50xx,xxxx) X
    ds.add_new(0x60004000, "LT", "overlay by DR ZEBULON")  # Overlay Comments: X
    out = anonymize(ds, seed=1)
    assert 0x50000010 not in out and 0x60004000 not in out


# -- the public PHI corpus: pydicom/deid's test data (deid-data) -----------------------------

deid_data = pytest.importorskip("deid_data")
DEID_ROOT = Path(deid_data.__file__).parent / "data"
DEID_FILES = sorted(p for p in DEID_ROOT.rglob("*") if p.suffix in (".dcm", ".zip"))
TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM"}
TEXT_VRS |= {"UC", "UI", "UR", "UT"}


def read_corpus_file(path: Path) -> Dataset:
    """A deid-data file (its zipped cines unzipped in memory)."""
    if path.suffix == ".zip":
        import io
        import zipfile

        with zipfile.ZipFile(path) as archive:
            (name,) = archive.namelist()
            return pydicom.dcmread(io.BytesIO(archive.read(name)))
    return pydicom.dcmread(path)


def table_values(ds: Dataset) -> set[str]:
    """Every value of >= 4 characters held by an attribute of Table E.1-1, at any depth.

    Private attributes count (their row is (gggg,eeee), action X); standard UIDs
    (1.2.840.10008...) are kept by design and left out.
    """
    from course_utils.deidentify import action_for

    values = set()
    for dataset in (ds.file_meta, ds):
        for element in dataset.iterall():
            if not (element.tag.is_private or action_for(element.tag)):
                continue
            raw = element.value
            if element.VR == "UN" and isinstance(raw, bytes):
                text = raw.decode("latin-1")
                raw = text if text.isprintable() else None
            elif element.VR not in TEXT_VRS or raw is None:
                continue
            for value in raw if isinstance(raw, (list, pydicom.multival.MultiValue)) else [raw]:
                value = str(value).strip(" \x00")
                if len(value) >= 4 and not value.startswith("1.2.840.10008."):
                    values.add(value)
    return values


CODED_ENTRY = {"CodeValue", "CodingSchemeDesignator", "CodeMeaning"}


def coded_text(ds: Dataset) -> set[str]:
    """The code values and meanings of coded entries (Procedure Code Sequence...) in ``ds``.

    Table E.1-1 does not list these sequences, so the basic profile keeps them: a study
    described as "CT BRAIN WO IVCON" keeps that code meaning even though its (removed)
    StudyDescription held the same words. They are the only allowed repeats.
    """
    return {str(e.value).strip() for e in ds.iterall() if e.keyword in CODED_ENTRY and e.value}


@pytest.fixture(scope="module")
def deid_corpus(tmp_path_factory):
    """Each deid-data file de-identified in one batch (one seed, one uid_map), written out.

    Files whose BurnedInAnnotation is YES are refused (checked first), then de-identified
    as if their pixels had been cleaned, so that their headers are checked too.
    """
    folder = tmp_path_factory.mktemp("deid")
    uid_map: dict[str, str] = {}
    results = {}
    for k, path in enumerate(DEID_FILES):
        original = read_corpus_file(path)
        refused = False
        if str(original.get("BurnedInAnnotation", "")).upper() == "YES":
            with pytest.raises(BurnedInAnnotationError):
                anonymize(original, seed="corpus", uid_map=uid_map)
            refused = True
            original.BurnedInAnnotation = "NO"  # as if the pixels had been cleaned
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BurnedInAnnotationWarning)
            out = anonymize(original, seed="corpus", uid_map=uid_map)
        target = folder / f"out{k}.dcm"
        out.save_as(target, enforce_file_format=True)
        results[path.name] = (original, target, refused)
    return results


def test_the_corpus_is_deid_datas_files():
    names = {p.name for p in DEID_FILES}
    assert len(DEID_FILES) == 15 and {"cat.dcm", "ctbrain1.dcm", "RGB_CINE.zip"} <= names


@pytest.mark.parametrize("name", [p.name for p in DEID_FILES])
def test_no_original_value_of_a_table_attribute_survives_in_the_output_bytes(deid_corpus, name):
    # Measured before: 9 values of 4 attributes leaked (Operators' Name as LO, times whose
    # date is empty or absent, Timezone Offset From UTC).
    original, written, _ = deid_corpus[name]
    raw = written.read_bytes()
    out = pydicom.dcmread(written)
    pixels = out.PixelData if "PixelData" in out else b""
    assert pixels == original.PixelData  # identical, so the search may skip it
    start = raw.find(pixels) if pixels else len(raw)
    header_bytes = raw[:start] + raw[start + len(pixels) :]
    coded = coded_text(out)
    found = {v for v in table_values(original) if v.encode("latin-1", "replace") in header_bytes}
    assert sorted(found - coded) == []
    assert len(found & coded) <= 1  # at most one procedure name, kept as a code meaning


@pytest.mark.parametrize("name", [p.name for p in DEID_FILES])
def test_corpus_outputs_read_back_with_pixels_and_geometry_byte_identical(deid_corpus, name):
    original, written, refused = deid_corpus[name]
    out = pydicom.dcmread(written)
    assert out.PatientIdentityRemoved == "YES"
    assert out.SOPInstanceUID != original.SOPInstanceUID
    for keyword in [*GEOMETRY, "PixelData", "NumberOfFrames", "SamplesPerPixel"]:
        if keyword in original:
            assert out[keyword].value == original[keyword].value, keyword
    assert (
        out.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    )  # same encoding: pixel bytes need no re-encoding
    assert not any(element.tag.is_private for element in out.iterall())


def test_action_d_on_a_sequence_replaces_the_free_text_it_holds():
    item = Dataset()
    item.TextValue = "Seen by Dr Zebulon Quixote"  # not in Table E.1-1 itself
    item.ValueType = "TEXT"
    item.PersonName = "QUIXOTE^ZEBULON"  # D in the table
    out = anonymize(identified(ContentSequence=[item]), seed=1)  # Content Sequence: D
    (cleaned,) = out.ContentSequence
    assert "Zebulon" not in cleaned.TextValue and cleaned.TextValue
    assert "QUIXOTE" not in str(cleaned.PersonName)
    assert cleaned.ValueType == "TEXT"  # coded structure (CS) is kept
