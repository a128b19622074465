"""`register`: registration by gradient descent, coarse to fine; `metric_values`: its landscape.

`register` validates its options into a `RegistrationSettings`, builds the pyramid, starts
the transform (`initial_model`), optimises the rigid/affine parameters (Adam, then L-BFGS on
the finest level) and, for ``transform="deformable"``, a smooth displacement field, then
resamples the moving image onto the fixed grid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import nibabel as nib
import numpy as np

from ..threads import torch_threads
from .models import LinearModel, control_grid, dense_displacement, initial_model
from .optimise import Report, optimise_displacement, optimise_linear
from .pyramid import Level, build_pyramid, sample_moving
from .result import LevelHistory, RegistrationResult
from .settings import Metric, RegistrationSettings, Transform
from .similarity import evaluate_metric
from .spatial import centre_of_mass, check_image, resample

if TYPE_CHECKING:
    import torch

__all__ = ["register", "metric_values", "progress_reporter"]


def progress_reporter(
    progress: bool, callback: Callable[[str, int, list[float]], None] | None, total: int
):
    """A ``report(stage, shrink, values)`` function feeding a tqdm bar and/or a callback."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="registration", unit="it")

    def report(stage, shrink, values):
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{stage} 1/{shrink}: {values[-1]:.4f}", refresh=False)
        if callback is not None:
            callback(stage, shrink, values)

    report.close = (lambda: bar.close()) if bar is not None else (lambda: None)
    return report


# Long because its signature declares twenty keyword options (documented one by one) and
# hands each to RegistrationSettings once; the steps themselves are named helpers.
def register(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    *,
    transform: Transform = "rigid",
    metric: Metric = "ncc",
    levels: Sequence[int] = (4, 2, 1),
    iterations: int | Sequence[int] | None = None,
    learning_rate: float = 0.5,
    init: Literal["com", "moments", "geometry", "none"] = "com",
    initial_matrix: np.ndarray | None = None,
    fixed_mask: np.ndarray | None = None,
    bins: int = 32,
    max_points: int = 60_000,
    deformable_levels: Sequence[int] = (4, 2),
    deformable_iterations: int | Sequence[int] = 60,
    grid_spacing_mm: float = 12.0,
    smoothness: float = 1.0,
    seed: int = 0,
    finish: Literal["lbfgs", "adam"] = "lbfgs",
    threads: int | None = 1,
    progress: bool = False,
    callback: Callable[[str, int, list[float]], None] | None = None,
) -> RegistrationResult:
    """Register ``moving`` to ``fixed`` by gradient descent on a similarity metric.

    Parameters
    ----------
    fixed, moving
        3D images, each on its own grid (any shape, voxel size, orientation; RAS+ mm).
    transform
        ``"rigid"`` (6 parameters: rotation, translation), ``"affine"`` (12) or
        ``"deformable"`` (affine first, then a smooth displacement field).
    metric
        ``"mse"`` (same modality, same intensity scale), ``"ncc"`` (same modality, any gain
        and offset) or ``"mi"`` (any modalities). Intensities are scaled to [0, 1] first.
    levels
        Pyramid shrink factors, coarse to fine: ``(4, 2, 1)`` starts at a quarter of the
        resolution (block averages) and ends on the full grid.
    iterations
        Steps per level (default 100, 60, 20 for shrink 4, 2, 1); at the finest level with
        ``finish="lbfgs"``, L-BFGS's budget of metric evaluations (see `run_lbfgs`).
    learning_rate
        Adam's step in mm at full resolution (times the shrink factor on coarser levels),
        decayed by a cosine schedule within each level.
    init
        Starting translation: centres of mass (``"com"``), centres of mass plus principal
        axes (``"moments"``), grid centres (``"geometry"``) or none.
    initial_matrix
        A 4 x 4 fixed-to-moving starting matrix instead of ``init``.
    fixed_mask
        Boolean ``(X, Y, Z)`` on the fixed grid: where the metric is evaluated. Default: the
        fixed foreground grown by 2 voxels (so the brain's edge counts).
    bins
        Histogram bins for mutual information.
    max_points
        At most this many fixed voxels per level (a seeded random subset beyond it).
    deformable_levels, deformable_iterations
        Pyramid and Adam steps of the deformable stage.
    grid_spacing_mm
        Spacing of the displacement's control points (linear interpolation between them).
    smoothness
        Weight of the diffusion regulariser (mean squared displacement gradient).
    seed
        Seed of the point subset: the same inputs give the same result.
    finish
        ``"lbfgs"``: Adam on the coarse levels, L-BFGS on the finest (faster, more precise);
        ``"adam"``: Adam throughout (what the notebook's own loop does).
    threads
        torch threads during the registration (restored afterwards; ``None`` leaves them).
        Each iteration handles tens of thousands of points, too little work for a second
        thread to pay off, and one thread does not stall when other processes share the CPU.
    progress
        Show a tqdm progress bar with the current metric.
    callback
        Called as ``callback(stage, shrink, values)`` after every iteration.

    Returns
    -------
    RegistrationResult
        ``matrix`` (fixed -> moving, 4 x 4 RAS+ mm), ``warped``, ``history``, and for
        deformable ``displacement`` ``(X, Y, Z, 3)`` mm.
    """
    start = time.perf_counter()
    check_image(fixed, "fixed")
    check_image(moving, "moving")
    settings = RegistrationSettings(
        transform=transform,
        metric=metric,
        levels=levels,
        iterations=iterations,
        learning_rate=learning_rate,
        init=init,
        bins=bins,
        max_points=max_points,
        deformable_levels=deformable_levels,
        deformable_iterations=deformable_iterations,
        grid_spacing_mm=grid_spacing_mm,
        smoothness=smoothness,
        seed=seed,
        finish=finish,
    )
    model = initial_model(fixed, moving, settings.linear_kind, settings.init, initial_matrix)
    pyramid = build_pyramid(fixed, moving, settings, model.centre, fixed_mask)
    report = progress_reporter(progress, callback, settings.total_iterations)
    p = model.parameters()
    with torch_threads(threads):
        try:
            history, displacement = _optimise(model, p, pyramid, settings, fixed, report)
        finally:
            report.close()
    matrix = model.matrix(p)
    warped = resample(moving, fixed, matrix, displacement=displacement)
    return RegistrationResult(
        matrix=matrix,
        warped=warped,
        history=history,
        displacement=displacement,
        fixed_affine=np.asarray(fixed.affine, float),
        seconds=time.perf_counter() - start,
    )


