"""Reproducibility: one call seeds every random number generator a notebook uses.

Used in every notebook's configuration cell.
"""

from __future__ import annotations

import random

import numpy as np

__all__ = ["seed_everything"]


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global generator and (if installed) PyTorch.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``: prefer passing it
    around explicitly over relying on the global state.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeding legacy global state is the point here
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but seed what exists
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
