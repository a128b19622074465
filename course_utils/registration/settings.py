"""`RegistrationSettings`: every choice of `register`'s method, checked once, in one object.

`register` takes its options as keywords (what notebook 05 writes) and gathers them here;
the pyramid, the optimisers and `metric_values` read this one object instead of passing
eight or ten positional arguments to each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["TRANSFORMS", "METRICS", "INITS", "DEFAULT_ITERATIONS", "RegistrationSettings"]

TRANSFORMS = ("rigid", "affine", "deformable")
METRICS = ("mse", "ncc", "mi")
INITS = ("com", "moments", "geometry", "none")
Transform = Literal["rigid", "affine", "deformable"]
Metric = Literal["mse", "ncc", "mi"]
Init = Literal["com", "moments", "geometry", "none"]

#: Steps per pyramid level when ``iterations`` is not given, by shrink factor (60 otherwise).
DEFAULT_ITERATIONS = {4: 100, 2: 60, 1: 20}


def _levels_and_iterations(
    levels: Sequence[int], iterations: int | Sequence[int] | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shrink factors as ints >= 1 and one iteration count >= 0 per level, or a ValueError."""
    levels = tuple(int(s) for s in levels)
    if not levels or any(s < 1 for s in levels):
        raise ValueError(f"levels={levels}: give shrink factors >= 1, coarse first (4, 2, 1).")
    if iterations is None:
        iterations = tuple(DEFAULT_ITERATIONS.get(s, 60) for s in levels)
    iterations = (iterations,) * len(levels) if isinstance(iterations, int) else tuple(iterations)
    if len(iterations) != len(levels) or any(n < 0 for n in iterations):
        raise ValueError(f"iterations={iterations}: give one count >= 0 per level {levels}.")
    return levels, iterations


@dataclass(frozen=True)
class RegistrationSettings:
    """The method of a registration (see `register` for what each field means).

    Built from `register`'s keywords; ``levels``, ``iterations``, ``deformable_levels`` and
    ``deformable_iterations`` come out as tuples of ints, one count per level (``iterations=
    None`` gives 100, 60, 20 for shrink 4, 2, 1). A wrong choice raises ``ValueError``.

    Examples
    --------
    >>> RegistrationSettings(levels=(4, 2)).iterations
    (100, 60)
    >>> RegistrationSettings(metric="mi").histogram_bins, RegistrationSettings().histogram_bins
    (32, 0)
    """

    transform: Transform = "rigid"
    metric: Metric = "ncc"
    levels: Sequence[int] = (4, 2, 1)
    iterations: int | Sequence[int] | None = None
    learning_rate: float = 0.5
    init: Init = "com"
    bins: int = 32
    max_points: int = 60_000
    deformable_levels: Sequence[int] = (4, 2)
    deformable_iterations: int | Sequence[int] = 60
    grid_spacing_mm: float = 12.0
    smoothness: float = 1.0
    seed: int = 0
    finish: Literal["lbfgs", "adam"] = "lbfgs"

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform={self.transform!r}: choose one of {TRANSFORMS}.")
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r}: choose one of {METRICS}.")
        if self.init not in INITS:
            raise ValueError(f"init={self.init!r}: choose 'com', 'moments', 'geometry' or 'none'.")
        levels, iterations = _levels_and_iterations(self.levels, self.iterations)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "iterations", iterations)
        if self.transform == "deformable":  # only checked when they are used
            levels, iterations = _levels_and_iterations(
                self.deformable_levels, self.deformable_iterations
            )
            object.__setattr__(self, "deformable_levels", levels)
            object.__setattr__(self, "deformable_iterations", iterations)

    @property
    def linear_kind(self) -> str:
        """``"rigid"`` or ``"affine"``: the linear stage (a deformable one starts affine)."""
        return "rigid" if self.transform == "rigid" else "affine"

    @property
    def histogram_bins(self) -> int:
        """Bins of the joint histogram: ``bins`` for mutual information, else 0 (none)."""
        return self.bins if self.metric == "mi" else 0

    @property
    def shrinks(self) -> set[int]:
        """Every pyramid level either stage uses."""
        shrinks = set(self.levels)
        if self.transform == "deformable":
            shrinks |= set(self.deformable_levels)
        return shrinks

    @property
    def total_iterations(self) -> int:
        """Iterations of every stage and level together (the progress bar's length)."""
        total = sum(self.iterations)
        if self.transform == "deformable":
            total += sum(self.deformable_iterations)
        return total
