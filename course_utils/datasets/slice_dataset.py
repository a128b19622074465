"""`SliceDataset`: 2D slices of a `BraTSDataset`, for 2D networks (axial by default).

Used by notebook 04 (a 2D DataLoader).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch

from .volume_dataset import BraTSDataset, SeededDataset

__all__ = ["SliceDataset"]


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
