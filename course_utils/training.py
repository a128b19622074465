"""Training and evaluating the U-Net: what ``course-utils train`` and ``evaluate`` run.

- `TrainConfig`: every setting of a run; the defaults are the laptop run (2 CPU cores).
- `PatchDataset`: random training patches of a `BraTSDataset`, a share centred on tumour,
  augmented, each drawn from ``sample_generator(seed, epoch, index)`` (so a run is the same
  with any number of DataLoader workers or processes).
- `train`: patch-based training with Dice + BCE, validation by sliding-window inference on
  whole subjects, and a run folder: ``model.pt`` (best weights and the model's config),
  ``last.pt`` (everything needed to resume), ``history.csv`` and ``metrics.json``. It runs
  unchanged under ``torchrun --nproc_per_node=N`` with DistributedDataParallel (gloo on CPU,
  NCCL on GPU): each process takes its share of every epoch's patches, rank 0 validates,
  logs and writes.
- `load_model`: a checkpoint back into a `UNet`, read with ``torch.load(weights_only=True)``.
- `predict_subject`, `evaluate`: whole-subject inference and the BraTS metrics, optionally
  saving each prediction as NIfTI with the subject's affine, so it overlays in any viewer.

Tensors follow `datasets`: images ``(C, D, H, W)`` float32 in RAS+ voxel order; sizes in
voxels, distances in mm.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from . import brats, files
from .brats import REGIONS
from .datasets import (
    DEFAULT_NORMALISATION,
    GLI_EDITIONS,
    BraTSDataset,
    PatchDataset,
    normalisation_record,
    regions_to_classes,
)
from .datasets.labels import lookup_regions
from .errors import CourseDataError
from .geometry import voxel_sizes
from .losses import DiceCELoss
from .metrics import region_metrics
from .patches import sliding_window_inference
from .transforms import training_augmentation
from .unet import UNet

__all__ = [
    "TrainConfig",
    "PatchDataset",
    "RunFolderError",
    "train",
    "load_model",
    "save_checkpoint",
    "checkpoint_input",
    "predict_subject",
    "subject_metrics",
    "spacing_of",
    "save_prediction",
    "evaluate",
    "split_subjects",
]

#: What ``model.pt`` and ``last.pt`` say they are; `load_model` refuses anything else.
#: /2: the UNet with a Head (image path); /3: an ``"input"`` record (`checkpoint_input`).
CHECKPOINT_FORMAT = "course_utils.unet/3"
#: Orientation of the voxel axes every checkpoint is trained and applied in.
ORIENTATION = "RAS"
#: BraTS label of each class 0..3 (`brats.CLASS_LABELS`), as an array to index with classes.
BRATS_LABELS = np.array(brats.CLASS_LABELS, dtype=np.uint8)
BRATS_LABELS.setflags(write=False)


class RunFolderError(CourseDataError):
    """A run folder that cannot be used as asked (an existing run without ``--resume``)."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run. The defaults are the laptop run on 2 CPU cores.

    Attributes
    ----------
    epochs
        Passes over the training subjects.
    patches_per_subject
        Patches drawn from each training subject per epoch.
    patch_size
        Edge of the cubic training patch in voxels (a multiple of the network's
        `UNet.size_multiple`, 32 for the default features).
    batch_size
        Patches per optimiser step (per process under torchrun).
    learning_rate
        Peak learning rate of AdamW; it follows a cosine down to 1/100 of it.
    weight_decay
        AdamW's decoupled weight decay.
    foreground_ratio
        Probability that a patch is centred on a tumour voxel (the rest anywhere).
    validation_subjects
        Subjects held out of training and used to pick the best epoch.
    validate_every
        Validate every this many epochs (and after the last).
    overlap
        Window overlap of the sliding-window inference, in ``[0, 1)``.
    features
        `UNet` channels per level.
    norm
        `UNet` normalisation, ``"instance"`` or ``"batch"``.
    augment
        Apply `transforms.training_augmentation` to the training patches.
    normalisation
        The intensity normalisation, one of `datasets.NORMALISATIONS`; recorded in the
        checkpoint, and applied by `evaluate` and ``course-utils predict``.
    seed
        Seeds the weights, the split, the patches, the augmentation and the order.
    num_workers
        DataLoader worker processes (0: load in the training process).
    """

    epochs: int = 20
    patches_per_subject: int = 8
    patch_size: int = 64
    batch_size: int = 2
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    foreground_ratio: float = 0.7
    validation_subjects: int = 4
    validate_every: int = 5
    overlap: float = 0.25
    features: tuple[int, ...] = (8, 16, 32, 64, 128)
    norm: str = "instance"
    augment: bool = True
    normalisation: str = DEFAULT_NORMALISATION
    seed: int = 0
    num_workers: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(int(f) for f in self.features))
        positive = ("epochs", "patches_per_subject", "patch_size", "batch_size", "validate_every")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if not 0.0 <= self.foreground_ratio <= 1.0:
            raise ValueError(f"foreground_ratio must be in [0, 1]; got {self.foreground_ratio}")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1); got {self.overlap}")
        normalisation_record(self.normalisation)  # ValueError for an unknown name
        if self.validation_subjects < 0:
            raise ValueError(f"validation_subjects must be >= 0; got {self.validation_subjects}")

    def model_config(self, in_channels: int = 4, out_channels: int = 3) -> dict:
        """The `UNet` keyword arguments this run trains."""
        return {
            "spatial_dims": 3,
            "in_channels": in_channels,
            "out_channels": out_channels,
            "features": list(self.features),
            "norm": self.norm,
        }


# --- data ------------------------------------------------------------------------------------


def split_subjects(ids: Sequence[str], validation: int, seed: int) -> tuple[list, list]:
    """``(training, validation)`` IDs: ``validation`` of them drawn with ``seed``, both sorted.

    Examples
    --------
    >>> split_subjects(["a", "b", "c", "d"], 1, seed=0)
    (['a', 'b', 'c'], ['d'])
    """
    ids = sorted(ids)
    if validation >= len(ids):
        raise ValueError(
            f"validation_subjects={validation} leaves no training subject out of {len(ids)}."
        )
    held = set(np.random.default_rng(seed).choice(len(ids), validation, replace=False).tolist())
    return [s for i, s in enumerate(ids) if i not in held], [
        s for i, s in enumerate(ids) if i in held
    ]


# --- checkpoints -----------------------------------------------------------------------------


def save_checkpoint(path: str | os.PathLike[str], checkpoint: dict) -> Path:
    """``torch.save`` a checkpoint dict atomically (readers see the old file or the new one)."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return files.atomic_write_bytes(path, buffer.getvalue())


