"""Type aliases shared by the dataset modules (not part of the public API)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

__all__ = []


Array = np.ndarray | torch.Tensor
Target = Literal["regions", "labels"]
