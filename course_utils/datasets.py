"""Datasets: BraTS-style folders as PyTorch tensors, normalised, with WT/TC/ET targets.

`BraTSDataset` reads any of four folder layouts (`detect_layout` tells which one a folder is):

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
==============  ===============================================================================

The label codings differ (all are defined in `brats`), and this is where they are reconciled:

====================================  ======  ========  =======  ======  =========  ===========
meaning                               BraTS   BraTS     BraTS    MSD     class      regions
                                      2021    2023 GLI  2024     Task01  (labels)   containing
====================================  ======  ========  =======  ======  =========  ===========
background                            0       0         0        0       0          none
necrotic / non-enhancing tumour core  1       1         1        2       1          WT, TC
peritumoural oedema                   2       2         2        1       2          WT
enhancing tumour                      4       3         3        3       3          WT, TC, ET
resection cavity (post-operative)     --      --        4        --      0          none
====================================  ======  ========  =======  ======  =========  ===========

Axes: every volume is reoriented to the closest canonical RAS+ orientation
(``nibabel.as_closest_canonical``) before it becomes a tensor, so that an image is
``(C, D, H, W)`` with ``D, H, W`` the array axes that run towards the subject's Right, Anterior
and Superior, whatever the voxel order stored in the file. An axial slice is therefore
``image[:, :, :, k]``.

Intensity normalisation lives here rather than in `transforms` because it is not augmentation:
it is deterministic, done once per subject, and part of what an item *is* (it is what
``cache=True`` keeps), whereas `transforms` holds only the random augmentation that runs on
every draw.

Used by notebook 04 (files to PyTorch tensors), notebook 06 (patching 3D volumes) and notebook
07 (U-Net training).
"""

from __future__ import annotations

import functools
import glob
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np
import torch
from torch.utils.data import Dataset

from . import brats, io
from .errors import (
    CorruptFileError,
    DatasetIntegrityError,
    DatasetNotFoundError,
    EditionUnknownError,
    GeometryMismatchError,
    IncompleteSubjectError,
)
from .geometry import voxel_sizes
from .transforms import channel_view, sample_generator

__all__ = [
    "MODALITIES",
    "LAYOUTS",
    "CLASS_NAMES",
    "REGIONS",
    "BRATS_TO_CLASS",
    "MSD_TO_BRATS",
    "IncompleteSubjectError",
    "Subject",
    "detect_layout",
    "find_subjects",
    "brats_to_classes",
    "msd_to_brats",
    "classes_to_regions",
    "classes_to_brats",
    "regions_to_classes",
    "zscore_normalise",
    "robust_brain_mask",
    "NORMALISATIONS",
    "DEFAULT_NORMALISATION",
    "normalisation_record",
    "normalise_image",
    "max_scale",
    "BraTSDataset",
    "SliceDataset",
]

Array = np.ndarray | torch.Tensor
Target = Literal["regions", "labels"]

#: The four MRI contrasts, in the default channel order (`brats.MODALITIES`).
MODALITIES = brats.MODALITIES
LAYOUTS = ("brats2021", "brats2023", "msd", "synthbrats")
#: File names and label coding of each edition the ``brats2023`` layout can hold.
GLI_EDITIONS = {"2023": brats.BRATS_2023_GLI_FILES, "2024": brats.BRATS_2024_GLI_FILES}
#: The subject-folder prefix of the BraTS 2023+ adult glioma challenge, the one read here.
GLI_PREFIX = "BraTS-GLI-"
TARGETS = ("regions", "labels")
#: Meaning of each class index of ``target="labels"`` (`brats.CLASS_NAMES`).
CLASS_NAMES = brats.CLASS_NAMES
#: The BraTS evaluation regions, in channel order (`brats.REGIONS`).
REGIONS = brats.REGIONS
#: BraTS 2021 label value -> class index.
BRATS_TO_CLASS = {label: c for c, label in enumerate(brats.CLASS_LABELS)}
#: Region membership of each class: rows WT, TC, ET; columns classes 0..3.
REGION_TABLE = np.array(
    [[label in brats.BRATS_2021.regions[r] for label in brats.CLASS_LABELS] for r in REGIONS],
    dtype=np.float32,
)
#: MSD Task01 label value -> BraTS 2021 value (1 oedema -> 2, 2 non-enhancing -> 1, 3 -> 4).
MSD_TO_BRATS = brats.label_mapping(brats.MSD_TASK01, brats.BRATS_2021)
#: Largest difference (mm, or direction cosine) allowed between an image's and its label's affine.
AFFINE_TOLERANCE = 1e-3
LAYOUT_HINTS = (
    "BraTS 2021 (subject folders <ID>/ holding <ID>_flair.nii.gz ... <ID>_seg.nii.gz), "
    "BraTS 2023/2024 GLI (BraTS-GLI-*/ folders holding <ID>-t2f.nii.gz ... <ID>-seg.nii.gz), "
    "MSD Task01_BrainTumour (imagesTr/ and labelsTr/ beside dataset.json) and "
    "SynthBraTS (the BraTS 2021 layout plus manifest.json)"
)
INVALID = 255  # marks label values outside a coding in the look-up tables below


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


