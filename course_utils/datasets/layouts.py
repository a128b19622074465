"""Layouts: which kind of dataset folder this is, and where each subject's files are.

`find_subjects` reads any of four folder layouts (`detect_layout` tells which one a folder
is); only file names are looked at here, the files are read by `reading`:

==============  ===============================================================================
layout          what is on disk
==============  ===============================================================================
``brats2021``   ``<ID>/<ID>_{flair,t1,t1ce,t2}.nii.gz`` and ``<ID>/<ID>_seg.nii.gz``
``brats2023``   BraTS 2023 and 2024 adult glioma (GLI): ``BraTS-GLI-<n>-<k>/`` folders holding
                ``<ID>-{t2f,t1n,t1c,t2w}.nii.gz`` and ``<ID>-seg.nii.gz``. The two editions
                name their files alike but code labels differently (2024 adds 4, the
                resection cavity), so this layout needs ``edition="2023"`` or ``"2024"``.
                The other BraTS 2023+ challenges (MEN, MET, PED, SSA) are not read.
``msd``         Medical Segmentation Decathlon Task01_BrainTumour: ``imagesTr/<ID>.nii.gz``
                (4D: the modalities lie on the 4th axis, in the order of ``dataset.json``'s
                ``"modality"`` entry), ``labelsTr/<ID>.nii.gz`` and ``dataset.json``
``synthbrats``  the ``brats2021`` layout plus SynthBraTS's ``manifest.json``

Used by notebook 04 (files to PyTorch tensors), `predict` and `nnunet`.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import brats
from ..errors import (
    CorruptFileError,
    DatasetIntegrityError,
    DatasetNotFoundError,
    EditionUnknownError,
    IncompleteSubjectError,
)

__all__ = [
    "MODALITIES",
    "LAYOUTS",
    "GLI_EDITIONS",
    "Subject",
    "detect_layout",
    "find_subjects",
    "check_modalities",
    "msd_channels",
    "nifti_file",
    "nifti_stem",
]


#: The four MRI contrasts, in the default channel order (`brats.MODALITIES`).
MODALITIES = brats.MODALITIES
LAYOUTS = ("brats2021", "brats2023", "msd", "synthbrats")
#: File names and label coding of each edition the ``brats2023`` layout can hold.
GLI_EDITIONS = {"2023": brats.BRATS_2023_GLI_FILES, "2024": brats.BRATS_2024_GLI_FILES}
#: The subject-folder prefix of the BraTS 2023+ adult glioma challenge, the one read here.
GLI_PREFIX = "BraTS-GLI-"
LAYOUT_HINTS = (
    "BraTS 2021 (subject folders <ID>/ holding <ID>_flair.nii.gz ... <ID>_seg.nii.gz), "
    "BraTS 2023/2024 GLI (BraTS-GLI-*/ folders holding <ID>-t2f.nii.gz ... <ID>-seg.nii.gz), "
    "MSD Task01_BrainTumour (imagesTr/ and labelsTr/ beside dataset.json) and "
    "SynthBraTS (the BraTS 2021 layout plus manifest.json)"
)


@dataclass(frozen=True)
class Subject:
    """Where one subject's files are.

    ``images`` holds one 3D file per requested modality (BraTS layouts) or one 4D file (MSD),
    in which case ``channels`` gives the index, on its 4th axis, of each requested modality.
    ``coding`` says how ``label`` codes its values: ``"brats"`` (BraTS 2021, 0/1/2/4),
    ``"brats2023"`` (0-3, ET = 3), ``"brats2024"`` (0-4, 4 the resection cavity) or ``"msd"``.
    """

    id: str
    images: tuple[Path, ...]
    label: Path
    channels: tuple[int, ...] | None = None
    coding: str = "brats"


def nifti_file(folder: Path, stem: str) -> Path | None:
    """``<folder>/<stem>.nii.gz``, else ``<stem>.nii``, else None."""
    for suffix in (".nii.gz", ".nii"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def nifti_stem(path: Path) -> str:
    """The file name without ``.nii.gz`` or ``.nii`` (``BraTS2021_00000_t1`` of
    ``.../BraTS2021_00000_t1.nii.gz``)."""
    return path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else path.stem


def subfolders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def is_brats_subject(folder: Path) -> bool:
    """Whether ``folder`` holds at least one ``<folder name>_<something>.nii(.gz)`` file."""
    return any(folder.glob(f"{glob.escape(folder.name)}_*.nii*"))


def is_gli_subject(folder: Path) -> bool:
    """Whether ``folder`` holds at least one ``<folder name>-<something>.nii(.gz)`` file."""
    return any(folder.glob(f"{glob.escape(folder.name)}-*.nii*"))


def is_synthbrats(root: Path) -> bool:
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("generator") == "SynthBraTS"


def describe_folder(root: Path, shown: int = 8) -> str:
    """What a folder holds, in a few words: ``'3 entries: a/, b.txt, c.nii.gz'``."""
    entries = sorted(root.iterdir())
    if not entries:
        return "an empty folder"
    names = [e.name + ("/" if e.is_dir() else "") for e in entries[:shown]]
    more = ", ..." if len(entries) > shown else ""
    return f"{len(entries)} entries: {', '.join(names)}{more}"


def detect_layout(root: str | os.PathLike[str], *, labelled: bool = True) -> str:
    """Which of `LAYOUTS` a dataset folder follows.

    Parameters
    ----------
    root
        The folder that holds the subject folders (BraTS 2021, SynthBraTS) or ``imagesTr/``
        and ``labelsTr/`` (MSD Task01).
    labelled
        ``False`` for prediction: an MSD folder is also recognised by ``dataset.json`` beside
        ``imagesTs/`` or ``imagesTr/`` alone (no ``labelsTr/``).

    Returns
    -------
    str
        ``"msd"`` if ``root`` has ``imagesTr/`` and ``labelsTr/``; ``"synthbrats"`` if it has
        BraTS-style subject folders and a SynthBraTS ``manifest.json``; ``"brats2021"`` if it
        has BraTS-style subject folders only; ``"brats2023"`` if its subject folders hold
        ``<ID>-t2f.nii.gz``-style files (BraTS 2023 and 2024).

    Raises
    ------
    DatasetNotFoundError
        If ``root`` does not exist, or matches none of the layouts (the message lists what
        was looked for and what was found).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(
            root,
            "does not exist or is not a folder.",
            "Check the path (and COURSE_DATA); `course-utils data` builds SynthBraTS.",
        )
    if (root / "imagesTr").is_dir() and (root / "labelsTr").is_dir():
        return "msd"
    images = (root / "imagesTs").is_dir() or (root / "imagesTr").is_dir()
    if not labelled and images and (root / "dataset.json").is_file():
        return "msd"
    folders = subfolders(root)
    if any(is_brats_subject(folder) for folder in folders):
        return "synthbrats" if is_synthbrats(root) else "brats2021"
    if any(is_gli_subject(folder) for folder in folders):
        return "brats2023"
    raise DatasetNotFoundError(
        root,
        f"matches none of the layouts the course reads. Looked for {LAYOUT_HINTS}; "
        f"found {describe_folder(root)}.",
        "Point at the folder that directly holds the subject folders, or imagesTr/ and "
        "labelsTr/ for MSD.",
    )


