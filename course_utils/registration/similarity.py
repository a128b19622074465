"""Similarity metrics: how alike two images' intensities are, as differentiable functions.

Plain functions of two tensors, written to be read: `mse` (same modality, same scale),
`ncc` (same modality, any gain and offset), `local_ncc` (bias-robust), and
`mutual_information` (any modalities) from the Parzen-window `joint_histogram` of Mattes et
al. (2003). Used by `course_utils.registration.descent` and by notebook 05.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported inside the functions that need it
    import torch

__all__ = [
    "mse",
    "ncc",
    "local_ncc",
    "parzen_weights",
    "hard_bins",
    "joint_histogram",
    "mutual_information",
    "evaluate_metric",
    "loss_of",
]


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two tensors of the same shape (a dissimilarity: 0 is best).

    Examples
    --------
    >>> import torch
    >>> mse(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 5.0]))
    tensor(1.3333)
    """
    return ((a - b) ** 2).mean()


def ncc(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Global normalised cross-correlation (Pearson's r) of two same-shape tensors, in [-1, 1].

    ``mean((a - mean a)(b - mean b)) / (std a * std b)``, population standard deviations.
    It ignores any gain and offset between the two images (``ncc(a, 3 * a + 2) == 1``) but
    assumes a *linear* relation between their intensities: one modality. A constant input
    gives 0.

    Examples
    --------
    >>> import torch
    >>> round(float(ncc(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 3.0, 2.0]))), 4)
    0.5
    """
    a, b = a - a.mean(), b - b.mean()
    return (a * b).mean() / ((a**2).mean().sqrt() * (b**2).mean().sqrt() + eps)


def local_ncc(a: torch.Tensor, b: torch.Tensor, window: int = 9, eps: float = 1e-5):
    """Mean of the NCC computed in every ``window``-voxel cube (a local, bias-robust NCC).

    ``a`` and ``b`` are ``(N, C, X, Y, Z)`` (or ``(N, C, H, W)``) dense images. Local means,
    variances and covariance come from a box filter (average pooling, stride 1, zero-padded
    at the border); the squared local correlation ``cov**2 / (var_a * var_b)`` is averaged
    over voxels, as in Avants et al., "Symmetric diffeomorphic image registration with
    cross-correlation", *Medical Image Analysis* 12(1), 2008. Returns a scalar in [0, 1].
    """
    import torch.nn.functional as F

    pool = F.avg_pool3d if a.dim() == 5 else F.avg_pool2d

    def box(x):
        return pool(x, window, stride=1, padding=window // 2, count_include_pad=True)

    mean_a, mean_b = box(a), box(b)
    cov = box(a * b) - mean_a * mean_b
    var_a = (box(a * a) - mean_a**2).clamp_min(0)
    var_b = (box(b * b) - mean_b**2).clamp_min(0)
    return (cov**2 / (var_a * var_b + eps)).mean()


def parzen_weights(values: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft bin memberships of ``values`` in [0, 1]: ``(bin indices, weights)``, both ``(N, 4)``.

    A cubic B-spline Parzen window, as in Mattes et al., "PET-CT image registration in the
    chest using free-form deformations", *IEEE TMI* 22(1), 2003: a value at position ``s``
    (in bins, bin ``k`` centred on ``k``) adds weight ``beta3(s - k)`` to the four bins
    ``floor(s) - 1 ... floor(s) + 2``. The weights sum to 1 and vary smoothly with the value,
    so a histogram built from them has a gradient. Bins beyond the ends are folded into the
    first and last bins.
    """
    import torch

    position = values.reshape(-1).clamp(0, 1) * bins - 0.5
    lower = position.detach().floor()
    f = (position - lower)[:, None]
    weights = (
        torch.cat(
            [(1 - f) ** 3, 3 * f**3 - 6 * f**2 + 4, -3 * f**3 + 3 * f**2 + 3 * f + 1, f**3], dim=1
        )
        / 6
    )
    index = (lower.long()[:, None] + torch.arange(-1, 3)).clamp(0, bins - 1)
    return index, weights


