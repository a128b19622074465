"""The checks behind every exercise: ``check_<name>(fn)`` runs a learner's function on small
cases and prints a tick, or what was expected, what came back and a hint.

An exercise in a notebook has three cells (see CONTRIBUTING.md):

1. a stub: the function with its docstring, ``...`` blanks and
   ``raise NotImplementedError("Student exercise: ...")``, raised before any blank runs;
2. the solution: the same function completed, in a cell tagged ``solution`` (removed from
   the student version);
3. the check: ``name = exercises.check_<name>(name)``.

A check never raises, and it returns the function the rest of the notebook should use: the
learner's once it passes every case, until then the course's own version (its name printed
under the feedback). So a student notebook runs top to bottom with its exercises left undone,
and the cells after an exercise never stop at a ``NotImplementedError``. The course's versions
are the library functions the notebooks meet later (``registration.ncc``,
``metrics.dice_score``, ...) or, where the library has none, the functions at the end of this
module. `run_cases` gives the pass/fail verdict to code.

Used by notebook 00 onwards; each check names the notebook it belongs to.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Case",
    "check",
    "run_cases",
    "course_version",
    "check_tumour_volume",
    "check_format_sniffer",
    "check_corner_distance",
    "check_slice_order",
    "check_find_leaks",
    "check_voxel_to_world",
    "check_world_to_voxel",
    "check_zscore",
    "check_brats_regions",
    "check_axis_origins",
    "check_stitch_mean",
    "check_ncc",
    "check_translation_registration",
    "check_soft_dice",
    "check_dice_score",
    "check_threshold_baseline",
    # the course's versions of exercises the library has no function for
    "whole_tumour_volume_cm3",
    "sniff_format",
    "corner_distance_mm",
    "slice_order",
    "find_leaks",
    "world_to_voxel",
    "zscore_brain",
    "brats_regions",
    "register_translation",
    "stitch_mean",
    "soft_dice_loss",
]

#: Tolerances of `same`: relative and absolute.
RTOL, ATOL = 1e-6, 1e-9


@dataclass(frozen=True)
class Case:
    """One test case: call with ``args``, expect ``expected``; ``hint`` is shown on failure."""

    description: str
    args: tuple
    expected: Any
    hint: str = ""
    kwargs: dict = field(default_factory=dict)


def plain(value: Any) -> Any:
    """A torch tensor as a (detached, CPU) NumPy array; anything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def numeric(value: Any) -> np.ndarray | None:
    """``value`` as a numeric (bool, int or float) array, or ``None`` if it isn't one."""
    try:
        array = np.asarray(plain(value))
    except (TypeError, ValueError):  # ragged lists
        return None
    return array if array.dtype.kind in "biuf" else None


