"""The exercise checks: a tick for right answers, useful feedback for wrong ones."""

from __future__ import annotations

import numpy as np

from course_utils import exercises


def correct_volume(seg, voxel_size_mm):
    return float((seg > 0).sum() * np.prod(voxel_size_mm) / 1000)


def test_a_correct_function_gets_a_tick(capsys):
    assert exercises.check_tumour_volume(correct_volume) is True
    assert capsys.readouterr().out == "✔ whole_tumour_volume_cm3: all 4 cases passed\n"


def test_a_wrong_function_gets_expected_got_and_a_hint(capsys):
    def forgets_units(seg, voxel_size_mm):
        return float((seg > 0).sum() * np.prod(voxel_size_mm))

    assert exercises.check_tumour_volume(forgets_units) is False
    out = capsys.readouterr().out
    assert "✘ whole_tumour_volume_cm3: 3 of 4 cases failed" in out
    assert "expected 1, got 1000" in out
    assert "hint: 1 cm^3 is 1000 mm^3" in out


def test_an_unfinished_stub_is_reported_not_raised(capsys):
    def stub(seg, voxel_size_mm):
        raise NotImplementedError("Student exercise: compute the volume")

    assert exercises.check_tumour_volume(stub) is False
    assert "not implemented yet" in capsys.readouterr().out


def test_an_exception_in_the_learners_code_is_reported(capsys):
    def crashes(seg, voxel_size_mm):
        return seg.nonexistent

    assert exercises.check_tumour_volume(crashes) is False
    assert "raised AttributeError" in capsys.readouterr().out


def test_arrays_are_compared_by_shape_and_value():
    assert exercises.same(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    assert not exercises.same(np.array([1.0, 2.0]), [1.0, 2.0, 3.0])
    assert not exercises.same(np.array([[1.0, 2.0]]), [1.0, 2.0])
    assert exercises.same("axial", "axial")
