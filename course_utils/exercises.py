"""The checks behind every exercise: ``check_<name>(fn)`` runs a learner's function on small
cases and prints a tick, or what was expected and what came back.

An exercise in a notebook has three cells (see CONTRIBUTING.md):

1. a stub: the function with its docstring, ``...`` blanks and
   ``raise NotImplementedError("Student exercise: ...")``;
2. the solution: the same function completed, in a cell tagged ``solution`` (removed from
   the student version);
3. the check: ``exercises.check_<name>(function)``.

Checks never raise, so a notebook can always be run top to bottom, and return nothing, so
the check cell shows only the feedback; ``run_cases`` gives the pass/fail result to code.

Used by notebook 00 onwards; each check names the notebook it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Case",
    "check",
    "run_cases",
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
]


@dataclass(frozen=True)
class Case:
    """One test case: call with ``args``, expect ``expected``; ``hint`` is shown on failure."""

    description: str
    args: tuple
    expected: Any
    hint: str = ""
    kwargs: dict = field(default_factory=dict)


def same(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``got`` matches ``expected``: numbers and arrays to a tolerance, else ``==``."""
    try:
        got_array, expected_array = np.asarray(got), np.asarray(expected)
        if got_array.dtype.kind in "biuf" and expected_array.dtype.kind in "biuf":
            return got_array.shape == expected_array.shape and bool(
                np.allclose(got_array, expected_array, rtol=rtol, atol=atol)
            )
    except (TypeError, ValueError):
        pass
    return bool(got == expected)