def checkpoint_input(
    spacing_mm: Sequence[float],
    modalities: Sequence[str],
    normalisation: str | dict,
    patch_size: int,
    coding: brats.LabelCoding = brats.BRATS_2021,
) -> dict:
    """What a network expects of its input, as plain types (safe under ``weights_only``).

    Parameters
    ----------
    spacing_mm
        Voxel size in mm along D, H, W of the training data (RAS+ voxel order).
    modalities
        Channel names in tensor order (`brats.MODALITIES` names).
    normalisation
        A `datasets.NORMALISATIONS` name or `datasets.normalisation_record`.
    patch_size
        Edge of the cubic training patch in voxels (the sliding windows' size).
    coding
        The label coding of the training labels (`brats`).

    Returns
    -------
    dict
        ``spacing_mm`` (3 floats), ``orientation`` (``"RAS"``), ``modalities``,
        ``normalisation`` (``{"method": ..., parameters}``), ``label_coding`` (its name),
        ``labels`` (value as text -> sub-region name), ``regions`` (``"WT"``... -> label
        values), ``outputs`` (the regions in output channel order) and ``patch_size``.

    Examples
    --------
    >>> record = checkpoint_input([2, 2, 2], brats.MODALITIES, "zscore_nonzero", 64)
    >>> record["spacing_mm"], record["regions"]["TC"], record["outputs"]
    ([2.0, 2.0, 2.0], [1, 4], ['WT', 'TC', 'ET'])
    """
    return {
        "spacing_mm": [float(s) for s in spacing_mm],
        "orientation": ORIENTATION,
        "modalities": [str(m) for m in modalities],
        "normalisation": normalisation_record(normalisation),
        "label_coding": coding.name,
        "labels": {str(v): str(key) for v, key in coding.subregions.items()},
        "regions": {r: [int(v) for v in values] for r, values in coding.regions.items()},
        "outputs": list(REGIONS),
        "patch_size": int(patch_size),
    }


