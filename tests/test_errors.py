"""The CourseDataError family: one base class, messages that name the file and the fix."""

from __future__ import annotations

import inspect

import pytest

from course_utils import errors


def all_error_classes():
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == errors.__name__
    ]


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_is_a_course_data_error_and_names_file_and_fix(cls):
    error = cls("/data/scan.nii.gz", "the file ends early.", "Copy it again.")
    assert isinstance(error, errors.CourseDataError)
    assert str(error) == "/data/scan.nii.gz: the file ends early. Fix: Copy it again."
    assert error.path == "/data/scan.nii.gz"


def test_all_names_every_error_class():
    assert sorted(errors.__all__) == sorted(cls.__name__ for cls in all_error_classes())


def test_an_error_without_a_path_or_fix_is_just_the_problem():
    assert str(errors.CourseDataError(None, "nothing to read.")) == "nothing to read."