def short(value: Any) -> str:
    """A one-line description of a value for feedback messages."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, np.ndarray | list | tuple) and np.asarray(value).dtype.kind in "biuf":
        return repr(np.asarray(value).tolist())
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def difference(got: Any, expected: Any) -> str:
    """How ``got`` differs from ``expected``, in one line."""
    got_array, expected_array = np.asarray(got), np.asarray(expected)
    both_numeric = got_array.dtype.kind in "biuf" and expected_array.dtype.kind in "biuf"
    if both_numeric and got_array.shape == expected_array.shape and got_array.size > 6:
        error = np.abs(got_array.astype(float) - expected_array)
        where = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape))
        return (
            f"values differ at {int(np.sum(error > 1e-6))} of {error.size} places, most at "
            f"index {where}: expected {expected_array[where]:.6g}, got {got_array[where]:.6g}"
        )
    return f"expected {short(expected)}, got {short(got)}"


def check(name: str, function: Callable, cases: Sequence[Case]) -> None:
    """Run ``function`` on every case; print one tick, or feedback for each failing case."""
    print(run_cases(name, function, cases)[1])


def run_cases(name: str, function: Callable, cases: Sequence[Case]) -> tuple[bool, str]:
    """``(passed, feedback)`` of ``function`` on ``cases``: the work behind `check`."""
    failures = []
    for case in cases:
        try:
            got = function(*case.args, **case.kwargs)
        except NotImplementedError:
            return False, f"✘ {name}: not implemented yet. Fill in the blanks (...) and run again."
        except Exception as error:  # the learner's code may raise anything
            failures.append(f"  {case.description}: raised {type(error).__name__}: {error}")
            continue
        if not same(got, case.expected):
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


def check_tumour_volume(function: Callable) -> None:
    """Notebook 00: ``function(seg, voxel_size_mm)`` returns the whole-tumour volume in cm^3.

    ``seg`` holds BraTS labels 0/1/2/4; ``voxel_size_mm`` is ``(dx, dy, dz)`` in mm.
    """
    unit_hint = "1 cm^3 is 1000 mm^3, and a voxel's volume is dx * dy * dz."
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
            "The whole tumour is every non-zero label: 1, 2 and 4.",
        ),
        Case(
            "200 enhancing voxels of 1 x 1 x 5 mm",
            (labelled_volume((10, 10, 5), {4: 200}), (1.0, 1.0, 5.0)),
            1.0,
            unit_hint,
        ),
    ]
    check("whole_tumour_volume_cm3", function, cases)


def check_format_sniffer(function: Callable) -> None:
    """Notebook 01: ``function(head)`` names a file's format from its first 352 bytes.

    Expected answers: ``"DICOM"``, ``"NIfTI-1"``, ``"NIfTI-2"``, ``"Analyze"``, ``"NRRD"``,
    ``"MINC-1"``, ``"MINC-2"``, ``"gzip"`` or ``"unknown"``. The cases are real files
    shipped with pydicom and nibabel.
    """
    import gzip

    from .paths import sample_file

    def head(key: str, unzip: bool = False) -> bytes:
        data = sample_file(key).read_bytes()
        return (gzip.decompress(data) if unzip else data)[:352]

    nifti_pair_header = (sample_file("nifti1").parent / "nifti1.hdr").read_bytes()[:352]
    cases = [
        Case("MR_small.dcm", (head("dicom_mr"),), "DICOM", "'DICM' sits at byte 128."),
        Case(
            "anatomical.nii (big-endian!)",
            (head("nifti1"),),
            "NIfTI-1",
            "NIfTI-1's magic 'n+1\\0' (or 'ni1\\0' for a pair) is at byte 344.",
        ),
        Case(
            "nifti1.hdr of a .hdr/.img pair",
            (nifti_pair_header,),
            "NIfTI-1",
            "A pair's header says 'ni1\\0' at byte 344.",
        ),
        Case(
            "example_nifti2.nii.gz, unzipped",
            (head("nifti2", unzip=True),),
            "NIfTI-2",
            "NIfTI-2's magic 'n+2\\0' is at byte 4.",
        ),
        Case(
            "analyze.hdr",
            (head("analyze_header"),),
            "Analyze",
            "Analyze has no magic: its header starts with the number 348 (either byte order).",
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
            "Compressed files start with the gzip bytes 1f 8b.",
        ),
        Case("random bytes", (bytes(range(256)) + bytes(96),), "unknown"),
    ]
    check("sniff_format", function, cases)


def check_corner_distance(function: Callable) -> None:
    """Notebook 01: ``function(affine_a, affine_b, shape)`` is the largest distance (mm)
    between where the two affines put the volume's eight corner voxels."""
    shift = np.eye(4)
    shift[:3, 3] = (3.0, 4.0, 0.0)
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip[0, 3] = 9.0
    hint = "Corners are voxel indices 0 and n-1 on each axis; world = affine @ [i, j, k, 1]."
    cases = [
        Case("the same affine", (np.eye(4), np.eye(4), (5, 5, 5)), 0.0),
        Case("shifted by (3, 4, 0) mm", (np.eye(4), shift, (5, 5, 5)), 5.0, hint),
        Case("x axis flipped, 10 voxels", (np.eye(4), flip, (10, 5, 5)), 9.0, hint),
        Case(
            "slices 1 mm vs 2 mm apart", (np.eye(4), np.diag([1.0, 1, 2, 1]), (4, 4, 4)), 3.0, hint
        ),
    ]
    check("corner_distance_mm", function, cases)


def check_slice_order(function: Callable) -> None:
    """Notebook 02: ``function(positions, orientation)`` returns the indices that sort
    slices along the normal of their plane (ImagePositionPatient projected on it)."""
    axial = (1.0, 0, 0, 0, 1.0, 0)
    tilt = np.deg2rad(20)
    oblique = (1.0, 0, 0, 0, np.cos(tilt), np.sin(tilt))
    normal = np.cross(oblique[:3], oblique[3:])
    # Slices 5, 0, 7.5 and 2.5 mm along the normal, shifted within their planes so that
    # sorting by the z coordinate alone gives a different (wrong) order.
    oblique_positions = np.outer([2, 0, 3, 1], normal * 2.5) + np.outer(
        [0, 10, -10, 0], oblique[3:]
    )
    hint = "Project each position on the normal, cross(row direction, column direction)."
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
            "oblique stack tilted by 20 degrees", (oblique_positions, oblique), [1, 3, 0, 2], hint
        ),
        Case(
            "sagittal (normal along x)",
            (np.array([[4.0, 0, 0], [-2, 0, 0], [1, 0, 0]]), (0, 1.0, 0, 0, 0, -1.0)),
            [0, 2, 1],
            "Here the normal points towards -x: sort along it, not along x.",
        ),
    ]
    check("slice_order", function, cases)


