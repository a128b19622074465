"""`MetricTracker`: per-subject metrics collected and averaged, as a BraTS leaderboard does.

The one accumulator beside the metrics' pure functions: add each subject's scores (from
`region_metrics`, say) under its ID, then read the mean or standard deviation over subjects.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["MetricTracker"]


class MetricTracker:
    """Collects per-subject metrics and reports their means, as a BraTS leaderboard does.

    Examples
    --------
    >>> tracker = MetricTracker()
    >>> tracker.add("s1", {"dice_WT": 0.75, "hd95_WT": 2.0})
    >>> tracker.add("s2", {"dice_WT": 0.25, "hd95_WT": 4.0})
    >>> tracker.mean()
    {'dice_WT': 0.5, 'hd95_WT': 3.0}
    >>> len(tracker), tracker.subjects
    (2, ['s1', 's2'])
    """

    def __init__(self) -> None:
        self.results: dict[str, dict[str, float]] = {}

    def __len__(self) -> int:
        return len(self.results)

    @property
    def subjects(self) -> list[str]:
        """Subject IDs in the order they were added."""
        return list(self.results)

    def add(self, subject: str, metrics: Mapping[str, float]) -> None:
        """Record one subject's metrics (e.g. from `region_metrics`).

        Raises ``ValueError`` if the subject was added before, or if its metric names differ
        from those of the subjects already added.
        """
        if subject in self.results:
            raise ValueError(f"subject {subject!r} was already added.")
        if self.results:
            names = list(next(iter(self.results.values())))
            if list(metrics) != names:
                raise ValueError(
                    f"subject {subject!r} has metrics {list(metrics)}; earlier subjects have "
                    f"{names}."
                )
        self.results[subject] = {name: float(value) for name, value in metrics.items()}

    def values(self, name: str) -> np.ndarray:
        """float64 ``(n_subjects,)`` values of one metric, in the order added."""
        return np.array([metrics[name] for metrics in self.results.values()])

    def mean(self) -> dict[str, float]:
        """Mean over subjects of each metric (a nan in any subject makes that mean nan)."""
        return self.summarise(np.mean)

    def std(self) -> dict[str, float]:
        """Population standard deviation over subjects of each metric."""
        return self.summarise(np.std)

    def summarise(self, statistic) -> dict[str, float]:
        if not self.results:
            raise ValueError("no subjects added yet.")
        names = next(iter(self.results.values()))
        return {name: float(statistic(self.values(name))) for name in names}
