"""Give the shipped checkpoint (format /2) its ``"input"`` record once, without retraining.

``data/checkpoints/unet_synthbrats.pt`` was trained by ``course-utils train`` before checkpoints
described their input. What it was trained on is known from the code and the data of that
run (``unet_synthbrats.metrics.json``): SynthBraTS 1 (generator 1.0, seed 0) at 2 mm isotropic
voxels, reoriented to RAS+, channels FLAIR, T1, T1ce, T2 (`brats.MODALITIES`), each z-scored
over the voxels non-zero in some channel without clipping (``BraTSDataset``'s default
`datasets.zscore_normalise`, method ``"zscore_nonzero"``), BraTS 2021 labels, 64^3 patches.
This script adds exactly these facts as `training.checkpoint_input` writes them, sets the
format to `training.CHECKPOINT_FORMAT` and rewrites the file atomically. Every other entry,
the weights included, is kept as it was.

    python tools/migrate_checkpoint.py [CHECKPOINT]    # default: the shipped checkpoint
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from course_utils import brats, paths, training

#: The format this script migrates from.
OLD_FORMAT = "course_utils.unet/2"
#: What the shipped checkpoint was trained with (see the module docstring).
SHIPPED_INPUT = training.checkpoint_input(
    spacing_mm=(2.0, 2.0, 2.0),
    modalities=brats.MODALITIES,
    normalisation="zscore_nonzero",
    patch_size=64,
    coding=brats.BRATS_2021,
)


def migrate(checkpoint: dict) -> dict:
    """The /2 checkpoint dict with ``"input"`` added and the new format; weights untouched."""
    if checkpoint.get("format") != OLD_FORMAT:
        raise ValueError(f"expected a {OLD_FORMAT!r} checkpoint; got {checkpoint.get('format')!r}")
    if list(checkpoint["modalities"]) != list(SHIPPED_INPUT["modalities"]):
        raise ValueError(f"modalities {checkpoint['modalities']} differ from the shipped ones")
    if checkpoint["train_config"]["patch_size"] != SHIPPED_INPUT["patch_size"]:
        raise ValueError("patch size differs from the shipped checkpoint's")
    return {**checkpoint, "format": training.CHECKPOINT_FORMAT, "input": SHIPPED_INPUT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, default=paths.shipped_checkpoint())
    args = parser.parse_args(argv)
    old = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    if old.get("format") == training.CHECKPOINT_FORMAT:
        print(f"{args.checkpoint}: already {training.CHECKPOINT_FORMAT}")
        return 0
    training.save_checkpoint(args.checkpoint, migrate(old))
    print(f"{args.checkpoint}: {OLD_FORMAT} -> {training.CHECKPOINT_FORMAT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
