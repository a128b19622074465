"""The optimisation: Adam and L-BFGS loops over a pyramid, for linear and deformable stages.

`run_adam` (cosine-decayed steps) and `run_lbfgs` (strong-Wolfe line search) minimise any
``evaluate() -> (metric value, loss)``; `linear_objective` and `displacement_objective` build
those for the two stages, and `optimise_linear` / `optimise_displacement` run them coarse to
fine, recording a `LevelHistory` per level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .models import LinearModel, diffusion_energy
from .pyramid import Level, sample_moving
from .result import LevelHistory
from .similarity import evaluate_metric, loss_of

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

    from .settings import RegistrationSettings

__all__ = [
    "Report",
    "run_adam",
    "run_lbfgs",
    "linear_objective",
    "optimise_linear",
    "displacement_objective",
    "optimise_displacement",
]

#: ``report(stage, shrink, values so far)``, called after every iteration.
Report = Callable[[str, int, list[float]], None]
#: ``evaluate() -> (metric value, loss)``: one evaluation of the metric, differentiable.
Objective = Callable[[], tuple["torch.Tensor", "torch.Tensor"]]


def run_adam(
    parameter: torch.Tensor,
    evaluate: Objective,
    iterations: int,
    learning_rate: float,
    on_value: Callable[[float], None],
) -> None:
    """``iterations`` Adam steps on ``evaluate() -> (metric value, loss)``.

    The learning rate decays from ``learning_rate`` to 5 % of it along a cosine, so the last
    steps are small and the parameters settle instead of jittering around the optimum.
    """
    import torch

    if iterations == 0:
        return
    optimiser = torch.optim.Adam([parameter], lr=learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda i: 0.05 + 0.475 * (1 + np.cos(np.pi * min(i, iterations) / iterations))
    )
    for _ in range(iterations):
        optimiser.zero_grad()
        value, loss = evaluate()
        loss.backward()
        optimiser.step()
        schedule.step()
        on_value(value.item())


def run_lbfgs(
    parameter: torch.Tensor,
    evaluate: Objective,
    evaluations: int,
    on_value: Callable[[float], None],
) -> None:
    """L-BFGS with a strong-Wolfe line search, on a budget of ``evaluations`` metric evaluations.

    It stops earlier once the metric stops changing; torch checks the budget between iterations
    and bounds each line search by what is left, and the last one can still overrun it slightly
    (21 evaluations for 20 were seen), so the count is not a fixed number.
    """
    import torch

    if evaluations == 0:
        return
    optimiser = torch.optim.LBFGS(
        [parameter],
        lr=1.0,
        max_iter=evaluations,
        max_eval=evaluations,
        history_size=20,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimiser.zero_grad()
        value, loss = evaluate()
        loss.backward()
        on_value(value.item())
        return loss

    optimiser.step(closure)


def linear_objective(
    model: LinearModel, p: torch.Tensor, level: Level, metric: str, bins: int
) -> Objective:
    """``evaluate() -> (metric value, loss)`` of the rigid/affine parameters ``p`` on a level."""

    def evaluate():
        linear, shift = model.linear_and_shift(p)
        moving = sample_moving(level, linear, shift, model.centre)
        value = evaluate_metric(metric, level.fixed_values, moving, bins, level.fixed_rows)
        return value, loss_of(metric, value)

    return evaluate


def optimise_linear(
    model: LinearModel,
    p: torch.Tensor,
    pyramid: dict[int, Level],
    settings: RegistrationSettings,
    report: Report,
) -> list[LevelHistory]:
    """Adam on the rigid/affine parameters ``p``, coarse to fine; returns the history.

    Runs ``settings.iterations`` steps on each of ``settings.levels``, at a learning rate of
    ``settings.learning_rate`` times the level's shrink factor. With ``finish="lbfgs"`` the
    finest level is polished by L-BFGS instead: on a fixed set of points the metric is a
    smooth function of 6 or 12 parameters, where a quasi-Newton method converges in a few
    dozen evaluations.
    """
    history = []
    last = len(settings.levels) - 1
    for number, (shrink, n_iterations) in enumerate(
        zip(settings.levels, settings.iterations, strict=True)
    ):
        level = pyramid[shrink]
        values: list[float] = []
        history.append(LevelHistory(model.kind, shrink, values))
        on_value = _recorder(report, model.kind, shrink, values)
        evaluate = linear_objective(model, p, level, settings.metric, settings.histogram_bins)
        if settings.finish == "lbfgs" and number == last:
            run_lbfgs(p, evaluate, n_iterations, on_value)
        else:
            run_adam(p, evaluate, n_iterations, settings.learning_rate * shrink, on_value)
    return history


def displacement_objective(
    model: LinearModel,
    p: torch.Tensor,
    control: torch.Tensor,
    level: Level,
    settings: RegistrationSettings,
    spacing_mm: np.ndarray,
) -> Objective:
    """``evaluate() -> (metric value, loss)`` of the control-point displacements on a level.

    ``control`` is the ``(1, 3, a, b, c)`` grid of displacements (mm), ``spacing_mm`` its
    spacing per axis. The displacement at each fixed point is the trilinear interpolation of
    the grid; the loss adds ``settings.smoothness`` times the grid's diffusion energy. The
    rigid/affine parameters ``p`` stay frozen.
    """
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        linear, shift = model.linear_and_shift(p)
    where = level.fixed_normalised[None, :, None, None, :]
    metric, bins, smoothness = settings.metric, settings.histogram_bins, settings.smoothness

    def evaluate():
        displacement = F.grid_sample(control, where, align_corners=True).reshape(3, -1).T
        moving = sample_moving(level, linear, shift, model.centre, displacement)
        value = evaluate_metric(metric, level.fixed_values, moving, bins, level.fixed_rows)
        return value, loss_of(metric, value) + smoothness * diffusion_energy(control, spacing_mm)

    return evaluate


def optimise_displacement(
    model: LinearModel,
    p: torch.Tensor,
    pyramid: dict[int, Level],
    settings: RegistrationSettings,
    grid: tuple[tuple[int, int, int], np.ndarray],
    report: Report,
) -> tuple[torch.Tensor, list[LevelHistory]]:
    """Adam on the control-point displacements (affine frozen), coarse to fine.

    ``grid`` is `control_grid`'s ``(shape, spacing per axis in mm)``. Runs
    ``settings.deformable_iterations`` steps on each of ``settings.deformable_levels``.
    Returns the ``(1, 3, *shape)`` control grid (mm) and the history.
    """
    import torch

    size, spacing = grid
    control = torch.zeros((1, 3, *size), requires_grad=True)
    history = []
    for shrink, n_iterations in zip(
        settings.deformable_levels, settings.deformable_iterations, strict=True
    ):
        values: list[float] = []
        history.append(LevelHistory("deformable", shrink, values))
        on_value = _recorder(report, "deformable", shrink, values)
        evaluate = displacement_objective(model, p, control, pyramid[shrink], settings, spacing)
        run_adam(control, evaluate, n_iterations, settings.learning_rate * shrink, on_value)
    return control.detach(), history


def _recorder(report: Report, stage: str, shrink: int, values: list[float]):
    """``on_value(value)``: append the value to ``values``, then ``report`` the stage so far."""

    def on_value(value: float) -> None:
        values.append(value)
        report(stage, shrink, values)

    return on_value
