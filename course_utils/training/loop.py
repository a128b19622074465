"""The training loop: `train`, a short loop over named steps, and its validation.

`train` reads as the run it performs: `set_up` (datasets, network, optimiser, schedule),
`resume_from` (``last.pt``), `train_one_epoch` (the optimiser steps, DDP-aware), `validate`
(rank 0, whole subjects), `write_checkpoints` (``model.pt``, ``last.pt``), `write_history`
(``history.csv``) and `summary` (``metrics.json``). Everything a run holds between the steps
is one `Run`.

Every random draw depends on (seed, epoch, index) only, so a resumed run and a run under
``torchrun`` give the result of one uninterrupted process. Sizes in voxels, distances in mm.
Used by ``course-utils train`` and notebook 07.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..brats import REGIONS
from ..datasets import BraTSDataset, PatchDataset, normalisation_record
from ..errors import CourseDataError, RunFolderError
from ..geometry import voxel_sizes
from ..losses import DiceCELoss
from ..metrics import MetricTracker
from ..transforms import training_augmentation
from ..unet import UNet
from .checkpoints import checkpoint_input, make_checkpoint, read_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import Context, barrier, epoch_order, start_distributed, stop_distributed
from .evaluation import predict_subject, subject_metrics
from .run_folder import refuse_existing_run, write_history, write_metrics

__all__ = ["DEFAULT_CONFIG", "Run", "split_subjects", "training_spacing", "validate", "train"]

#: The laptop run's settings, `train`'s default.
DEFAULT_CONFIG = TrainConfig()


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


@dataclass
class Run:
    """Everything one training run holds between its steps."""

    out: Path
    config: TrainConfig
    context: Context
    everyone: BraTSDataset  # every subject of the folder (the split is drawn from its IDs)
    train_ids: list[str]
    val_ids: list[str]
    patches: PatchDataset  # the training subjects' patches
    validation: BraTSDataset | None  # the validation subjects, or None
    model: UNet
    model_config: dict  # the UNet keyword arguments
    input_record: dict  # `checkpoint_input`
    optimiser: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler  # mixed precision's loss scale (CUDA); carried across epochs
    loss_function: nn.Module
    network: nn.Module | None = None  # the model, in DistributedDataParallel under torchrun
    history: list[dict] = field(default_factory=list)  # the rows of history.csv
    best: dict | None = None  # the history row of the best validated epoch
    start_epoch: int = 0
    edition: str | None = None  # of a BraTS 2023/2024 folder

    def data_record(self) -> dict:
        """What this run trains on, as ``last.pt`` records it for `resume_from` to check."""
        return {
            "layout": self.everyone.layout,
            "edition": self.edition,
            "training_subjects": list(self.train_ids),
            "validation_subjects": list(self.val_ids),
        }

    def checkpoint(self, state_dict: dict, **extra) -> dict:
        """A checkpoint dict of this run (`checkpoints.make_checkpoint`)."""
        return make_checkpoint(
            self.model_config,
            state_dict,
            self.everyone.modalities,
            self.input_record,
            self.config,
            **extra,
        )


def set_up(
    data: str | os.PathLike[str],
    out: Path,
    config: TrainConfig,
    context: Context,
    edition: str | None,
) -> Run:
    """The datasets, the network, its optimiser and learning-rate schedule of a new run.

    The order of the steps is the order of the random draws (weights after the datasets),
    so it must not change without retraining the shipped checkpoint.
    """
    torch.manual_seed(config.seed)
    everyone = BraTSDataset(data, target="labels", edition=edition)
    train_ids, val_ids = split_subjects(everyone.ids, config.validation_subjects, config.seed)
    norm = normalisation_record(config.normalisation)
    train_subjects = BraTSDataset(
        data, target="labels", cache=True, subjects=train_ids, normalise=norm, edition=edition
    )
    validation = (
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
    scheduler = cosine_schedule(optimiser, config, len(patches), context)
    scaler = torch.amp.GradScaler("cuda", enabled=context.device.type == "cuda")
    return Run(
        out, config, context, everyone, train_ids, val_ids, patches, validation, model,
        model_config, input_record, optimiser, scheduler, scaler, DiceCELoss("regions"),
        edition=edition,
    )  # fmt: skip


def cosine_schedule(
    optimiser: torch.optim.Optimizer, config: TrainConfig, n_patches: int, context: Context
) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine from the peak learning rate down to 1/100 of it over every step of the run."""
    steps_per_epoch = len(epoch_order(0, 0, n_patches, context, config.batch_size))
    steps_per_epoch //= config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"{n_patches} patches per epoch make no batch of {config.batch_size} for "
            f"each of {context.world_size} processes; draw more patches_per_subject."
        )
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=config.epochs * steps_per_epoch, eta_min=config.learning_rate / 100
    )