# --- finding the subjects --------------------------------------------------------------------


def nifti_file(folder: Path, stem: str) -> Path | None:
    """``<folder>/<stem>.nii.gz``, else ``<stem>.nii``, else None."""
    for suffix in (".nii.gz", ".nii"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def nifti_stem(path: Path) -> str:
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


# --- label codings ---------------------------------------------------------------------------


def lookup_table(mapping: dict[int, int]) -> np.ndarray:
    table = np.full(max(mapping) + 1, INVALID, dtype=np.uint8)
    table[list(mapping)] = list(mapping.values())
    return table


def coding_table(coding: brats.LabelCoding) -> np.ndarray:
    """Label value of ``coding`` -> the course's class; sub-regions in no class (BraTS 2024's
    resection cavity) become background."""
    classes = {
        value: BRATS_TO_CLASS[brats.BRATS_2021.value_of(key)] if key != "cavity" else 0
        for value, key in coding.subregions.items()
    }
    return lookup_table(classes)


BRATS_LUT = coding_table(brats.BRATS_2021)
MSD_LUT = coding_table(brats.MSD_TASK01)
#: Subject.coding -> (look-up table, the coding's name for messages).
CODING_TABLES = {
    "brats": (BRATS_LUT, "BraTS"),
    "brats2023": (coding_table(brats.BRATS_2023_GLI), "BraTS 2023 GLI"),
    "brats2024": (coding_table(brats.BRATS_2024_GLI), "BraTS 2024 GLI"),
    "msd": (MSD_LUT, "MSD"),
}


def remap(labels: np.ndarray, table: np.ndarray, coding: str) -> np.ndarray:
    """``table[labels]`` as uint8; ValueError naming any value the coding does not have."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        rounded = np.rint(labels)
        if not np.array_equal(rounded, labels):
            raise ValueError(f"{coding} labels must be whole numbers; some are not.")
        labels = rounded.astype(np.int64)
    in_range = labels.size == 0 or (labels.min() >= 0 and labels.max() < len(table))
    classes = table[labels] if in_range else None
    if classes is None or (classes == INVALID).any():
        valid = [value for value, c in enumerate(table) if c != INVALID]
        foreign = sorted(set(np.unique(labels).tolist()) - set(valid))
        valid_text = "/".join(str(v) for v in valid)
        raise ValueError(f"{coding} labels are {valid_text}; found {foreign} as well.")
    return classes


def brats_to_classes(labels: np.ndarray) -> np.ndarray:
    """BraTS 2021 label values (0/1/2/4) -> contiguous classes 0..3, for a cross-entropy loss.

    Parameters
    ----------
    labels
        Integer (or whole-valued float) array of any shape holding 0, 1, 2 and 4 only.

    Returns
    -------
    numpy.ndarray
        int64 array of the same shape: 0 background, 1 necrotic core, 2 oedema, 3 enhancing
        tumour (`CLASS_NAMES`).

    Raises
    ------
    ValueError
        For any other value (BraTS 2023 codes enhancing tumour as 3, for instance).

    Examples
    --------
    >>> brats_to_classes(np.array([0, 1, 2, 4]))
    array([0, 1, 2, 3])
    """
    return remap(labels, BRATS_LUT, "BraTS").astype(np.int64)


def msd_to_brats(labels: np.ndarray) -> np.ndarray:
    """MSD Task01 label values -> BraTS 2021 values: 1 oedema -> 2, 2 non-enhancing -> 1, 3 -> 4.

    Parameters
    ----------
    labels
        Integer array of any shape holding 0, 1, 2 and 3 only.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape, coded 0/1/2/4 as in BraTS 2021.

    Examples
    --------
    >>> msd_to_brats(np.array([0, 1, 2, 3]))
    array([0, 2, 1, 4], dtype=uint8)
    """
    brats_values = np.array(brats.CLASS_LABELS, dtype=np.uint8)  # indexed by class
    return brats_values[remap(labels, MSD_LUT, "MSD")]


def classes_to_brats(classes: np.ndarray) -> np.ndarray:
    """Classes 0..3 -> BraTS 2021 label values 0/1/2/4 (uint8), the inverse of
    `brats_to_classes`: what a prediction is saved as.

    Examples
    --------
    >>> classes_to_brats(np.array([0, 1, 2, 3]))
    array([0, 1, 2, 4], dtype=uint8)
    """
    classes = np.asarray(classes)
    if classes.size and (classes.min() < 0 or classes.max() >= len(brats.CLASS_LABELS)):
        raise ValueError(
            f"classes are 0..{len(brats.CLASS_LABELS) - 1}; got {np.unique(classes)}."
        )
    return np.array(brats.CLASS_LABELS, dtype=np.uint8)[classes]


def classes_to_regions(classes: Array) -> Array:
    """Classes 0..3 -> the three BraTS evaluation regions as binary channels.

    Parameters
    ----------
    classes
        Integer array or tensor ``(*spatial)`` of classes (see `brats_to_classes`).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32 ``(3, *spatial)`` of 0/1, same kind as ``classes``: channel 0 whole tumour
        (WT: classes 1, 2, 3 = BraTS labels 1, 2, 4), 1 tumour core (TC: classes 1, 3 = labels
        1, 4), 2 enhancing tumour (ET: class 3 = label 4). The regions are nested: ET in TC
        in WT.

    Examples
    --------
    >>> classes_to_regions(np.array([0, 1, 2, 3]))
    array([[0., 1., 1., 1.],
           [0., 1., 0., 1.],
           [0., 0., 0., 1.]], dtype=float32)
    """
    classes = classes if isinstance(classes, torch.Tensor) else np.asarray(classes)
    if math.prod(classes.shape) and not 0 <= int(classes.min()) <= int(classes.max()) <= 3:
        raise ValueError(
            f"classes must be 0..3; got values from {int(classes.min())} to "
            f"{int(classes.max())}. Convert BraTS labels (0/1/2/4) with brats_to_classes first."
        )
    return lookup_regions(classes)


def lookup_regions(classes: Array) -> Array:
    """`classes_to_regions` without the range check, for classes known to be 0..3.

    One gather from `REGION_TABLE` per voxel, rather than three comparisons and a stack.
    """
    if isinstance(classes, torch.Tensor):
        flat = classes.reshape(-1).to(torch.int32)
        return torch.from_numpy(REGION_TABLE).index_select(1, flat).view(3, *classes.shape)
    return np.take(REGION_TABLE, classes.astype(np.intp), axis=1)


def regions_to_classes(regions: Array) -> Array:
    """The inverse of `classes_to_regions`: ``(3, *spatial)`` regions -> int64 classes 0..3.

    Each voxel takes the innermost region it belongs to (ET -> 3, else TC -> 1, else
    WT -> 2, else 0), so thresholded predictions that are not nested still map to one class.
    Channels are read as ``> 0.5``. Returns the same kind (NumPy or torch) as ``regions``.

    Examples
    --------
    >>> regions_to_classes(np.array([[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]]))
    array([0, 1, 2, 3])
    """
    wt, tc, et = (regions[i] > 0.5 for i in range(3))
    if isinstance(regions, torch.Tensor):
        where, zeros = torch.where, torch.zeros(wt.shape, dtype=torch.int64)
    else:
        where, zeros = np.where, np.zeros(wt.shape, dtype=np.int64)
    return where(et, 3, where(tc, 1, where(wt, 2, zeros)))


# --- intensity normalisation -----------------------------------------------------------------


def as_float_tensor(image: Array) -> tuple[torch.Tensor, bool]:
    """``(float32 tensor, whether the input was NumPy)``; shares memory when it can."""
    if isinstance(image, torch.Tensor):
        return image.to(torch.float32), False
    return torch.from_numpy(np.asarray(image, dtype=np.float32)), True


def channel_percentiles(
    image: torch.Tensor, mask: torch.Tensor, percentiles: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(low, high)`` percentiles of the masked voxels, each ``(C,)``.

    ``mask`` is ``(C, *spatial)``, or ``(1, *spatial)`` for one mask shared by every channel.
    """
    low, high = torch.full((len(image),), -torch.inf), torch.full((len(image),), torch.inf)
    for c in range(len(image)):  # a loop over channels (4), not voxels
        values = image[c][mask[c if len(mask) > 1 else 0]]
        if values.numel():  # NumPy selects in linear time; torch.quantile sorts (~10x slower)
            low[c], high[c] = (float(v) for v in np.percentile(values.numpy(), percentiles))
    return low, high


def zscore_normalise(
    image: Array, mask: Array | None = None, *, clip_percentiles: tuple[float, float] | None = None
) -> Array:
    """Z-score each channel over the brain: zero mean and unit standard deviation inside it.

    Parameters
    ----------
    image
        ``(C, *spatial)`` array or tensor, e.g. ``(C, D, H, W)``, any real dtype, raw scanner
        units (MRI intensities have no fixed scale, so each channel is scaled by its own
        statistics).
    mask
        Boolean ``(*spatial)`` or ``(C, *spatial)``: the voxels to normalise over. Default:
        the voxels that are non-zero in at least one channel, which for skull-stripped data
        (BraTS, SynthBraTS) is the brain. (MONAI's ``NormalizeIntensity(nonzero=True)`` uses
        each channel's own non-zero voxels instead; they agree wherever no brain voxel is
        exactly zero.)
    clip_percentiles
        ``(low, high)`` in percent, e.g. ``(0.5, 99.5)``: clip each channel's masked voxels to
        these percentiles of themselves first, so that a few extreme voxels can't move the
        mean or inflate the standard deviation. ``None`` (default) clips nothing.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32, same shape and kind as ``image``. Outside the mask every voxel is 0; a
        channel whose masked voxels are all equal becomes 0, and an empty mask gives zeros.

    Examples
    --------
    >>> zscore_normalise(np.array([[0.0, 2.0, 4.0, 6.0]]))
    array([[ 0.       , -1.2247448,  0.       ,  1.2247448]], dtype=float32)
    """
    x, was_numpy = as_float_tensor(image)
    if mask is None:
        mask = (x != 0).any(dim=0)
    if not isinstance(mask, torch.Tensor):
        mask = torch.from_numpy(np.asarray(mask, dtype=bool))
    mask = mask.to(torch.bool)
    mask = mask if mask.ndim == x.ndim else mask[None]  # (1 or C, *spatial)
    if clip_percentiles is not None:
        low, high = channel_percentiles(x, mask, clip_percentiles)
        x = torch.clamp(x, low.view(channel_view(x)), high.view(channel_view(x)))
    # Sums of products with a 0/1 weight, not boolean indexing: no copies of the brain voxels.
    weight = mask.to(torch.float32)
    spatial = tuple(range(1, x.ndim))
    count = weight.sum(spatial).clamp(min=1.0)
    weighted = x * weight
    mean = weighted.sum(spatial) / count
    centred = weighted.addcmul_(weight, -mean.view(channel_view(x)))  # (x - mean) inside, +0 out
    flat = centred.flatten(1)
    std = torch.sqrt(torch.linalg.vecdot(flat, flat) / count)
    result = centred.div_(torch.where(std > 0, std, 1.0).view(channel_view(x)))
    return result.numpy() if was_numpy else result


def robust_brain_mask(image: Array, *, threshold: float = 0.2) -> np.ndarray:
    """One brain mask shared by every contrast, that does not rely on exact zeros.

    A voxel is brain when at least half of the channels exceed ``threshold`` times their
    robust maximum (the 99th percentile of their voxels above 1 % of their peak, so that a
    shell of faint values does not move it); holes are filled and the
    largest connected component is kept. A shell of near-zero values around a skull-stripped
    brain (what interpolation leaves at its edge), a sub-voxel shift or a round trip through
    other voxel sizes move the mask by at most the blur itself, where "non-zero in some
    channel" (`zscore_normalise`'s default) takes in every voxel the shell touches.

    Parameters
    ----------
    image
        ``(C, *spatial)`` array or tensor in raw scanner units (any real dtype).
    threshold
        Fraction of each channel's robust maximum above which a voxel counts for it.

    Returns
    -------
    numpy.ndarray
        bool ``(*spatial)``; all False if no channel has a positive voxel.

    Examples
    --------
    >>> x = np.zeros((2, 5, 5, 5)); x[:, 1:4, 1:4, 1:4] = 100.0; x[:, 0] = 1.0  # a shell of 1
    >>> int(robust_brain_mask(x).sum())
    27
    """
    from scipy import ndimage

    x = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    votes = np.zeros(x.shape[1:], dtype=np.uint8)
    for channel in x:  # a loop over channels (4), not voxels
        peak = float(channel.max()) if channel.size else 0.0
        signal = channel[channel > 0.01 * peak] if peak > 0 else channel[:0]
        if signal.size:  # a shell far below the peak does not move the robust range
            votes += channel > threshold * float(np.percentile(signal, 99))
    mask = votes >= max(1, math.ceil(len(x) / 2))
    components, count = ndimage.label(mask)
    if count > 1:
        sizes = np.bincount(components.ravel())
        sizes[0] = 0
        mask = components == int(np.argmax(sizes))
    return ndimage.binary_fill_holes(mask)


#: The named intensity normalisations a checkpoint can record, with their default parameters.
#: ``zscore_nonzero``: `zscore_normalise` over the voxels non-zero in some channel (what the
#: shipped checkpoint was trained with); ``zscore_brain_mask``: `zscore_normalise` inside
#: `robust_brain_mask`, zero outside it.
NORMALISATIONS = {
    "zscore_nonzero": {"clip_percentiles": None},
    "zscore_brain_mask": {"threshold": 0.2, "clip_percentiles": None},
}
#: What new training runs use and record.
DEFAULT_NORMALISATION = "zscore_brain_mask"


def normalisation_record(method: str | dict = DEFAULT_NORMALISATION) -> dict:
    """``{"method": name, **parameters}`` of a named normalisation, plain types (checkpoints).

    Examples
    --------
    >>> normalisation_record("zscore_nonzero")
    {'method': 'zscore_nonzero', 'clip_percentiles': None}
    """
    if isinstance(method, dict):
        name, given = method.get("method"), {k: v for k, v in method.items() if k != "method"}
    else:
        name, given = method, {}
    if name not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {name!r}; known: {sorted(NORMALISATIONS)}.")
    unknown = set(given) - set(NORMALISATIONS[name])
    if unknown:
        raise ValueError(f"normalisation {name!r} takes no parameter {sorted(unknown)}.")
    return {"method": name, **NORMALISATIONS[name], **given}


def normalise_image(image: Array, method: str | dict = DEFAULT_NORMALISATION) -> Array:
    """Apply a named normalisation (`NORMALISATIONS`, or a `normalisation_record`).

    ``image`` is ``(C, *spatial)`` in raw units; returns float32 of the same shape and kind.
    """
    record = normalisation_record(method)
    clip = record["clip_percentiles"]
    clip = None if clip is None else tuple(clip)
    if record["method"] == "zscore_nonzero":
        return zscore_normalise(image, clip_percentiles=clip)
    mask = robust_brain_mask(image, threshold=record["threshold"])
    return zscore_normalise(image, mask, clip_percentiles=clip)


def max_scale(image: Array) -> Array:
    """Divide each channel by its maximum: the seed material's ``image / np.max(image)``.

    Kept for comparison with `zscore_normalise`: a single bright voxel (a vessel, an artefact)
    sets the scale of every other voxel, so the same tissue lands at different values from
    one scan to the next. Don't use it for MRI.

    Parameters
    ----------
    image
        ``(C, *spatial)`` array or tensor.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32, same shape and kind; each channel's maximum becomes 1 (a channel whose
        maximum is not positive is returned unscaled).

    Examples
    --------
    >>> max_scale(np.array([[0.0, 50.0, 100.0], [0.0, 1.0, 4.0]]))
    array([[0.  , 0.5 , 1.  ],
           [0.  , 0.25, 1.  ]], dtype=float32)
    """
    x, was_numpy = as_float_tensor(image)
    peak = x.flatten(1).amax(1).view(channel_view(x))
    result = x / torch.where(peak > 0, peak, 1.0)
    return result.numpy() if was_numpy else result


# --- loading one subject ---------------------------------------------------------------------


def affine_text(affine: np.ndarray) -> str:
    return np.array2string(affine, precision=3, suppress_small=True, separator=", ").replace(
        "\n", ""
    )


def check_same_grid(
    image_path: Path, image: nib.Nifti1Image, label_path: Path, label: nib.Nifti1Image
) -> None:
    """Raise `GeometryMismatchError` unless image and label share shape and affine."""
    same_shape = image.shape[:3] == label.shape[:3]
    if same_shape and np.allclose(image.affine, label.affine, atol=AFFINE_TOLERANCE):
        return
    what = "shape" if not same_shape else "affine"
    raise GeometryMismatchError(
        label_path,
        f"its {what} differs from that of {image_path}: label shape {label.shape[:3]}, affine "
        f"{affine_text(label.affine)}; image shape {image.shape[:3]}, affine "
        f"{affine_text(image.affine)}.",
        "Resample the label onto the image's grid (nearest neighbour) or export both again.",
    )


def canonical(image: nib.Nifti1Image) -> nib.Nifti1Image:
    """``image`` reoriented to the closest RAS+ voxel order (the same object if it already is)."""
    return nib.as_closest_canonical(image)


def read_classes(subject: Subject) -> tuple[np.ndarray, nib.Nifti1Image]:
    """``(classes, label image)``: uint8 ``(D, H, W)`` classes 0..3 in RAS+ order."""
    label = io.load_volume(subject.label)
    if label.ndim != 3:
        raise CorruptFileError(
            subject.label, f"is not a 3D label volume (shape {label.shape}).", "Export it again."
        )
    table, coding = CODING_TABLES[subject.coding]
    try:
        classes = remap(np.asanyarray(canonical(label).dataobj), table, coding)
    except ValueError as error:
        hint = (
            " BraTS 2023 codes enhancing tumour as 3: read its own folder layout instead."
            if coding == "BraTS"
            else ""
        )
        raise CorruptFileError(
            subject.label, f"holds unexpected label values: {error}", f"Check the file.{hint}"
        ) from error
    return classes, label


def read_image(subject: Subject, label: nib.Nifti1Image) -> tuple[np.ndarray, np.ndarray]:
    """``(image, affine)``: float32 ``(C, D, H, W)`` in RAS+ order and its (4, 4) affine."""
    volumes = [io.load_volume(path) for path in subject.images]
    if subject.channels is not None and (
        volumes[0].ndim != 4 or volumes[0].shape[3] <= max(subject.channels)
    ):
        raise CorruptFileError(
            subject.images[0],
            f"should be 4D with the modalities on its 4th axis, not of shape {volumes[0].shape}.",
            "Copy it again from the Task01_BrainTumour download.",
        )
    for path, volume in zip(subject.images, volumes, strict=True):
        check_same_grid(path, volume, subject.label, label)
    reoriented = [canonical(volume) for volume in volumes]
    if subject.channels is None:  # one 3D file per modality
        arrays = [np.asanyarray(volume.dataobj) for volume in reoriented]
    else:  # one 4D file, modalities on the last axis
        data = np.asanyarray(reoriented[0].dataobj)
        arrays = [data[..., k] for k in subject.channels]
    image = np.empty((len(arrays), *arrays[0].shape), dtype=np.float32)
    for c, values in enumerate(arrays):
        image[c] = values
    return image, reoriented[0].affine


def canonical_shape(path: Path) -> tuple[int, int, int]:
    """The RAS+-reoriented spatial shape of a NIfTI file, from its header alone."""
    header_only = nib.load(path)
    axes = nib.orientations.io_orientation(header_only.affine)[:, 0].astype(int)
    shape = [0, 0, 0]
    for axis, size in zip(axes, header_only.shape[:3], strict=True):
        shape[axis] = size
    return tuple(shape)


def canonical_spacing(path: Path) -> tuple[float, float, float]:
    """Voxel size in mm along the RAS+-reoriented axes of a NIfTI file, from its header."""
    header_only = nib.load(path)
    axes = nib.orientations.io_orientation(header_only.affine)[:, 0].astype(int)
    sizes = voxel_sizes(header_only.affine)
    spacing = [0.0, 0.0, 0.0]
    for axis, size in zip(axes, sizes, strict=True):
        spacing[axis] = float(size)
    return tuple(spacing)


# --- the datasets ----------------------------------------------------------------------------


class SeededDataset(Dataset):
    """A Dataset whose transform draws from ``sample_generator(seed, epoch, index)``.

    So sample ``index`` of epoch ``epoch`` gets the same augmentation whichever DataLoader
    worker loads it, whatever ``num_workers``, batch size or order; the epoch lives in shared
    memory, so `set_epoch` reaches persistent workers as well.
    """

    def __init__(self, transform: Callable | None, seed: int) -> None:
        self.transform = transform
        self.seed = int(seed)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Use the augmentations of epoch ``epoch`` from now on (call it before each epoch)."""
        self._epoch.fill_(int(epoch))

    def augment(self, item: dict, index: int) -> dict:
        if self.transform is None:
            return item
        return self.transform(item, sample_generator(self.seed, self.epoch, index))


def check_modalities(modalities: Sequence[str]) -> tuple[str, ...]:
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities or len(set(modalities)) != len(modalities):
        raise ValueError(
            f"modalities must be distinct names among {MODALITIES}; got {modalities}."
        )
    return modalities


class BraTSDataset(SeededDataset):
    """Subjects of a BraTS 2021, MSD Task01 or SynthBraTS folder as tensors.

    Parameters
    ----------
    root
        The dataset folder (see `detect_layout` for the three layouts).
    modalities
        Which contrasts to stack as channels, in this order (names as in `MODALITIES`).
    target
        ``"regions"``: the label is float32 ``(3, D, H, W)``, binary channels WT, TC, ET
        (`classes_to_regions`), for a sigmoid output and per-region Dice. ``"labels"``: int64
        ``(D, H, W)`` classes 0 background, 1 necrotic core, 2 oedema, 3 enhancing tumour, for
        ``CrossEntropyLoss``. MSD's coding is mapped first (its 1 oedema, 2 non-enhancing and 3
        enhancing tumour become BraTS 2, 1 and 4), so both layouts give the same targets.
    transform
        Called as ``transform(item, generator)`` on every item (see `transforms`), with a
        ``torch.Generator`` from ``transforms.sample_generator(seed, epoch, index)``.
    cache
        Keep each subject in memory once loaded and normalised (before ``transform``):
        4 x 4 + 1 bytes per voxel, ~17 MB per SynthBraTS subject, ~140 MB per real BraTS one.
        Each DataLoader worker has its own cache; call `fill_cache` before making the
        DataLoader and forked workers share the one filled in the main process.
    normalise
        ``True``: `zscore_normalise` each channel over the brain (non-zero voxels); ``False``:
        raw scanner values; the name of one of `NORMALISATIONS` (or a
        `normalisation_record`), e.g. ``"zscore_brain_mask"``; or any function
        ``(C, D, H, W) tensor -> tensor``, e.g.
        ``functools.partial(zscore_normalise, clip_percentiles=(0.5, 99.5))``.
    subjects
        IDs of the subjects to keep (a train/validation split); default all, sorted by ID.
    edition
        ``"2023"`` or ``"2024"`` for a folder in the ``brats2023`` layout (the two editions
        name their files alike but code labels differently); ``None`` for the others.
    seed
        Seed of the augmentation: sample ``i`` of epoch ``e`` is augmented with the generator
        ``sample_generator(seed, e, i)``, the same whichever DataLoader worker loads it (so a
        run gives the same batches with any ``num_workers``), and different for every sample
        and epoch. Call `set_epoch` before each epoch; the epoch is kept in shared memory, so
        this works with ``persistent_workers=True`` too.

    Attributes
    ----------
    layout : str
        ``"brats2021"``, ``"brats2023"``, ``"msd"`` or ``"synthbrats"``.
    ids : list of str
        The subjects' IDs, in index order.

    Notes
    -----
    Each item is a dict: ``"image"`` float32 ``(C, D, H, W)``, ``"label"`` as ``target``
    says, ``"id"`` the subject ID (str) and ``"affine"`` the float64 ``(4, 4)`` voxel -> RAS+
    mm matrix of the reoriented grid. ``D, H, W`` are the x (towards Right), y (Anterior) and
    z (Superior) axes: every volume is reoriented with ``nibabel.as_closest_canonical``.
    Spatial transforms leave ``"affine"`` as it was: it describes the grid the subject was
    read on. File names are checked when the dataset is made; grids and label values when a
    subject is read (`GeometryMismatchError`, `CorruptFileError`).

    Examples
    --------
    A reproducible training loop (not run here: it reads the whole SynthBraTS cohort):

    >>> from torch.utils.data import DataLoader
    >>> from course_utils import synth, transforms
    >>> augment = transforms.default_augmentation()
    >>> train = BraTSDataset(synth.ensure_dataset(), transform=augment)  # doctest: +SKIP
    >>> order = torch.Generator().manual_seed(0)  # the shuffling, seeded too
    >>> loader = DataLoader(train, 2, True, num_workers=2, generator=order)  # doctest: +SKIP
    >>> for epoch in range(2):  # doctest: +SKIP
    ...     train.set_epoch(epoch)
    ...     for batch in loader:
    ...         pass  # batch["image"]: (2, 4, D, H, W); batch["label"]: (2, 3, D, H, W)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        modalities: Sequence[str] = MODALITIES,
        target: Target = "regions",
        transform: Callable | None = None,
        cache: bool = False,
        normalise: bool | str | dict | Callable = True,
        subjects: Sequence[str] | None = None,
        seed: int = 0,
        edition: str | None = None,
    ) -> None:
        super().__init__(transform, seed)
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}; got {target!r}.")
        self.root = Path(root)
        self.modalities = check_modalities(modalities)
        self.target = target
        self.layout, found = find_subjects(self.root, self.modalities, edition)
        self.subjects = select_subjects(found, subjects)
        if isinstance(normalise, str | dict):
            record = normalisation_record(normalise)
            normalise = functools.partial(normalise_image, method=record)
        self.normalise = zscore_normalise if normalise is True else normalise or None
        self.cache: dict[int, tuple] | None = {} if cache else None

    @property
    def ids(self) -> list[str]:
        return [subject.id for subject in self.subjects]

    def __len__(self) -> int:
        return len(self.subjects)

    def __repr__(self) -> str:
        return (
            f"BraTSDataset({self.root.name!r}, layout={self.layout!r}, subjects={len(self)}, "
            f"modalities={self.modalities}, target={self.target!r})"
        )

    def __getitem__(self, index: int) -> dict:
        index = range(len(self))[index]  # negative indices; IndexError past the end
        return self.augment(self.load_item(index), index)

    def load_item(self, index: int) -> dict:
        """Item ``index`` before ``transform``: read, normalised, with its target."""
        if self.cache is not None and index in self.cache:
            image, classes, affine = self.cache[index]
            image = image.clone()  # callers may modify what they get; the cache must not change
        else:
            image, classes, affine = self.read(index)
            if self.cache is not None:
                self.cache[index] = (image.clone(), classes, affine)
        label = lookup_regions(classes) if self.target == "regions" else classes.long()
        return {
            "image": image,
            "label": label,
            "id": self.subjects[index].id,
            "affine": affine.copy(),
        }

    def read(self, index: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """``(image, classes, affine)`` from the files: float32 (C, D, H, W), uint8 (D, H, W)."""
        subject = self.subjects[index]
        classes, label = read_classes(subject)
        image, affine = read_image(subject, label)
        image = torch.from_numpy(image)
        if self.normalise is not None:
            image = self.normalise(image)
        return image, torch.from_numpy(classes), np.asarray(affine, dtype=np.float64)

    def load_classes(self, index: int) -> np.ndarray:
        """Subject ``index``'s labels alone, as uint8 ``(D, H, W)`` classes 0..3 (RAS+)."""
        if self.cache is not None and index in self.cache:
            return self.cache[index][1].numpy()
        return read_classes(self.subjects[index])[0]

    def spatial_shape(self, index: int) -> tuple[int, int, int]:
        """``(D, H, W)`` of subject ``index`` after reorientation, from the label's header."""
        return canonical_shape(self.subjects[index].label)

    def spacing(self, index: int) -> tuple[float, float, float]:
        """Voxel size in mm of subject ``index`` along D, H, W (RAS+), from the label's header."""
        return canonical_spacing(self.subjects[index].label)

    def fill_cache(self) -> None:
        """Load every subject into the cache now (needs ``cache=True``)."""
        if self.cache is None:
            raise ValueError("fill_cache() needs a dataset made with cache=True.")
        for index in range(len(self)):
            self.load_item(index)


def select_subjects(found: list[Subject], wanted: Sequence[str] | None) -> list[Subject]:
    if wanted is None:
        return found
    by_id = {subject.id: subject for subject in found}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise ValueError(f"no subject {unknown} in this dataset; its IDs start {list(by_id)[:3]}.")
    return [by_id[w] for w in wanted]


class SliceDataset(SeededDataset):
    """2D slices of a `BraTSDataset`, for 2D networks: axial by default.

    Parameters
    ----------
    dataset_or_root
        A `BraTSDataset`, or a dataset folder (then ``dataset_kwargs`` go to `BraTSDataset`).
        The dataset's own ``transform`` is not used: give this one a ``transform`` instead.
    axis
        Spatial axis to slice across: 0 sagittal (x), 1 coronal (y), 2 axial (z, default).
    skip_empty
        Keep only the slices that contain tumour (any label > 0). It speeds up training, but
        a network that never sees a healthy slice tends to find tumour everywhere: evaluate
        on every slice.
    transform
        Called as ``transform(item, generator)`` on each 2D item; the `transforms` classes work
        on 2D items too.
    seed
        Seed of the augmentation (see `BraTSDataset`).

    Notes
    -----
    Items: ``"image"`` float32 ``(C, H, W)``, ``"label"`` float32 ``(3, H, W)`` regions or
    int64 ``(H, W)`` classes, ``"id"``, ``"slice"`` (the index along ``axis``) and the
    volume's ``"affine"``. For the default ``axis=2``, ``H, W`` are the volume's x and y
    axes (towards Right and Anterior).

    To know which slices hold tumour, construction reads every subject's label file once
    (not its images), ~20 ms a subject for SynthBraTS; with ``skip_empty=False`` only the
    headers are read. The index kept is two integers per slice. Reading a slice reads its
    whole volume, and the last volume read is kept (one per worker) so that consecutive
    slices of a subject cost one read; for shuffled training make the `BraTSDataset` with
    ``cache=True`` so that each volume is read once.
    """

    def __init__(
        self,
        dataset_or_root: BraTSDataset | str | os.PathLike[str],
        *,
        axis: int = 2,
        skip_empty: bool = True,
        transform: Callable | None = None,
        seed: int = 0,
        **dataset_kwargs,
    ) -> None:
        super().__init__(transform, seed)
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2 (a spatial axis of D, H, W); got {axis!r}.")
        if isinstance(dataset_or_root, BraTSDataset):
            if dataset_kwargs:
                raise TypeError(f"{sorted(dataset_kwargs)} only apply when given a folder.")
            self.dataset = dataset_or_root
        else:
            self.dataset = BraTSDataset(dataset_or_root, **dataset_kwargs)
        self.axis = axis
        self.skip_empty = skip_empty
        self.index = self.build_index()
        self._last: tuple[int, dict] | None = None

    def build_index(self) -> np.ndarray:
        """``(N, 2)`` int64 rows ``(subject index, slice index)`` of the slices kept."""
        rows = []
        others = tuple(a for a in range(3) if a != self.axis)
        for s in range(len(self.dataset)):
            if self.skip_empty:
                kept = np.flatnonzero(self.dataset.load_classes(s).any(axis=others))
            else:
                kept = np.arange(self.dataset.spatial_shape(s)[self.axis])
            rows.append(np.stack([np.full(len(kept), s), kept], axis=1))
        return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> dict:
        index = range(len(self))[index]
        s, k = (int(v) for v in self.index[index])
        volume = self.volume(s)
        item = {
            "image": self.take(volume["image"], k),
            "label": self.take(volume["label"], k),
            "id": volume["id"],
            "slice": k,
            "affine": volume["affine"].copy(),
        }
        return self.augment(item, index)

    def volume(self, s: int) -> dict:
        if self._last is None or self._last[0] != s:
            self._last = None  # free the previous volume before reading the next
            self._last = (s, self.dataset.load_item(s))
        return self._last[1]

    def take(self, volume: torch.Tensor, k: int) -> torch.Tensor:
        """Slice ``k`` across ``axis`` of a ``(..., D, H, W)`` tensor, as a new tensor."""
        dim = volume.ndim - 3 + self.axis
        return volume.select(dim, k).clone(memory_format=torch.contiguous_format)
