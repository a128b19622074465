"""How many bytes a batch of patches costs a model: `patch_memory` and `PatchMemory`.

The model runs once on a ``meta`` tensor (shapes only, no arithmetic), and every tensor its
forward pass creates is counted once per storage (`forward_bytes`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._validation import as_triple, is_int

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = ["PatchMemory", "patch_memory", "forward_bytes"]


@dataclass(frozen=True)
class PatchMemory:
    """Bytes one forward pass over a batch of patches needs (see `patch_memory`).

    ``activation_bytes`` adds up every tensor the forward pass creates (layer outputs, the
    concatenations of skip connections, normalisation temporaries), each storage once. That
    is about what training keeps for the backward pass, and an upper bound for inference,
    which frees each activation once the next layer has used it.
    """

    input_bytes: int
    activation_bytes: int
    parameter_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.activation_bytes + self.parameter_bytes

    def __str__(self) -> str:
        parts = [
            f"input {self.input_bytes / 2**20:,.1f} MiB",
            f"activations {self.activation_bytes / 2**20:,.1f} MiB",
            f"parameters {self.parameter_bytes / 2**20:,.1f} MiB",
        ]
        return " + ".join(parts) + f" = {self.total_bytes / 2**20:,.1f} MiB"


def patch_memory(
    patch_size: int | Sequence[int],
    channels: int,
    batch_size: int,
    model: torch.nn.Module | None = None,
) -> PatchMemory:
    """Estimate the memory a batch of float32 patches costs, with and without a model.

    The model is run once on a ``meta`` tensor of the full batch: shapes only, no arithmetic
    and no memory, so a 128^3 batch is estimated in well under a second (the very first call
    takes a few seconds more while torch loads its meta kernels). Every tensor the pass
    creates is counted, once per storage (see `forward_bytes`).

    Parameters
    ----------
    patch_size
        One int or three ``(D, H, W)``, in voxels.
    channels
        Input channels (4 for BraTS).
    batch_size
        Patches per batch.
    model
        Optional ``torch.nn.Module``; without it ``activation_bytes`` and ``parameter_bytes``
        are 0.

    Returns
    -------
    PatchMemory
        Bytes of the input batch, of the activations and of the parameters.

    Examples
    --------
    >>> patch_memory(128, channels=4, batch_size=2).input_bytes / 2**20
    64.0
    """
    import torch

    patch = as_triple(patch_size, "patch_size")
    if not (is_int(channels) and is_int(batch_size) and channels > 0 and batch_size > 0):
        raise ValueError(
            f"channels and batch_size must be positive ints; got {channels!r}, {batch_size!r}."
        )
    input_bytes = batch_size * channels * math.prod(patch) * 4
    if model is None:
        return PatchMemory(input_bytes, 0, 0)
    sample = torch.empty((batch_size, channels, *patch), device="meta")
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    return PatchMemory(input_bytes, forward_bytes(model, sample), parameters)


def forward_bytes(model: torch.nn.Module, sample: torch.Tensor) -> int:
    """Bytes of every tensor that one forward pass of ``model`` on ``sample`` creates.

    Every torch function the forward pass calls is watched (``TorchFunctionMode``); each
    tensor it returns is counted once by the storage it owns, so views and in-place results
    add nothing, and neither do ``sample``, the parameters and the buffers. A ``meta`` sample
    runs the model with meta stand-ins for its parameters and buffers (through
    ``torch.func.functional_call``), leaving the model itself untouched.
    """
    import torch
    from torch.func import functional_call
    from torch.overrides import TorchFunctionMode

    state = dict(itertools.chain(model.named_parameters(), model.named_buffers()))
    if sample.is_meta:
        state = {name: torch.empty_like(t, device="meta") for name, t in state.items()}
    known = {id(sample), *(id(t) for t in state.values())}
    created = {}  # id -> tensor; holding the tensors keeps their ids unique

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            result = func(*args, **(kwargs or {}))
            for tensor in result if isinstance(result, (tuple, list)) else [result]:
                if isinstance(tensor, torch.Tensor):
                    owner = tensor if tensor._base is None else tensor._base
                    if id(owner) not in known:
                        created[id(owner)] = owner
            return result

    with torch.no_grad(), Record():
        functional_call(model, state, (sample,))
    return sum(t.numel() * t.element_size() for t in created.values())
