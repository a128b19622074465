"""`BraTSDataset`: whole subjects of a dataset folder as tensors, and the seeded base class.

`SeededDataset` is what every course dataset shares: its augmentation draws from
``sample_generator(seed, epoch, index)``, so any number of DataLoader workers gives the same
items. Items are dicts with ``"image"`` float32 ``(C, D, H, W)`` (RAS+ voxel order) and
``"label"`` (classes or WT/TC/ET regions).

Used by notebook 04 (files to PyTorch tensors), notebook 06 and notebook 07.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..transforms import sample_generator
from ._types import Target
from .labels import lookup_regions
from .layouts import MODALITIES, Subject, check_modalities, find_subjects
from .normalisation import normalisation_record, normalise_image, zscore_normalise
from .reading import canonical_shape, canonical_spacing, read_classes, read_image

__all__ = ["BraTSDataset"]


TARGETS = ("regions", "labels")


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
