"""Figures of image registration, on 2D slices: pairs, comparisons, fields and landscapes.

A slice here is a 2D array ``(X, Y)`` of a RAS+ volume (``volume[:, :, k]``, an axial
slice), drawn with ``.T`` and ``origin="lower"``: the subject's right on the right, anterior
at the top, as `slices.oriented_slice` draws it. Each function returns its ``Figure``.
`compare_slices` is the one rule for showing a fixed and a moving slice together (blend,
checkerboard, difference), shared with `viewers.CompareViewer`. Used by notebook 05.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .slices import new_axes, window_limits

__all__ = [
    "compare_slices",
    "show_fixed_moving",
    "show_comparisons",
    "show_images",
    "show_warped_lattices",
    "show_joint_histogram",
    "show_cost_landscapes",
    "show_metric_curves",
    "show_deformation",
]

#: The views `compare_slices` makes.
COMPARE_MODES = ("blend", "checkerboard", "difference")


def _unit(values: np.ndarray) -> np.ndarray:
    """``values`` scaled to [0, 1] by its own `window_limits` (brain percentiles), float64."""
    values = np.asarray(values, dtype=np.float64)
    low, high = window_limits(values)
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _check_pair(fixed: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fixed, moving = np.asarray(fixed), np.asarray(moving)
    if fixed.ndim != 2 or fixed.shape != moving.shape:
        raise ValueError(
            f"fixed and moving must be 2D slices of one grid, got {fixed.shape} and "
            f"{moving.shape}; resample the moving image onto the fixed grid first."
        )
    return fixed, moving


def _image_axes(ax, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def compare_slices(
    fixed: np.ndarray,
    moving: np.ndarray,
    mode: str = "blend",
    alpha: float = 0.5,
    squares: int = 8,
) -> np.ndarray:
    """One 2D view of a fixed and a moving slice ``(X, Y)`` of the same grid.

    Each slice is first scaled to [0, 1] by its own window (`window_limits`), so two
    modalities or scanners compare. ``"blend"``: ``(1 - alpha) fixed + alpha moving``;
    ``"checkerboard"``: ``squares`` x ``squares`` tiles taken alternately from each (edges
    must continue across tiles); ``"difference"``: ``fixed - moving``, in [-1, 1]
    (structure left over is misalignment). Returns float64 ``(X, Y)``.

    Examples
    --------
    >>> a, b = np.zeros((4, 4)), np.ones((4, 4))
    >>> float(compare_slices(a + 1, b, "difference").max())
    0.0
    """
    fixed, moving = _check_pair(fixed, moving)
    a, b = _unit(fixed), _unit(moving)
    if mode == "blend":
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha}: the moving image's weight lies in [0, 1].")
        return (1 - alpha) * a + alpha * b
    if mode == "checkerboard":
        from ..registration.accuracy import checkerboard

        return checkerboard(a, b, squares=squares)
    if mode == "difference":
        return a - b
    raise ValueError(f"mode={mode!r}: choose one of {COMPARE_MODES}.")


def show_fixed_moving(
    fixed: np.ndarray,
    moving: np.ndarray,
    *,
    titles: Sequence[str] = ("fixed", "moving"),
    title: str | None = None,
    axes=None,
):
    """Fixed, moving, and the two overlaid (fixed magenta, moving green: grey where they agree).

    ``fixed`` and ``moving`` are 2D slices ``(X, Y)`` of one grid. Returns the ``Figure``.
    """
    fixed, moving = _check_pair(fixed, moving)
    figure, axes = new_axes(axes, ncols=3, figsize=(10, 3.4))
    a, b = _unit(fixed), _unit(moving)
    axes[0].imshow(a.T, cmap="gray", origin="lower", vmin=0, vmax=1)
    axes[1].imshow(b.T, cmap="gray", origin="lower", vmin=0, vmax=1)
    axes[2].imshow(np.stack([a, b, a], axis=-1).transpose(1, 0, 2), origin="lower")
    for ax, name in zip(axes, [*titles, "overlay: fixed magenta, moving green"], strict=True):
        _image_axes(ax, name)
    if title:
        figure.suptitle(title)
    return figure


def show_comparisons(
    fixed: np.ndarray,
    movings: Mapping[str, np.ndarray],
    *,
    squares: int = 8,
    title: str | None = None,
):
    """For each moving slice: a checkerboard with the fixed one, and the difference image.

    ``movings`` maps a name ("before", "affine", ...) to a 2D slice ``(X, Y)`` on the fixed
    slice's grid; one row per entry, with a colour bar for the differences (each slice
    scaled to [0, 1] first, as `compare_slices`). Returns the ``Figure``.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.6, 3.2 * len(movings)), layout="constrained")
    axes = figure.subplots(len(movings), 2, squeeze=False)
    for row, (name, moving) in zip(axes, movings.items(), strict=True):
        board = compare_slices(fixed, moving, "checkerboard", squares=squares)
        row[0].imshow(board.T, cmap="gray", origin="lower", vmin=0, vmax=1)
        shown = row[1].imshow(
            compare_slices(fixed, moving, "difference").T,
            cmap="RdBu_r",
            origin="lower",
            vmin=-0.6,
            vmax=0.6,
        )
        _image_axes(row[0], f"{name}: checkerboard")
        _image_axes(row[1], f"{name}: fixed − moving")
    figure.colorbar(shown, ax=axes[:, 1], shrink=0.7, label="intensity difference")
    if title:
        figure.suptitle(title)
    return figure


