"""The exercise checks: a tick for right answers, a failure with a useful hint for every wrong
answer in INSTRUCTORS.md's "common errors" (and others), and the function later cells use."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nibabel.affines import apply_affine
from scipy import ndimage

from course_utils import baselines, dicom, exercises, metrics, patches, registration

# --- the feedback machinery ------------------------------------------------------------------


def correct_volume(seg, voxel_size_mm):
    return float((seg > 0).sum() * np.prod(voxel_size_mm) / 1000)


def stub(*args, **kwargs):
    raise NotImplementedError("Student exercise: do it")


def test_a_correct_function_gets_a_tick_and_is_handed_back(capsys):
    assert exercises.check_tumour_volume(correct_volume) is correct_volume
    assert capsys.readouterr().out == "✔ whole_tumour_volume_cm3: all 4 cases passed\n"


def test_a_wrong_function_gets_expected_got_a_hint_and_the_course_version(capsys):
    def forgets_units(seg, voxel_size_mm):
        return float((seg > 0).sum() * np.prod(voxel_size_mm))

    use = exercises.check_tumour_volume(forgets_units)
    out = capsys.readouterr().out
    assert "✘ whole_tumour_volume_cm3: 3 of 4 cases failed" in out
    assert "expected 1, got 1000" in out
    assert "hint: 1 cm^3 is 1000 mm^3" in out
    assert use is exercises.whole_tumour_volume_cm3
    assert out.rstrip().endswith(
        "Until yours passes, the cells below use the course's version, "
        "course_utils.exercises.whole_tumour_volume_cm3."
    )


def test_an_unfinished_stub_is_not_done_yet_and_the_course_version_takes_over(capsys):
    assert exercises.check_dice_score(stub) is metrics.dice_score
    out = capsys.readouterr().out
    assert out.startswith("✘ dice_score: not done yet. Fill in the blanks (...), delete the")
    assert "course_utils.metrics.dice_score" in out


def test_an_exception_in_the_learners_code_is_reported_with_the_hint(capsys):
    def crashes(seg, voxel_size_mm):
        return seg.nonexistent

    exercises.check_tumour_volume(crashes)
    out = capsys.readouterr().out
    assert "raised AttributeError" in out
    assert "hint: 1 cm^3 is 1000 mm^3" in out


def test_changing_an_input_in_place_fails_the_case(capsys):
    def in_place(channel):
        brain = channel != 0
        channel[brain] = (channel[brain] - channel[brain].mean()) / channel[brain].std()
        return channel

    with np.errstate(invalid="ignore"):  # its constant case divides by 0 as well
        exercises.check_zscore(in_place)
    assert "changed its argument 1 in place" in capsys.readouterr().out


def test_arrays_and_tensors_are_compared_by_shape_and_value():
    assert exercises.same(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    assert not exercises.same(np.array([1.0, 2.0]), [1.0, 2.0, 3.0])
    assert not exercises.same(np.array([[1.0, 2.0]]), [1.0, 2.0])
    assert exercises.same(torch.tensor(0.5, requires_grad=True), 0.5)
    assert not exercises.same(torch.tensor([0.5]), torch.tensor(0.5))
    assert not exercises.same(float("nan"), 1.0)
    assert exercises.same("axial", "axial")


def test_run_cases_returns_the_verdict_for_code():
    cases = [exercises.Case("doubles", (2,), 4), exercises.Case("doubles zero", (0,), 0)]
    assert exercises.run_cases("double", lambda x: 2 * x, cases)[0] is True
    passed, feedback = exercises.run_cases("double", lambda x: x + 2, cases)
    assert passed is False and feedback.startswith("✘ double: 1 of 2 cases failed")


def test_array_feedback_points_at_the_biggest_difference():
    message = exercises.difference(np.arange(10.0), np.arange(10.0) + np.eye(10)[3])
    assert message == "values differ at 1 of 10 places, most at index (3,): expected 4, got 3"


def test_nan_is_reported_as_nan():
    assert exercises.difference(float("nan"), 1.0) == "expected 1, got NaN"
    got = np.zeros((2, 2, 2))
    got[1] = np.nan
    assert exercises.difference(got, np.zeros((2, 2, 2))) == (
        "got NaN at 4 of 8 places (a 0 / 0?), the first at index (1, 0, 0), where 0 was expected"
    )


def test_values_that_differ_below_the_printed_precision_are_printed_apart():
    message = exercises.difference(torch.tensor(0.65130007), torch.tensor(0.6513))
    expected, got = re.fullmatch(r"expected (\S+), got (\S+)", message).groups()
    assert expected != got and float(expected) == pytest.approx(0.6513, abs=1e-7)


def test_a_shape_difference_is_named():
    assert exercises.difference(torch.tensor([0.5]), torch.tensor(0.5)) == (
        "expected shape (), got shape (1,): expected 0.5, got [0.5]"
    )
    assert exercises.difference(np.zeros((3, 4)), np.zeros((4, 3))) == (
        "expected shape (4, 3), got shape (3, 4)"
    )


def test_a_missing_return_and_a_wrong_type_are_named():
    assert "does the function `return` its result?" in exercises.difference(None, [1, 2])
    assert exercises.difference(("a",), ["a"]) == "expected ['a'], got ('a',)"


# --- right answers, written here (the notebooks hold the solutions) --------------------------


def sniff(head):
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[128:132] == b"DICM":
        return "DICOM"
    if head[:4] == b"NRRD":
        return "NRRD"
    if head[:3] == b"CDF":
        return "MINC-1"
    if head[:4] == b"\x89HDF":
        return "MINC-2"
    if head[4:8] == b"n+2\0" or head[4:8] == b"ni2\0":
        return "NIfTI-2"
    if head[344:348] in (b"n+1\0", b"ni1\0"):
        return "NIfTI-1"
    if head[:4] in (b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c"):
        return "Analyze"
    return "unknown"


def corner_distance(a, b, shape):
    corners = np.array(np.meshgrid(*[[0, n - 1] for n in shape], indexing="ij")).reshape(3, -1)
    homogeneous = np.vstack([corners, np.ones(8)])
    return float(np.linalg.norm((a @ homogeneous - b @ homogeneous)[:3], axis=0).max())


def slice_order(positions, orientation):
    normal = np.cross(orientation[:3], orientation[3:])
    return list(np.argsort(np.asarray(positions) @ normal))


def hounsfield_units(ds):
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    return ds.pixel_array.astype(np.float64) * slope + intercept


def dicom_affine(position, orientation, pixel_spacing, slice_spacing):
    row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    lps = np.eye(4)
    lps[:3, 0] = row * pixel_spacing[1]
    lps[:3, 1] = column * pixel_spacing[0]
    lps[:3, 2] = np.cross(row, column) * slice_spacing
    lps[:3, 3] = position
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def find_leaks(ds, secrets):
    return sorted(
        element.keyword or str(element.tag)
        for element in ds
        if any(s.lower() in str(element.value).lower() for s in secrets)
    )


def voxel_to_world(affine, ijk):
    ijk = np.asarray(ijk, float)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def world_to_voxel(affine, xyz):
    return voxel_to_world(np.linalg.inv(affine), xyz)


def zscore_brain(channel):
    brain = channel != 0
    values = channel[brain]
    std = values.std()
    out = np.zeros_like(channel, dtype=float)
    if std > 0:
        out[brain] = (values - values.mean()) / std
    return out


def brats_regions(seg):
    return np.stack([np.isin(seg, (1, 2, 4)), np.isin(seg, (1, 4)), seg == 4]).astype(float)


def ncc(a, b, eps=1e-8):
    a, b = a - a.mean(), b - b.mean()
    return (a * b).mean() / (a.std(correction=0) * b.std(correction=0) + eps)


def translate(image, t):
    height, width = image.shape
    offset = t * torch.tensor([2 / (width - 1), 2 / (height - 1)])
    theta = torch.cat([torch.eye(2), offset[:, None]], dim=1)[None]
    grid = F.affine_grid(theta, (1, 1, height, width), align_corners=True)
    return F.grid_sample(image[None, None], grid, align_corners=True)[0, 0]


def registration_loop(fixed, moving, zero_grad=True, shift=translate):
    t = torch.zeros(2, requires_grad=True)
    optimiser = torch.optim.SGD([t], lr=20.0, momentum=0.5)
    for _ in range(150):
        loss = torch.mean((shift(moving, t) - fixed) ** 2)
        if zero_grad:
            optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return t.detach()


def axis_origins(size, patch, stride):
    last = max(size - patch, 0)
    origins = list(range(0, last + 1, stride))
    return origins if origins[-1] == last else [*origins, last]


def stitch_mean(patch_values, origins, shape):
    total = np.zeros((patch_values.shape[1], *shape))
    count = np.zeros(shape)
    k = patch_values.shape[2]
    for patch, (d, h, w) in zip(patch_values, origins, strict=True):
        total[:, d : d + k, h : h + k, w : w + k] += patch
        count[d : d + k, h : h + k, w : w + k] += 1
    return total / count


def soft_dice_loss(probabilities, target, squared=False, smooth=1e-5):
    axes = tuple(range(2, probabilities.ndim))
    overlap = (probabilities * target).sum(axes)
    if squared:
        total = (probabilities**2).sum(axes) + (target**2).sum(axes)
    else:
        total = probabilities.sum(axes) + target.sum(axes)
    return (1 - (2 * overlap + smooth) / (total + smooth)).mean()


def threshold_masks(flair, t1ce, flair_threshold, t1ce_threshold):
    pieces, _ = ndimage.label(flair > flair_threshold, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(pieces.ravel())
    sizes[0] = 0
    whole = pieces == sizes.argmax() if sizes.any() else np.zeros(flair.shape, bool)
    return whole, t1ce > t1ce_threshold


def registration_error(found, true, points):
    homogeneous = np.c_[points, np.ones(len(points))]
    return np.linalg.norm((homogeneous @ found.T - homogeneous @ true.T)[:, :3], axis=1)


def dice_of_masks(pred, truth):
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else 2 * (pred & truth).sum() / total


#: Every check, a right answer of this file's own, and the course's version it falls back to.
CHECKS = {
    "tumour_volume": (exercises.check_tumour_volume, correct_volume, "whole_tumour_volume_cm3"),
    "format_sniffer": (exercises.check_format_sniffer, sniff, "sniff_format"),
    "corner_distance": (exercises.check_corner_distance, corner_distance, "corner_distance_mm"),
    "hounsfield_units": (exercises.check_hounsfield_units, hounsfield_units, dicom.pixel_values),
    "slice_order": (exercises.check_slice_order, slice_order, "slice_order"),
    "dicom_affine": (exercises.check_dicom_affine, dicom_affine, "dicom_affine"),
    "find_leaks": (exercises.check_find_leaks, find_leaks, "find_leaks"),
    "voxel_to_world": (exercises.check_voxel_to_world, voxel_to_world, apply_affine),
    "world_to_voxel": (exercises.check_world_to_voxel, world_to_voxel, "world_to_voxel"),
    "zscore": (exercises.check_zscore, zscore_brain, "zscore_brain"),
    "brats_regions": (exercises.check_brats_regions, brats_regions, "brats_regions"),
    "ncc": (exercises.check_ncc, ncc, registration.ncc),
    "translation_registration": (
        exercises.check_translation_registration,
        registration_loop,
        "register_translation",
    ),
    "axis_origins": (exercises.check_axis_origins, axis_origins, patches.axis_origins),
    "stitch_mean": (exercises.check_stitch_mean, stitch_mean, "stitch_mean"),
    "soft_dice": (exercises.check_soft_dice, soft_dice_loss, "soft_dice_loss"),
    "dice_score": (exercises.check_dice_score, dice_of_masks, metrics.dice_score),
    "threshold_baseline": (
        exercises.check_threshold_baseline,
        threshold_masks,
        baselines.threshold_baseline,
    ),
    "registration_error": (
        exercises.check_registration_error,
        registration_error,
        registration.target_registration_error,
    ),
}


def reference(key: str):
    fallback = CHECKS[key][2]
    return getattr(exercises, fallback) if isinstance(fallback, str) else fallback


def test_every_check_of_the_module_is_tested_here():
    names = {name for name in exercises.__all__ if name.startswith("check_")}
    assert names == {CHECKS[key][0].__name__ for key in CHECKS}


@pytest.mark.parametrize("key", CHECKS)
def test_the_right_answer_and_the_course_version_both_pass(key, capsys):
    check, right, _ = CHECKS[key]
    assert check(right) is right
    assert capsys.readouterr().out.startswith("✔")
    course = reference(key)
    assert check(course) is course, f"the course's own version fails {check.__name__}"
    assert capsys.readouterr().out.startswith("✔")


@pytest.mark.parametrize("key", CHECKS)
def test_an_unfinished_stub_gets_the_course_version(key, capsys):
    check, _, _ = CHECKS[key]
    assert check(stub) is reference(key)
    out = capsys.readouterr().out
    assert "not done yet" in out and exercises.course_version(reference(key)) in out


# --- wrong answers: INSTRUCTORS.md's common errors, and others -------------------------------


def sniffer(magics, analyze=(b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c"), analyze_first=False):
    """A sniffer testing ``magics`` [(offset, bytes, name)], with a chosen Analyze test."""

    def sniff_with(head):
        if analyze_first and head[:4] in analyze:
            return "Analyze"
        for offset, magic, name in magics:
            if head[offset : offset + len(magic)] == magic:
                return name
        return "Analyze" if head[:4] in analyze else "unknown"

    return sniff_with


MAGICS = list(exercises.MAGICS)


def without(*names):
    return [m for m in MAGICS if m[2] not in names and m[1] not in names]


def private_blind(ds, secrets):  # keyword only: '' for a private element
    return sorted(e.keyword for e in ds if any(s.lower() in str(e.value).lower() for s in secrets))


def zscore_with(mask=lambda c: c != 0, ddof=0, guard=True, background_zero=True):
    def zscore(channel):
        brain = mask(channel)
        values = channel[brain]
        mean, std = values.mean(), values.std(ddof=ddof)
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = (channel - mean) / (std if std > 0 or not guard else 1.0)
        if guard and std == 0:
            scaled = np.zeros_like(scaled)
        return np.where(brain, scaled, 0.0) if background_zero else scaled

    return zscore


def dice_loss_with(axes=None, numerator_smooth=True, smooth_value=None, squared_sums=False):
    def loss(p, g, squared=False, smooth=1e-5):
        s = smooth if smooth_value is None else smooth_value
        spatial = tuple(range(2, p.ndim)) if axes is None else axes
        overlap = (p * g).sum(spatial)
        if squared and squared_sums:
            total = p.sum(spatial) ** 2 + g.sum(spatial) ** 2
        elif squared:
            total = (p**2).sum(spatial) + (g**2).sum(spatial)
        else:
            total = p.sum(spatial) + g.sum(spatial)
        numerator = 2 * overlap + (s if numerator_smooth else 0.0)
        return (1 - numerator / (total + s)).mean()

    return loss


def no_scale_shift(image, t):  # t used as normalised units: 2 / (size - 1) forgotten
    return translate(image, t * torch.tensor([(image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2]))


def overwrite(patch_values, origins, shape):  # the classic bug: last patch wins
    out = np.zeros((patch_values.shape[1], *shape))
    k = patch_values.shape[2]
    for patch, (d, h, w) in zip(patch_values, origins, strict=True):
        out[:, d : d + k, h : h + k, w : w + k] = patch
    return out


def coverage(patch_values, origins, shape):  # how many patches cover each voxel
    count = np.zeros(shape)
    k = patch_values.shape[2]
    for d, h, w in origins:
        count[d : d + k, h : h + k, w : w + k] += 1
    return count


def channels_as_patch_size(patch_values, origins, shape):
    total = np.zeros((patch_values.shape[1], *shape))
    count = np.zeros(shape)
    k = patch_values.shape[1]  # the channel axis, not the patch size
    for patch, (d, h, w) in zip(patch_values, origins, strict=True):
        total[:, d : d + k, h : h + k, w : w + k] += patch[:, :k, :k, :k]
        count[d : d + k, h : h + k, w : w + k] += 1
    with np.errstate(invalid="ignore"):
        return total / count


def corner_distances(a, b, shape):
    corners = np.array(np.meshgrid(*[[0, n - 1] for n in shape])).reshape(3, -1).T
    return apply_affine(a, corners) - apply_affine(b, corners)


def diagonal_corner_distance(a, b, shape):  # only (0, 0, 0) and (n - 1, ...): 2 of 8 corners
    ends = [[0, 0, 0], np.subtract(shape, 1)]
    return float(np.linalg.norm(apply_affine(a, ends) - apply_affine(b, ends), axis=1).max())


def mean_corner_distance(a, b, shape):
    return float(np.linalg.norm(corner_distances(a, b, shape), axis=1).mean())


def manhattan_corner_distance(a, b, shape):
    return float(np.abs(corner_distances(a, b, shape)).sum(axis=1).max())


#: (check key, wrong function, a fragment its feedback must contain)
def rescale(ds, how):  # hounsfield_units with a chosen (wrong) way to combine the numbers
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    return how(ds.pixel_array, slope, intercept)


def affine_with(flip=None, spacing=(0, 1), rows_first=False, sign=1):
    """dicom_affine with one chosen mistake: the flip, the PixelSpacing order, rows and columns
    exchanged, or the normal's sign."""

    def build(position, orientation, pixel_spacing, slice_spacing):
        row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
        if rows_first:
            row, column = column, row
        lps = np.eye(4)
        lps[:3, 0] = row * pixel_spacing[spacing[1]]
        lps[:3, 1] = column * pixel_spacing[spacing[0]]
        lps[:3, 2] = sign * np.cross(row, column) * slice_spacing
        lps[:3, 3] = position
        return (np.diag([-1.0, -1.0, 1.0, 1.0]) if flip is None else flip) @ lps

    return build


