"""The one family of exceptions that every bad input in the course raises.

Each error names the file (or folder) at fault and says what to do about it, so a
student sees a sentence instead of a traceback from deep inside nibabel or pydicom.
Catch ``CourseDataError`` to handle all of them.

Used by every module that reads or writes data; introduced in notebook 00.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "CourseDataError",
    "DatasetNotFoundError",
    "DatasetIntegrityError",
    "EditionUnknownError",
    "MissingTemplateError",
    "UnsupportedFormatError",
    "CorruptFileError",
    "MissingDecoderError",
    "SeriesError",
    "GeometryMismatchError",
    "GeometryError",
    "DeidentificationError",
    "BurnedInAnnotationError",
    "ExerciseStructureError",
    "IncompleteSubjectError",
    "RegistrationInputError",
    "RunFolderError",
]


class CourseDataError(Exception):
    """A file or folder the course cannot use, with the path and the fix.

    Parameters
    ----------
    path
        The file or folder at fault (``None`` when the problem has no single path).
    problem
        What is wrong, as one sentence.
    fix
        What the user should do about it, as one sentence.

    Examples
    --------
    >>> err = CourseDataError("scan.nii", "the file is empty.", "Copy it again.")
    >>> print(err)
    scan.nii: the file is empty. Fix: Copy it again.
    """

    def __init__(
        self, path: str | PathLike[str] | None, problem: str, fix: str | None = None
    ) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        self.fix = fix
        message = problem if self.path is None else f"{self.path}: {problem}"
        if fix:
            message += f" Fix: {fix}"
        super().__init__(message)


class DatasetNotFoundError(CourseDataError):
    """A dataset folder is missing or matches none of the layouts the course reads."""


class DatasetIntegrityError(CourseDataError):
    """A dataset's files don't match its manifest (edited, truncated or half-copied)."""


class EditionUnknownError(CourseDataError):
    """A dataset folder's file names fit several BraTS editions whose labels differ."""


class MissingTemplateError(CourseDataError):
    """The MNI152 template files that SynthBraTS is built from cannot be found."""


class UnsupportedFormatError(CourseDataError):
    """A file whose format the course does not read."""


class CorruptFileError(CourseDataError):
    """A file that is truncated, empty or not what its name says."""


class MissingDecoderError(CourseDataError):
    """Compressed pixel data whose decoder package is not installed."""


class SeriesError(CourseDataError):
    """A DICOM series that cannot be assembled into one volume (gaps, mixed series...)."""


class GeometryMismatchError(CourseDataError):
    """Images that should share a grid don't (shape or affine differ)."""


class GeometryError(CourseDataError):
    """A file whose place in the patient is missing or unusable (no position or orientation,
    direction cosines far from unit length, NaN or zero voxel sizes)."""


class DeidentificationError(CourseDataError):
    """A dataset that cannot be de-identified as it stands (a malformed value, say)."""


class BurnedInAnnotationError(DeidentificationError):
    """Pixels that carry, or may carry, burned-in text that header editing cannot remove."""


class ExerciseStructureError(CourseDataError):
    """A solution cell without the stub it completes (the student version would lose it)."""


class IncompleteSubjectError(DatasetIntegrityError):
    """A subject lacks a file its layout requires (one of its modalities, or its labels)."""


class RegistrationInputError(CourseDataError):
    """An image that registration cannot use: not 3D, empty, or with an unusable affine."""


class RunFolderError(CourseDataError):
    """A run folder that cannot be used as asked (an existing run without ``--resume``)."""