def check_find_leaks(function: Callable) -> None:
    """Notebook 02: ``function(ds, secrets)`` lists (sorted) the keywords of the elements
    whose value contains any of the ``secrets`` strings, ignoring case."""
    from pydicom import Dataset

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
    cases = [
        Case(
            "names and IDs",
            (ds, ["doe", "12345"]),
            ["OtherPatientIDs", "PatientID", "PatientName", "ReferringPhysicianName", "Rows"],
            "Compare str(element.value).lower() with each secret, lower-cased; numbers too.",
        ),
        Case("an institution", (ds, ["elsewhere"]), ["InstitutionName"]),
        Case("nothing to find", (clean, ["doe", "12345"]), []),
    ]
    check("find_leaks", function, cases)


def check_voxel_to_world(function: Callable) -> None:
    """Notebook 03: ``function(affine, ijk)`` maps voxel indices ``(N, 3)`` to world mm."""
    oblique = np.array(
        [[0.0, -2.0, 0.0, 90.0], [1.5, 0.0, 0.0, -126.0], [0.0, 0.0, 3.0, -72.0], [0, 0, 0, 1]]
    )
    points = np.array([[0, 0, 0], [1, 2, 3], [10, 0, 5]])
    hint = "Append a 1 to each index: world = (affine @ [i, j, k, 1])[:3]."
    cases = [
        Case("identity", (np.eye(4), points), points.astype(float)),
        Case("2 mm voxels", (np.diag([2.0, 2, 2, 1]), points), 2.0 * points, hint),
        Case(
            "oblique with an origin",
            (oblique, points),
            np.array([[90, -126, -72], [86, -124.5, -63], [90, -111, -57.0]]),
            hint,
        ),
    ]
    check("voxel_to_world", function, cases)


def check_world_to_voxel(function: Callable) -> None:
    """Notebook 03: ``function(affine, xyz)`` maps world mm ``(N, 3)`` to (float) voxel indices."""
    oblique = np.array(
        [[0.0, -2.0, 0.0, 90.0], [1.5, 0.0, 0.0, -126.0], [0.0, 0.0, 3.0, -72.0], [0, 0, 0, 1]]
    )
    world = np.array([[90, -126, -72], [86, -124.5, -63], [89, -125.25, -70.5]])
    hint = "Use the inverse affine: np.linalg.inv(affine) @ [x, y, z, 1]."
    cases = [
        Case("identity", (np.eye(4), world), world.astype(float)),
        Case(
            "oblique with an origin",
            (oblique, world),
            np.array([[0, 0, 0], [1, 2, 3], [0.5, 0.5, 0.5]]),
            hint,
        ),
    ]
    check("world_to_voxel", function, cases)


def check_axis_origins(function: Callable) -> None:
    """Notebook 06: ``function(size, patch, stride)`` lists where patches start along one
    axis so that they cover every voxel, the last one ending exactly at the border."""
    hint = "Start every `stride` voxels; if the last patch stops short, add one at size - patch."
    cases = [
        Case("size 8, patch 4, stride 4 (fits exactly)", (8, 4, 4), [0, 4]),
        Case("size 10, patch 4, stride 4 (last moved back)", (10, 4, 4), [0, 4, 6], hint),
        Case("size 10, patch 4, stride 3", (10, 4, 3), [0, 3, 6], hint),
        Case("size 9, patch 4, stride 2", (9, 4, 2), [0, 2, 4, 5], hint),
        Case("size 4, patch 4, stride 2 (one patch)", (4, 4, 2), [0]),
        Case(
            "size 3, patch 4, stride 2 (volume smaller than the patch)",
            (3, 4, 2),
            [0],
            "A volume smaller than the patch gets one patch at 0 (padded later).",
        ),
    ]
    check("axis_origins", function, cases)