def joint_histogram(
    a: torch.Tensor, b: torch.Tensor, bins: int = 32, *, rows_a: torch.Tensor | None = None
) -> torch.Tensor:
    """The joint probability of intensities ``(bins, bins)``, differentiable in ``b``.

    ``a`` and ``b`` hold the same number of values, scaled to [0, 1] (values outside are
    clipped). As in Mattes et al. (2003), each ``a`` value falls in one bin (row ``i``) and
    each ``b`` value spreads over four neighbouring bins (columns) with the cubic B-spline
    weights of `parzen_weights`, instead of a hard count of 1. The histogram, and any metric
    built on it, therefore changes smoothly when ``b`` (the moving image) moves. Entries sum
    to 1. ``rows_a`` (precomputed ``hard_bins(a, bins) * bins``) saves work when ``a`` is fixed.

    Examples
    --------
    >>> import torch
    >>> histogram = joint_histogram(torch.rand(100), torch.rand(100), bins=8)
    >>> tuple(histogram.shape), round(float(histogram.sum()), 4)
    ((8, 8), 1.0)
    """
    import torch

    rows = hard_bins(a, bins) * bins if rows_a is None else rows_a
    columns, weights = parzen_weights(b, bins)
    cells = (columns + rows[:, None]).reshape(-1)
    histogram = torch.zeros(bins * bins, dtype=weights.dtype)
    histogram = histogram.index_add(0, cells, weights.reshape(-1))
    return histogram.reshape(bins, bins) / len(rows)


def hard_bins(values: torch.Tensor, bins: int) -> torch.Tensor:
    """The bin (0 to ``bins - 1``) of each value in [0, 1], ``(N,)`` int64."""
    return (values.reshape(-1).clamp(0, 1) * bins).long().clamp(max=bins - 1)


def mutual_information(
    a: torch.Tensor, b: torch.Tensor, bins: int = 32, *, rows_a: torch.Tensor | None = None
) -> torch.Tensor:
    """Mutual information (nats) of two images' intensities, from a Parzen joint histogram.

    ``MI = sum p(i, j) log(p(i, j) / (p(i) p(j)))``: how much knowing one image's intensity at
    a point tells you about the other's, whatever the relation between them (Viola and Wells,
    "Alignment by maximization of mutual information", *IJCV* 24(2), 1997). It needs no
    linear relation, which is why it works across modalities. ``a`` and ``b`` hold the same
    number of values in [0, 1]; see `joint_histogram`.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(0, 1, 1000)
    >>> float(mutual_information(x, x)) > float(mutual_information(x, torch.rand(1000)))
    True
    """
    joint = joint_histogram(a, b, bins, rows_a=rows_a)
    outer = joint.sum(dim=1, keepdim=True) * joint.sum(dim=0, keepdim=True)
    return (joint * (joint.clamp_min(1e-12) / outer.clamp_min(1e-12)).log()).sum()


def evaluate_metric(
    metric: str,
    fixed: torch.Tensor,
    moving: torch.Tensor,
    bins: int,
    fixed_rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """The value of ``metric`` (``"mse"``, ``"ncc"`` or ``"mi"``) of two ``(N,)`` tensors.

    Higher is better for NCC and MI, lower for MSE. ``bins`` and ``fixed_rows`` (the fixed
    values' `hard_bins` times ``bins``, precomputed) are used by MI only.
    """
    if metric == "mse":
        return mse(fixed, moving)
    if metric == "ncc":
        return ncc(fixed, moving)
    return mutual_information(fixed, moving, bins, rows_a=fixed_rows)


def loss_of(metric: str, value: torch.Tensor) -> torch.Tensor:
    """What the optimiser minimises: MSE itself, minus NCC or MI."""
    return value if metric == "mse" else -value