def _optimise(
    model: LinearModel,
    p: torch.Tensor,
    pyramid: dict[int, Level],
    settings: RegistrationSettings,
    fixed: nib.Nifti1Image,
    report: Report,
) -> tuple[list[LevelHistory], np.ndarray | None]:
    """Optimise ``model``'s parameters ``p`` in place, then (deformable) a displacement field.

    Returns ``(history, displacement)``: the `LevelHistory` of every level of every stage,
    and the dense displacement ``(X, Y, Z, 3)`` mm on the fixed grid (``None`` unless
    ``settings.transform == "deformable"``).
    """
    history = optimise_linear(model, p, pyramid, settings, report)
    if settings.transform != "deformable":
        return history, None
    grid = control_grid(fixed.shape, fixed.affine, settings.grid_spacing_mm)
    control, more = optimise_displacement(model, p, pyramid, settings, grid, report)
    return history + more, dense_displacement(control, fixed.shape)


def metric_values(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    matrices: Sequence[np.ndarray],
    *,
    metric: Metric = "ncc",
    shrink: int = 2,
    fixed_mask: np.ndarray | None = None,
    bins: int = 32,
    max_points: int = 60_000,
    seed: int = 0,
    threads: int | None = 1,
) -> np.ndarray:
    """The metric of `register` at each of the given fixed -> moving matrices: a cost landscape.

    Both images go through exactly what `register` does (intensities scaled to [0, 1], one
    pyramid level ``shrink``, the points of ``fixed_mask`` or of the grown foreground), so
    the values are the ones its optimiser sees. Returns float64 ``(len(matrices),)``; higher
    is better for NCC and MI, lower for MSE.
    """
    import torch

    check_image(fixed, "fixed")
    check_image(moving, "moving")
    settings = RegistrationSettings(
        metric=metric, levels=(shrink,), iterations=0, bins=bins, max_points=max_points, seed=seed
    )
    centre = centre_of_mass(fixed)
    pyramid = build_pyramid(fixed, moving, settings, centre, fixed_mask)
    bins = settings.histogram_bins
    level = pyramid[shrink]
    values = []
    with torch.no_grad(), torch_threads(threads):
        for matrix in matrices:
            linear = np.asarray(matrix, float)[:3, :3]
            shift = linear @ centre + np.asarray(matrix, float)[:3, 3] - centre
            moved = sample_moving(
                level, torch.from_numpy(linear).float(), torch.from_numpy(shift).float(), centre
            )
            value = evaluate_metric(metric, level.fixed_values, moved, bins, level.fixed_rows)
            values.append(value.item())
    return np.asarray(values)
