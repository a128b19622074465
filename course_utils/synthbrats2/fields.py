"""Small deterministic building blocks of SynthBraTS 2: ramps, rotations, boxes, blobs.

Everything here uses only IEEE-exact arithmetic (``+ - * /``, ``sqrt``), so the same seed gives
the same bytes on CPUs whose SIMD paths differ. Where the generator needs ``exp``, ``power``
or ``cbrt`` (NumPy 2.4's AVX-512 paths round their float64 results differently in the last
place), it computes in float64 and rounds to float32 or int16 once: a last-place difference
then changes a stored value only if it straddles a rounding boundary (odds ~1e-9 a voxel).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ..synth.fields import smooth_noise

__all__ = [
    "ramp",
    "random_rotation",
    "box_around",
    "box_offsets_mm",
    "blob",
    "smooth_noise",
    "nonzero_box",
    "gaussian_near_nonzero",
]


def ramp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """A smoothstep from 0 (at or below ``low``) to 1 (at or above ``high``).

    Polynomial (``3t^2 - 2t^3``), so it rounds identically on every CPU. Returns float32 of
    the shape of ``values``.

    Examples
    --------
    >>> ramp(np.array([0.0, 0.5, 1.0, 2.0]), 0.0, 1.0).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    t = np.clip((np.asarray(values, dtype=np.float32) - low) / np.float32(high - low), 0, 1)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 rotation (float64), from a normalised Gaussian quaternion.

    No LAPACK call, so no BLAS-dependent rounding.
    """
    w, x, y, z = rng.standard_normal(4)
    norm = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def box_around(
    centre: Sequence[float], half_mm: float, shape: Sequence[int], spacing_mm: float
) -> tuple[slice, ...]:
    """Slices of the grid within ``half_mm`` of ``centre`` (voxel indices), clipped."""
    half = int(np.ceil(half_mm / spacing_mm)) + 1
    return tuple(
        slice(min(max(int(round(c)) - half, 0), n - 1), max(min(int(round(c)) + half + 1, n), 1))
        for c, n in zip(centre, shape, strict=True)
    )


def box_offsets_mm(box: tuple[slice, ...], centre: Sequence[float], spacing_mm: float):
    """Open (broadcastable) per-axis offsets in mm of the box's voxels from ``centre``.

    Returns three float32 arrays of shapes ``(n0, 1, 1)``, ``(1, n1, 1)``, ``(1, 1, n2)``.
    """
    axes = []
    for axis, (b, c) in enumerate(zip(box, centre, strict=True)):
        values = (np.arange(b.start, b.stop, dtype=np.float64) - c) * spacing_mm
        axes.append(values.astype(np.float32).reshape([-1 if a == axis else 1 for a in range(3)]))
    return axes


def blob(
    box: tuple[slice, ...],
    centre: Sequence[float],
    radii_mm: Sequence[float],
    rotation: np.ndarray,
    spacing_mm: float,
) -> np.ndarray:
    """Normalised ellipsoidal distance inside ``box``: 1 on the surface, 0 at the centre.

    ``radii_mm`` are the semi-axes along the rows of ``rotation``. Returns float32 of the box's
    shape.
    """
    dx, dy, dz = box_offsets_mm(box, centre, spacing_mm)
    total = np.zeros(np.broadcast_shapes(dx.shape, dy.shape, dz.shape), dtype=np.float32)
    for row, radius in zip(rotation.astype(np.float32), radii_mm, strict=True):
        along = (row[0] * dx + row[1] * dy + row[2] * dz) / np.float32(radius)
        total += along * along
    return np.sqrt(total)


def nonzero_box(values: np.ndarray, margin: int) -> tuple[slice, ...] | None:
    """The smallest box holding every nonzero voxel of ``values``, widened by ``margin``
    voxels on each side and clipped to the grid; ``None`` where every voxel is zero.

    Examples
    --------
    >>> nonzero_box(np.array([[0, 0, 0], [0, 1, 0]]), 1)
    (slice(0, 2, None), slice(0, 3, None))
    """
    nonzero = values != 0
    box = []
    for axis, n in enumerate(values.shape):
        others = tuple(a for a in range(values.ndim) if a != axis)
        hits = np.flatnonzero(nonzero.any(axis=others))
        if len(hits) == 0:
            return None
        box.append(slice(max(int(hits[0]) - margin, 0), min(int(hits[-1]) + margin + 1, n)))
    return tuple(box)


def gaussian_near_nonzero(values: np.ndarray, sigma: float) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(values, sigma)`` (its default truncation and
    ``"reflect"`` border), computed on the box within the filter's radius of the nonzero
    voxels only, with the same bytes: beyond the box the filter sees only zeros (and gives
    +0.0), and at the box's border the samples ``"reflect"`` mirrors in are zeros too, as the
    voxels they stand for are. Returns the dtype of ``values``."""
    radius = int(4.0 * float(sigma) + 0.5)  # gaussian_filter's, with truncate=4.0
    box = nonzero_box(values, radius)
    out = np.zeros_like(values)
    if box is not None:
        out[box] = ndimage.gaussian_filter(values[box], sigma)
    return out