#: Settings that do not change a run's result, so a resumed run may change them.
RESUMABLE_CHANGES = ("num_workers",)


def resume_from(run: Run, path: Path) -> None:
    """Continue ``run`` from the ``last.pt`` at ``path``: weights, optimiser, schedule, history.

    Refused (`RunFolderError`) when the run would not be the one ``last.pt`` started: other
    settings (except `RESUMABLE_CHANGES`), another layout or edition, other subjects.
    """
    state = read_checkpoint(path)
    plain = lambda value: list(value) if isinstance(value, tuple) else value  # noqa: E731
    before = {k: plain(v) for k, v in state["train_config"].items()}
    now = {k: plain(v) for k, v in dataclasses.asdict(run.config).items()}
    changed = [
        f"{key} {before[key]!r} -> {now[key]!r}"
        for key in now
        if key in before and before[key] != now[key] and key not in RESUMABLE_CHANGES
    ]
    recorded = state.get("data", {})  # runs started before this check recorded no data
    changed += [
        f"{key} {recorded[key]!r} -> {value!r}"
        for key, value in run.data_record().items()
        if key in recorded and recorded[key] != value
    ]
    if changed:
        raise RunFolderError(
            path,
            "was started with other settings or data than this --resume: " + "; ".join(changed),
            "Resume with the run's own --data, --edition and settings (metrics.json and "
            "last.pt record them), or start a new run with another --out.",
        )
    run.model.load_state_dict(state["state_dict"])
    run.optimiser.load_state_dict(state["optimiser"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.history, run.best, run.start_epoch = state["history"], state["best"], state["epoch"] + 1


def train_one_epoch(run: Run, epoch: int, progress: bool) -> dict:
    """One pass over this process's share of the epoch's patches; its ``history.csv`` row.

    On CUDA in mixed precision (``torch.autocast`` with a gradient scaler); the learning rate
    steps after every batch.
    """
    from tqdm.auto import tqdm

    config, context = run.config, run.context
    torch.manual_seed(config.seed * 100_003 + epoch)  # dropout etc.: resumable too
    run.patches.set_epoch(epoch)
    order = epoch_order(config.seed, epoch, len(run.patches), context, config.batch_size)
    loader = DataLoader(
        torch.utils.data.Subset(run.patches, order),
        batch_size=config.batch_size,
        num_workers=config.num_workers,
    )
    use_amp = context.device.type == "cuda"
    run.model.train()
    losses = []
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
               disable=not (progress and context.is_main), leave=False)  # fmt: skip
    for batch in bar:
        image = batch["image"].to(context.device)
        label = batch["label"].to(context.device)
        run.optimiser.zero_grad(set_to_none=True)
        with torch.autocast("cuda") if use_amp else nullcontext():
            loss = run.loss_function(run.network(image), label)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimiser)
        run.scaler.update()
        run.scheduler.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    return {
        "epoch": epoch + 1,
        "train_loss": round(float(np.mean(losses)), 5),
        "learning_rate": f"{run.scheduler.get_last_lr()[0]:.3g}",
    }


