"""Notebook 02's exercises: stored values to physical units (Hounsfield units), sorting a
series' slices along their normal, the voxel-to-RAS affine from a slice's header, and finding
the elements of a DICOM dataset that leak a secret.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .framework import Case, check

__all__ = [
    "check_hounsfield_units",
    "check_slice_order",
    "check_dicom_affine",
    "check_find_leaks",
    "slice_order",
    "dicom_affine",
    "find_leaks",
]


def rescaled_dataset(stored: np.ndarray, slope=None, intercept=None, bits_stored: int = 16):
    """A pydicom dataset holding ``stored`` (2D, uint16 or int16) and, when given, the
    RescaleSlope and RescaleIntercept as decimal strings, as a scanner writes them."""
    from pydicom import Dataset

    ds = Dataset()
    ds.set_pixel_data(stored, "MONOCHROME2", bits_stored)
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = str(slope), str(intercept), "HU"
    return ds


def check_hounsfield_units(function: Callable) -> Callable:
    """Notebook 02: ``function(ds)`` returns the pixels of the pydicom dataset ``ds`` in
    physical units, ``pixel_array * RescaleSlope + RescaleIntercept`` (Hounsfield units for
    CT), as floats of shape ``(rows, columns)``; a file without the two attributes (many MR
    files) keeps its stored values (slope 1, intercept 0). Returns the function later cells
    use (`course_utils.dicom.pixel_values` until it passes)."""
    import pydicom

    from ..dicom import pixel_values
    from ..paths import sample_file

    ct = pydicom.dcmread(sample_file("dicom_ct"))  # slope 1, intercept -1024
    float_hint = (
        "Convert to float before the arithmetic (ds.pixel_array.astype(np.float64)): the "
        "stored integers are unsigned or 16-bit, so -1024 or a fractional slope cannot be "
        "held in their type."
    )
    order_hint = "physical = stored * RescaleSlope + RescaleIntercept: multiply first, then add."
    cases = [
        Case(
            "uint16 stored values, slope 1, intercept -1024 (CT)",
            (rescaled_dataset(np.array([[0, 1000], [1024, 3000]], np.uint16), 1, -1024, 12),),
            np.array([[-1024.0, -24.0], [0.0, 1976.0]]),
            "Add the intercept: stored 1024 is water, 0 HU. " + float_hint,
        ),
        Case(
            "slope 2, intercept -1000",
            (rescaled_dataset(np.array([[0, 500], [1000, 1500]], np.uint16), 2, -1000, 12),),
            np.array([[-1000.0, 0.0], [1000.0, 2000.0]]),
            order_hint + " The slope multiplies, the intercept adds; don't swap them.",
        ),
        Case(
            "a fractional slope 0.5, intercept -100, int16 stored",
            (rescaled_dataset(np.array([[1, 3], [200, 401]], np.int16), 0.5, -100),),
            np.array([[-99.5, -98.5], [0.0, 100.5]]),
            float_hint + " And return the floats: casting back to the stored type truncates.",
        ),
        Case(
            "no RescaleSlope/RescaleIntercept (an MR image)",
            (rescaled_dataset(np.array([[-5, 7], [300, 0]], np.int16)),),
            np.array([[-5.0, 7.0], [300.0, 0.0]]),
            "Many MR files have no rescale: use ds.get('RescaleSlope', 1) and "
            "ds.get('RescaleIntercept', 0) instead of ds.RescaleSlope.",
        ),
        Case(
            "CT_small.dcm (int16 stored, slope 1, intercept -1024)",
            (ct,),
            ct.pixel_array.astype(np.float64) - 1024.0,
            order_hint + " " + float_hint,
        ),
    ]
    return check("hounsfield_units", function, cases, pixel_values)


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


def check_dicom_affine(function: Callable) -> Callable:
    """Notebook 02: ``function(position, orientation, pixel_spacing, slice_spacing)`` returns
    the 4 x 4 voxel-to-world affine, in RAS+ mm, of a stack of slices indexed ``(column, row,
    slice)``: ``position`` is the first slice's ImagePositionPatient (LPS mm), ``orientation``
    the six numbers of ImageOrientationPatient (row direction, then column direction),
    ``pixel_spacing`` PixelSpacing (row spacing, then column spacing, mm) and
    ``slice_spacing`` the distance (mm) from one slice to the next along the normal. Returns
    the function later cells use."""
    c, s = np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))
    flip_hint = (
        "DICOM's positions and directions are LPS; NIfTI's world is RAS. Build the LPS affine, "
        "then flip x and y of every column, translation included: io.LPS_TO_RAS @ affine."
    )
    spacing_hint = (
        "PixelSpacing is (row spacing, column spacing): its first value is the distance "
        "between rows. Moving one column (along the row direction, the first three numbers "
        "of ImageOrientationPatient) steps PixelSpacing[1]; moving one row steps "
        "PixelSpacing[0]."
    )
    normal_hint = (
        "The slice direction is np.cross(row direction, column direction), in that order, "
        "times the slice spacing; column 0 is the row direction, column 1 the column direction."
    )
    cases = [
        Case(
            "axial, 1 mm, first voxel at the origin",
            ((0.0, 0.0, 0.0), (1.0, 0, 0, 0, 1.0, 0), (1.0, 1.0), 1.0),
            np.diag([-1.0, -1.0, 1.0, 1.0]),
            flip_hint,
        ),
        Case(
            "axial, PixelSpacing (0.5, 0.8), 3 mm slices, first voxel at (-100, -120, 30) LPS",
            ((-100.0, -120.0, 30.0), (1.0, 0, 0, 0, 1.0, 0), (0.5, 0.8), 3.0),
            np.array([[-0.8, 0, 0, 100], [0, -0.5, 0, 120], [0, 0, 3.0, 30], [0, 0, 0, 1]], float),
            spacing_hint + " " + flip_hint,
        ),
        Case(
            "sagittal: rows along y, columns towards the feet, PixelSpacing (1.2, 0.9)",
            ((40.0, -100.0, 90.0), (0, 1.0, 0, 0, 0, -1.0), (1.2, 0.9), 2.0),
            np.array([[0, 0, 2.0, -40], [-0.9, 0, 0, 100], [0, -1.2, 0, 90], [0, 0, 0, 1]], float),
            normal_hint + " Here the normal points towards -x (LPS), so +x in RAS.",
        ),
        Case(
            "oblique: columns tilted by 20 degrees, PixelSpacing (0.6, 0.9), 2.5 mm slices",
            ((10.0, 20.0, 30.0), (1.0, 0, 0, 0, c, s), (0.6, 0.9), 2.5),
            np.array(
                [
                    [-0.9, 0, 0, -10],
                    [0, -0.6 * c, 2.5 * s, -20],
                    [0, 0.6 * s, 2.5 * c, 30],
                    [0, 0, 0, 1],
                ]
            ),
            normal_hint + " " + spacing_hint,
        ),
    ]
    return check("dicom_affine", function, cases, dicom_affine)


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


def dicom_affine(
    position: Sequence[float],
    orientation: Sequence[float],
    pixel_spacing: Sequence[float],
    slice_spacing: float,
) -> np.ndarray:
    """Notebook 02: the 4 x 4 voxel-to-RAS+ affine (mm) of slices indexed ``(column, row,
    slice)``, from the first slice's ImagePositionPatient ``position`` (LPS mm), its
    ImageOrientationPatient ``orientation``, PixelSpacing ``pixel_spacing`` (row spacing,
    column spacing; mm) and the slice spacing along the normal (mm).

    Examples
    --------
    >>> dicom_affine((-100.0, -120.0, 30.0), (1.0, 0, 0, 0, 1.0, 0), (0.5, 0.8), 3.0)
    array([[ -0.8,   0. ,   0. , 100. ],
           [  0. ,  -0.5,   0. , 120. ],
           [  0. ,   0. ,   3. ,  30. ],
           [  0. ,   0. ,   0. ,   1. ]])
    """
    from ..dicom import affine_from
    from ..geometry import LPS_TO_RAS

    orientation = np.asarray(orientation, dtype=float)
    row_dir, col_dir = orientation[:3], orientation[3:]
    step = np.cross(row_dir, col_dir) * float(slice_spacing)
    spacing = np.asarray(pixel_spacing, dtype=float)[::-1]  # (column spacing, row spacing)
    lps = affine_from(row_dir, col_dir, spacing, np.asarray(position, dtype=float), step)
    return LPS_TO_RAS @ lps


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