def brats_subjects(
    root: Path,
    modalities: Sequence[str],
    naming: brats.FileNaming = brats.BRATS_2021_FILES,
    coding: str = "brats",
) -> list[Subject]:
    """The subjects of a BraTS folder named as ``naming`` says; every file must be there."""
    subjects = []
    is_subject = is_brats_subject if naming is brats.BRATS_2021_FILES else is_gli_subject
    for folder in filter(is_subject, subfolders(root)):
        found = {}
        for key in (*modalities, "seg"):
            stem = folder.name + naming.suffixes[key]
            path = nifti_file(folder, stem)
            if path is None:
                what = "label (segmentation)" if key == "seg" else f"'{key}' image"
                raise IncompleteSubjectError(
                    folder / f"{stem}.nii.gz",
                    f"subject {folder.name} has no {what} file (nor a .nii one).",
                    "Copy the subject folder again, or leave this modality out (modalities=...).",
                )
            found[key] = path
        subjects.append(
            Subject(folder.name, tuple(found[m] for m in modalities), found["seg"], None, coding)
        )
    return subjects


def gli_subjects(root: Path, modalities: Sequence[str], edition: str | None) -> list[Subject]:
    """The subjects of a BraTS 2023/2024 GLI folder; ``edition`` must say which of the two."""
    if edition not in GLI_EDITIONS:
        raise EditionUnknownError(
            root,
            "is in the BraTS 2023+ layout (<ID>-t2f.nii.gz ...), which BraTS 2023 and 2024 "
            "share while coding labels differently (2024 labels the resection cavity 4).",
            "Say which edition it is: BraTSDataset(root, edition='2023') or edition='2024'.",
        )
    others = [f.name for f in subfolders(root) if is_gli_subject(f)]
    foreign = [name for name in others if not name.startswith(GLI_PREFIX)]
    if foreign:
        raise DatasetIntegrityError(
            root / foreign[0],
            f"is not an adult glioma (GLI) subject; only {GLI_PREFIX}* folders are read, because "
            "the other BraTS 2023+ challenges (MEN, MET, PED, SSA) label other things.",
            f"Keep only the {GLI_PREFIX}* folders in this dataset folder.",
        )
    return brats_subjects(root, modalities, GLI_EDITIONS[edition], f"brats{edition}")