def flip_directions_only(position, orientation, pixel_spacing, slice_spacing):
    affine = affine_with(flip=np.eye(4))(position, orientation, pixel_spacing, slice_spacing)
    affine[:2, :3] *= -1  # the translation stays LPS
    return affine


WRONG = {
    "hu-no-intercept": ("hounsfield_units", lambda ds: rescale(ds, lambda p, m, b: p * m), "Add"),
    "hu-swapped": (
        "hounsfield_units",
        lambda ds: rescale(ds, lambda p, m, b: p.astype(float) * b + m),
        "don't swap",
    ),
    "hu-no-slope": (
        "hounsfield_units",
        lambda ds: rescale(ds, lambda p, m, b: p.astype(float) + b),
        "multiplies",
    ),
    "hu-integer-arithmetic": (
        "hounsfield_units",
        lambda ds: rescale(ds, lambda p, m, b: p * int(m) + int(b)),
        "Convert to float",
    ),
    "hu-cast-back": (
        "hounsfield_units",
        lambda ds: rescale(ds, lambda p, m, b: (p * m + b).astype(p.dtype)),
        "truncates",
    ),
    "hu-requires-the-attributes": (
        "hounsfield_units",
        lambda ds: ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept),
        "ds.get('RescaleSlope', 1)",
    ),
    "hu-inverse": (
        "hounsfield_units",
        lambda ds: rescale(ds, lambda p, m, b: (p.astype(float) - b) / m),
        "multiply first",
    ),
    "affine-no-flip": ("dicom_affine", affine_with(flip=np.eye(4)), "io.LPS_TO_RAS @ affine"),
    "affine-flip-directions-only": ("dicom_affine", flip_directions_only, "translation included"),
    "affine-spacing-swapped": ("dicom_affine", affine_with(spacing=(1, 0)), "(row spacing"),
    "affine-rows-and-columns-exchanged": (
        "dicom_affine",
        affine_with(rows_first=True),
        "column 0 is the row direction",
    ),
    "affine-normal-reversed": ("dicom_affine", affine_with(sign=-1), "np.cross(row direction"),
    # 00: whole-tumour volume
    "volume-sums-label-values": (
        "tumour_volume",
        lambda seg, v: float(seg.sum() * np.prod(v) / 1000),
        "don't add up their label values",
    ),
    "volume-operator-precedence": (
        "tumour_volume",
        lambda seg, v: float(np.count_nonzero(seg == 1 | 2 | 4) * np.prod(v) / 1000),
        "expected 1, got 0",
    ),
    "volume-one-label": (
        "tumour_volume",
        lambda seg, v: float(np.count_nonzero(seg == 2) * np.prod(v) / 1000),
        "every non-zero label",
    ),
    "volume-expects-label-3": (
        "tumour_volume",
        lambda seg, v: float(np.isin(seg, (1, 2, 3)).sum() * np.prod(v) / 1000),
        "every non-zero label",
    ),
    "volume-divides-by-10": (
        "tumour_volume",
        lambda seg, v: float(np.count_nonzero(seg) * np.prod(v) / 10),
        "1 cm^3 is 1000 mm^3",
    ),
    "volume-edge-cubed": (
        "tumour_volume",
        lambda seg, v: float(np.count_nonzero(seg) * v[0] ** 3 / 1000),
        "Voxels need not be cubes",
    ),
    "volume-no-return": ("tumour_volume", lambda seg, v: None, "`return` its result"),
    # 01: format sniffer
    "sniff-bytes-vs-str": (
        "format_sniffer",
        sniffer([(128, "DICM", "DICOM"), *without("DICOM")]),
        "compare bytes with bytes",
    ),
    "sniff-analyze-before-nifti": (
        "format_sniffer",
        sniffer(MAGICS, analyze_first=True),
        "test the magic before Analyze's 348",
    ),
    "sniff-big-endian-analyze-only": (
        "format_sniffer",
        sniffer(MAGICS, analyze=(b"\x00\x00\x01\x5c",)),
        "in either byte order",
    ),
    "sniff-little-endian-analyze-only": (
        "format_sniffer",
        sniffer(MAGICS, analyze=(b"\x5c\x01\x00\x00",)),
        "in either byte order",
    ),
    "sniff-nifti2-at-344": (
        "format_sniffer",
        sniffer([(344, b"n+2\0", "NIfTI-2"), (344, b"ni2\0", "NIfTI-2"), *without("NIfTI-2")]),
        "NIfTI-2's magic is at byte 4",
    ),
    "sniff-forgets-nifti1-pair": (
        "format_sniffer",
        sniffer(without(b"ni1\0")),
        "'ni1\\0' in a .hdr/.img pair",
    ),
    "sniff-forgets-nifti2-pair": (
        "format_sniffer",
        sniffer(without(b"ni2\0")),
        "'ni2\\0' in a pair",
    ),
    "sniff-no-unknown": (
        "format_sniffer",
        lambda head: sniff(head) if sniff(head) != "unknown" else None,
        "`return` its result",
    ),
    # 01: corner distance
    "corners-two-diagonal-only": (
        "corner_distance",
        diagonal_corner_distance,
        "All eight corners",
    ),
    "corners-at-n": (
        "corner_distance",
        lambda a, b, shape: corner_distance(a, b, [n + 1 for n in shape]),
        "indices 0 and n-1",
    ),
    "corners-no-homogeneous-1": (
        "corner_distance",
        lambda a, b, shape: corner_distance(
            np.block([[a[:3, :3], np.zeros((3, 1))], [np.zeros((1, 3)), 1]]),
            np.block([[b[:3, :3], np.zeros((3, 1))], [np.zeros((1, 3)), 1]]),
            shape,
        ),
        "Keep the 1",
    ),
    "corners-origins-only": (
        "corner_distance",
        lambda a, b, shape: float(np.linalg.norm(a[:3, 3] - b[:3, 3])),
        "indices 0 and n-1",
    ),
    "corners-mean-not-max": ("corner_distance", mean_corner_distance, "expected 3, got 1.5"),
    "corners-manhattan": ("corner_distance", manhattan_corner_distance, "Euclidean norm"),
    # 02: slice order
    "slices-by-z": (
        "slice_order",
        lambda positions, orientation: list(np.argsort(np.asarray(positions)[:, 2])),
        "Sorting by z works for axial stacks only",
    ),
    "slices-column-cross-row": (
        "slice_order",
        lambda positions, o: list(np.argsort(np.asarray(positions) @ np.cross(o[3:], o[:3]))),
        "cross the row direction with the column direction",
    ),
    "slices-ranks-not-indices": (
        "slice_order",
        lambda positions, o: list(
            np.argsort(np.argsort(np.asarray(positions) @ np.cross(o[:3], o[3:])))
        ),
        "not the ranks",
    ),
    "slices-distance-from-origin": (
        "slice_order",
        lambda positions, o: list(np.argsort(np.linalg.norm(positions, axis=1))),
        "Project each position on the normal",
    ),
    # 02: find leaks
    "leaks-lowercases-the-value-only": (
        "find_leaks",
        lambda ds, secrets: sorted(
            e.keyword or str(e.tag) for e in ds if any(s in str(e.value).lower() for s in secrets)
        ),
        "Lower-case both sides",
    ),
    "leaks-lowercases-the-secret-only": (
        "find_leaks",
        lambda ds, secrets: sorted(
            e.keyword or str(e.tag) for e in ds if any(s.lower() in str(e.value) for s in secrets)
        ),
        "Lower-case both sides",
    ),
    "leaks-skips-sequences": (
        "find_leaks",
        lambda ds, secrets: find_leaks([e for e in ds if e.VR != "SQ"], secrets),
        "don't skip it",
    ),
    "leaks-strings-only": (
        "find_leaks",
        lambda ds, secrets: find_leaks([e for e in ds if isinstance(e.value, str)], secrets),
        "Numbers leak too",
    ),
    "leaks-empty-keyword-for-private-tags": ("find_leaks", private_blind, "str(element.tag)"),
    "leaks-element-name": (
        "find_leaks",
        lambda ds, secrets: sorted(
            e.name for e in ds if any(s.lower() in str(e.value).lower() for s in secrets)
        ),
        "return element.keyword",
    ),
    "leaks-unsorted": (
        "find_leaks",
        lambda ds, secrets: [
            e.keyword or str(e.tag)
            for e in ds
            if any(s.lower() in str(e.value).lower() for s in secrets)
        ],
        "sorted",
    ),
    "leaks-exact-match": (
        "find_leaks",
        lambda ds, secrets: sorted(e.keyword for e in ds if str(e.value) in secrets),
        "Lower-case both sides",
    ),
    # 03: voxel to world
    "voxel-drops-translation": (
        "voxel_to_world",
        lambda affine, ijk: np.asarray(ijk, float) @ affine[:3, :3].T,
        "affine[:3, :3] alone drops it",
    ),
    "voxel-forgets-to-transpose-back": (
        "voxel_to_world",
        lambda affine, ijk: (affine @ np.column_stack([ijk, np.ones(len(ijk))]).T)[:3],
        "expected shape (4, 3), got shape (3, 4)",
    ),
    "voxel-rounds-indices": (
        "voxel_to_world",
        lambda affine, ijk: voxel_to_world(affine, np.asarray(ijk).astype(int)),
        "keep them as floats",
    ),
    "voxel-arrays-only": (
        "voxel_to_world",
        lambda affine, ijk: voxel_to_world(affine, ijk) + 0 * ijk.shape[0],
        "accept a list",
    ),
    "voxel-affine-not-transposed": (
        "voxel_to_world",
        lambda affine, ijk: (np.column_stack([ijk, np.ones(len(ijk))]) @ affine)[:, :3],
        "world = (affine @ [i, j, k, 1])[:3]",
    ),
    # 03: world to voxel
    "world-inverts-by-transposing": (
        "world_to_voxel",
        lambda affine, xyz: voxel_to_world(affine.T, xyz),
        "affine.T inverts only a pure rotation",
    ),
    "world-inverts-elementwise": (
        "world_to_voxel",
        lambda affine, xyz: voxel_to_world(
            np.where(affine != 0, 1 / np.where(affine != 0, affine, 1), 0), xyz
        ),
        "np.linalg.inv(affine)",
    ),
    "world-subtracts-the-origin-only": (
        "world_to_voxel",
        lambda affine, xyz: np.asarray(xyz, float) - affine[:3, 3],
        "np.linalg.inv(affine)",
    ),
    "world-rounds": (
        "world_to_voxel",
        lambda affine, xyz: np.round(world_to_voxel(affine, xyz)),
        "don't round the result",
    ),
    "world-forgets-the-translation": (
        "world_to_voxel",
        lambda affine, xyz: np.asarray(xyz, float) @ np.linalg.inv(affine[:3, :3]).T,
        "np.linalg.inv(affine)",
    ),
    # 04: z-score
    "zscore-whole-volume": (
        "zscore",
        zscore_with(mask=lambda c: np.ones(c.shape, bool)),
        "background stays out of the statistics",
    ),
    "zscore-background-not-kept-zero": (
        "zscore",
        zscore_with(background_zero=False),
        "keep the background 0",
    ),
    "zscore-sample-std": ("zscore", zscore_with(ddof=1), "ddof=0"),
    "zscore-divides-by-zero": ("zscore", zscore_with(guard=False), "got NaN at 4 of 8 places"),
    "zscore-positive-only": ("zscore", zscore_with(mask=lambda c: c > 0), "negative ones too"),
    # 04: regions
    "regions-one-hot": (
        "brats_regions",
        lambda seg: np.stack([seg == 1, seg == 2, seg == 4]).astype(float),
        "The regions are nested",
    ),
    "regions-et-is-3": (
        "brats_regions",
        lambda seg: np.stack([seg > 0, np.isin(seg, (1, 3)), seg == 3]).astype(float),
        "no label 3",
    ),
    "regions-core-is-1-and-2": (
        "brats_regions",
        lambda seg: np.stack([seg > 0, np.isin(seg, (1, 2)), seg == 4]).astype(float),
        "TC = 1 and 4",
    ),
    "regions-last-axis": (
        "brats_regions",
        lambda seg: np.stack([seg > 0, np.isin(seg, (1, 4)), seg == 4], axis=-1).astype(float),
        "expected shape (3, 1, 1, 4), got shape (1, 1, 4, 3)",
    ),
    # 05: NCC
    "ncc-sample-std": (
        "ncc",
        lambda a, b: ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std()),
        "expected 0.5, got 0.3333",
    ),
    "ncc-no-centring": (
        "ncc",
        lambda a, b: (a * b).mean() / ((a**2).mean().sqrt() * (b**2).mean().sqrt()),
        "subtract the means",
    ),
    "ncc-no-epsilon": (
        "ncc",
        lambda a, b: ncc(a, b, eps=0.0),
        "expected 0, got NaN",
    ),
    "ncc-item-breaks-the-gradient": (
        "ncc",
        lambda a, b: torch.tensor(ncc(a, b).item()),
        "Use torch operations only",
    ),
    "ncc-numpy": (
        "ncc",
        lambda a, b: torch.tensor(np.corrcoef(a.numpy().ravel(), b.numpy().ravel())[0, 1]),
        "the gradient reaches b: raised RuntimeError",
    ),
    "ncc-absolute-value": ("ncc", lambda a, b: ncc(a, b).abs(), "Keep the sign"),
    # 05: translation registration
    "translation-inverted-direction": (
        "translation_registration",
        lambda fixed, moving: registration_loop(moving, fixed),
        "expected [3, -2], got [-3",
    ),
    "translation-no-zero-grad": (
        "translation_registration",
        lambda fixed, moving: registration_loop(fixed, moving, zero_grad=False),
        "zeroing the gradients at every step",
    ),
    "translation-normalised-units": (
        "translation_registration",
        lambda fixed, moving: registration_loop(fixed, moving, shift=no_scale_shift),
        "2 * t / (size - 1)",
    ),
    "translation-rows-and-columns-swapped": (
        "translation_registration",
        lambda fixed, moving: registration_loop(fixed, moving).flip(0),
        "tx along the columns, ty along the rows",
    ),
    # 06: axis origins
    "origins-off-by-one": (
        "axis_origins",
        lambda size, patch, stride: list(range(0, size - patch, stride)),
        "add one at size - patch",
    ),
    "origins-no-border-patch": (
        "axis_origins",
        lambda size, patch, stride: list(range(0, size - patch + 1, stride)),
        "add one at size - patch",
    ),
    "origins-beyond-the-border": (
        "axis_origins",
        lambda size, patch, stride: list(range(0, size, stride)),
        "add one at size - patch",
    ),
    "origins-border-patch-twice": (
        "axis_origins",
        lambda size, patch, stride: [
            *range(0, max(size - patch, 0) + 1, stride),
            max(size - patch, 0),
        ],
        "needs no second one",
    ),
    "origins-negative-start": (
        "axis_origins",
        lambda size, patch, stride: (
            axis_origins(size, patch, stride) if size >= patch else [size - patch]
        ),
        "A volume smaller than the patch",
    ),
    # 06: stitching
    "stitch-overwrites": ("stitch_mean", overwrite, "Add (+=), don't overwrite"),
    "stitch-sums": (
        "stitch_mean",
        lambda p, o, shape: stitch_mean(p, o, shape) * coverage(p, o, shape),
        "count how many patches cover each voxel",
    ),
    "stitch-divides-by-the-number-of-patches": (
        "stitch_mean",
        lambda p, o, shape: stitch_mean(p, o, shape) * coverage(p, o, shape) / len(p),
        "not by the number of patches",
    ),
    "stitch-channels-as-patch-size": (
        "stitch_mean",
        channels_as_patch_size,
        "the patch size is patches.shape[2]",
    ),
    # 07: soft Dice
    "soft-dice-batch-dice": (
        "soft_dice",
        lambda p, g, squared=False, smooth=1e-5: dice_loss_with(axes=tuple(range(p.ndim)))(
            p, g, squared, smooth
        ),
        "Sum over the spatial axes only",
    ),
    "soft-dice-smooth-only-in-the-denominator": (
        "soft_dice",
        dice_loss_with(numerator_smooth=False),
        "Add smooth to the numerator",
    ),
    "soft-dice-no-smooth": (
        "soft_dice",
        dice_loss_with(smooth_value=0.0),
        "expected 0, got NaN",
    ),
    "soft-dice-ignores-the-smooth-argument": (
        "soft_dice",
        dice_loss_with(smooth_value=1e-4),
        "expected 0.5, got 0.499988",
    ),
    "soft-dice-squares-the-sums": (
        "soft_dice",
        dice_loss_with(squared_sums=True),
        "not the square of the sums",
    ),
    "soft-dice-ignores-squared": (
        "soft_dice",
        lambda p, g, squared=False, smooth=1e-5: soft_dice_loss(p, g, False, smooth),
        "With squared=True",
    ),
    "soft-dice-returns-a-float": (
        "soft_dice",
        lambda *args, **kwargs: soft_dice_loss(*args, **kwargs).item(),
        "return a tensor",
    ),
    "soft-dice-no-mean": (
        "soft_dice",
        lambda p, g, squared=False, smooth=1e-5: (
            1 - (2 * (p * g).sum((2,)) + smooth) / ((p + g).sum((2,)) + smooth)
        ),
        "expected shape (), got shape (1, 1)",
    ),
    "soft-dice-returns-dice": (
        "soft_dice",
        lambda *args, **kwargs: 1 - soft_dice_loss(*args, **kwargs),
        "expected 0.4, got 0.6",
    ),
    # 07: Dice of masks
    "dice-nan-for-two-empty-masks": (
        "dice_score",
        lambda pred, truth: np.float64(2 * (pred & truth).sum()) / (pred.sum() + truth.sum()),
        "expected 1, got NaN",
    ),
    "dice-zero-for-two-empty-masks": (
        "dice_score",
        lambda pred, truth: 2 * (pred & truth).sum() / max(pred.sum() + truth.sum(), 1),
        "return 1, don't divide by 0",
    ),
    "dice-jaccard": (
        "dice_score",
        lambda pred, truth: (pred & truth).sum() / max((pred | truth).sum(), 1),
        "not the union",
    ),
    "dice-one-if-either-is-empty": (
        "dice_score",
        lambda pred, truth: (
            1.0 if not pred.any() or not truth.any() else dice_of_masks(pred, truth)
        ),
        "Nothing found: 0",
    ),
    # 07: threshold baseline
    "threshold-keeps-every-piece": (
        "threshold_baseline",
        lambda f, t, a, b: (f > a, t > b),
        "Keep only the largest piece",
    ),
    "threshold-face-connectivity": (
        "threshold_baseline",
        lambda f, t, a, b: (face_connected_largest(f > a), t > b),
        "Corner neighbours are connected",
    ),
    "threshold-at-or-above": (
        "threshold_baseline",
        lambda f, t, a, b: threshold_masks(f, t, a - 1e-6, b - 1e-6),
        "Strictly above",
    ),
    "threshold-enhancing-only-inside": (
        "threshold_baseline",
        lambda f, t, a, b: (lambda w, e: (w, w & e))(*threshold_masks(f, t, a, b)),
        "everywhere, not only inside",
    ),
    "threshold-background-is-largest": (
        "threshold_baseline",
        lambda f, t, a, b: (
            (lambda p: p == np.bincount(p.ravel()).argmax())(
                ndimage.label(f > a, structure=np.ones((3, 3, 3)))[0]
            ),
            t > b,
        ),
        "ignoring label 0",
    ),
    # 08: target registration error
    "tre-rotation-only": (
        "registration_error",
        lambda f, t, p: np.linalg.norm(p @ f[:3, :3].T - p @ t[:3, :3].T, axis=1),
        "the last column is the translation",
    ),
    "tre-rotation-transposed": (
        "registration_error",
        lambda f, t, p: np.linalg.norm(
            (p @ f[:3, :3] + f[:3, 3]) - (p @ t[:3, :3] + t[:3, 3]), axis=1
        ),
        "points @ R.T + t",
    ),
    "tre-mean-not-per-point": (
        "registration_error",
        lambda f, t, p: float(registration_error(f, t, p).mean()),
        "one distance per point",
    ),
    "tre-squared": (
        "registration_error",
        lambda f, t, p: registration_error(f, t, p) ** 2,
        "not squared",
    ),
    "tre-summed-axes": (
        "registration_error",
        lambda f, t, p: np.abs((p @ f[:3, :3].T + f[:3, 3]) - (p @ t[:3, :3].T + t[:3, 3])).sum(1),
        "not summed over the axes",
    ),
    "tre-inverses": (
        "registration_error",
        lambda f, t, p: registration_error(np.linalg.inv(f), np.linalg.inv(t), p),
        "not their inverses",
    ),
}


def face_connected_largest(mask):
    pieces, _ = ndimage.label(mask)
    sizes = np.bincount(pieces.ravel())
    sizes[0] = 0
    return pieces == sizes.argmax()


@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_answer_fails_with_a_useful_hint_and_the_course_version_takes_over(name, capsys):
    key, wrong, fragment = WRONG[name]
    check = CHECKS[key][0]
    with np.errstate(all="ignore"):
        use = check(wrong)
    out = capsys.readouterr().out
    assert out.startswith("✘"), f"{check.__name__} passes the mistake {name!r}:\n{out}"
    assert fragment in out, out
    assert "hint:" in out
    assert use is reference(key)
    for expected, got in re.findall(r"expected (.+?), got (.+?)$", out, flags=re.M):
        assert expected != got, f"feedback shows no difference: {out}"


def test_each_check_has_several_wrong_answers():
    per_check = {key: sum(entry[0] == key for entry in WRONG.values()) for key in CHECKS}
    assert min(per_check.values()) >= 3, per_check
