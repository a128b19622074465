"""The exercise checks: a tick for right answers, useful feedback for wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import exercises


def correct_volume(seg, voxel_size_mm):
    return float((seg > 0).sum() * np.prod(voxel_size_mm) / 1000)


def test_a_correct_function_gets_a_tick(capsys):
    exercises.check_tumour_volume(correct_volume)
    assert capsys.readouterr().out == "✔ whole_tumour_volume_cm3: all 4 cases passed\n"


def test_a_wrong_function_gets_expected_got_and_a_hint(capsys):
    def forgets_units(seg, voxel_size_mm):
        return float((seg > 0).sum() * np.prod(voxel_size_mm))

    exercises.check_tumour_volume(forgets_units)
    out = capsys.readouterr().out
    assert "✘ whole_tumour_volume_cm3: 3 of 4 cases failed" in out
    assert "expected 1, got 1000" in out
    assert "hint: 1 cm^3 is 1000 mm^3" in out


def test_an_unfinished_stub_is_reported_not_raised(capsys):
    def stub(seg, voxel_size_mm):
        raise NotImplementedError("Student exercise: compute the volume")

    exercises.check_tumour_volume(stub)
    assert "not implemented yet" in capsys.readouterr().out


def test_an_exception_in_the_learners_code_is_reported(capsys):
    def crashes(seg, voxel_size_mm):
        return seg.nonexistent

    exercises.check_tumour_volume(crashes)
    assert "raised AttributeError" in capsys.readouterr().out


def test_arrays_are_compared_by_shape_and_value():
    assert exercises.same(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    assert not exercises.same(np.array([1.0, 2.0]), [1.0, 2.0, 3.0])
    assert not exercises.same(np.array([[1.0, 2.0]]), [1.0, 2.0])
    assert exercises.same("axial", "axial")


def test_run_cases_returns_the_verdict_for_code():
    cases = [exercises.Case("doubles", (2,), 4), exercises.Case("doubles zero", (0,), 0)]
    assert exercises.run_cases("double", lambda x: 2 * x, cases)[0] is True
    passed, feedback = exercises.run_cases("double", lambda x: x + 2, cases)
    assert passed is False and feedback.startswith("✘ double: 1 of 2 cases failed")


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


def find_leaks(ds, secrets):
    return sorted(
        element.keyword
        for element in ds
        if any(s.lower() in str(element.value).lower() for s in secrets)
    )


def voxel_to_world(affine, ijk):
    ijk = np.asarray(ijk, float)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def world_to_voxel(affine, xyz):
    return voxel_to_world(np.linalg.inv(affine), xyz)


@pytest.mark.parametrize(
    ("check", "right", "wrong"),
    [
        (exercises.check_format_sniffer, sniff, lambda head: "DICOM"),
        (
            exercises.check_corner_distance,
            corner_distance,
            lambda a, b, shape: float(np.abs(a - b).max()),
        ),
        (
            exercises.check_slice_order,
            slice_order,
            lambda positions, orientation: list(np.argsort(np.asarray(positions)[:, 2])),
        ),
        (
            exercises.check_find_leaks,
            find_leaks,
            lambda ds, secrets: sorted(e.keyword for e in ds if str(e.value) in secrets),
        ),
        (
            exercises.check_voxel_to_world,
            voxel_to_world,
            lambda affine, ijk: np.asarray(ijk, float) @ affine[:3, :3].T,
        ),
        (
            exercises.check_world_to_voxel,
            world_to_voxel,
            lambda affine, xyz: np.asarray(xyz, float) - affine[:3, 3],
        ),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_each_check_passes_a_right_answer_and_fails_a_typical_wrong_one(
    check, right, wrong, capsys
):
    check(right)
    assert capsys.readouterr().out.startswith("✔")
    check(wrong)
    assert capsys.readouterr().out.startswith("✘")


def axis_origins(size, patch, stride):
    last = max(size - patch, 0)
    origins = list(range(0, last + 1, stride))
    return origins if origins[-1] == last else [*origins, last]


def stitch_mean(patches, origins, shape):
    total = np.zeros((patches.shape[1], *shape))
    count = np.zeros(shape)
    k = patches.shape[2]
    for patch, (d, h, w) in zip(patches, origins, strict=True):
        total[:, d : d + k, h : h + k, w : w + k] += patch
        count[d : d + k, h : h + k, w : w + k] += 1
    return total / count


def overwrite(patches, origins, shape):  # the classic bug: last patch wins, no averaging
    out = np.zeros((patches.shape[1], *shape))
    k = patches.shape[2]
    for patch, (d, h, w) in zip(patches, origins, strict=True):
        out[:, d : d + k, h : h + k, w : w + k] = patch
    return out


def check_passes_right_and_fails_wrong(check, right, wrong, capsys) -> str:
    """Assert ``check`` prints ✔ for the right solution and ✘ for the wrong one; return the ✘."""
    check(right)
    assert capsys.readouterr().out.startswith("✔")
    check(wrong)
    out = capsys.readouterr().out
    assert out.startswith("✘")
    return out


@pytest.mark.parametrize(
    ("check", "right", "wrong"),
    [
        (
            exercises.check_axis_origins,
            axis_origins,
            lambda size, patch, stride: list(range(0, size - patch + 1, stride)),
        ),
        (exercises.check_stitch_mean, stitch_mean, overwrite),
    ],
    ids=["axis_origins", "stitch_mean"],
)
def test_notebook_06_checks_tell_right_from_wrong(check, right, wrong, capsys):
    assert "hint:" in check_passes_right_and_fails_wrong(check, right, wrong, capsys)


def test_array_feedback_points_at_the_first_big_difference():
    message = exercises.difference(np.arange(10.0), np.arange(10.0) + np.eye(10)[3])
    assert message == "values differ at 1 of 10 places, most at index (3,): expected 4, got 3"


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


@pytest.mark.parametrize(
    ("check", "right", "wrong"),
    [
        (exercises.check_zscore, zscore_brain, lambda c: (c - c.mean()) / (c.std() or 1.0)),
        (
            exercises.check_brats_regions,
            brats_regions,
            lambda seg: np.stack([seg == 1, seg == 2, seg == 4]).astype(float),
        ),
    ],
    ids=["zscore", "regions"],
)
def test_notebook_04_checks_tell_right_from_wrong(check, right, wrong, capsys):
    check_passes_right_and_fails_wrong(check, right, wrong, capsys)


def soft_dice_loss(probabilities, target, squared=False, smooth=1e-5):
    axes = tuple(range(2, probabilities.ndim))
    overlap = (probabilities * target).sum(axes)
    if squared:
        total = (probabilities**2).sum(axes) + (target**2).sum(axes)
    else:
        total = probabilities.sum(axes) + target.sum(axes)
    return (1 - (2 * overlap + smooth) / (total + smooth)).mean()


def dice_of_masks(pred, truth):
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else 2 * (pred & truth).sum() / total


@pytest.mark.parametrize(
    ("check", "right", "wrong"),
    [
        (
            exercises.check_soft_dice,
            soft_dice_loss,
            # summing over the batch too: one Dice for everything
            lambda p, g, squared=False, smooth=1e-5: (
                1 - (2 * (p * g).sum() + smooth) / (p.sum() + g.sum() + smooth)
            ),
        ),
        (
            exercises.check_dice_score,
            dice_of_masks,
            lambda pred, truth: 2 * (pred & truth).sum() / max(pred.sum() + truth.sum(), 1),
        ),
    ],
    ids=["soft_dice", "dice_score"],
)
def test_notebook_07_checks_tell_right_from_wrong(check, right, wrong, capsys):
    check_passes_right_and_fails_wrong(check, right, wrong, capsys)