def check_stitch_mean(function: Callable) -> None:
    """Notebook 06: ``function(patches, origins, shape)`` averages overlapping patches back
    into a volume: ``patches`` ``(N, C, p, p, p)``, ``origins`` ``(N, 3)``, result
    ``(C, *shape)``."""
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
            "Divide the summed patches by how many patches cover each voxel.",
        ),
        Case(
            "a patch of 1s and a patch of 3s overlapping by one slice",
            (overlapping, np.array([[0, 0, 0], [1, 0, 0]]), (3, 2, 2)),
            expected_overlap,
            "In the overlap the mean of 1 and 3 is 2; elsewhere each patch alone.",
        ),
    ]
    check("stitch_mean", function, cases)


def check_zscore(function: Callable) -> None:
    """Notebook 04: ``function(channel)`` z-scores one channel ``(D, H, W)`` over its non-zero
    voxels (the brain) and leaves the background at 0."""
    ramp = np.zeros((2, 2, 3))
    ramp[0, 0] = [2.0, 4.0, 6.0]
    expected_ramp = np.zeros((2, 2, 3))
    expected_ramp[0, 0] = [-np.sqrt(1.5), 0.0, np.sqrt(1.5)]
    flat = np.zeros((2, 2, 2))
    flat[1] = 5.0
    cases = [
        Case(
            "brain voxels 2, 4, 6 and background 0",
            (ramp,),
            expected_ramp,
            "Compute mean and std over the non-zero voxels only, and keep the background 0.",
        ),
        Case(
            "the same values in another scanner's units (x 100 + 50 inside the brain)",
            (np.where(ramp != 0, ramp * 100 + 50, 0.0),),
            expected_ramp,
            "A z-score does not care about the scanner's units: scale and offset cancel.",
        ),
        Case(
            "a constant brain (std 0)",
            (flat,),
            np.zeros((2, 2, 2)),
            "With a zero standard deviation, return zeros rather than dividing by 0.",
        ),
    ]
    check("zscore_brain", function, cases)


def check_brats_regions(function: Callable) -> None:
    """Notebook 04: ``function(seg)`` turns BraTS labels 0/1/2/4 ``(D, H, W)`` into the
    evaluation regions ``(3, D, H, W)``: whole tumour, tumour core, enhancing tumour."""
    seg = np.array([0, 1, 2, 4]).reshape(1, 1, 4)
    expected = np.array([[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=float).reshape(
        3, 1, 1, 4
    )
    hint = "WT = labels 1, 2 and 4; TC = 1 and 4; ET = 4 (BraTS has no label 3)."
    cases = [
        Case("one voxel of each label", (seg,), expected, hint),
        Case("background only", (np.zeros((2, 2, 2), int),), np.zeros((3, 2, 2, 2))),
        Case(
            "oedema only (label 2)",
            (np.full((1, 2, 2), 2),),
            np.stack([np.ones((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 2, 2))]),
            hint,
        ),
    ]
    check("brats_regions", function, cases)


def check_ncc(function: Callable) -> None:
    """Notebook 05: ``function(a, b)`` is the global normalised cross-correlation of two
    same-shape torch tensors, a scalar tensor in [-1, 1] that autograd can differentiate."""
    import torch

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
        Case("b = -a (inverted contrast)", ([1.0, 2, 4], [-1.0, -2, -4]), -1.0, hint),
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
            "Use torch operations only (no .item(), .numpy() or NumPy functions) so autograd "
            "can follow.",
            kwargs={"gradient": True},
        ),
    ]
    check("ncc", run, cases)


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


