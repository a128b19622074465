"""`PatchDataset`: random training patches of a `BraTSDataset`, a share centred on tumour.

Each patch, its centre and its augmentation come from ``sample_generator(seed, epoch,
index)``, so a training run draws the same patches with any number of DataLoader workers or
processes. Items are dicts with ``"image"`` float32 ``(C, P, P, P)`` and ``"label"`` float32
``(3, P, P, P)`` (WT, TC, ET). Patches are cut by `patches.sample_patches`.

Used by `training.train` and notebook 07 (U-Net training).
"""

from __future__ import annotations

import torch

from ..patches import sample_patches
from ..transforms import sample_generator
from .labels import lookup_regions
from .volume_dataset import BraTSDataset, SeededDataset

__all__ = ["PatchDataset"]


class PatchDataset(SeededDataset):
    """``patches_per_subject`` random patches of every subject of ``subjects``, per epoch.

    Item ``i`` comes from subject ``i // patches_per_subject``. Its generator
    ``sample_generator(seed, epoch, i)`` decides whether the patch is centred on tumour
    (probability ``foreground_ratio``), where, and its augmentation. Items are dicts with
    ``"image"`` float32 ``(C, P, P, P)`` and ``"label"`` float32 ``(3, P, P, P)`` (WT, TC, ET).

    Parameters
    ----------
    subjects
        A `BraTSDataset` with ``target="labels"``, ideally ``cache=True`` (each subject is
        read once, not once per patch).
    patches_per_subject, patch_size, foreground_ratio
        As in `TrainConfig`.
    transform
        Called as ``transform(item, generator)``; e.g. `transforms.default_augmentation()`.
    seed
        The run's seed.
    """

    def __init__(
        self,
        subjects: BraTSDataset,
        patches_per_subject: int,
        patch_size: int,
        foreground_ratio: float,
        transform=None,
        seed: int = 0,
    ) -> None:
        super().__init__(transform, seed)
        if subjects.target != "labels":
            raise ValueError("PatchDataset needs a BraTSDataset made with target='labels'.")
        self.subjects = subjects
        self.patches_per_subject = int(patches_per_subject)
        self.patch_size = int(patch_size)
        self.foreground_ratio = float(foreground_ratio)

    def __len__(self) -> int:
        return len(self.subjects) * self.patches_per_subject

    def __getitem__(self, index: int) -> dict:
        index = range(len(self))[index]
        subject = self.subjects.load_item(index // self.patches_per_subject)
        generator = sample_generator(self.seed, self.epoch, index)
        on_tumour = float(torch.rand((), generator=generator) < self.foreground_ratio)
        patch_seed = int(torch.randint(2**31 - 1, (), generator=generator))
        image, classes, _ = sample_patches(
            subject["image"],
            subject["label"],
            1,
            self.patch_size,
            foreground_ratio=on_tumour,
            rng=patch_seed,
        )
        item = {"image": image[0].contiguous(), "label": lookup_regions(classes[0])}
        if self.transform is not None:
            item = self.transform(item, generator)
        return item
