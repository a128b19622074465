"""Export a BraTS-style folder as an nnU-Net v2 raw dataset (``course-utils export-nnunet``).

nnU-Net v2 (Isensee et al., *Nature Methods* 18, 203-211, 2021) reads a dataset from
``nnUNet_raw/DatasetNNN_Name/``:

- ``imagesTr/<case>_0000.nii.gz`` ... ``<case>_0003.nii.gz``: one 3D file per channel, channel
  ``k`` being ``brats.MODALITIES[k]`` (FLAIR, T1, T1ce, T2: the course's tensor order);
- ``labelsTr/<case>.nii.gz``: labels on the same grid, remapped to **consecutive** values
  (nnU-Net refuses gaps such as BraTS 2021's 0, 1, 2, 4);
- ``dataset.json``: ``channel_names``, ``labels``, ``numTraining``, ``file_ending`` and, for
  region-based training, ``regions_class_order``.

The labels follow nnU-Net's own BraTS example (its ``Dataset137_BraTS2021`` conversion and the
"region-based training" page of its documentation): 1 oedema, 2 necrotic / non-enhancing core,
3 enhancing tumour (MSD Task01's coding, `brats.MSD_TASK01`), and ``labels`` lists the regions
the network is trained on, whole tumour ``[1, 2, 3]``, tumour core ``[2, 3]``, enhancing tumour
``[3]``, with ``regions_class_order`` ``[1, 2, 3]``: the label each region's voxels are given
when region predictions become a label map, later regions overwriting earlier ones. A BraTS
2024 GLI folder adds 4, the resection cavity, as a region of its own.

Only the files `datasets.find_subjects` reads are exported: the four contrasts and the
(first rater's) ``seg``; SynthBraTS 2's ``_seg_rater2`` files and anything else are skipped.

Used by ``course-utils export-nnunet``; notebook 07's "real BraTS and GPUs" section is to show
the command (see README).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from . import brats, files
from .datasets import Subject, find_subjects

__all__ = ["FILE_ENDING", "nnunet_coding", "dataset_json", "export_nnunet"]

FILE_ENDING = ".nii.gz"
#: nnU-Net's name for a dataset folder: ``Dataset`` + three digits + ``_`` + a name.
DATASET_NAME = re.compile(r"^Dataset\d{3}_[A-Za-z0-9_\-]+$")
#: The label coding of each `datasets.Subject.coding`.
SOURCE_CODINGS = {"brats": brats.BRATS_2021, "brats2023": brats.BRATS_2023_GLI,
                  "brats2024": brats.BRATS_2024_GLI, "msd": brats.MSD_TASK01}  # fmt: skip


def nnunet_coding(source: brats.LabelCoding = brats.BRATS_2021) -> brats.LabelCoding:
    """The consecutive coding an export of ``source`` labels uses.

    nnU-Net's BraTS order (background, oedema, necrotic core, enhancing; `brats.MSD_TASK01`),
    plus the resection cavity as 4 when ``source`` has one (BraTS 2024 GLI).

    Examples
    --------
    >>> dict(nnunet_coding(brats.BRATS_2021).subregions)
    {0: 'background', 1: 'oedema', 2: 'necrotic_core', 3: 'enhancing'}
    >>> nnunet_coding(brats.BRATS_2024_GLI).value_of("cavity")
    4
    """
    keys = list(brats.MSD_TASK01.subregions.values())
    keys += [key for key in source.subregions.values() if key not in keys]
    names = {value: brats.SUBREGION_NAMES[key] for value, key in enumerate(keys)}
    return brats.LabelCoding(f"nnU-Net export of {source.name}", dict(enumerate(keys)), names)


def region_class_order(coding: brats.LabelCoding) -> tuple[dict[str, list[int]], list[int]]:
    """``labels`` region entries and ``regions_class_order`` of ``coding``.

    Each region (WT, TC, ET, then a sub-region in no region, such as the cavity) is given the
    one label value that is in it and in no later region, so that painting the regions in
    order onto the background rebuilds the label map.
    """
    regions = {brats.REGION_NAMES[r]: list(coding.regions[r]) for r in brats.REGIONS}
    covered = {v for values in regions.values() for v in values}
    for value, key in coding.subregions.items():
        if value and value not in covered:
            regions[brats.SUBREGION_NAMES[key]] = [value]
    order, later = [], list(regions.values())
    for index, values in enumerate(later):
        own = set(values).difference(*later[index + 1 :])
        if len(own) != 1:
            raise ValueError(f"{coding.name}: region {values} has no single label of its own.")
        order.append(own.pop())
    return regions, order


def channel_names(modalities: Sequence[str]) -> dict[str, str]:
    """``{"0": "FLAIR", ...}``: each channel's name as MSD Task01's ``dataset.json`` gives it.

    nnU-Net z-scores every channel not named "CT", which is what MRI needs.
    """
    msd_name = {brats.MODALITY_ALIASES[n.lower()]: n for n in brats.MSD_TASK01_MODALITIES.values()}
    return {str(k): msd_name[m] for k, m in enumerate(modalities)}


def dataset_json(
    n_training: int,
    source: brats.LabelCoding = brats.BRATS_2021,
    modalities: Sequence[str] = brats.MODALITIES,
    name: str = "",
) -> dict:
    """The ``dataset.json`` of an export: channel names, region labels, numTraining, ending.

    Examples
    --------
    >>> info = dataset_json(3)
    >>> info["labels"]
    {'background': 0, 'whole tumour': [1, 2, 3], 'tumour core': [2, 3], 'enhancing tumour': [3]}
    >>> info["regions_class_order"], info["channel_names"]["0"], info["file_ending"]
    ([1, 2, 3], 'FLAIR', '.nii.gz')
    """
    regions, order = region_class_order(nnunet_coding(source))
    return {
        "name": name,
        "description": f"Exported by course-utils export-nnunet from {source.name} labels.",
        "channel_names": channel_names(modalities),
        "labels": {"background": 0, **regions},
        "regions_class_order": order,
        "numTraining": int(n_training),
        "file_ending": FILE_ENDING,
    }


def channel_images(subject: Subject) -> list[nib.Nifti1Image]:
    """One 3D image per channel: the subject's files, or the channels of its 4D MSD file."""
    if subject.channels is None:
        return [nib.load(path) for path in subject.images]
    image = nib.load(subject.images[0])
    data = image.dataobj
    return [
        nib.Nifti1Image(np.asarray(data[..., c]), image.affine, image.header)
        for c in subject.channels
    ]