def show_images(
    images: Mapping[str, np.ndarray],
    *,
    title: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    figsize: tuple[float, float] | None = None,
):
    """A row of images with their titles: 2D slices ``(X, Y)`` in grey, or RGB pictures.

    A 2D array is a slice, drawn transposed with ``origin="lower"`` between ``vmin`` and
    ``vmax`` (default: its own window); an ``(H, W, 3)`` array is a picture (rows from the
    top, e.g. `registration.draw_matches`), drawn as it is. Returns the ``Figure``.
    """
    figure, axes = new_axes(None, ncols=len(images), figsize=figsize)
    for ax, (name, values) in zip(axes, images.items(), strict=True):
        values = np.asarray(values)
        if values.ndim == 3 and values.shape[-1] in (3, 4):
            ax.imshow(values)
        elif values.ndim == 2:
            low, high = window_limits(values)
            low, high = (low if vmin is None else vmin), (high if vmax is None else vmax)
            ax.imshow(values.T, cmap="gray", origin="lower", vmin=low, vmax=high)
        else:
            raise ValueError(f"{name}: expected a 2D slice or an RGB picture, got {values.shape}.")
        _image_axes(ax, name)
    if title:
        figure.suptitle(title)
    return figure


def show_warped_lattices(
    panels: Mapping[str, tuple[np.ndarray, np.ndarray]], *, title: str | None = None
):
    """Each transform as what it does to a slice and to a square lattice drawn over it.

    ``panels`` maps a name to ``(image, lattice)``, two 2D slices ``(X, Y)`` of one grid:
    the warped image (grey) and the warped lattice (1 on its lines, 0 elsewhere, drawn in
    orange where above 0.3). Returns the ``Figure``.
    """
    figure, axes = new_axes(None, ncols=len(panels), figsize=(2.75 * len(panels), 3.3))
    for ax, (name, (image, lines)) in zip(axes, panels.items(), strict=True):
        ax.imshow(np.asarray(image).T, cmap="gray", origin="lower")
        ax.imshow(
            np.ma.masked_less(np.asarray(lines).T, 0.3),
            cmap="autumn",
            origin="lower",
            alpha=0.6,
            vmin=0,
            vmax=1,
        )
        _image_axes(ax, name)
    if title:
        figure.suptitle(title)
    return figure


def show_joint_histogram(
    joint: np.ndarray,
    *,
    xlabel: str = "fixed intensity",
    ylabel: str = "moving intensity",
    title: str = "Joint histogram (log10 p)",
    ax=None,
):
    """A joint histogram ``(bins_fixed, bins_moving)`` of intensities in [0, 1], as log10 p.

    ``joint`` holds probabilities (e.g. `registration.joint_histogram`); a thin curve means
    one intensity predicts the other, which is what mutual information measures. Returns
    the ``Figure``.
    """
    joint = np.asarray(joint, dtype=np.float64)
    if joint.ndim != 2:
        raise ValueError(f"a joint histogram is 2D (bins x bins), got shape {joint.shape}.")
    figure, (ax,) = new_axes(ax, figsize=(4.2, 3.6))
    shown = ax.imshow(np.log10(joint.T + 1e-5), origin="lower", cmap="magma", extent=(0, 1, 0, 1))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    figure.colorbar(shown, ax=ax, label="log10 p")
    return figure