def validate(
    model: nn.Module, dataset: BraTSDataset, config: TrainConfig, progress: bool
) -> dict[str, float]:
    """Mean Dice per region over the validation subjects (whole-subject inference)."""
    from tqdm.auto import tqdm

    tracker = MetricTracker()
    for index in tqdm(range(len(dataset)), desc="validate", leave=False, disable=not progress):
        item = dataset.load_item(index)
        probabilities = predict_subject(
            model, item["image"], patch_size=config.patch_size, overlap=config.overlap
        )
        scores = subject_metrics(probabilities, item["label"], voxel_sizes(item["affine"]))
        tracker.add(dataset.ids[index], scores)
    mean = tracker.mean()
    return {f"val_dice_{r}": mean[f"dice_{r}"] for r in REGIONS}


def validates(run: Run, epoch: int) -> bool:
    """Whether ``epoch`` (0-based) is validated: every ``validate_every`` epochs and the last."""
    every, last = run.config.validate_every, run.config.epochs
    return run.validation is not None and ((epoch + 1) % every == 0 or epoch + 1 == last)


def validation_row(run: Run, progress: bool) -> dict:
    """The validation columns of a ``history.csv`` row: Dice per region and their mean."""
    scores = validate(run.model, run.validation, run.config, progress)
    row = {k: round(v, 4) for k, v in scores.items()}
    row["val_dice_mean"] = round(float(np.mean([row[f"val_dice_{r}"] for r in REGIONS])), 4)
    return row


def write_checkpoints(run: Run, epoch: int, row: dict) -> None:
    """``model.pt`` if this epoch is the best validated one (or the last, unvalidated);
    ``last.pt`` always, with what resuming needs."""
    weights = {k: v.detach().cpu() for k, v in run.model.state_dict().items()}
    improved = "val_dice_mean" in row and (
        run.best is None or row["val_dice_mean"] > run.best["val_dice_mean"]
    )
    if improved or (run.validation is None and epoch + 1 == run.config.epochs):
        run.best = dict(row)
        save_checkpoint(
            run.out / "model.pt", run.checkpoint(weights, epoch=epoch + 1, validation=run.best)
        )
    save_checkpoint(
        run.out / "last.pt",
        run.checkpoint(
            weights,
            epoch=epoch,
            optimiser=run.optimiser.state_dict(),
            scheduler=run.scheduler.state_dict(),
            history=run.history,
            best=run.best,
            data=run.data_record(),
        ),
    )


def summary(run: Run, command: str | None, edition: str | None) -> dict:
    """The contents of ``metrics.json``."""
    best = run.best
    return {
        "best_epoch": best["epoch"] if best else None,
        "validation": best,
        "training_subjects": run.train_ids,
        "validation_subjects": run.val_ids,
        "processes": run.context.world_size,
        "config": dataclasses.asdict(run.config),
        "layout": run.everyone.layout,
        "edition": edition,
        "command": command,
    }


def train(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig = DEFAULT_CONFIG,
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
    out = Path(out)
    context = start_distributed()
    try:
        refuse_existing_run(out, resume)
        run = set_up(data, out, config, context, edition)
        if resume and (out / "last.pt").exists():
            resume_from(run, out / "last.pt")
        run.network = run.model
        if context.world_size > 1:
            run.network = nn.parallel.DistributedDataParallel(run.model)
        if context.is_main:
            out.mkdir(parents=True, exist_ok=True)
        for epoch in range(run.start_epoch, config.epochs):
            started = time.perf_counter()
            row = train_one_epoch(run, epoch, progress)
            if context.is_main:
                if validates(run, epoch):
                    row |= validation_row(run, progress)
                row["seconds"] = round(time.perf_counter() - started, 1)
                run.history.append(row)
                write_checkpoints(run, epoch, row)
                write_history(out / "history.csv", run.history)
                if progress:
                    shown = ", ".join(f"{k} {v}" for k, v in row.items() if k != "epoch")
                    print(f"epoch {epoch + 1}/{config.epochs}: {shown}", flush=True)
            barrier(context)
        metrics = summary(run, command, edition)
        if context.is_main:
            write_metrics(out / "metrics.json", metrics)
        barrier(context)
        return metrics
    finally:
        stop_distributed(context)
