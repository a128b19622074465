"""Notebook 05's exercises: normalised cross-correlation, and a translation found by
gradient descent through ``grid_sample`` (`registration.blobs` draws its test images).

Each ``check_<name>`` runs the learner's function on small hand-computed cases (see
`course_utils.exercises.framework.check`); the functions after the checks are the
course's versions that the cells after a check use until the learner's passes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .framework import Case, check

__all__ = [
    "check_ncc",
    "check_translation_registration",
    "register_translation",
]


def check_ncc(function: Callable) -> Callable:
    """Notebook 05: ``function(a, b)`` is the global normalised cross-correlation of two
    same-shape torch tensors, a scalar tensor in [-1, 1] that autograd can differentiate.
    Returns the function later cells use."""
    import torch

    from ..registration import ncc

    def run(a, b, gradient=False):
        a = torch.tensor(a, dtype=torch.float32)
        b = torch.tensor(b, dtype=torch.float32, requires_grad=gradient)
        value = function(a, b)
        if not gradient:
            return round(float(value), 4)
        value.backward()
        return bool(b.grad is not None and torch.all(torch.isfinite(b.grad)) and b.grad.any())

    ramp = [[0.0, 1.0], [2.0, 3.0]]
    hint = (
        "Subtract each mean, average the product, divide by both standard deviations, all "
        "with the same normalisation (torch.std divides by n - 1 unless correction=0)."
    )
    cases = [
        Case("a = [1, 2, 3], b = [1, 3, 2]", ([1.0, 2, 3], [1.0, 3, 2]), 0.5, hint),
        Case(
            "b = 3a + 2 (another scanner's gain and offset)",
            ([1.0, 2, 4, 7], [5.0, 8, 14, 23]),
            1.0,
            "NCC ignores gain and offset: subtract the means before multiplying.",
        ),
        Case(
            "b = -a (inverted contrast)",
            ([1.0, 2, 4], [-1.0, -2, -4]),
            -1.0,
            hint + " Keep the sign: inverted contrast is -1.",
        ),
        Case("2 x 2 images", (ramp, [[0.0, 1.0], [3.0, 2.0]]), 0.8, hint),
        Case(
            "a constant image",
            ([2.0, 2, 2, 2], [1.0, 2, 3, 4]),
            0.0,
            "A constant image has standard deviation 0: add a tiny epsilon to the denominator.",
        ),
        Case(
            "the gradient reaches b",
            (ramp, [[0.0, 1.0], [3.0, 2.0]]),
            True,
            "Use torch operations only (no .item(), .numpy(), float() or NumPy functions) and "
            "return a tensor, so that autograd can follow.",
            kwargs={"gradient": True},
        ),
    ]
    return check("ncc", function, cases, ncc, run=run)


def check_translation_registration(function: Callable, tolerance_px: float = 0.1) -> Callable:
    """Notebook 05: ``function(fixed, moving)`` finds the translation ``(tx, ty)`` in pixels
    (along columns and rows) such that ``moving`` sampled at ``(x + tx, y + ty)`` matches
    ``fixed`` at ``(x, y)``: the fixed-to-moving convention of the course. ``fixed`` and
    ``moving`` are float32 tensors ``(H, W)``. Answers within ``tolerance_px`` count as right.
    Returns the function later cells use.
    """

    from ..registration import blobs, torch_threads

    def run(fixed, moving, expected):
        with torch_threads(1):  # 48 x 48 images: a second thread only adds waiting
            got = np.array([float(v) for v in function(fixed, moving)])
        return expected if np.all(np.abs(got - expected) <= tolerance_px) else np.round(got, 2)

    shape = (48, 48)
    hint = (
        "Sample the moving image at the shifted grid (shift_image(moving, t)), compare with "
        "the fixed image, and let Adam move t = (tx, ty) (tx along the columns, ty along "
        "the rows), zeroing the gradients at every step; "
        "grid_sample wants normalised units, 2 * t / (size - 1)."
    )
    cases = [
        Case(
            f"moving = fixed moved by ({dx}, {dy}) pixels",
            (blobs(shape), blobs(shape, (dx, dy)), np.array([dx, dy])),
            np.array([dx, dy]),
            hint,
        )
        for dx, dy in [(3.0, -2.0), (0.0, 0.0), (-1.5, 2.5)]
    ]
    return check("register_translation", function, cases, register_translation, run=run)


def register_translation(fixed, moving, iterations: int = 200, learning_rate: float = 0.1):
    """Notebook 05: the translation ``(tx, ty)`` in pixels (a float32 tensor ``(2,)``) such
    that ``moving`` sampled at ``(x + tx, y + ty)`` matches ``fixed`` (both ``(H, W)`` float
    tensors): Adam on the mean squared error of a bilinear ``grid_sample``."""
    import torch
    import torch.nn.functional as F

    height, width = fixed.shape
    to_normalised = torch.tensor([2 / (width - 1), 2 / (height - 1)])
    t = torch.zeros(2, requires_grad=True)
    optimiser = torch.optim.Adam([t], lr=learning_rate)
    for _ in range(iterations):
        theta = torch.cat([torch.eye(2), (t * to_normalised)[:, None]], dim=1)[None]
        grid = F.affine_grid(theta, (1, 1, height, width), align_corners=True)
        warped = F.grid_sample(moving[None, None], grid, align_corners=True)[0, 0]
        loss = torch.mean((warped - fixed) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return t.detach()