def training_spacing(dataset: BraTSDataset) -> tuple[float, float, float]:
    """The one voxel size (mm, RAS+ axes) of every subject of ``dataset``, from the headers."""
    spacings = np.array([dataset.spacing(i) for i in range(len(dataset))])
    if np.ptp(spacings, axis=0).max() > 0.01:
        worst = int(np.argmax(np.abs(spacings - spacings[0]).max(axis=1)))
        raise CourseDataError(
            dataset.root,
            f"mixes voxel sizes: {dataset.ids[0]} has {spacings[0].tolist()} mm, "
            f"{dataset.ids[worst]} {spacings[worst].tolist()} mm.",
            "Resample every subject to one spacing before training (a checkpoint records one).",
        )
    return tuple(float(s) for s in spacings[0])


def read_checkpoint(path: str | os.PathLike[str]) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(path, "does not exist.", "Pass the model.pt of a training run.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, not a torch file, or unsafe pickled objects
        raise CourseDataError(
            path,
            f"cannot be read as a weights-only checkpoint ({type(error).__name__}).",
            "Use a model.pt written by `course-utils train`; re-run training if it was cut off.",
        ) from error
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if (
        isinstance(found, str)
        and found.startswith("course_utils.unet/")
        and found != CHECKPOINT_FORMAT
    ):
        raise CourseDataError(
            path,
            f"was written by another version of course_utils (format {found!r}, this version "
            f"reads {CHECKPOINT_FORMAT!r}); its weights do not fit this version's UNet.",
            "Retrain with `course-utils train`, or use the shipped checkpoint "
            "(course_utils.paths.shipped_checkpoint()).",
        )
    if found != CHECKPOINT_FORMAT:
        raise CourseDataError(
            path,
            f"is not a course U-Net checkpoint (format {CHECKPOINT_FORMAT!r} expected).",
            "Use a model.pt written by `course-utils train`.",
        )
    if not isinstance(checkpoint.get("input"), dict):
        raise CourseDataError(
            path,
            "has no 'input' record (spacing, modalities, normalisation, labels).",
            "Use a model.pt written by `course-utils train`.",
        )
    return checkpoint


def load_model(path: str | os.PathLike[str]) -> tuple[UNet, dict]:
    """A `UNet` with a checkpoint's weights, in ``eval()`` mode, and the checkpoint dict.

    Read with ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts
    only, so a checkpoint from elsewhere cannot run code when it is loaded.

    The dict's ``"model"`` holds the `UNet` keyword arguments (the architecture),
    ``"input"`` what the network expects (`checkpoint_input`: voxel spacing and orientation,
    modalities in tensor order, normalisation, label coding and regions, patch size),
    ``"train_config"`` the `TrainConfig`; a checkpoint of an older format is refused with the
    command that retrains it.
    """
    checkpoint = read_checkpoint(path)
    model = UNet(**checkpoint["model"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint


# --- distributed -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def start_distributed() -> Context:
    """Join the process group torchrun describes in the environment (or run alone)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if world_size == 1:
        return Context(device=device)
    if use_cuda:
        torch.cuda.set_device(device)
    torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    return Context(torch.distributed.get_rank(), world_size, device)


def barrier(context: Context) -> None:
    if context.world_size > 1:
        torch.distributed.barrier()


# --- inference and metrics -------------------------------------------------------------------


def predict_subject(
    model: nn.Module,
    image: torch.Tensor,
    *,
    patch_size: int = 64,
    overlap: float = 0.25,
    batch_size: int = 2,
    progress: bool = False,
    affine: np.ndarray | None = None,
    input_record: dict | None = None,
) -> torch.Tensor:
    """Region probabilities ``(3, D, H, W)`` for one image ``(C, D, H, W)``, window by window.

    Sliding-window inference with Gaussian blending (`patches.sliding_window_inference`),
    then a sigmoid; threshold at 0.5 for the WT/TC/ET masks.

    Without ``affine`` the image is taken as it is: already normalised and at the network's
    spacing. With ``affine`` and ``input_record`` (a checkpoint's ``"input"``), ``image`` is
    the raw image on its own grid: it is resampled to the checkpoint's spacing, normalised
    as the checkpoint records, predicted, and the probabilities are resampled back onto the
    input grid (`inference.predict_on_input_grid`; ``patch_size`` is then the checkpoint's).
    """
    if affine is not None or input_record is not None:
        if affine is None or input_record is None:
            raise ValueError("predict_subject needs both affine and input_record, or neither.")
        from .inference import predict_on_input_grid

        return predict_on_input_grid(
            model,
            image,
            affine,
            input_record,
            overlap=overlap,
            batch_size=batch_size,
            progress=progress,
        )[0]
    model.eval()
    device = next(model.parameters()).device
    logits = sliding_window_inference(
        model,
        image[None].to(device),
        patch_size=patch_size,
        overlap=overlap,
        batch_size=batch_size,
        progress=progress,
    )
    return torch.sigmoid(logits[0]).cpu()


def subject_metrics(probabilities: torch.Tensor, classes: torch.Tensor, spacing) -> dict:
    """`metrics.region_metrics` of probabilities ``(3, D, H, W)`` (> 0.5) against classes 0..3."""
    truth = lookup_regions(classes.long()).numpy() > 0.5
    return region_metrics(probabilities.numpy() > 0.5, truth, spacing_mm=spacing)


def summarise(per_subject: list[dict]) -> dict:
    """Means over subjects, in the layout of ``evaluate``'s JSON."""
    names = {"dice": "dice", "hd95_mm": "hd95", "sensitivity": "sensitivity",
             "specificity": "specificity"}  # fmt: skip
    return {
        key: {r: float(np.mean([s[f"{name}_{r}"] for s in per_subject])) for r in REGIONS}
        for key, name in names.items()
    }


#: Voxel size in mm along each array axis (`geometry.voxel_sizes`; the name notebook 07 uses).
spacing_of = voxel_sizes


def class_values(coding: brats.LabelCoding) -> np.ndarray:
    """Label value of each course class ``0..3`` in ``coding``, as uint8 (index = class)."""
    keys = brats.BRATS_2021.subregions.values()
    return np.array([coding.value_of(key) for key in keys], dtype=np.uint8)


#: `BraTSDataset`'s ``edition`` -> the label coding its label files use.
EDITION_CODINGS = {None: brats.BRATS_2021, **{e: n.coding for e, n in GLI_EDITIONS.items()}}


def save_prediction(
    probabilities: torch.Tensor,
    affine: np.ndarray,
    path: Path,
    coding: brats.LabelCoding = brats.BRATS_2021,
) -> Path:
    """Thresholded regions as labels of ``coding`` (default BraTS 2021: 0, 1, 2, 4; BraTS
    2023/2024 GLI: 0, 1, 2, 3) in a NIfTI with the subject's affine."""
    from .io import save_nifti

    labels = class_values(coding)[regions_to_classes(probabilities.numpy())]
    image = nib.Nifti1Image(labels, np.asarray(affine, dtype=np.float64))
    image.header.set_xyzt_units("mm")
    return save_nifti(image, path)


def evaluate(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
    predictions: str | os.PathLike[str] | None = None,
    subjects: Sequence[str] | None = None,
    overlap: float | None = None,
    edition: str | None = None,
    progress: bool = True,
) -> dict:
    """Whole-subject inference with a checkpoint and the BraTS metrics, per subject and mean.

    Parameters
    ----------
    checkpoint
        A ``model.pt`` of `train`.
    data
        A BraTS 2021, MSD Task01 or SynthBraTS folder (with labels).
    json_path
        Write the results here as JSON (atomically).
    predictions
        Save each subject's prediction here as ``<id>_pred.nii.gz``: BraTS labels 0/1/2/4 on
        the subject's RAS-reoriented grid with its affine, so it overlays in world space.

    Each subject is read raw, resampled to the checkpoint's voxel spacing if it has another,
    normalised as the checkpoint records, predicted, and its probabilities are resampled back
    onto the subject's grid, where the metrics are computed (`predict_subject`).
    subjects
        IDs to evaluate (default: all).
    overlap
        Sliding-window overlap (default: the one the model was trained with).
    edition
        ``"2023"`` or ``"2024"`` for a BraTS 2023/2024 GLI folder (`BraTSDataset`); the
        predictions are then written in that edition's coding (ET = 3).

    Returns
    -------
    dict
        ``{"dice": {"WT", "TC", "ET"}, "hd95_mm": {...}, "sensitivity": {...},
        "specificity": {...}, "subjects": N, "per_subject": [{"id", "dice_WT", ...}],
        "seconds_per_subject": s}``. HD95 in mm; empty-mask conventions as in `metrics`.
    """
    from tqdm.auto import tqdm

    model, saved = load_model(checkpoint)
    record = saved["input"]
    dataset = BraTSDataset(
        data,
        modalities=record["modalities"],
        target="labels",
        subjects=subjects,
        normalise=False,
        edition=edition,
    )
    overlap = saved["train_config"]["overlap"] if overlap is None else overlap
    per_subject, started = [], time.perf_counter()
    for index in tqdm(range(len(dataset)), desc="evaluate", unit="subject", disable=not progress):
        item = dataset[index]
        probabilities = predict_subject(
            model, item["image"], overlap=overlap, affine=item["affine"], input_record=record
        )
        scores = subject_metrics(probabilities, item["label"], voxel_sizes(item["affine"]))
        per_subject.append({"id": item["id"], **{k: float(v) for k, v in scores.items()}})
        if predictions is not None:
            path = Path(predictions) / f"{item['id']}_pred.nii.gz"
            save_prediction(probabilities, item["affine"], path, EDITION_CODINGS[edition])
    results = {
        **summarise(per_subject),
        "subjects": len(per_subject),
        "per_subject": per_subject,
        "seconds_per_subject": (time.perf_counter() - started) / max(len(per_subject), 1),
    }
    if json_path is not None:
        files.atomic_write_text(json_path, json.dumps(results, indent=2) + "\n")
    return results


# --- training --------------------------------------------------------------------------------


HISTORY_COLUMNS = ["epoch", "train_loss", "learning_rate", *(f"val_dice_{r}" for r in REGIONS),
                   "val_dice_mean", "seconds"]  # fmt: skip


def epoch_order(seed: int, epoch: int, n: int, context: Context, batch_size: int) -> list[int]:
    """This process's sample indices for one epoch: a seeded shuffle, split between ranks.

    Every rank draws the same permutation, keeps every ``world_size``-th index from its rank
    on, and all keep the same number of whole batches (the remainder is dropped).
    """
    state = np.random.SeedSequence([seed, epoch, 1_000_003]).generate_state(1)[0]
    order = np.random.default_rng(state).permutation(n)
    per_rank = n // context.world_size // batch_size * batch_size
    return order[context.rank :: context.world_size][:per_rank].tolist()


def write_history(path: Path, history: list[dict]) -> None:
    lines = io.StringIO()
    writer = csv.DictWriter(lines, HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    files.atomic_write_text(path, lines.getvalue())


def validate(
    model: nn.Module, dataset: BraTSDataset, config: TrainConfig, progress: bool
) -> dict[str, float]:
    """Mean Dice per region over the validation subjects (whole-subject inference)."""
    from tqdm.auto import tqdm

    dice = {r: [] for r in REGIONS}
    for index in tqdm(range(len(dataset)), desc="validate", leave=False, disable=not progress):
        item = dataset.load_item(index)
        probabilities = predict_subject(
            model, item["image"], patch_size=config.patch_size, overlap=config.overlap
        )
        scores = subject_metrics(probabilities, item["label"], voxel_sizes(item["affine"]))
        for r in REGIONS:
            dice[r].append(scores[f"dice_{r}"])
    return {f"val_dice_{r}": float(np.mean(v)) for r, v in dice.items()}


def train(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig = TrainConfig(),
    *,
    resume: bool = False,
    progress: bool = True,
    command: str | None = None,
    edition: str | None = None,
) -> dict:
    """Train a `UNet` on a BraTS-layout folder; returns the contents of ``metrics.json``.

    Parameters
    ----------
    data
        A BraTS 2021, MSD Task01 or SynthBraTS folder.
    out
        The run folder: ``model.pt`` (weights of the best validated epoch, with the model
        config; see `load_model`), ``last.pt`` (weights, optimiser and scheduler after the
        last finished epoch), ``history.csv`` (one row per epoch) and ``metrics.json``.
    config
        The run's settings (`TrainConfig`).
    resume
        Continue the run in ``out`` from its ``last.pt``. The result is the one an
        uninterrupted run gives: patches, augmentation and order depend on the epoch only.
        Without it, a folder that already holds a run is refused.
    progress
        Show progress bars (rank 0 only).
    command
        The command line that started the run, recorded in ``metrics.json``.
    edition
        ``"2023"`` or ``"2024"`` for a BraTS 2023/2024 GLI folder (`BraTSDataset`), recorded
        in ``metrics.json``.

    Under ``torchrun`` each process trains on its share of the batches (DistributedDataParallel
    averages the gradients), and only rank 0 validates and writes. On CUDA, mixed precision.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    context = start_distributed()
    try:
        last_path = out / "last.pt"
        if not resume and last_path.exists():
            raise RunFolderError(
                out,
                "already holds a training run (last.pt).",
                "Pass --resume to continue it, or choose another --out.",
            )
        torch.manual_seed(config.seed)
        everyone = BraTSDataset(data, target="labels", edition=edition)
        train_ids, val_ids = split_subjects(everyone.ids, config.validation_subjects, config.seed)
        norm = normalisation_record(config.normalisation)
        train_subjects = BraTSDataset(
            data, target="labels", cache=True, subjects=train_ids, normalise=norm, edition=edition
        )
        val_subjects = (
            BraTSDataset(data, target="labels", subjects=val_ids, normalise=norm, edition=edition)
            if val_ids
            else None
        )
        input_record = checkpoint_input(
            training_spacing(everyone), everyone.modalities, norm, config.patch_size
        )
        patches = PatchDataset(
            train_subjects,
            config.patches_per_subject,
            config.patch_size,
            config.foreground_ratio,
            transform=training_augmentation() if config.augment else None,
            seed=config.seed,
        )
        model_config = config.model_config(in_channels=len(everyone.modalities))
        model = UNet(**model_config).to(context.device)
        if config.patch_size % model.size_multiple:
            raise ValueError(
                f"patch_size {config.patch_size} must be a multiple of {model.size_multiple} "
                f"for features {config.features}."
            )
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        steps_per_epoch = len(epoch_order(0, 0, len(patches), context, config.batch_size))
        steps_per_epoch //= config.batch_size
        if steps_per_epoch == 0:
            raise ValueError(
                f"{len(patches)} patches per epoch make no batch of {config.batch_size} for "
                f"each of {context.world_size} processes; draw more patches_per_subject."
            )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimiser, T_max=config.epochs * steps_per_epoch, eta_min=config.learning_rate / 100
        )
        history, best, start_epoch = [], None, 0
        if resume and last_path.exists():
            state = read_checkpoint(last_path)
            model.load_state_dict(state["state_dict"])
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
            history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
        network = model
        if context.world_size > 1:
            network = nn.parallel.DistributedDataParallel(model)
        use_amp = context.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        loss_function = DiceCELoss("regions")

        def checkpoint(state_dict: dict, **extra) -> dict:
            return {
                "format": CHECKPOINT_FORMAT,
                "model": model_config,
                "state_dict": state_dict,
                "modalities": list(everyone.modalities),
                "input": input_record,
                "train_config": dataclasses.asdict(config),
                **extra,
            }

        if context.is_main:
            out.mkdir(parents=True, exist_ok=True)
        for epoch in range(start_epoch, config.epochs):
            started = time.perf_counter()
            torch.manual_seed(config.seed * 100_003 + epoch)  # dropout etc.: resumable too
            patches.set_epoch(epoch)
            order = epoch_order(config.seed, epoch, len(patches), context, config.batch_size)
            loader = DataLoader(
                torch.utils.data.Subset(patches, order),
                batch_size=config.batch_size,
                num_workers=config.num_workers,
            )
            model.train()
            losses = []
            bar = tqdm(
                loader,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                unit="batch",
                disable=not (progress and context.is_main),
                leave=False,
            )
            for batch in bar:
                image = batch["image"].to(context.device)
                label = batch["label"].to(context.device)
                optimiser.zero_grad(set_to_none=True)
                autocast = torch.autocast("cuda") if use_amp else nullcontext()
                with autocast:
                    loss = loss_function(network(image), label)
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
                scheduler.step()
                losses.append(loss.item())
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            row = {
                "epoch": epoch + 1,
                "train_loss": round(float(np.mean(losses)), 5),
                "learning_rate": f"{scheduler.get_last_lr()[0]:.3g}",
            }
            validating = val_subjects is not None and (
                (epoch + 1) % config.validate_every == 0 or epoch + 1 == config.epochs
            )
            if context.is_main:
                if validating:
                    row |= {
                        k: round(v, 4)
                        for k, v in validate(model, val_subjects, config, progress).items()
                    }
                    row["val_dice_mean"] = round(
                        float(np.mean([row[f"val_dice_{r}"] for r in REGIONS])), 4
                    )
                row["seconds"] = round(time.perf_counter() - started, 1)
                history.append(row)
                weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
                improved = validating and (
                    best is None or row["val_dice_mean"] > best["val_dice_mean"]
                )
                if improved or (val_subjects is None and epoch + 1 == config.epochs):
                    best = dict(row)
                    save_checkpoint(
                        out / "model.pt", checkpoint(weights, epoch=epoch + 1, validation=best)
                    )
                save_checkpoint(
                    last_path,
                    checkpoint(
                        weights,
                        epoch=epoch,
                        optimiser=optimiser.state_dict(),
                        scheduler=scheduler.state_dict(),
                        history=history,
                        best=best,
                    ),
                )
                write_history(out / "history.csv", history)
                if progress:
                    shown = ", ".join(f"{k} {v}" for k, v in row.items() if k != "epoch")
                    print(f"epoch {epoch + 1}/{config.epochs}: {shown}", flush=True)
            barrier(context)
        metrics = {
            "best_epoch": best["epoch"] if best else None,
            "validation": best,
            "training_subjects": train_ids,
            "validation_subjects": val_ids,
            "processes": context.world_size,
            "config": dataclasses.asdict(config),
            "layout": everyone.layout,
            "edition": edition,
            "command": command,
        }
        if context.is_main:
            files.atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        barrier(context)
        return metrics
    finally:
        if context.world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
