"""Notebook 02's exercises: sorting a series' slices along their normal, and finding the
elements of a DICOM dataset that leak a secret.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .framework import Case, check

__all__ = [
    "check_slice_order",
    "check_find_leaks",
    "slice_order",
    "find_leaks",
]


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