def msd_channels(root: Path, modalities: Sequence[str]) -> tuple[int, ...]:
    """Index, on the images' 4th axis, of each modality, read from ``dataset.json``."""
    path = root / "dataset.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise DatasetNotFoundError(
            path,
            "is missing, so the order of the modalities on the images' 4th axis is unknown.",
            "Copy dataset.json from the Task01_BrainTumour download back into the folder.",
        ) from error
    except (OSError, ValueError) as error:
        raise CorruptFileError(
            path, f"is not readable JSON ({error}).", "Copy it again."
        ) from error
    listed = info.get("modality", {}) if isinstance(info, dict) else {}
    index_of = {brats.MODALITY_ALIASES.get(str(n).lower()): int(i) for i, n in listed.items()}
    missing = [m for m in modalities if m not in index_of]
    if missing:
        raise DatasetIntegrityError(
            path,
            f"its 'modality' entry {listed} has no {', '.join(missing)}.",
            "Ask only for the modalities it lists (modalities=...).",
        )
    return tuple(index_of[m] for m in modalities)


def msd_subjects(root: Path, modalities: Sequence[str]) -> list[Subject]:
    """The training subjects of an MSD Task01 folder (``._*`` macOS leftovers are skipped)."""
    channels = msd_channels(root, modalities)
    images = sorted(p for p in (root / "imagesTr").glob("*.nii*") if not p.name.startswith("."))
    subjects = []
    for image in images:
        label = nifti_file(root / "labelsTr", nifti_stem(image))
        if label is None:
            raise IncompleteSubjectError(
                root / "labelsTr" / image.name,
                f"subject {nifti_stem(image)} has an image ({image}) but no label file.",
                "Copy labelsTr/ again from the Task01_BrainTumour download.",
            )
        subjects.append(Subject(nifti_stem(image), (image,), label, channels, "msd"))
    if not subjects:
        raise DatasetNotFoundError(
            root / "imagesTr", "holds no .nii.gz images.", "Copy imagesTr/ again."
        )
    return subjects


def check_modalities(modalities: Sequence[str]) -> tuple[str, ...]:
    """``modalities`` as a tuple (one name may be given as a string), refused with a
    ``ValueError`` if empty, repeated or not among `MODALITIES`."""
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities or len(set(modalities)) != len(modalities):
        raise ValueError(
            f"modalities must be distinct names among {MODALITIES}; got {modalities}."
        )
    return modalities


def find_subjects(
    root: str | os.PathLike[str],
    modalities: Sequence[str] = MODALITIES,
    edition: str | None = None,
) -> tuple[str, list[Subject]]:
    """``(layout, subjects)`` of a dataset folder, subjects sorted by ID.

    Only file names are checked here (every requested modality and the labels must exist);
    grids and label values are checked when a subject is loaded. ``edition`` (``"2023"`` or
    ``"2024"``) is required for the ``brats2023`` layout and refused for the others.

    Raises
    ------
    DatasetNotFoundError
        See `detect_layout`; also for an MSD folder without images or ``dataset.json``.
    IncompleteSubjectError
        A subject lacks a modality or its labels (the message names the subject and file).
    EditionUnknownError
        A ``brats2023`` folder without ``edition``.
    """
    root = Path(root)
    modalities = check_modalities(modalities)
    layout = detect_layout(root)
    if edition is not None and layout != "brats2023":
        raise ValueError(
            f"edition={edition!r} is for BraTS 2023/2024 folders; {root} is {layout}."
        )
    if layout == "msd":
        return layout, msd_subjects(root, modalities)
    if layout == "brats2023":
        return layout, gli_subjects(root, modalities, edition)
    return layout, brats_subjects(root, modalities)
