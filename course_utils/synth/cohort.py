"""Cohort: SynthBraTS subjects on disk in the BraTS 2021 layout, cached and verified.

`make_cohort` writes ``<ID>/<ID>_{t1,t1ce,t2,flair}.nii.gz`` (int16) and ``<ID>_seg.nii.gz``
(uint8, labels 0/1/2/4), RAS+ affine in mm, every file atomically and byte-reproducibly;
`ensure_dataset` reuses a cohort whose ``manifest.json`` records the same settings and
whose files match their SHA-256, and rebuilds it otherwise. `worked_example` is the
course's running subject.

Used by notebook 00 (and every notebook after it, through `ensure_dataset`).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import nibabel as nib

from .. import brats, files, paths
from ..errors import DatasetIntegrityError
from .contrasts import GENERATION_ORDER
from .subject import make_subject
from .versions import DEFAULT_GENERATOR, GENERATOR_VERSION, check_version

__all__ = [
    "LABELS",
    "MANIFEST_NAME",
    "DEFAULT_SEED",
    "DEFAULT_SUBJECTS",
    "WORKED_EXAMPLE",
    "nifti_gz_bytes",
    "subject_id",
    "subject_files",
    "make_cohort",
    "progress_bar",
    "ensure_dataset",
    "realism_report",
    "worked_example",
    "list_subjects",
]


#: BraTS 2021 label values and their meaning (`brats.BRATS_2021.names`).
LABELS = brats.BRATS_2021.names
MANIFEST_NAME = "manifest.json"
DEFAULT_SUBJECTS = 24
DEFAULT_SEED = 0
#: The index, in the default cohort, of the course's worked example: a ring-enhancing
#: tumour of 59 cm^3 with necrosis, oedema and enhancing tumour (subject 0 has none: SynthBraTS
#: 2's first subject of every 10 is a non-enhancing tumour).
WORKED_EXAMPLE = 2


def nifti_gz_bytes(image: nib.Nifti1Image) -> bytes:
    """A ``.nii.gz`` file's bytes, reproducible: the gzip header's timestamp is fixed at 0."""
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def subject_id(seed: int, index: int) -> str:
    """The subject's folder name, e.g. ``SynthBraTS_s0_0003`` for subject 3 of seed 0."""
    return f"SynthBraTS_s{seed}_{index:04d}"


def subject_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Paths of one BraTS-layout subject: ``{"t1": <folder>/<ID>_t1.nii.gz, ..., "seg": ...}``."""
    folder = Path(folder)
    naming = brats.BRATS_2021_FILES
    return {key: folder / naming.file_name(folder.name, key) for key in (*GENERATION_ORDER, "seg")}


def make_cohort(
    root: str | os.PathLike[str],
    n_subjects: int,
    seed: int = DEFAULT_SEED,
    spacing_mm: float = 2.0,
    *,
    progress: bool = False,
    version: str = DEFAULT_GENERATOR,
) -> list[Path]:
    """Write ``n_subjects`` subjects in the BraTS 2021 layout under ``root``.

    Each file is written atomically. For a cached, verified cohort use `ensure_dataset`.
    Returns the subject folders in order.
    """
    root = Path(root)
    if check_version(version) == "2":
        from .. import synthbrats2

        return synthbrats2.make_cohort(root, n_subjects, seed, spacing_mm, progress=progress)
    folders = []
    for index in progress_bar(range(n_subjects), progress):
        folder = root / subject_id(seed, index)
        images = make_subject((seed, index), spacing_mm, version="1")
        for key, path in subject_files(folder).items():
            files.atomic_write_bytes(path, nifti_gz_bytes(images[key]))
        folders.append(folder)
    return folders


def progress_bar(indices: range, progress: bool):
    """``indices``, behind a tqdm bar named SynthBraTS when ``progress``."""
    if not progress:
        return indices
    from tqdm.auto import tqdm

    return tqdm(indices, desc="SynthBraTS", unit="subject")


def cohort_settings(n_subjects: int, seed: int, spacing_mm: float) -> dict:
    """What a manifest records about how its cohort was made."""
    return {
        "generator": "SynthBraTS",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "n_subjects": n_subjects,
        "spacing_mm": float(spacing_mm),
    }


def read_manifest(root: Path) -> dict | None:
    """The manifest in ``root``, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads((root / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


def manifest_problem(root: Path, settings: dict) -> str | None:
    """Why the cohort in ``root`` can't be used as is, or ``None`` if it matches ``settings``."""
    manifest = read_manifest(root)
    if manifest is None:
        return "no readable manifest.json"
    recorded = {key: manifest.get(key) for key in settings}
    if recorded != settings:
        return f"it was made with {recorded}, not {settings}"
    for relative, digest in manifest.get("files", {}).items():
        path = root / relative
        if not path.is_file():
            return f"{relative} is missing"
        if files.sha256_file(path) != digest:
            return f"{relative} does not match its checksum"
    return None


def ensure_dataset(
    root: str | os.PathLike[str] | None = None,
    n_subjects: int = DEFAULT_SUBJECTS,
    seed: int = DEFAULT_SEED,
    spacing_mm: float = 2.0,
    *,
    progress: bool = True,
) -> Path:
    """Return a verified SynthBraTS cohort folder, building it first if needed.

    The cohort lives in ``root`` (default: ``paths.synthbrats_dir()``, i.e.
    ``data/synthbrats`` or ``$COURSE_DATA/synthbrats``). It is reused when its
    ``manifest.json`` records the same generator version, seed, size and spacing and every
    file matches its SHA-256. Otherwise it is rebuilt in a temporary folder that replaces
    ``root`` only once complete, so an interrupted build leaves nothing half-written.
    """
    root = Path(root) if root is not None else paths.synthbrats_dir()
    settings = cohort_settings(n_subjects, seed, spacing_mm)
    if manifest_problem(root, settings) is None:
        return root
    with files.exclusive_lock(root.parent / f".{root.name}.lock"):
        if manifest_problem(root, settings) is None:  # another process built it meanwhile
            return root
        with files.atomic_directory(root) as building:
            make_cohort(building, n_subjects, seed, spacing_mm, progress=progress)
            digests = {
                str(path.relative_to(building)): files.sha256_file(path)
                for path in sorted(building.rglob("*"))
                if path.is_file()
            }
            manifest = {**settings, "files": digests}
            files.atomic_write_text(building / MANIFEST_NAME, json.dumps(manifest, indent=1))
    problem = manifest_problem(root, settings)
    if problem is not None:
        raise DatasetIntegrityError(
            root,
            f"the cohort just built fails verification: {problem}.",
            "Check free disk space, delete the folder and run `course-utils data` again.",
        )
    return root


def realism_report(root: str | os.PathLike[str], **kwargs) -> dict[str, float]:
    """How hard a BraTS-layout cohort is to segment: see `course_utils.synthbrats2.realism`."""
    from ..synthbrats2 import realism

    return realism.realism_report(root, **kwargs)


def worked_example(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the course's worked example (`WORKED_EXAMPLE`) in the default cohort at
    ``root`` (default: `paths.synthbrats_dir`), e.g. ``.../SynthBraTS_s0_0002``."""
    root = Path(root) if root is not None else paths.synthbrats_dir()
    return root / subject_id(DEFAULT_SEED, WORKED_EXAMPLE)


def list_subjects(root: str | os.PathLike[str]) -> list[Path]:
    """The subject folders of a BraTS-layout cohort, sorted by name."""
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
