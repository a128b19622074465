"""Where the course keeps its data, checkpoints and outputs.

``COURSE_DATA`` overrides the data folder. Otherwise, inside a clone of the course
repository (an editable install, as ``make`` does) data lives in ``<repo>/data``; for a
plain install (Colab) it lives in ``~/course_data``.

Used by every notebook's configuration cell and by ``course_utils.synth``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .errors import CourseDataError, DatasetNotFoundError

__all__ = [
    "repository_root",
    "data_dir",
    "synthbrats_dir",
    "checkpoints_dir",
    "shipped_checkpoint",
    "SAMPLE_FILES",
    "sample_file",
]


def repository_root() -> Path | None:
    """The course repository this package was installed from, or ``None``.

    Returns the folder that holds both ``pyproject.toml`` and ``notebooks/`` next to the
    ``course_utils`` package, i.e. an editable install inside a clone.
    """
    candidate = Path(__file__).resolve().parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
        return candidate
    return None


def data_dir() -> Path:
    """The folder for generated and downloaded course data (``$COURSE_DATA`` wins)."""
    override = os.environ.get("COURSE_DATA")
    if override:
        return Path(override).expanduser()
    root = repository_root()
    return root / "data" if root is not None else Path.home() / "course_data"


def synthbrats_dir() -> Path:
    """Where the default SynthBraTS cohort is cached: ``data_dir() / "synthbrats"``."""
    return data_dir() / "synthbrats"


def checkpoints_dir() -> Path:
    """Where trained model checkpoints live: ``data_dir() / "checkpoints"``."""
    return data_dir() / "checkpoints"


def shipped_checkpoint(name: str = "unet_synthbrats") -> Path:
    """The trained checkpoint ``<name>.pt`` that ships with the course repository.

    Looked for in ``<repo>/data/checkpoints`` (a clone), then in `checkpoints_dir` (where a
    plain install, e.g. on Colab, can be given a copy); `DatasetNotFoundError` says how to get
    it when neither has it.
    """
    root = repository_root()
    folders = ([root / "data" / "checkpoints"] if root is not None else []) + [checkpoints_dir()]
    for folder in folders:
        if (folder / f"{name}.pt").is_file():
            return folder / f"{name}.pt"
    from . import REPOSITORY

    raise DatasetNotFoundError(
        folders[-1] / f"{name}.pt",
        "is missing: the trained checkpoint ships with the course repository, not with the "
        "installed package.",
        f"Clone {REPOSITORY} and install it with `pip install -e .`, or copy "
        f"data/checkpoints/{name}.pt from it into {checkpoints_dir()}.",
    )


#: Real sample files that ship inside installed packages: key -> (package, path inside it).
SAMPLE_FILES = {
    "dicom_mr": ("pydicom", "data/test_files/MR_small.dcm"),
    "dicom_ct": ("pydicom", "data/test_files/CT_small.dcm"),
    "dicom_mr_jpeg2000": ("pydicom", "data/test_files/MR_small_jp2klossless.dcm"),
    "dicom_mr_jpeg_ls": ("pydicom", "data/test_files/MR_small_jpeg_ls_lossless.dcm"),
    "dicom_mr_rle": ("pydicom", "data/test_files/MR_small_RLE.dcm"),
    "dicom_mr_big_endian": ("pydicom", "data/test_files/MR_small_bigendian.dcm"),
    "dicom_mr_implicit": ("pydicom", "data/test_files/MR_small_implicit.dcm"),
    "dicom_rgb_jpeg": ("pydicom", "data/test_files/SC_rgb_jpeg_dcmtk.dcm"),
    "dicom_overlay": ("pydicom", "data/test_files/examples_overlay.dcm"),
    "dicom_truncated": ("pydicom", "data/test_files/MR_truncated.dcm"),
    "dicom_rtdose": ("pydicom", "data/test_files/rtdose.dcm"),  # classic multi-frame
    "dicom_seg": ("pydicom", "data/test_files/liver_1frame.dcm"),  # Segmentation
    "dicom_rtstruct": ("pydicom", "data/test_files/rtstruct.dcm"),  # no preamble or DICM
    "nifti1": ("nibabel", "tests/data/anatomical.nii"),
    "nifti1_4d": ("nibabel", "tests/data/example4d.nii.gz"),
    "nifti2": ("nibabel", "tests/data/example_nifti2.nii.gz"),
    "analyze_header": ("nibabel", "tests/data/analyze.hdr"),
    "minc1": ("nibabel", "tests/data/tiny.mnc"),
    "minc2": ("nibabel", "tests/data/small.mnc"),
    "mgh": ("nibabel", "tests/data/test.mgz"),
}


def sample_file(key: str) -> Path:
    """The path of a real sample file shipped with pydicom or nibabel (see `SAMPLE_FILES`).

    Examples
    --------
    >>> sample_file("dicom_mr").name
    'MR_small.dcm'
    """
    if key not in SAMPLE_FILES:
        raise KeyError(f"unknown sample {key!r}; choose from {sorted(SAMPLE_FILES)}")
    package, relative = SAMPLE_FILES[key]
    spec = importlib.util.find_spec(package)
    path = Path(spec.submodule_search_locations[0]) / relative if spec else Path(relative)
    if not path.is_file():
        raise CourseDataError(
            path,
            f"this sample file of the {package} package is missing.",
            f"Reinstall it: `pip install --force-reinstall {package}`.",
        )
    return path
