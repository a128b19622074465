"""Benchmark: our UNet against MONAI's UNet, same data, same budget, same loss.

The bars (from the issue): against MONAI's ``UNet(spatial_dims=3, in_channels=4,
out_channels=3, channels=(16, 32, 64, 128), strides=(2, 2, 2))`` trained the same way, equal or
better Dice per region on held-out subjects, and time per training step within 1.2x.

Two parts, in one run:

1. **Time per training step** on a random ``(2, 4, 64, 64, 64)`` batch (forward, Dice + BCE,
   backward, AdamW step), ``--threads`` threads. The two networks take turns, one step each
   per round, so a burst of load from other processes hits both alike; the table gives the
   median wall-clock and CPU seconds (``time.process_time``) per step and their ratios.
2. **Same budget, same data**: each network trains ``--steps`` steps on the same patches of
   the course's SynthBraTS cohort (seed 0, the split `course-utils train` makes: 20 training
   subjects), with the same augmentation, loss (`DiceCELoss("regions")`), optimiser (AdamW,
   cosine schedule) and seed; then both predict the whole subjects of a held-out cohort of
   another seed (8 subjects of seed 1) by sliding-window inference, and the table gives the
   mean Dice per region.

With ``--seeds 0 1 2`` each network trains once per seed (the seed sets the initial weights and
the patches drawn), and the table adds the mean and standard deviation over seeds: a difference
smaller than that spread is a tie, not a ranking.

Run with ``python benchmarks/unet.py`` (about 20 minutes on 2 cores) or ``--steps 200`` for a quick
look; ``--rounds 0`` skips the step timing. MONAI is a course dependency. Nothing here is asserted:
timings on shared machines are noisy. Results are also written to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from course_utils import paths, synth  # noqa: E402
from course_utils.brats import REGIONS  # noqa: E402
from course_utils.datasets import BraTSDataset  # noqa: E402
from course_utils.geometry import voxel_sizes  # noqa: E402
from course_utils.losses import DiceCELoss  # noqa: E402
from course_utils.training import (  # noqa: E402
    Context,
    PatchDataset,
    TrainConfig,
    epoch_order,
    predict_subject,
    split_subjects,
    subject_metrics,
)
from course_utils.transforms import default_augmentation  # noqa: E402
from course_utils.unet import UNet  # noqa: E402


def monai_unet():
    from monai.networks.nets import UNet as MonaiUNet

    return MonaiUNet(
        spatial_dims=3,
        in_channels=4,
        out_channels=3,
        channels=(16, 32, 64, 128),
        strides=(2, 2, 2),
    )


def networks() -> dict:
    """Name -> factory of a freshly initialised network (seeded)."""
    found = {"ours": UNet}
    try:
        import monai  # noqa: F401
    except ImportError:
        print("MONAI is not installed (pip install -e .): its rows are skipped.")
    else:
        found["MONAI UNet"] = monai_unet
    return found


def parameters(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def step_times(factories: dict, rounds: int) -> dict:
    """Median wall and CPU seconds per training step, the networks taking turns."""
    torch.manual_seed(0)
    x = torch.randn(2, 4, 64, 64, 64)
    y = (torch.rand(2, 3, 64, 64, 64) > 0.9).float()
    loss_function = DiceCELoss("regions")
    state = {}
    for name, factory in factories.items():
        torch.manual_seed(0)
        net = factory().train()
        state[name] = (net, torch.optim.AdamW(net.parameters(), lr=1e-3), [], [])
    for round_ in range(rounds + 1):
        for net, optimiser, walls, cpus in state.values():
            start, start_cpu = time.perf_counter(), time.process_time()
            optimiser.zero_grad()
            loss_function(net(x), y).backward()
            optimiser.step()
            if round_:  # the first round warms up (allocations, kernel choices)
                walls.append(time.perf_counter() - start)
                cpus.append(time.process_time() - start_cpu)
    return {
        name: {
            "parameters": parameters(net),
            "wall_s": statistics.median(walls),
            "cpu_s": statistics.median(cpus),
        }
        for name, (net, _, walls, cpus) in state.items()
    }


def train_and_score(factory, data: Path, held_out: Path, steps: int, config: TrainConfig) -> dict:
    """Train ``steps`` steps as `course-utils train` would, then Dice on the held-out cohort."""
    everyone = BraTSDataset(data, target="labels")
    train_ids, _ = split_subjects(everyone.ids, config.validation_subjects, config.seed)
    subjects = BraTSDataset(data, target="labels", cache=True, subjects=train_ids)
    patches = PatchDataset(
        subjects,
        config.patches_per_subject,
        config.patch_size,
        config.foreground_ratio,
        transform=default_augmentation(),
        seed=config.seed,
    )
    torch.manual_seed(config.seed)
    net = factory()
    optimiser = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=steps, eta_min=config.learning_rate / 100
    )
    loss_function = DiceCELoss("regions")
    done, epoch, started = 0, 0, time.perf_counter()
    while done < steps:
        patches.set_epoch(epoch)
        order = epoch_order(config.seed, epoch, len(patches), Context(), config.batch_size)
        net.train()
        for batch in DataLoader(Subset(patches, order), batch_size=config.batch_size):
            optimiser.zero_grad()
            loss_function(net(batch["image"]), batch["label"]).backward()
            optimiser.step()
            scheduler.step()
            done += 1
            if done == steps:
                break
        epoch += 1
    train_seconds = time.perf_counter() - started
    test = BraTSDataset(held_out, target="labels")
    dice = {r: [] for r in REGIONS}
    started = time.perf_counter()
    for index in range(len(test)):
        item = test[index]
        probabilities = predict_subject(
            net, item["image"], patch_size=config.patch_size, overlap=config.overlap
        )
        scores = subject_metrics(probabilities, item["label"], voxel_sizes(item["affine"]))
        for r in REGIONS:
            dice[r].append(scores[f"dice_{r}"])
    return {
        "dice": {r: float(np.mean(v)) for r, v in dice.items()},
        "train_seconds": train_seconds,
        "inference_seconds_per_subject": (time.perf_counter() - started) / len(test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=10, help="timed steps per network (0: no timing)"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="train each network once per seed"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=TrainConfig().epochs * 80,
        help="training steps per network (default: the default run's)",
    )
    parser.add_argument("--json", type=Path, default=REPOSITORY / "artifacts" / "bench_unet.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    factories = networks()
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()}")

    times = step_times(factories, args.rounds) if args.rounds else {}
    if times:
        print("\nTime per training step, (2, 4, 64, 64, 64), Dice + BCE, AdamW")
        print(f"{'network':<12} {'parameters':>10} {'wall s':>8} {'CPU s':>8} {'wall ratio':>10}")
        ours = times["ours"]
        for name, row in times.items():
            ratio = row["wall_s"] / times.get("MONAI UNet", ours)["wall_s"]
            print(
                f"{name:<12} {row['parameters']:>10,} {row['wall_s']:>8.3f} "
                f"{row['cpu_s']:>8.3f} {ratio:>9.2f}x"
            )

    data = synth.ensure_dataset(progress=False)
    held_out = synth.ensure_dataset(
        paths.data_dir() / "synthbrats_heldout_s1", 8, seed=1, progress=False
    )
    scores = {name: {} for name in factories}
    for seed in args.seeds:
        config = TrainConfig(seed=seed)
        for name, factory in factories.items():
            print(f"\ntraining {name} for {args.steps} steps, seed {seed} ...", flush=True)
            scores[name][seed] = train_and_score(factory, data, held_out, args.steps, config)
    print(
        f"\nSame data, budget ({args.steps} steps) and loss; Dice on 8 held-out subjects (seed 1)"
    )
    print(
        f"{'network':<12} {'seed':>6} {'WT':>6} {'TC':>6} {'ET':>6} {'train s':>8} "
        f"{'infer s/subj':>12}"
    )
    for name, runs in scores.items():
        for seed, row in runs.items():
            d = row["dice"]
            print(
                f"{name:<12} {seed:>6} {d['WT']:>6.3f} {d['TC']:>6.3f} {d['ET']:>6.3f} "
                f"{row['train_seconds']:>8.0f} {row['inference_seconds_per_subject']:>12.2f}"
            )
        if len(runs) > 1:
            spread = {
                r: (np.mean(values), np.std(values, ddof=1))
                for r in REGIONS
                for values in [[row["dice"][r] for row in runs.values()]]
            }
            cells = " ".join(f"{m:.3f}±{sd:.3f}" for m, sd in spread.values())
            print(f"{name:<12} {'mean':>6} {cells}  (± standard deviation over seeds)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"step_times": times, "training": scores}, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
