"""Benchmark: feeding SynthBraTS to a training loop, ours against MONAI and TorchIO.

Samples per second through a ``DataLoader`` (batch size 1) over the default SynthBraTS cohort
(``synth.ensure_dataset()``: 98 x 116 x 94 voxels, 4 contrasts and a label per subject), with
0 and 2 workers, without and with augmentation, without and with an in-memory cache, for:

- ours: `datasets.BraTSDataset` (RAS+ reorientation, z-score over the brain, WT/TC/ET regions)
  and a `transforms.Compose` of flips, affine, intensity scale/shift, gamma and noise;
- MONAI: ``LoadImaged``, ``EnsureChannelFirstd``, ``Orientationd("RAS")``,
  ``ConvertToMultiChannelBasedOnBratsClassesd``, ``NormalizeIntensityd(nonzero=True,
  channel_wise=True)``, then ``RandFlipd`` x 3, ``RandAffined``, ``RandScaleIntensityd``,
  ``RandShiftIntensityd``, ``RandAdjustContrastd``, ``RandGaussianNoised``; cached with
  ``CacheDataset`` (which caches up to the first random transform);
- TorchIO: ``SubjectsDataset`` of one ``ScalarImage`` per contrast and a ``LabelMap``,
  ``ToCanonical``, ``ZNormalization`` over non-zero voxels, then ``RandomFlip``,
  ``RandomAffine``, ``RandomGamma``, ``RandomNoise`` (TorchIO has no random intensity
  scale/shift; it has no cache either). Labels become regions in a thin wrapper.

Every random transform is applied to every sample (flips: each axis with probability 0.5), so
that the three pipelines do the same work; the ranges match (10 degrees, scale 0.9-1.1, shifts
of 4 voxels = 8 mm, gamma exp(+-0.3), noise up to 0.1). The work is the same, the details are
not: MONAI scales each axis independently and changes intensities in the background too, and
it returns cached items without copying them (ours copies, so that a caller who modifies an
item in place cannot corrupt the cache). Times include starting the workers.
With a cache, the cache is filled first (the "setup s" column) and then one epoch is timed;
forked workers share the cache filled in the main process. "vs ours" divides a row's samples/s
by ours with the same settings (> 1: faster than ours).

Run with ``python benchmarks/data_loading.py [--subjects N]`` (default 12 subjects an epoch;
one to two minutes on 2 cores). Prints a table; nothing is asserted, because timings on shared
machines are noisy. MONAI and TorchIO are course dependencies.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from course_utils.brats import MODALITIES  # the tensor order, as the course's dataset stacks

DEGREES, SCALE, SHIFT_VOXELS, SPACING_MM = 10.0, (0.9, 1.1), 4.0, 2.0


def epoch_rate(loader: DataLoader, expected: int) -> float:
    """Samples per second over one pass of ``loader`` (worker start-up included)."""
    start = time.perf_counter()
    count = sum(len(batch["image"]) for batch in loader)
    seconds = time.perf_counter() - start
    if count != expected:
        raise RuntimeError(f"the loader gave {count} samples, not {expected}")
    return count / seconds


def loader_settings(workers: int) -> dict:
    return {"batch_size": 1, "num_workers": workers, "shuffle": False}


# --- ours ------------------------------------------------------------------------------------


def ours(root: Path, ids: list[str], workers: int, augment: bool, cache: bool):
    from course_utils.datasets import BraTSDataset
    from course_utils.transforms import (
        Compose,
        RandomAffine,
        RandomFlip,
        RandomGamma,
        RandomGaussianNoise,
        RandomIntensityScaleShift,
    )

    transform = Compose(
        [
            RandomFlip(p=0.5),
            RandomAffine(DEGREES, SCALE, SHIFT_VOXELS, p=1.0),
            RandomIntensityScaleShift(0.1, 0.1, p=1.0),
            RandomGamma((-0.3, 0.3), p=1.0),
            RandomGaussianNoise(0.1, p=1.0),
        ]
    )
    start = time.perf_counter()
    dataset = BraTSDataset(
        root, subjects=ids, transform=transform if augment else None, cache=cache
    )
    if cache:
        dataset.fill_cache()
    setup = time.perf_counter() - start
    return setup, epoch_rate(DataLoader(dataset, **loader_settings(workers)), len(ids))


# --- MONAI -----------------------------------------------------------------------------------


def monai_pipeline(root: Path, ids: list[str], workers: int, augment: bool, cache: bool):
    from monai import transforms as mt
    from monai.data import CacheDataset
    from monai.data import DataLoader as MonaiLoader
    from monai.data import Dataset as MonaiDataset

    from course_utils import synth

    keys = ["image", "label"]
    steps = [
        mt.LoadImaged(keys, image_only=True),
        mt.EnsureChannelFirstd(keys),
        mt.Orientationd(keys, axcodes="RAS"),
        mt.ConvertToMultiChannelBasedOnBratsClassesd("label"),
        mt.NormalizeIntensityd("image", nonzero=True, channel_wise=True),
    ]
    if augment:
        steps += [mt.RandFlipd(keys, prob=0.5, spatial_axis=axis) for axis in range(3)]
        steps += [
            mt.RandAffined(
                keys,
                prob=1.0,
                rotate_range=(np.deg2rad(DEGREES),) * 3,
                scale_range=(SCALE[1] - 1.0,) * 3,
                translate_range=(SHIFT_VOXELS,) * 3,
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            mt.RandScaleIntensityd("image", factors=0.1, prob=1.0),
            mt.RandShiftIntensityd("image", offsets=0.1, prob=1.0),
            mt.RandAdjustContrastd("image", gamma=(np.exp(-0.3), np.exp(0.3)), prob=1.0),
            mt.RandGaussianNoised("image", std=0.1, prob=1.0),
        ]
    transform = mt.Compose(steps).set_random_state(seed=0)
    files = []
    for subject in ids:
        paths = synth.subject_files(root / subject)
        files.append({"image": [str(paths[m]) for m in MODALITIES], "label": str(paths["seg"])})
    start = time.perf_counter()
    if cache:
        dataset = CacheDataset(files, transform, cache_rate=1.0, progress=False)
    else:
        dataset = MonaiDataset(files, transform)
    setup = time.perf_counter() - start
    return setup, epoch_rate(MonaiLoader(dataset, **loader_settings(workers)), len(ids))


# --- TorchIO ---------------------------------------------------------------------------------


class TorchioItems(Dataset):
    """A TorchIO ``SubjectsDataset`` as plain dicts: stacked contrasts, WT/TC/ET regions."""

    def __init__(self, subjects_dataset) -> None:
        self.subjects = subjects_dataset

    def __len__(self) -> int:
        return len(self.subjects)

    def __getitem__(self, index: int) -> dict:
        subject = self.subjects[index]
        image = torch.cat([subject[m].data for m in MODALITIES]).float()
        seg = subject["label"].data[0]
        regions = torch.stack([seg > 0, (seg == 1) | (seg == 4), seg == 4]).float()
        return {"image": image, "label": regions}


def torchio_pipeline(root: Path, ids: list[str], workers: int, augment: bool, cache: bool):
    import torchio as tio

    from course_utils import synth

    if cache:
        return None
    steps = [tio.ToCanonical(), tio.ZNormalization(masking_method=lambda x: x > 0)]
    if augment:
        steps += [
            tio.RandomFlip(axes=(0, 1, 2), flip_probability=0.5),
            tio.RandomAffine(
                scales=SCALE,
                degrees=DEGREES,
                translation=SHIFT_VOXELS * SPACING_MM,
                isotropic=True,
                image_interpolation="linear",
                default_pad_value=0.0,
            ),
            tio.RandomGamma(log_gamma=(-0.3, 0.3)),
            tio.RandomNoise(std=(0.0, 0.1)),
        ]
    subjects = []
    for subject in ids:
        paths = synth.subject_files(root / subject)
        images = {m: tio.ScalarImage(paths[m]) for m in MODALITIES}
        subjects.append(tio.Subject(**images, label=tio.LabelMap(paths["seg"])))
    start = time.perf_counter()
    dataset = TorchioItems(tio.SubjectsDataset(subjects, transform=tio.Compose(steps)))
    setup = time.perf_counter() - start
    return setup, epoch_rate(DataLoader(dataset, **loader_settings(workers)), len(ids))


# --- the table -------------------------------------------------------------------------------

PIPELINES = [
    ("ours", "course_utils", ours),
    ("MONAI", "monai", monai_pipeline),
    ("TorchIO", "torchio", torchio_pipeline),
]


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=12, help="subjects per timed epoch")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # MONAI and TorchIO deprecation chatter
    logging.disable(logging.WARNING)  # MONAI: "nvImageCodec is not available ..."

    from course_utils import synth

    root = synth.ensure_dataset(progress=False)
    ids = [p.name for p in synth.list_subjects(root)][: args.subjects]
    print(f"SynthBraTS at {root}: {len(ids)} subjects an epoch, 4 x 98 x 116 x 94 voxels each")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads in the main process\n")
    header = f"{'pipeline':8} {'workers':>7} {'augment':>7} {'cache':>5} {'setup s':>8} "
    header += f"{'samples/s':>9} {'vs ours':>7}"
    print(header)
    print("-" * len(header))
    available = [(name, module, run) for name, module, run in PIPELINES if installed(module)]
    for _, _, run in available:  # warm up: first-call costs (lazy imports, allocators)
        run(root, ids[:1], 0, True, False)
    started = time.perf_counter()
    for augment in (False, True):
        for cache in (False, True):
            for workers in (0, 2):
                reference = None
                for name, module, run in PIPELINES:
                    if not installed(module):
                        print(f"{name:8} {workers:>7} {augment!s:>7} {cache!s:>5}  not installed")
                        continue
                    result = run(root, ids, workers, augment, cache)
                    if result is None:
                        print(f"{name:8} {workers:>7} {augment!s:>7} {cache!s:>5} {'n/a':>8}")
                        continue
                    setup, rate = result
                    reference = rate if name == "ours" else reference
                    ratio = f"{rate / reference:7.2f}" if reference else f"{'':>7}"
                    row = f"{name:8} {workers:>7} {augment!s:>7} {cache!s:>5} {setup:8.2f} "
                    print(row + f"{rate:9.2f} {ratio}", flush=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