def same(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether ``got`` matches ``expected``: numbers, arrays and tensors to a tolerance (shapes
    must agree), anything else by ``==``."""
    got_array, expected_array = numeric(got), numeric(expected)
    if got_array is not None and expected_array is not None:
        return got_array.shape == expected_array.shape and bool(
            np.allclose(got_array, expected_array, rtol=rtol, atol=atol)
        )
    try:
        return bool(got == expected)
    except (TypeError, ValueError):  # an array compared with a list of strings
        return False


def number_text(value: float, digits: int | None = 6) -> str:
    """One number: ``digits`` significant digits, or (``None``) the shortest exact text.

    Examples
    --------
    >>> number_text(0.651300013), number_text(0.651300013, None), number_text(float("nan"))
    ('0.6513', '0.651300013', 'NaN')
    """
    value = float(value)
    if np.isnan(value):
        return "NaN"
    return repr(value) if digits is None else f"{value:.{digits}g}"


def array_text(array: np.ndarray, digits: int | None = 6) -> str:
    """A small numeric array as a (nested) list, floats by `number_text`."""
    if array.dtype.kind != "f":
        return repr(array.tolist())
    if array.ndim == 0:
        return number_text(array, digits)
    return np.array2string(
        array,
        separator=", ",
        max_line_width=10**6,
        formatter={"float_kind": lambda value: number_text(value, digits)},
    )


def distinct_texts(expected: np.ndarray, got: np.ndarray) -> tuple[str, str]:
    """``expected`` and ``got`` as text, with enough digits to show that they differ."""
    texts = array_text(expected), array_text(got)
    if texts[0] == texts[1]:
        texts = array_text(expected, None), array_text(got, None)
    return texts


def short(value: Any) -> str:
    """A one-line description of a value for feedback messages."""
    array = numeric(value)
    if array is not None and array.size > 6:
        return f"array of shape {array.shape}, dtype {array.dtype}"
    if array is not None:
        return array_text(array)
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def difference(got: Any, expected: Any) -> str:
    """How ``got`` differs from ``expected``, in one line: values with enough digits to tell
    them apart, the shapes when they differ, NaN named as NaN."""
    got_array, expected_array = numeric(got), numeric(expected)
    if got_array is None or expected_array is None:
        expected_text, got_text = short(expected), short(got)
        if got is None:
            got_text += " (does the function `return` its result?)"
        elif expected_text == got_text:
            got_text += f" (a {type(got).__name__}, not a {type(expected).__name__})"
        return f"expected {expected_text}, got {got_text}"
    if got_array.shape != expected_array.shape:
        text = f"expected shape {expected_array.shape}, got shape {got_array.shape}"
        if max(got_array.size, expected_array.size) <= 6:
            text += f": expected {array_text(expected_array)}, got {array_text(got_array)}"
        return text
    if got_array.size <= 6:
        expected_text, got_text = distinct_texts(expected_array, got_array)
        return f"expected {expected_text}, got {got_text}"
    got_float, expected_float = got_array.astype(float), expected_array.astype(float)
    nan = np.isnan(got_float) & ~np.isnan(expected_float)
    if nan.any():
        first = tuple(int(i) for i in np.argwhere(nan)[0])
        return (
            f"got NaN at {int(nan.sum())} of {nan.size} places (a 0 / 0?), the first at index "
            f"{first}, where {number_text(expected_float[first])} was expected"
        )
    wrong = ~np.isclose(got_float, expected_float, rtol=RTOL, atol=ATOL)
    error = np.abs(got_float - expected_float)
    where = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape))
    expected_text, got_text = distinct_texts(expected_array[where], got_array[where])
    return (
        f"values differ at {int(wrong.sum())} of {error.size} places, most at index {where}: "
        f"expected {expected_text}, got {got_text}"
    )


def snapshot(args: tuple) -> list[tuple[int, np.ndarray]]:
    """Copies of the array and tensor arguments, to tell whether a function changed them."""
    return [
        (i, np.array(plain(a), copy=True)) for i, a in enumerate(args) if numeric(a) is not None
    ]


def changed_argument(args: tuple, copies: list[tuple[int, np.ndarray]]) -> int | None:
    """The (1-based) position of the first array argument that differs from its copy."""
    for position, copy in copies:
        if not np.array_equal(np.asarray(plain(args[position])), copy, equal_nan=True):
            return position + 1
    return None


def course_version(reference: Callable) -> str:
    """The importable name of a course function, as a check's feedback shows it.

    Examples
    --------
    >>> course_version(slice_order)
    'course_utils.exercises.slice_order'
    """
    return f"{reference.__module__}.{reference.__qualname__}"


def check(
    name: str,
    function: Callable,
    cases: Sequence[Case],
    reference: Callable,
    run: Callable | None = None,
) -> Callable:
    """Run ``function`` on every case, print one tick or feedback for each failing case, and
    return the function later cells should use: ``function`` if it passed, else ``reference``.

    ``run`` (default ``function``) is what the cases call, for checks that wrap the learner's
    function (to time it, differentiate it, or compare it to a tolerance).
    """
    passed, feedback = run_cases(name, function if run is None else run, cases)
    if not passed:
        feedback += (
            "\n  Until yours passes, the cells below use the course's version, "
            f"{course_version(reference)}."
        )
    print(feedback)
    return function if passed else reference


def run_cases(name: str, function: Callable, cases: Sequence[Case]) -> tuple[bool, str]:
    """``(passed, feedback)`` of ``function`` on ``cases``: the work behind `check`."""
    failures = []
    for case in cases:
        copies = snapshot(case.args)
        try:
            got = function(*case.args, **case.kwargs)
        except NotImplementedError:
            return False, (
                f"✘ {name}: not done yet. Fill in the blanks (...), delete the "
                "`raise NotImplementedError(...)` line and run this cell again."
            )
        except Exception as error:  # the learner's code may raise anything
            message = f"  {case.description}: raised {type(error).__name__}: {error}"
        else:
            changed = changed_argument(case.args, copies)
            if changed is not None:
                message = (
                    f"  {case.description}: changed its argument {changed} in place, the "
                    "caller's data; work on a copy (or build a new array) instead"
                )
            elif same(got, case.expected):
                continue
            else:
                message = f"  {case.description}: {difference(got, case.expected)}"
        failures.append(message + (f"\n    hint: {case.hint}" if case.hint else ""))
    if failures:
        header = f"✘ {name}: {len(failures)} of {len(cases)} cases failed"
        return False, "\n".join([header, *failures])
    return True, f"✔ {name}: all {len(cases)} cases passed"


def labelled_volume(shape, counts: dict[int, int]) -> np.ndarray:
    """A uint8 volume of ``shape`` with ``counts[label]`` voxels of each label, scattered."""
    values = np.zeros(int(np.prod(shape)), dtype=np.uint8)
    start = 0
    for label, count in counts.items():
        values[start : start + count] = label
        start += count
    return np.random.default_rng(0).permutation(values).reshape(shape)


def check_tumour_volume(function: Callable) -> Callable:
    """Notebook 00: ``function(seg, voxel_size_mm)`` returns the whole-tumour volume in cm^3.

    ``seg`` holds BraTS labels 0/1/2/4; ``voxel_size_mm`` is ``(dx, dy, dz)`` in mm. Returns
    the function later cells use (see `check`).
    """
    unit_hint = "1 cm^3 is 1000 mm^3, and a voxel's volume is dx * dy * dz."
    label_hint = (
        "The whole tumour is every non-zero label (1, 2 and 4): count voxels "
        "(np.count_nonzero), don't add up their label values."
    )
    cases = [
        Case("no tumour", (np.zeros((4, 4, 4), np.uint8), (1.0, 1.0, 1.0)), 0.0),
        Case(
            "1000 oedema voxels of 1 mm^3",
            (labelled_volume((20, 10, 10), {2: 1000}), (1.0, 1.0, 1.0)),
            1.0,
            unit_hint,
        ),
        Case(
            "10 voxels of each label, 2 mm isotropic",
            (labelled_volume((6, 6, 6), {1: 10, 2: 10, 4: 10}), (2.0, 2.0, 2.0)),
            0.24,
            label_hint,
        ),
        Case(
            "200 enhancing voxels of 1 x 1 x 5 mm",
            (labelled_volume((10, 10, 5), {4: 200}), (1.0, 1.0, 5.0)),
            1.0,
            unit_hint + " Voxels need not be cubes.",
        ),
    ]
    return check("whole_tumour_volume_cm3", function, cases, whole_tumour_volume_cm3)


def check_format_sniffer(function: Callable) -> Callable:
    """Notebook 01: ``function(head)`` names a file's format from its first 352 bytes.

    Expected answers: ``"DICOM"``, ``"NIfTI-1"``, ``"NIfTI-2"``, ``"Analyze"``, ``"NRRD"``,
    ``"MINC-1"``, ``"MINC-2"``, ``"gzip"`` or ``"unknown"``. The cases are real files
    shipped with pydicom and nibabel, both byte orders of NIfTI-1, the pair forms of NIfTI-1
    and -2, and an Analyze header of each byte order (nibabel ships only a big-endian one; the
    little-endian one is written by nibabel here). Returns the function later cells use.
    """
    import gzip

    import nibabel as nib

    from .paths import sample_file

    def head(key: str, unzip: bool = False) -> bytes:
        data = sample_file(key).read_bytes()
        return (gzip.decompress(data) if unzip else data)[:352]

    def beside(key: str, name: str) -> bytes:
        return (sample_file(key).parent / name).read_bytes()[:352]

    little_analyze = nib.AnalyzeHeader(endianness="<").binaryblock
    analyze_hint = (
        "Analyze has no magic: its header starts with the number 348, in either byte order "
        "(5c 01 00 00 little-endian, 00 00 01 5c big-endian). Test it after the NIfTI magics."
    )
    nifti1_hint = (
        "NIfTI-1's magic is at byte 344: 'n+1\\0' in a .nii, 'ni1\\0' in a .hdr/.img pair. "
        "A NIfTI-1 header starts with 348 too, so test the magic before Analyze's 348."
    )
    nifti2_hint = "NIfTI-2's magic is at byte 4: 'n+2\\0' in a .nii, 'ni2\\0' in a pair."
    cases = [
        Case(
            "MR_small.dcm",
            (head("dicom_mr"),),
            "DICOM",
            "'DICM' sits at bytes 128-131; compare bytes with bytes (b'DICM').",
        ),
        Case("anatomical.nii (big-endian)", (head("nifti1"),), "NIfTI-1", nifti1_hint),
        Case(
            "functional.nii (little-endian)",
            (beside("nifti1", "functional.nii"),),
            "NIfTI-1",
            nifti1_hint,
        ),
        Case(
            "nifti1.hdr of a .hdr/.img pair",
            (beside("nifti1", "nifti1.hdr"),),
            "NIfTI-1",
            nifti1_hint,
        ),
        Case(
            "example_nifti2.nii.gz, unzipped",
            (head("nifti2", unzip=True),),
            "NIfTI-2",
            nifti2_hint,
        ),
        Case(
            "nifti2.hdr of a NIfTI-2 pair",
            (beside("nifti1", "nifti2.hdr"),),
            "NIfTI-2",
            nifti2_hint,
        ),
        Case("analyze.hdr (big-endian)", (head("analyze_header"),), "Analyze", analyze_hint),
        Case(
            "an Analyze header written little-endian by nibabel",
            (little_analyze,),
            "Analyze",
            analyze_hint,
        ),
        Case("tiny.mnc", (head("minc1"),), "MINC-1", "MINC-1 is netCDF: it starts 'CDF'."),
        Case("small.mnc", (head("minc2"),), "MINC-2", "MINC-2 is HDF5: it starts '\\x89HDF'."),
        Case(
            "a NRRD file",
            (b"NRRD0004\n# Complete NRRD file format specification\n",),
            "NRRD",
            "NRRD files start with 'NRRD'.",
        ),
        Case(
            "example_nifti2.nii.gz, as stored",
            (head("nifti2"),),
            "gzip",
            "Compressed files start with the gzip bytes 1f 8b; the sniffer names the wrapper, "
            "the loader unzips it.",
        ),
        Case(
            "random bytes",
            (bytes(range(256)) + bytes(96),),
            "unknown",
            "Anything that matches no test is 'unknown'.",
        ),
    ]
    return check("sniff_format", function, cases, sniff_format)


def check_corner_distance(function: Callable) -> Callable:
    """Notebook 01: ``function(affine_a, affine_b, shape)`` is the largest distance (mm)
    between where the two affines put the volume's eight corner voxels. Returns the function
    later cells use."""
    shift = np.eye(4)
    shift[:3, 3] = (3.0, 4.0, 0.0)
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip[0, 3] = 9.0
    swap = np.eye(4)[[1, 0, 2, 3]]  # rows and columns exchanged: i runs along y, j along x
    hint = "Corners are voxel indices 0 and n-1 on each axis; world = affine @ [i, j, k, 1]."
    cases = [
        Case("the same affine", (np.eye(4), np.eye(4), (5, 5, 5)), 0.0),
        Case(
            "shifted by (3, 4, 0) mm",
            (np.eye(4), shift, (5, 5, 5)),
            5.0,
            hint + " Keep the 1: it is what applies the translation; distance = Euclidean norm.",
        ),
        Case("x axis flipped, 10 voxels", (np.eye(4), flip, (10, 5, 5)), 9.0, hint),
        Case(
            "slices 1 mm vs 2 mm apart", (np.eye(4), np.diag([1.0, 1, 2, 1]), (4, 4, 4)), 3.0, hint
        ),
        Case(
            "rows and columns swapped, 5 x 5 x 3 voxels",
            (np.eye(4), swap, (5, 5, 3)),
            4.0 * np.sqrt(2.0),
            "All eight corners: here the diagonal corners (0, 0, 0) and (4, 4, 2) stay put, "
            "but (4, 0, 0) lands on (0, 4, 0).",
        ),
    ]
    return check("corner_distance_mm", function, cases, corner_distance_mm)


def check_slice_order(function: Callable) -> Callable:
    """Notebook 02: ``function(positions, orientation)`` returns the indices that sort
    slices along the normal of their plane (ImagePositionPatient projected on it). Returns
    the function later cells use."""
    axial = (1.0, 0, 0, 0, 1.0, 0)
    tilt = np.deg2rad(20)
    oblique = (1.0, 0, 0, 0, np.cos(tilt), np.sin(tilt))
    normal = np.cross(oblique[:3], oblique[3:])
    # Slices 5, 0, 7.5 and 2.5 mm along the normal, shifted within their planes so that
    # sorting by the z coordinate alone gives a different (wrong) order.
    oblique_positions = np.outer([2, 0, 3, 1], normal * 2.5) + np.outer(
        [0, 10, -10, 0], oblique[3:]
    )
    hint = (
        "Project each position on the normal, np.cross(row direction, column direction), "
        "and return the indices that sort the projections (np.argsort), not the ranks."
    )
    cases = [
        Case(
            "axial, shuffled",
            (np.array([[0, 0, 6.0], [0, 0, 0], [0, 0, 3]]), axial),
            [1, 2, 0],
            hint,
        ),
        Case(
            "axial, positions with different x/y (a shifted table)",
            (np.array([[5, 1, 2.0], [0, 0, 1], [-3, 2, 0]]), axial),
            [2, 1, 0],
            hint,
        ),
        Case(
            "oblique stack tilted by 20 degrees",
            (oblique_positions, oblique),
            [1, 3, 0, 2],
            hint + " Sorting by z works for axial stacks only.",
        ),
        Case(
            "sagittal (normal along x)",
            (np.array([[4.0, 0, 0], [-2, 0, 0], [1, 0, 0]]), (0, 1.0, 0, 0, 0, -1.0)),
            [0, 2, 1],
            "Here the normal points towards -x: sort along it, not along x (and cross the row "
            "direction with the column direction, in that order).",
        ),
    ]
    return check("slice_order", function, cases, slice_order)


def check_find_leaks(function: Callable) -> Callable:
    """Notebook 02: ``function(ds, secrets)`` lists (sorted) the keywords of the top-level
    elements whose value contains any of the ``secrets`` strings, ignoring case; a private
    element (no keyword) is named by its tag, ``str(element.tag)``, and a sequence leaks when
    any of its items does (``str`` of a sequence includes its items). Returns the function
    later cells use."""
    from pydicom import Dataset, Sequence

    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "12345"
    ds.OtherPatientIDs = "A-12345-B"
    ds.ReferringPhysicianName = "DOE^JOHN"
    ds.InstitutionName = "St Elsewhere"
    ds.StudyDescription = "MRI brain"
    ds.Rows = 12345
    clean = Dataset()
    clean.PatientName = "Anonymous"
    clean.Modality = "MR"
    nested = Dataset()
    nested.Modality = "MR"
    other_id = Dataset()
    other_id.PatientID = "A-12345-B"
    other_id.IssuerOfPatientID = "St Elsewhere"
    nested.OtherPatientIDsSequence = Sequence([other_id])
    private = Dataset()
    private.Modality = "MR"
    block = private.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "scanned for Jane Doe")
    case_hint = "Lower-case both sides: str(element.value).lower() and secret.lower()."
    cases = [
        Case(
            "names and IDs",
            (ds, ["doe", "12345"]),
            ["OtherPatientIDs", "PatientID", "PatientName", "ReferringPhysicianName", "Rows"],
            case_hint + " Numbers leak too (Rows); return element.keyword, sorted.",
        ),
        Case(
            "an institution, secret in capitals",
            (ds, ["ELSEWHERE"]),
            ["InstitutionName"],
            case_hint,
        ),
        Case("nothing to find", (clean, ["doe", "12345"]), []),
        Case(
            "a secret inside a sequence",
            (nested, ["a-12345"]),
            ["OtherPatientIDsSequence"],
            "A sequence (VR SQ) is one element of ds, and str(element.value) includes its "
            "items: don't skip it.",
        ),
        Case(
            "a secret in a private element",
            (private, ["jane"]),
            ["(0009,1001)"],
            "A private element has no keyword (''): name it by str(element.tag) instead.",
        ),
    ]
    return check("find_leaks", function, cases, find_leaks)


OBLIQUE = np.array(
    [[0.0, -2.0, 0.0, 90.0], [1.5, 0.0, 0.0, -126.0], [0.0, 0.0, 3.0, -72.0], [0, 0, 0, 1]]
)


def check_voxel_to_world(function: Callable) -> Callable:
    """Notebook 03: ``function(affine, ijk)`` maps voxel indices ``(N, 3)`` to world mm.
    Returns the function later cells use."""
    from nibabel.affines import apply_affine

    points = np.array([[0, 0, 0], [1, 2, 3], [10, 0, 5], [2, 1, 0]])
    hint = "Append a 1 to each index: world = (affine @ [i, j, k, 1])[:3], one row per point."
    cases = [
        Case("identity, 4 points", (np.eye(4), points), points.astype(float), hint),
        Case("2 mm voxels", (np.diag([2.0, 2, 2, 1]), points), 2.0 * points, hint),
        Case(
            "oblique with an origin",
            (OBLIQUE, points),
            np.array([[90, -126, -72], [86, -124.5, -63], [90, -111, -57.0], [88, -123, -72]]),
            hint + " The last column is the origin: affine[:3, :3] alone drops it.",
        ),
        Case(
            "one fractional index (a tumour centre)",
            (OBLIQUE, [[0.5, 1.5, 2.0]]),
            np.array([[87.0, -125.25, -66.0]]),
            "Indices may be fractional: keep them as floats (np.asarray(ijk, dtype=float)), "
            "and accept a list as well as an array.",
        ),
    ]
    return check("voxel_to_world", function, cases, apply_affine)


def check_world_to_voxel(function: Callable) -> Callable:
    """Notebook 03: ``function(affine, xyz)`` maps world mm ``(N, 3)`` to (float) voxel indices.
    Returns the function later cells use."""
    world = np.array([[90, -126, -72], [86, -124.5, -63], [89, -125.25, -70.5]])
    hint = (
        "Use the inverse affine: np.linalg.inv(affine) @ [x, y, z, 1] (affine.T inverts only "
        "a pure rotation, 1 / affine nothing), and don't round the result."
    )
    cases = [
        Case("identity", (np.eye(4), world), world.astype(float), hint),
        Case(
            "oblique with an origin",
            (OBLIQUE, world),
            np.array([[0, 0, 0], [1, 2, 3], [0.5, 0.5, 0.5]]),
            hint,
        ),
    ]
    return check("world_to_voxel", function, cases, world_to_voxel)


def check_axis_origins(function: Callable) -> Callable:
    """Notebook 06: ``function(size, patch, stride)`` lists where patches start along one
    axis so that they cover every voxel, the last one ending exactly at the border. Returns
    the function later cells use."""
    from .patches import axis_origins

    hint = "Start every `stride` voxels; if the last patch stops short, add one at size - patch."
    cases = [
        Case("size 8, patch 4, stride 4 (fits exactly)", (8, 4, 4), [0, 4], hint),
        Case("size 10, patch 4, stride 4 (last moved back)", (10, 4, 4), [0, 4, 6], hint),
        Case("size 10, patch 4, stride 3", (10, 4, 3), [0, 3, 6], hint),
        Case("size 9, patch 4, stride 2", (9, 4, 2), [0, 2, 4, 5], hint),
        Case(
            "size 4, patch 4, stride 2 (one patch)",
            (4, 4, 2),
            [0],
            "A patch that already ends at the border needs no second one.",
        ),
        Case(
            "size 3, patch 4, stride 2 (volume smaller than the patch)",
            (3, 4, 2),
            [0],
            "A volume smaller than the patch gets one patch at 0 (padded later).",
        ),
    ]
    return check("axis_origins", function, cases, axis_origins)


def check_stitch_mean(function: Callable) -> Callable:
    """Notebook 06: ``function(patches, origins, shape)`` averages overlapping patches back
    into a volume: ``patches`` ``(N, C, p, p, p)``, ``origins`` ``(N, 3)``, result
    ``(C, *shape)``. Returns the function later cells use."""
    rng = np.random.default_rng(6)
    volume = rng.normal(size=(2, 6, 5, 7))
    patch = 4
    starts = [[0, 2], [0, 1], [0, 3]]  # covers 6, 5 and 7 voxels, with overlaps
    origins = np.array([(d, h, w) for d in starts[0] for h in starts[1] for w in starts[2]])
    patches = np.stack(
        [volume[:, d : d + patch, h : h + patch, w : w + patch] for d, h, w in origins]
    )
    ones = np.ones((2, 1, 2, 2, 2))
    threes = 3 * np.ones((1, 1, 2, 2, 2))
    overlapping = np.concatenate([ones[:1], threes])
    expected_overlap = np.zeros((1, 3, 2, 2))
    expected_overlap[:, :2] = 1.0
    expected_overlap[:, 1:] += 3.0
    expected_overlap[:, 1] = 2.0
    cases = [
        Case(
            "patches cut from a volume give the volume back",
            (patches, origins, (6, 5, 7)),
            volume,
            "Add each patch into a total, count how many patches cover each voxel, divide; "
            "the patch size is patches.shape[2] (axis 1 holds the channels).",
        ),
        Case(
            "a patch of 1s and a patch of 3s overlapping by one slice",
            (overlapping, np.array([[0, 0, 0], [1, 0, 0]]), (3, 2, 2)),
            expected_overlap,
            "Add (+=), don't overwrite: in the overlap the mean of 1 and 3 is 2; elsewhere "
            "each patch alone. Divide by the count per voxel, not by the number of patches.",
        ),
    ]
    return check("stitch_mean", function, cases, stitch_mean)


def check_zscore(function: Callable) -> Callable:
    """Notebook 04: ``function(channel)`` z-scores one channel ``(D, H, W)`` over its non-zero
    voxels (the brain) and leaves the background at 0. Returns the function later cells use."""
    ramp = np.zeros((2, 2, 3))
    ramp[0, 0] = [2.0, 4.0, 6.0]
    expected_ramp = np.zeros((2, 2, 3))
    expected_ramp[0, 0] = [-np.sqrt(1.5), 0.0, np.sqrt(1.5)]
    flat = np.zeros((2, 2, 2))
    flat[1] = 5.0
    signed = np.zeros((2, 2, 3))
    signed[0, 0] = [-2.0, 0.0, 2.0]  # the 0 is background: only -2 and 2 are brain
    expected_signed = np.zeros((2, 2, 3))
    expected_signed[0, 0] = [-1.0, 0.0, 1.0]
    hint = (
        "Compute mean and std over the non-zero voxels only, (x - mean) / std there, and keep "
        "the background 0; np.std's default (ddof=0) is the one."
    )
    cases = [
        Case("brain voxels 2, 4, 6 and background 0", (ramp,), expected_ramp, hint),
        Case(
            "the same values in another scanner's units (x 100 + 50 inside the brain)",
            (np.where(ramp != 0, ramp * 100 + 50, 0.0),),
            expected_ramp,
            "A z-score does not care about the scanner's units: scale and offset cancel, as "
            "long as the background stays out of the statistics.",
        ),
        Case(
            "a brain with negative values (-2 and 2)",
            (signed,),
            expected_signed,
            "The brain is every non-zero voxel (channel != 0), negative ones too.",
        ),
        Case(
            "a constant brain (std 0)",
            (flat,),
            np.zeros((2, 2, 2)),
            "With a zero standard deviation, return zeros rather than dividing by 0.",
        ),
    ]
    return check("zscore_brain", function, cases, zscore_brain)


def check_brats_regions(function: Callable) -> Callable:
    """Notebook 04: ``function(seg)`` turns BraTS labels 0/1/2/4 ``(D, H, W)`` into the
    evaluation regions ``(3, D, H, W)``: whole tumour, tumour core, enhancing tumour. Returns
    the function later cells use."""
    seg = np.array([0, 1, 2, 4]).reshape(1, 1, 4)
    expected = np.array([[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=float).reshape(
        3, 1, 1, 4
    )
    hint = (
        "The regions are nested, not one label each: WT = labels 1, 2 and 4; TC = 1 and 4; "
        "ET = 4 (BraTS 2021 has no label 3). Stack them on a new first axis."
    )
    cases = [
        Case("one voxel of each label", (seg,), expected, hint),
        Case("background only", (np.zeros((2, 2, 2), int),), np.zeros((3, 2, 2, 2)), hint),
        Case(
            "oedema only (label 2)",
            (np.full((1, 2, 2), 2),),
            np.stack([np.ones((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 2, 2))]),
            hint,
        ),
    ]
    return check("brats_regions", function, cases, brats_regions)


def check_ncc(function: Callable) -> Callable:
    """Notebook 05: ``function(a, b)`` is the global normalised cross-correlation of two
    same-shape torch tensors, a scalar tensor in [-1, 1] that autograd can differentiate.
    Returns the function later cells use."""
    import torch

    from .registration import ncc

    def run(a, b, gradient=False):
        a = torch.tensor(a, dtype=torch.float32)
        b = torch.tensor(b, dtype=torch.float32, requires_grad=gradient)
        value = function(a, b)
        if not gradient:
            return round(float(value), 4)
        value.backward()
        return bool(b.grad is not None and torch.all(torch.isfinite(b.grad)) and b.grad.any())

    ramp = [[0.0, 1.0], [2.0, 3.0]]
    hint = (
        "Subtract each mean, average the product, divide by both standard deviations, all "
        "with the same normalisation (torch.std divides by n - 1 unless correction=0)."
    )
    cases = [
        Case("a = [1, 2, 3], b = [1, 3, 2]", ([1.0, 2, 3], [1.0, 3, 2]), 0.5, hint),
        Case(
            "b = 3a + 2 (another scanner's gain and offset)",
            ([1.0, 2, 4, 7], [5.0, 8, 14, 23]),
            1.0,
            "NCC ignores gain and offset: subtract the means before multiplying.",
        ),
        Case(
            "b = -a (inverted contrast)",
            ([1.0, 2, 4], [-1.0, -2, -4]),
            -1.0,
            hint + " Keep the sign: inverted contrast is -1.",
        ),
        Case("2 x 2 images", (ramp, [[0.0, 1.0], [3.0, 2.0]]), 0.8, hint),
        Case(
            "a constant image",
            ([2.0, 2, 2, 2], [1.0, 2, 3, 4]),
            0.0,
            "A constant image has standard deviation 0: add a tiny epsilon to the denominator.",
        ),
        Case(
            "the gradient reaches b",
            (ramp, [[0.0, 1.0], [3.0, 2.0]]),
            True,
            "Use torch operations only (no .item(), .numpy(), float() or NumPy functions) and "
            "return a tensor, so that autograd can follow.",
            kwargs={"gradient": True},
        ),
    ]
    return check("ncc", function, cases, ncc, run=run)


def blobs(shape: tuple[int, int], shift: tuple[float, float] = (0.0, 0.0)):
    """A smooth 2D test image (float32 tensor ``(H, W)``): Gaussian blobs, moved by ``shift``.

    ``shift`` is ``(dx, dy)`` pixels along columns and rows; the blobs are drawn analytically,
    so a shifted image is exact, with no interpolation.
    """
    import torch

    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    centres = [(14.0, 15.0, 5.0, 1.0), (30.0, 22.0, 4.0, 0.7), (20.0, 33.0, 6.0, 0.5)]
    image = np.zeros(shape)
    for row, column, sigma, height in centres:
        distance2 = (columns - column - shift[0]) ** 2 + (rows - row - shift[1]) ** 2
        image += height * np.exp(-distance2 / (2 * sigma**2))
    return torch.tensor(image, dtype=torch.float32)


def check_translation_registration(function: Callable, tolerance_px: float = 0.1) -> Callable:
    """Notebook 05: ``function(fixed, moving)`` finds the translation ``(tx, ty)`` in pixels
    (along columns and rows) such that ``moving`` sampled at ``(x + tx, y + ty)`` matches
    ``fixed`` at ``(x, y)``: the fixed-to-moving convention of the course. ``fixed`` and
    ``moving`` are float32 tensors ``(H, W)``. Answers within ``tolerance_px`` count as right.
    Returns the function later cells use.
    """

    from .registration import torch_threads

    def run(fixed, moving, expected):
        with torch_threads(1):  # 48 x 48 images: a second thread only adds waiting
            got = np.array([float(v) for v in function(fixed, moving)])
        return expected if np.all(np.abs(got - expected) <= tolerance_px) else np.round(got, 2)

    shape = (48, 48)
    hint = (
        "Sample the moving image at the shifted grid (shift_image(moving, t)), compare with "
        "the fixed image, and let Adam move t = (tx, ty) (tx along the columns, ty along "
        "the rows), zeroing the gradients at every step; "
        "grid_sample wants normalised units, 2 * t / (size - 1)."
    )
    cases = [
        Case(
            f"moving = fixed moved by ({dx}, {dy}) pixels",
            (blobs(shape), blobs(shape, (dx, dy)), np.array([dx, dy])),
            np.array([dx, dy]),
            hint,
        )
        for dx, dy in [(3.0, -2.0), (0.0, 0.0), (-1.5, 2.5)]
    ]
    return check("register_translation", function, cases, register_translation, run=run)


def check_soft_dice(function: Callable) -> Callable:
    """Notebook 07: ``function(probabilities, target, squared=False, smooth=1e-5)`` returns the
    soft Dice loss of ``(B, C, *spatial)`` tensors: ``1 - dice`` per sample and channel, then
    the mean (the V-Net squared denominator when ``squared=True``), as a scalar tensor that
    autograd can differentiate. Returns the function later cells use."""
    import torch

    from .losses import SoftDiceLoss

    generator = torch.Generator().manual_seed(7)
    p = torch.rand(2, 3, 4, 5, 6, generator=generator)
    g = (torch.rand(2, 3, 4, 5, 6, generator=generator) > 0.7).float()
    g[1, 2] = 0  # an empty channel: the smooth term decides it

    def library(squared: bool, smooth: float = 1e-5) -> torch.Tensor:
        loss = SoftDiceLoss("regions", squared, smooth=smooth, from_logits=False)
        return loss(p, g)

    def run(probabilities, target, gradient=False, **options):
        if not gradient:
            return function(probabilities, target, **options)
        probabilities = probabilities.clone().requires_grad_(True)
        function(probabilities, target, **options).backward()
        grad = probabilities.grad
        return bool(grad is not None and torch.all(torch.isfinite(grad)) and grad.any())

    half = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
    truth = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
    smooth_hint = (
        "Add smooth to the numerator and to the denominator: "
        "(2 * sum(p * g) + smooth) / (sum(p) + sum(g) + smooth)."
    )
    cases = [
        Case(
            "one of two voxels right, no smoothing: 1 - 2*1/(2+2)",
            (half, truth),
            torch.tensor(0.5),
            "dice = 2 * sum(p * g) / (sum(p) + sum(g)); the loss is 1 - dice.",
            kwargs={"smooth": 0.0},
        ),
        Case(
            "the same with smooth=1: 1 - (2*1 + 1)/(2 + 2 + 1)",
            (half, truth),
            torch.tensor(0.4),
            smooth_hint,
            kwargs={"smooth": 1.0},
        ),
        Case(
            "an empty target and an empty prediction",
            (torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3)),
            torch.tensor(0.0),
            "Nothing to find and nothing predicted is a perfect answer: with smooth in the "
            "numerator as well, dice = smooth / smooth = 1 and the loss is 0.",
        ),
        Case(
            "random probabilities (2, 3, 4, 5, 6), one empty channel",
            (p, g),
            library(False),
            "Sum over the spatial axes only (2 and up), one Dice per sample and channel, then "
            "average the losses to a scalar; add smooth to numerator and denominator.",
        ),
        Case(
            "the same, squared denominator (V-Net)",
            (p, g),
            library(True),
            "With squared=True the denominator is sum(p**2) + sum(g**2): square each value, "
            "then sum (not the square of the sums).",
            kwargs={"squared": True},
        ),
        Case(
            "the gradient reaches the probabilities",
            (p, g),
            True,
            "Use torch operations only (no .item(), float() or NumPy) and return a tensor: "
            "training calls loss.backward().",
            kwargs={"gradient": True},
        ),
    ]
    return check("soft_dice_loss", function, cases, soft_dice_loss, run=run)


def check_dice_score(function: Callable) -> Callable:
    """Notebook 07: ``function(pred, truth)`` returns the Dice of two binary masks as a float,
    1.0 when both are empty (BraTS's convention) and 0.0 when only one is. Returns the
    function later cells use."""
    from .metrics import dice_score

    truth = np.zeros((4, 4, 4), bool)
    truth[1:3, 1:3, 1:3] = True  # 8 voxels
    shifted = np.zeros_like(truth)
    shifted[1:3, 1:3, 2:4] = True  # 8 voxels, 4 shared
    empty = np.zeros_like(truth)
    overlap_hint = "2 |A and B| / (|A| + |B|): the overlap against the sizes, not the union."
    cases = [
        Case("identical masks", (truth, truth), 1.0, overlap_hint),
        Case(
            "half overlap, 8 voxels each",
            (shifted, truth),
            0.5,
            "2 * 4 / (8 + 8): the overlap against the sizes, not the union (4 / 12 is the "
            "Jaccard index).",
        ),
        Case(
            "both empty",
            (empty, empty),
            1.0,
            "Nothing to find and nothing found is a perfect answer: return 1, don't divide by 0.",
        ),
        Case("prediction empty, tumour present", (empty, truth), 0.0, "Nothing found: 0."),
        Case("tumour absent, prediction not", (truth, empty), 0.0, "A false alarm: 0."),
    ]
    return check("dice_score", function, cases, dice_score, run=lambda *a: float(function(*a)))


def check_threshold_baseline(function: Callable) -> Callable:
    """Notebook 07: ``function(flair, t1ce, flair_threshold, t1ce_threshold)`` returns
    ``(whole_tumour, enhancing)`` boolean masks: the largest 26-connected piece of FLAIR
    strictly above its threshold, and every voxel of T1ce strictly above its own. Returns the
    function later cells use (`baselines.threshold_baseline` until it passes)."""
    from .baselines import threshold_baseline

    flair = np.zeros((8, 8, 8), np.float32)
    flair[1:4, 1:4, 1:4] = 3.0  # 27 voxels
    flair[6, 6, 6] = 3.0  # a speck
    t1ce = np.zeros_like(flair)
    t1ce[2, 2, 2] = 4.0
    t1ce[7, 0, 0] = 4.0  # a bright vessel far from the tumour
    one_piece = flair.copy()
    one_piece[6, 6, 6] = 0.0
    diagonal = np.zeros_like(flair)
    diagonal[1:3, 1:3, 1:3] = 3.0  # 8 voxels
    diagonal[3, 3, 3] = 3.0  # touches them only at a corner
    diagonal[5:7, 6:8, 0:2] = 3.0  # 8 voxels elsewhere: the corner voxel decides
    situations = [
        (
            "a tumour and a speck",
            flair,
            (2.0, 3.0),
            "Keep only the largest piece: scipy.ndimage.label, then the label with the most "
            "voxels (np.bincount), ignoring label 0, the background.",
        ),
        (
            "values equal to the thresholds",
            flair,
            (3.0, 4.0),
            "Strictly above (>): a voxel at the threshold is not tumour. And nothing above "
            "the threshold means empty masks, not an error.",
        ),
        (
            "a piece that touches another at a corner",
            diagonal,
            (2.0, 3.0),
            "Corner neighbours are connected (26-connectivity, as BraTS counts lesions): "
            "ndimage.label(mask, structure=np.ones((3, 3, 3))).",
        ),
        (
            "bright T1ce outside the tumour",
            one_piece,
            (2.0, 3.0),
            "The enhancing mask is T1ce above its threshold everywhere, not only inside the "
            "whole tumour: this baseline is meant to see what a threshold sees.",
        ),
    ]
    cases = [
        Case(text, (image, t1ce, *limits), threshold_baseline(image, t1ce, *limits), hint)
        for text, image, limits, hint in situations
    ]
    return check("threshold_baseline", function, cases, threshold_baseline)


# --- the course's versions ------------------------------------------------------------------
# What the cells after a check use until the learner's function passes, for the exercises the
# library has no function for (the others fall back to `registration.ncc`,
# `metrics.dice_score`, `patches.axis_origins` and nibabel's `apply_affine`). Each does what
# its exercise asks, in the notebook's own terms, and passes its check (tests/test_exercises.py).

#: The magic numbers `sniff_format` tests, in order: (offset, bytes, format).
MAGICS = (
    (0, b"\x1f\x8b", "gzip"),
    (128, b"DICM", "DICOM"),
    (0, b"NRRD", "NRRD"),
    (0, b"CDF", "MINC-1"),
    (0, b"\x89HDF", "MINC-2"),
    (4, b"n+2\0", "NIfTI-2"),
    (4, b"ni2\0", "NIfTI-2"),
    (344, b"n+1\0", "NIfTI-1"),
    (344, b"ni1\0", "NIfTI-1"),
)
#: An Analyze (and NIfTI-1) header starts with its size, 348, in either byte order.
ANALYZE_SIZES = ((348).to_bytes(4, "little"), (348).to_bytes(4, "big"))


def whole_tumour_volume_cm3(seg: np.ndarray, voxel_size_mm: Sequence[float]) -> float:
    """Notebook 00: the volume of every non-zero label of ``seg`` ``(X, Y, Z)``, in cm^3.

    Examples
    --------
    >>> whole_tumour_volume_cm3(np.array([[[0, 1], [2, 4]]]), (1.0, 2.0, 5.0))
    0.03
    """
    return int(np.count_nonzero(seg)) * float(np.prod(voxel_size_mm)) / 1000


def sniff_format(head: bytes) -> str:
    """Notebook 01: a file's format from its first 352 bytes (see `check_format_sniffer`).

    Examples
    --------
    >>> sniff_format(bytes(128) + b"DICM"), sniff_format(b"\\x5c\\x01\\x00\\x00" + bytes(344))
    ('DICOM', 'Analyze')
    """
    for offset, magic, name in MAGICS:
        if head[offset : offset + len(magic)] == magic:
            return name
    return "Analyze" if head[:4] in ANALYZE_SIZES else "unknown"


def corner_distance_mm(affine_a: np.ndarray, affine_b: np.ndarray, shape: Sequence[int]) -> float:
    """Notebook 01: the largest distance (mm) between where two 4 x 4 voxel-to-world affines put
    the eight corner voxels of a volume of ``shape`` (indices 0 and n - 1 on each axis).

    Examples
    --------
    >>> corner_distance_mm(np.eye(4), np.diag([1.0, 1.0, 2.0, 1.0]), (4, 4, 4))
    3.0
    """
    from nibabel.affines import apply_affine

    corners = np.array(list(itertools.product(*[(0, n - 1) for n in shape[:3]])), dtype=float)
    moved = apply_affine(affine_a, corners) - apply_affine(affine_b, corners)
    return float(np.linalg.norm(moved, axis=1).max())


def slice_order(positions: Sequence[Sequence[float]], orientation: Sequence[float]) -> list[int]:
    """Notebook 02: the indices that sort slices along their normal, ``positions`` ``(N, 3)``
    (ImagePositionPatient, mm) projected on cross(row, column) of ``orientation`` (the six
    numbers of ImageOrientationPatient).

    Examples
    --------
    >>> slice_order([[0, 0, 6.0], [0, 0, 0], [0, 0, 3]], (1.0, 0, 0, 0, 1.0, 0))
    [1, 2, 0]
    """
    orientation = np.asarray(orientation, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    distances = np.asarray(positions, dtype=float) @ normal
    return [int(i) for i in np.argsort(distances, kind="stable")]


def find_leaks(ds, secrets: Sequence[str]) -> list[str]:
    """Notebook 02: the sorted keywords of the top-level elements of the pydicom dataset ``ds``
    whose value contains a secret, ignoring case; a private element is named by its tag.

    Examples
    --------
    >>> from pydicom import Dataset
    >>> ds = Dataset()
    >>> ds.PatientName, ds.Rows = "Doe^Jane", 12345
    >>> find_leaks(ds, ["DOE", "123"])
    ['PatientName', 'Rows']
    """
    lowered = [secret.lower() for secret in secrets]
    return sorted(
        element.keyword or str(element.tag)
        for element in ds
        if any(secret in str(element.value).lower() for secret in lowered)
    )


def world_to_voxel(affine: np.ndarray, xyz: Sequence[Sequence[float]]) -> np.ndarray:
    """Notebook 03: fractional voxel indices ``(N, 3)`` of world points ``xyz`` ``(N, 3)`` mm.

    Examples
    --------
    >>> world_to_voxel(np.diag([2.0, 2.0, 2.0, 1.0]), [[3.0, 4.0, 5.0]])
    array([[1.5, 2. , 2.5]])
    """
    from nibabel.affines import apply_affine

    return apply_affine(np.linalg.inv(affine), np.asarray(xyz, dtype=float))


def zscore_brain(channel: np.ndarray) -> np.ndarray:
    """Notebook 04: one channel ``(D, H, W)`` z-scored over its non-zero voxels, float64; the
    background stays 0 (`datasets.zscore_normalise` on one channel).

    Examples
    --------
    >>> zscore_brain(np.array([[[0.0, 2.0, 4.0, 6.0]]])).round(4)
    array([[[ 0.    , -1.2247,  0.    ,  1.2247]]])
    """
    from .datasets import zscore_normalise

    return zscore_normalise(np.asarray(channel, dtype=np.float64)[None])[0].astype(np.float64)


def brats_regions(seg: np.ndarray) -> np.ndarray:
    """Notebook 04: BraTS labels 0/1/2/4 ``(D, H, W)`` as float regions ``(3, D, H, W)``: WT,
    TC, ET (`datasets.classes_to_regions` of `datasets.brats_to_classes`).

    Examples
    --------
    >>> brats_regions(np.array([0, 1, 2, 4]))
    array([[0., 1., 1., 1.],
           [0., 1., 0., 1.],
           [0., 0., 0., 1.]])
    """
    from .datasets import brats_to_classes, classes_to_regions

    return classes_to_regions(brats_to_classes(np.asarray(seg))).astype(np.float64)


def register_translation(fixed, moving, iterations: int = 200, learning_rate: float = 0.1):
    """Notebook 05: the translation ``(tx, ty)`` in pixels (a float32 tensor ``(2,)``) such
    that ``moving`` sampled at ``(x + tx, y + ty)`` matches ``fixed`` (both ``(H, W)`` float
    tensors): Adam on the mean squared error of a bilinear ``grid_sample``."""
    import torch
    import torch.nn.functional as F

    height, width = fixed.shape
    to_normalised = torch.tensor([2 / (width - 1), 2 / (height - 1)])
    t = torch.zeros(2, requires_grad=True)
    optimiser = torch.optim.Adam([t], lr=learning_rate)
    for _ in range(iterations):
        theta = torch.cat([torch.eye(2), (t * to_normalised)[:, None]], dim=1)[None]
        grid = F.affine_grid(theta, (1, 1, height, width), align_corners=True)
        warped = F.grid_sample(moving[None, None], grid, align_corners=True)[0, 0]
        loss = torch.mean((warped - fixed) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return t.detach()


def stitch_mean(patch_values: np.ndarray, origins: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Notebook 06: cubic patches ``(N, C, p, p, p)`` at ``origins`` ``(N, 3)`` averaged back
    into a float64 volume ``(C, *shape)``. A voxel no patch covers comes out NaN (0 / 0), as
    in the exercise; `patches.stitch_patches` refuses such a grid instead.

    Examples
    --------
    >>> stitch_mean(np.ones((2, 1, 2, 2, 2)), np.array([[0, 0, 0], [1, 0, 0]]), (3, 2, 2)).shape
    (1, 3, 2, 2)
    """
    values = np.asarray(patch_values)
    total = np.zeros((values.shape[1], *shape))
    count = np.zeros(tuple(shape))
    p = values.shape[2]
    for value, (d, h, w) in zip(values, np.asarray(origins), strict=True):
        total[:, d : d + p, h : h + p, w : w + p] += value
        count[d : d + p, h : h + p, w : w + p] += 1
    return total / count


def soft_dice_loss(probabilities, target, squared: bool = False, smooth: float = 1e-5):
    """Notebook 07: the soft Dice loss of probabilities and 0/1 targets ``(B, C, *spatial)``,
    a scalar tensor (`losses.SoftDiceLoss` with ``from_logits=False``)."""
    from .losses import SoftDiceLoss

    loss = SoftDiceLoss("regions", squared, smooth=smooth, from_logits=False)
    return loss(probabilities, target)
