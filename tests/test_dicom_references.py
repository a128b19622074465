"""`load_volume` against dcm2niix on every real DICOM file and series shipped offline.

The corpus: pydicom's test files (``pydicom/data/test_files``, with its ``dicomdirtests``
series folders), ``pydicom-data`` (``data_store/data``), ``deid-data`` (its zipped cines
unzipped) and nibabel's DICOM test data (``nibabel/nicom/tests/data``; the ``0.dcm`` and
``1.dcm`` in ``nibabel/tests/data`` are byte-identical copies, counted once). For each,
`load_volume` either

- agrees with dcm2niix (run once per file, ``-p n``, into a temporary folder): the same
  shape once both are reoriented to the closest RAS axes, the 8 corner voxel centres within
  0.05 mm, and the same values after rescale (colour as RGB samples); or
- refuses with a `CourseDataError` subclass whose message names the file and the reason
  below.

Refusals (fnmatch patterns over ``source/relative path``):

===============================  ================  ============================================
files                            error             reason
===============================  ================  ============================================
pydicom/SC_*, pydicom/JPEG*,     GeometryError     no ImagePositionPatient/Orientation (secondary
pydicom/JPG*, pydicom/GDCMJ2K*,                    capture, ultrasound, radiographs, photos):
pydicom/examples_[jpry]*,                          nothing places the pixels in the patient
pydicom/ExplVR_BigEnd.dcm,
pydicom/image_dfl.dcm,
pydicom-data/SC_*, pydicom-data/US1_*,
pydicom-data/OBXXXX1A*, pydicom-data/RG[13]_*,
pydicom-data/JPEG*, pydicom-data/JPG*,
pydicom-data/color*, pydicom-data/gdcm-US-*,
pydicom-data/[mv]lut_*,
deid-data/*/image*.dcm, deid-data/*/cat.dcm,
deid-data/ultrasounds/*
pydicom-data/emri_small*         GeometryError     enhanced MR with no functional groups at all
pydicom/meta_missing_tsyntax.dcm, GeometryError    header-parsing test files with pixels but no
pydicom/nested_priv_SQ.dcm                         geometry
pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm
                                 CorruptFileError  no pixel data: the file stops before it
pydicom/reportsi*,               CorruptFileError  no pixel data: SR, RT Plan, waveform, and
pydicom/rtplan*,                                   header-parsing test files (dcm2niix writes
pydicom/test-SR.dcm,                               nothing either)
pydicom/waveform_ecg.dcm,
nibabel/csa_slice_norm.dcm,
pydicom/UN_sequence.dcm,
pydicom/empty_charset_LEI.dcm,
pydicom/priv_SQ.dcm,
pydicom/no_meta_group_length.dcm
pydicom/*NoMeta.dcm,             CorruptFileError  no preamble/``DICM`` (not a Part 10 file)
pydicom/no_meta.dcm,
pydicom/rtstruct.dcm,
pydicom-data/OT-PAL-8-face.dcm
pydicom/MR_truncated.dcm         CorruptFileError  pixel data shorter than Rows x Columns
pydicom/badVR.dcm                CorruptFileError  NumberOfFrames is '1A'
nibabel/[01].dcm                 UnsupportedFormat Siemens mosaic of 48 slices whose 256x256
                                 Error             pixels are not a 7x7 grid (a shrunk test
                                                   copy); dcm2niix named in the fix
pydicom-series/*/CR[123]         SeriesError       radiographs: no position in the patient
pydicom-series/*/CT2             SeriesError       uneven spacing (202.5 mm gap; dcm2niix splits
                                                   it into two volumes and warns)
pydicom-series/*/CT2N,           SeriesError       slices at another orientation (localiser);
pydicom-series/*/MR700                             dcm2niix writes 1 and 7 volumes
pydicom-series/*/MR[12]          SeriesError       3 series in one folder (listed with UIDs)
pydicom-series/TINY_ALPHA/*      CorruptFileError  tiny files without pixel data
===============================  ================  ============================================

Agreements with a documented difference (each checked against its own reference):

- ``rtdose*.dcm`` (15 frames): dcm2niix ignores GridFrameOffsetVector and writes 1 mm
  slices; ours are 5 mm apart as the offsets say (and as SimpleITK reads them, see
  ``test_io``). In-plane geometry and values are compared with dcm2niix, the slice step
  with the offsets.
- ``J2K_pixelrep_mismatch.dcm``: PixelRepresentation says signed 13-bit, the JPEG 2000
  stream says unsigned; pydicom follows the DICOM header (-2000..1896, CT-like), dcm2niix
  the stream (0..8191). Equal once dcm2niix's values are read as 13-bit two's complement.
- Colour YBR files decoded from JPEG (``ctbrain*.dcm``, a colour CT): YBR->RGB conversion
  differs by at most 1 between decoders. Their RescaleIntercept (-1024) is not applied to
  colour samples: the Modality LUT is for greyscale only (dcm2niix agrees).
- ``slicethickness_empty_string.dcm``: dcm2niix writes nothing (empty SliceThickness);
  compared with pydicom's pixel array and its ImagePositionPatient/Orientation instead.

Every case runs dcm2niix only when `load_volume` succeeds; the whole module takes about
half a minute on 2 cores (most of it decoding the large radiographs and cines).
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import shutil
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from conftest import corners_mm

from course_utils import io
from course_utils.errors import (
    CorruptFileError,
    CourseDataError,
    GeometryError,
    SeriesError,
    UnsupportedFormatError,
)

pytest.importorskip("data_store", reason="pydicom-data is a test dependency")
pytest.importorskip("deid_data", reason="deid-data is a test dependency")

import data_store  # noqa: E402  (after the skips)
import deid_data  # noqa: E402

ROOTS = {
    "pydicom": Path(pydicom.__file__).parent / "data" / "test_files",
    "pydicom-data": Path(data_store.__file__).parent / "data",
    "deid-data": Path(deid_data.__file__).parent / "data",
    "nibabel": Path(nib.__file__).parent / "nicom" / "tests" / "data",
}
NIBABEL_COPIES = Path(nib.__file__).parent / "tests" / "data"
SERIES_ROOT = ROOTS["pydicom"] / "dicomdirtests"

NO_GEOMETRY = "has no ImagePositionPatient/ImageOrientationPatient"
NO_PIXELS = "has no pixel data"
NOT_PART10 = "not a readable DICOM file.*DICM"
REFUSALS: list[tuple[str, type, str]] = [  # the first matching row applies
    ("pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm", CorruptFileError, NO_PIXELS),
    *(
        (pattern, GeometryError, NO_GEOMETRY)
        for pattern in (
            "pydicom/SC_*",
            "pydicom/JPEG*",
            "pydicom/JPG*",
            "pydicom/GDCMJ2K*",
            "pydicom/examples_[jpry]*",
            "pydicom/ExplVR_BigEnd.dcm",
            "pydicom/image_dfl.dcm",
            "pydicom-data/SC_*",
            "pydicom-data/US1_*",
            "pydicom-data/OBXXXX1A*",
            "pydicom-data/RG[13]_*",
            "pydicom-data/JPEG*",
            "pydicom-data/JPG*",
            "pydicom-data/color*",
            "pydicom-data/gdcm-US-*",
            "pydicom-data/[mv]lut_*",
            "deid-data/*/image*.dcm",
            "deid-data/*/cat.dcm",
            "deid-data/ultrasounds/*",
            "pydicom-data/emri_small*",
            "pydicom/meta_missing_tsyntax.dcm",
            "pydicom/nested_priv_SQ.dcm",
        )
    ),
    *(
        (pattern, CorruptFileError, NO_PIXELS)
        for pattern in (
            "pydicom/reportsi*",
            "pydicom/rtplan*",
            "pydicom/test-SR.dcm",
            "pydicom/waveform_ecg.dcm",
            "nibabel/csa_slice_norm.dcm",
            "pydicom/UN_sequence.dcm",
            "pydicom/empty_charset_LEI.dcm",
            "pydicom/priv_SQ.dcm",
            "pydicom/no_meta_group_length.dcm",
        )
    ),
    *(
        (pattern, CorruptFileError, NOT_PART10)
        for pattern in (
            "pydicom/*NoMeta.dcm",
            "pydicom/no_meta.dcm",
            "pydicom/rtstruct.dcm",
            "pydicom-data/OT-PAL-8-face.dcm",
        )
    ),
    ("pydicom/MR_truncated.dcm", CorruptFileError, "pixel data is truncated"),
    ("pydicom/badVR.dcm", CorruptFileError, "header value is malformed.*'1A'"),
    ("nibabel/[01].dcm", UnsupportedFormatError, "mosaic of 48 slices.*dcm2niix"),
    ("pydicom-series/*/CR[123]", SeriesError, NO_GEOMETRY),
    ("pydicom-series/*/CT2", SeriesError, "spacing is uneven: 202.500 mm"),
    ("pydicom-series/*/CT2N", SeriesError, "oriented differently"),
    ("pydicom-series/*/MR700", SeriesError, "oriented differently"),
    ("pydicom-series/*/MR[12]", SeriesError, "holds 3 series"),
    ("pydicom-series/TINY_ALPHA/*", SeriesError, NO_PIXELS),
]


def discover() -> list[tuple[str, Path]]:
    """``(id, path)`` of every DICOM file and series folder in the corpus."""
    cases, seen = [], set()
    suffixes = (".dcm", ".gz", ".zip")
    for source, root in ROOTS.items():
        for path in sorted(root.rglob("*")):
            if not path.is_file() or not path.name.endswith(suffixes):
                continue
            if SERIES_ROOT in path.parents or path.name.endswith((".bin.gz", ".txt")):
                continue
            if path.suffix == ".gz" and source == "pydicom" and path.name != "zipMR.gz":
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                cases.append((f"{source}/{path.relative_to(root)}", path))
    for folder in sorted({p.parent for p in SERIES_ROOT.rglob("*") if p.is_file()}):
        names = {p.name for p in folder.iterdir() if p.is_file()}
        has_subfolders = any(p.is_dir() for p in folder.iterdir())
        if names and not has_subfolders and not any(n.startswith("DICOMDIR") for n in names):
            cases.append((f"pydicom-series/{folder.relative_to(SERIES_ROOT)}", folder))
    return cases


CASES = discover()


def expected_refusal(case_id: str):
    """``(error class, reason pattern)`` if ``case_id`` is in the refusal table, else None."""
    for pattern, error, reason in REFUSALS:
        if fnmatch.fnmatch(case_id, pattern):
            return error, reason
    return None


def materialise(path: Path, tmp_path: Path) -> Path:
    """The file itself, or its gzip/zip content written to ``tmp_path``."""
    if path.suffix == ".gz":
        target = tmp_path / path.name.removesuffix(".gz")
        target.write_bytes(gzip.open(path).read())
        return target
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            (name,) = archive.namelist()
            target = tmp_path / Path(name).name
            target.write_bytes(archive.read(name))
        return target
    return path


def as_canonical(image: nib.Nifti1Image) -> tuple[nib.Nifti1Image, np.ndarray]:
    """``(image reoriented to the closest RAS axes, its values as float64)``; RGB24 -> (..., 3)."""
    if image.get_data_dtype().names:  # dcm2niix's RGB24
        raw = np.asanyarray(image.dataobj.get_unscaled())
        values = np.stack([raw[name] for name in raw.dtype.names], axis=-1).astype(np.float64)
    else:
        values = np.asanyarray(image.dataobj).astype(np.float64)
    if values.ndim == 4 and values.shape[3] == 1:
        values = values[..., 0]
    canonical = nib.as_closest_canonical(nib.Nifti1Image(values, image.affine))
    return canonical, np.asanyarray(canonical.dataobj)


def test_the_corpus_is_complete_and_every_refusal_row_is_used():
    assert len(CASES) >= 170
    ids = [case_id for case_id, _ in CASES]
    for pattern, _, _ in REFUSALS:
        assert any(fnmatch.fnmatch(i, pattern) for i in ids), f"no case matches {pattern}"
        assert pattern in __doc__, f"{pattern} is missing from the docstring's table"


@pytest.mark.parametrize(("case_id", "source"), CASES, ids=[case_id for case_id, _ in CASES])
def test_load_volume_agrees_with_dcm2niix_or_refuses_with_a_reason(
    case_id, source, tmp_path, dcm2niix
):
    path = materialise(source, tmp_path)
    refusal = expected_refusal(case_id)
    if refusal is not None:
        error, reason = refusal
        with pytest.raises(error, match=reason) as info:
            io.load_volume(path)
        assert isinstance(info.value, CourseDataError)
        assert str(path) in str(info.value) and "Fix:" in str(info.value)
        return
    image = io.load_volume(path)
    if case_id == "nibabel/slicethickness_empty_string.dcm":
        check_against_pydicom(image, path)
        return
    references = dcm2niix(path)
    assert references, f"dcm2niix wrote nothing for {case_id}"
    ours, our_values = as_canonical(image)
    theirs, their_values = as_canonical(references[0])  # the image, before any overlay/ROI
    assert ours.shape == theirs.shape
    if Path(case_id).name.startswith("rtdose") and image.shape[2] > 1:
        check_rtdose(image, references[0], path)
    else:
        assert np.abs(corners_mm(ours) - corners_mm(theirs)).max() <= 0.05
    if case_id == "pydicom/J2K_pixelrep_mismatch.dcm":
        their_values = np.where(their_values >= 4096, their_values - 8192, their_values)
    tolerance = 1.0 if "ctbrain" in case_id else 0.0  # YBR -> RGB rounding of two decoders
    np.testing.assert_allclose(our_values, their_values, rtol=1e-5, atol=tolerance)


def check_rtdose(image: nib.Nifti1Image, reference: nib.Nifti1Image, path: Path) -> None:
    """In-plane geometry as dcm2niix's, slice step as GridFrameOffsetVector says."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    offsets = np.asarray(ds.GridFrameOffsetVector, dtype=np.float64)
    ours, theirs = image.affine, reference.affine
    np.testing.assert_allclose(np.abs(ours[:3, 0]), np.abs(theirs[:3, 0]), atol=1e-4)
    np.testing.assert_allclose(np.abs(ours[:3, 1]), np.abs(theirs[:3, 1]), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(ours[:3, 2]), offsets[1] - offsets[0], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(theirs[:3, 2]), 1.0, atol=1e-4)  # dcm2niix's