def show_cost_landscapes(
    landscape: Mapping[tuple[str, str, str], Sequence[float]],
    positions: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
):
    """Each metric as a function of a move away from the truth: one panel per (move, metric).

    ``landscape`` maps ``(metric, pair, move)`` to the metric's values at ``positions[move]``
    (``"mse"`` is lower-is-better, the others higher-is-better); one line per pair, a dotted
    line at 0 (the truth). Rows are moves, columns metrics. Returns the ``Figure``.
    """
    from matplotlib.figure import Figure

    metrics = list(dict.fromkeys(key[0] for key in landscape))
    pairs = list(dict.fromkeys(key[1] for key in landscape))
    moves = list(positions)
    figure = Figure(figsize=(3.7 * len(metrics), 2.6 * len(moves)), layout="constrained")
    axes = figure.subplots(len(moves), len(metrics), squeeze=False)
    for row, move in zip(axes, moves, strict=True):
        for ax, metric in zip(row, metrics, strict=True):
            for pair in pairs:
                ax.plot(positions[move], landscape[metric, pair, move], label=pair)
            ax.axvline(0, color="grey", ls=":")
            better = "lower" if metric == "mse" else "higher"
            ax.set(
                xlabel=move, ylabel=metric.upper(), title=f"{metric.upper()} ({better} is better)"
            )
    axes[0, 0].legend(fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def show_metric_curves(history, *, ylabel: str = "metric", title: str | None = None, ax=None):
    """The metric at every iteration of a registration, one line per stage and level.

    ``history`` is a sequence of `registration.LevelHistory` (``stage``, ``shrink``,
    ``metric``), drawn one after the other along the iteration axis. Returns the ``Figure``.
    """
    figure, (ax,) = new_axes(ax, figsize=(6.5, 2.8))
    ax.clear()
    start = 0
    for level in history:
        steps = range(start, start + len(level.metric))
        ax.plot(steps, level.metric, label=f"{level.stage}, shrink {level.shrink}")
        start += len(level.metric)
    ax.set(xlabel="iteration", ylabel=ylabel, title=title or "Registration")
    if history:
        ax.legend(fontsize=8, loc="lower right")
    return figure


def show_deformation(
    displacement: np.ndarray,
    jacobian: np.ndarray,
    warped: np.ndarray,
    index: int,
    *,
    voxel_mm: float = 2.0,
    title: str | None = None,
):
    """A deformable result on axial slice ``index``: ``|u|``, ``det J``, and ``u`` as arrows.

    ``displacement`` is ``(X, Y, Z, 3)`` mm, ``jacobian`` ``(X, Y, Z)`` (from
    `registration.jacobian_determinant`), ``warped`` the registered image ``(X, Y, Z)``;
    ``voxel_mm`` converts the in-plane arrows to voxels (drawn twice their length, every 4th
    voxel). Returns the ``Figure``.
    """
    from matplotlib.figure import Figure

    displacement, jacobian = np.asarray(displacement), np.asarray(jacobian)
    warped = np.asarray(warped)
    if displacement.shape != (*jacobian.shape, 3) or warped.shape != jacobian.shape:
        raise ValueError(
            f"displacement {displacement.shape}, jacobian {jacobian.shape} and warped "
            f"{warped.shape} must share one grid (the field with 3 components)."
        )
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    axes = figure.subplots(1, 3)
    size = np.linalg.norm(displacement[:, :, index], axis=-1)
    shown = axes[0].imshow(size.T, origin="lower", cmap="viridis")
    figure.colorbar(shown, ax=axes[0], shrink=0.8, label="|u| (mm)")
    shown = axes[1].imshow(
        jacobian[:, :, index].T, origin="lower", cmap="RdBu_r", vmin=0.5, vmax=1.5
    )
    figure.colorbar(shown, ax=axes[1], shrink=0.8, label="det J")
    axes[2].imshow(warped[:, :, index].T, cmap="gray", origin="lower")
    x, y = np.mgrid[2 : warped.shape[0] : 4, 2 : warped.shape[1] : 4]
    u = displacement[2::4, 2::4, index] / voxel_mm
    axes[2].quiver(
        x, y, u[..., 0], u[..., 1], color="tab:orange", angles="xy", scale_units="xy", scale=0.5
    )
    names = (
        "displacement magnitude",
        "Jacobian determinant\n(<1: maps onto a smaller moving region)",
        "registered; u × 2",
    )
    for ax, name in zip(axes, names, strict=True):
        _image_axes(ax, name)
    figure.suptitle(title or f"The deformable step (axial slice {index})")
    return figure
