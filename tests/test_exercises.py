"""The exercise checks: a tick for right answers, useful feedback for wrong ones."""

from __future__ import annotations

import numpy as np

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