def check_against_pydicom(image: nib.Nifti1Image, path: Path) -> None:
    """Values and the first voxel's position straight from pydicom."""
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array.T * float(ds.get("RescaleSlope", 1) or 1) + float(
        ds.get("RescaleIntercept", 0) or 0
    )
    np.testing.assert_allclose(np.asarray(image.dataobj)[:, :, 0], expected)
    position_lps = np.append(np.asarray(ds.ImagePositionPatient, dtype=np.float64), 1.0)
    np.testing.assert_allclose(image.affine[:3, 3], (io.LPS_TO_RAS @ position_lps)[:3], atol=1e-4)


def test_copies_in_nibabels_tests_folder_are_the_nicom_files():
    for name in ("0.dcm", "1.dcm"):
        copy, original = NIBABEL_COPIES / name, ROOTS["nibabel"] / name
        assert copy.read_bytes() == original.read_bytes()


def test_dcm2niix_binary_is_the_wheels(dcm2niix, tmp_path):
    # the fixture skips without the binary; a real run on MR_small must give one image
    shutil.copy(ROOTS["pydicom"] / "MR_small.dcm", tmp_path / "mr.dcm")
    (reference,) = dcm2niix(tmp_path / "mr.dcm")
    assert reference.shape[:2] == (64, 64)
