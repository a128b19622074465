"""Notebook 01's exercises: a format sniffer reading magic numbers, and the largest
distance between where two affines put a volume's corners.

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from .framework import Case, check

__all__ = [
    "check_format_sniffer",
    "check_corner_distance",
    "sniff_format",
    "corner_distance_mm",
]


# Long because it lists its thirteen cases one by one, each file with its own hint.
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

    from ..paths import sample_file

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