def write_image(image: nib.Nifti1Image, path: Path, source: Path | None = None) -> None:
    """``image`` to ``path``: the source's bytes where it already is a ``.nii.gz``."""
    if source is not None and source.name.endswith(FILE_ENDING):
        files.atomic_write_bytes(path, source.read_bytes())
        return
    header = image.header.copy()
    header.set_data_shape(image.shape)
    out = nib.Nifti1Image(np.asanyarray(image.dataobj), image.affine, header)
    with files.atomic_path(path) as temporary:
        nib.save(out, temporary)


def write_labels(subject: Subject, path: Path, table: np.ndarray) -> None:
    """The subject's labels, remapped through ``table`` (uint8), header and affine kept."""
    from .datasets.labels import remap
    from .errors import CorruptFileError

    image = nib.load(subject.label)
    try:
        labels = remap(np.asanyarray(image.dataobj), table, SOURCE_CODINGS[subject.coding].name)
    except ValueError as error:
        raise CorruptFileError(
            subject.label, f"holds unexpected label values: {error}", "Check the file."
        ) from error
    header = image.header.copy()
    header.set_data_dtype(np.uint8)
    header.set_slope_inter(1, 0)
    out = nib.Nifti1Image(labels.astype(np.uint8), image.affine, header)
    with files.atomic_path(path) as temporary:
        nib.save(out, temporary)


def export_nnunet(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    edition: str | None = None,
    modalities: Sequence[str] = brats.MODALITIES,
    progress: bool = False,
) -> dict:
    """Write a BraTS 2021, 2023/2024 GLI, MSD Task01 or SynthBraTS folder as nnU-Net v2 raw data.

    Parameters
    ----------
    data
        The dataset folder (`datasets.detect_layout`).
    out
        ``.../nnUNet_raw/DatasetNNN_Name``; must not hold a ``dataset.json`` yet.
    edition
        ``"2023"`` or ``"2024"`` for a BraTS-GLI folder (`datasets.find_subjects`).
    modalities
        The channels, in order: channel ``k`` is written as ``<case>_000k.nii.gz``.
    progress
        Show a progress bar.

    Returns
    -------
    dict
        The ``dataset.json`` written (see `dataset_json`).

    Raises
    ------
    ValueError
        ``out`` is not named ``DatasetNNN_Name`` (nnU-Net finds datasets by that name).
    CourseDataError
        From `datasets.find_subjects` for a bad folder; `training.RunFolderError` if ``out``
        already holds a dataset; `errors.CorruptFileError` for a label value the folder's
        coding does not have.
    """
    from tqdm.auto import tqdm

    from .datasets.labels import lookup_table
    from .errors import RunFolderError

    out = Path(out)
    if not DATASET_NAME.match(out.name):
        raise ValueError(
            f"{out}: nnU-Net finds a dataset by its folder name, which must be DatasetNNN_Name "
            "(three digits, e.g. nnUNet_raw/Dataset137_BraTS2021)."
        )
    if (out / "dataset.json").exists():
        raise RunFolderError(
            out / "dataset.json",
            "already exists: this folder holds an nnU-Net dataset.",
            "Choose another DatasetNNN_Name, or delete the folder first.",
        )
    _, subjects = find_subjects(data, modalities, edition)
    source = SOURCE_CODINGS[subjects[0].coding]  # one folder, one layout, one coding
    target = nnunet_coding(source)
    table = lookup_table(brats.label_mapping(source, target))
    for folder in ("imagesTr", "labelsTr"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for subject in tqdm(subjects, desc="export", unit="subject", disable=not progress):
        per_file = subject.channels is None
        for k, image in enumerate(channel_images(subject)):
            path = out / "imagesTr" / f"{subject.id}_{k:04d}{FILE_ENDING}"
            write_image(image, path, subject.images[k] if per_file else None)
        write_labels(subject, out / "labelsTr" / f"{subject.id}{FILE_ENDING}", table)
    info = dataset_json(len(subjects), source, modalities, out.name.split("_", 1)[1])
    files.atomic_write_text(out / "dataset.json", json.dumps(info, indent=2) + "\n")
    return info
