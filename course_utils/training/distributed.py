"""Distributed: the same training under ``torchrun --nproc_per_node=N`` as in one process.

`start_distributed` joins the process group torchrun describes in the environment (gloo on
CPU, NCCL on GPU) or runs alone; `epoch_order` gives each rank its share of an epoch's
samples, the same seeded permutation on every rank.

Used by `training.train`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Context", "start_distributed", "barrier", "stop_distributed", "epoch_order"]


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


def epoch_order(seed: int, epoch: int, n: int, context: Context, batch_size: int) -> list[int]:
    """This process's sample indices for one epoch: a seeded shuffle, split between ranks.

    Every rank draws the same permutation, keeps every ``world_size``-th index from its rank
    on, and all keep the same number of whole batches (the remainder is dropped).
    """
    state = np.random.SeedSequence([seed, epoch, 1_000_003]).generate_state(1)[0]
    order = np.random.default_rng(state).permutation(n)
    per_rank = n // context.world_size // batch_size * batch_size
    return order[context.rank :: context.world_size][:per_rank].tolist()


def stop_distributed(context: Context) -> None:
    """Leave the process group `start_distributed` joined (nothing to do when alone)."""
    if context.world_size > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
