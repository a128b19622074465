"""Randomness as an argument: one ``torch.Generator`` per sample, from (seed, epoch, index).

A transform that kept its own random generator would be copied, state and all, into every
DataLoader worker, and the workers would repeat each other's augmentations (the classic
``np.random``-in-workers bug). Instead the dataset passes ``sample_generator(seed, epoch,
index)``: the augmentation of a sample depends on the seed, the epoch and the sample's index
only, never on which worker loads it, so a run is reproducible with any ``num_workers`` and
every sample and epoch gets fresh draws. Called without a generator, a transform draws from
torch's global generator, as ``torch.rand`` does.

Every random number a transform draws goes through this generator (`uniform` for its
parameters, ``torch.rand``/``torch.randn`` for masks and noise), in a fixed order, so one
generator gives one augmentation.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["sample_generator"]


def sample_generator(seed: int, epoch: int = 0, index: int = 0) -> torch.Generator:
    """A ``torch.Generator`` for one sample of one epoch, seeded from ``(seed, epoch, index)``.

    The three non-negative integers are hashed by ``numpy.random.SeedSequence`` into a 64-bit
    seed, so neighbouring triples give unrelated streams.

    Examples
    --------
    >>> a = torch.rand(2, generator=sample_generator(0, epoch=1, index=5))
    >>> b = torch.rand(2, generator=sample_generator(0, epoch=1, index=5))
    >>> c = torch.rand(2, generator=sample_generator(0, epoch=2, index=5))
    >>> torch.equal(a, b), torch.equal(a, c)
    (True, False)
    """
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(
        1, np.uint64
    )
    return torch.Generator().manual_seed(int(state[0]))


def uniform(low: float, high: float, size: int, generator: torch.Generator | None) -> np.ndarray:
    """``size`` float64 draws, uniform in ``[low, high)``."""
    draws = torch.rand(size, generator=generator, dtype=torch.float64).numpy()
    return low + (high - low) * draws