def check_translation_registration(function: Callable, tolerance_px: float = 0.1) -> None:
    """Notebook 05: ``function(fixed, moving)`` finds the translation ``(tx, ty)`` in pixels
    (along columns and rows) such that ``moving`` sampled at ``(x + tx, y + ty)`` matches
    ``fixed`` at ``(x, y)``: the fixed-to-moving convention of the course. ``fixed`` and
    ``moving`` are float32 tensors ``(H, W)``. Answers within ``tolerance_px`` count as right.
    """

    from .registration import torch_threads

    def run(fixed, moving, expected):
        with torch_threads(1):  # 48 x 48 images: a second thread only adds waiting
            got = np.array([float(v) for v in function(fixed, moving)])
        return expected if np.all(np.abs(got - expected) <= tolerance_px) else np.round(got, 2)

    shape = (48, 48)
    hint = (
        "Sample the moving image at the shifted grid with grid_sample (normalised units: "
        "2 * t / (size - 1)), compare with the fixed image, and let Adam move (tx, ty), "
        "zeroing the gradients at every step."
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
    check("register_translation", run, cases)


def check_soft_dice(function: Callable) -> None:
    """Notebook 07: ``function(probabilities, target, squared=False, smooth=1e-5)`` returns the
    soft Dice loss of ``(B, C, *spatial)`` tensors: ``1 - dice`` per sample and channel, then
    the mean (the V-Net squared denominator when ``squared=True``), as a scalar tensor."""
    import torch

    from .losses import SoftDiceLoss

    generator = torch.Generator().manual_seed(7)
    p = torch.rand(2, 3, 4, 5, 6, generator=generator)
    g = (torch.rand(2, 3, 4, 5, 6, generator=generator) > 0.7).float()
    g[1, 2] = 0  # an empty channel: the smooth term decides it

    def library(squared: bool, smooth: float = 1e-5) -> torch.Tensor:
        loss = SoftDiceLoss("regions", squared, smooth=smooth, from_logits=False)
        return loss(p, g)

    half = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
    truth = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
    cases = [
        Case(
            "one of two voxels right, no smoothing: 1 - 2*1/(2+2)",
            (half, truth),
            torch.tensor(0.5),
            "dice = 2 * sum(p * g) / (sum(p) + sum(g)); the loss is 1 - dice.",
            kwargs={"smooth": 0.0},
        ),
        Case(
            "random probabilities (2, 3, 4, 5, 6), one empty channel",
            (p, g),
            library(False),
            "Sum over the spatial axes only (2 and up), one Dice per sample and channel, then "
            "average the losses; add smooth to numerator and denominator.",
        ),
        Case(
            "the same, squared denominator (V-Net)",
            (p, g),
            library(True),
            "With squared=True the denominator is sum(p**2) + sum(g**2).",
            kwargs={"squared": True},
        ),
    ]
    check("soft_dice_loss", lambda *a, **k: function(*a, **k).float(), cases)


def check_dice_score(function: Callable) -> None:
    """Notebook 07: ``function(pred, truth)`` returns the Dice of two binary masks as a float,
    1.0 when both are empty (BraTS's convention) and 0.0 when only one is."""
    truth = np.zeros((4, 4, 4), bool)
    truth[1:3, 1:3, 1:3] = True  # 8 voxels
    shifted = np.zeros_like(truth)
    shifted[1:3, 1:3, 2:4] = True  # 8 voxels, 4 shared
    empty = np.zeros_like(truth)
    cases = [
        Case("identical masks", (truth, truth), 1.0, "2|A and B| / (|A| + |B|)."),
        Case("half overlap, 8 voxels each", (shifted, truth), 0.5, "2 * 4 / (8 + 8)."),
        Case(
            "both empty",
            (empty, empty),
            1.0,
            "Nothing to find and nothing found is a perfect answer: return 1, don't divide by 0.",
        ),
        Case("prediction empty, tumour present", (empty, truth), 0.0, "Nothing found: 0."),
        Case("tumour absent, prediction not", (truth, empty), 0.0, "A false alarm: 0."),
    ]
    check("dice_score", lambda *a: float(function(*a)), cases)
