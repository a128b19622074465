"""Fields: the smooth random fields both generators draw from.

Smooth noise, a multiplicative bias field, soft memberships and random rotations; every
function takes the subject's ``numpy.random.Generator``, so the same seed gives the same
field. Arrays are ``(X, Y, Z)`` float, axes R-A-S.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["smooth_noise", "bias_field", "soft_inside", "random_rotation"]


def smooth_noise(
    rng: np.random.Generator, shape: Sequence[int], scale_vox: float | Sequence[float]
) -> np.ndarray:
    """A smooth random field, unit standard deviation, correlated over ~``scale_vox`` voxels.

    Gaussian-smoothed white noise on a coarse grid (one value per ``scale_vox`` voxels),
    interpolated linearly up to ``shape`` axis by axis: a few passes over the output instead
    of a wide 3D filter. ``scale_vox`` is one scale for every axis or one per axis (the same
    length in mm on an anisotropic grid is a different number of voxels along each axis).
    Returns float32 of ``shape``.
    """
    scales = np.broadcast_to(np.asarray(scale_vox, dtype=np.float64), (len(shape),))
    scales = [float(s) for s in scales]  # Python floats keep the arithmetic below in float32
    coarse_shape = [int(np.ceil(n / s)) + 2 for n, s in zip(shape, scales, strict=True)]
    field = ndimage.gaussian_filter(rng.standard_normal(coarse_shape, dtype=np.float32), 0.6)
    for axis, n in enumerate(shape):
        position = np.arange(n, dtype=np.float32) / scales[axis]
        lower = np.floor(position).astype(int)
        weight = (position - lower).reshape([-1 if a == axis else 1 for a in range(3)])
        # ``above - below`` taken on the coarse grid (the same subtractions, fewer of them);
        # the weights are float64, so the field is float64 from the first axis on.
        step = np.take(np.diff(field, axis=axis), lower, axis=axis)
        step = np.multiply(weight, step, out=step if axis else None)  # float32 on axis 0
        field = np.add(np.take(field, lower, axis=axis), step, out=step)
    return _standardised(field)


def _standardised(field: np.ndarray) -> np.ndarray:
    """``((field - field.mean()) / max(field.std(), 1e-6)).astype(np.float32)`` with the bytes
    of that expression (NumPy's ``std`` subtracts the same mean and sums the same squares; the
    division runs in float64 and is rounded to float32 once) in three fewer passes over the
    array. Subtracts the mean from ``field`` in place."""
    field -= field.mean()
    std = float(np.sqrt(np.square(field).sum() / field.size))
    out = np.empty(field.shape, dtype=np.float32)
    return np.divide(field, max(std, 1e-6), out=out, casting="same_kind")


def bias_field(rng: np.random.Generator, shape: Sequence[int], strength: float) -> np.ndarray:
    """A smooth multiplicative bias in ``exp([-strength, strength])``: a random quadratic.

    Built from open (broadcast) coordinate grids, so only the final sum is full size.
    """
    axes = np.ogrid[tuple(slice(-1.0, 1.0, complex(0, n)) for n in shape)]
    terms = list(axes) + [a * b for i, a in enumerate(axes) for b in axes[i:]]
    log_field = np.zeros(shape, dtype=np.float32)
    for coefficient, term in zip(rng.normal(0.0, 1.0, len(terms)), terms, strict=True):
        log_field += np.float32(coefficient) * term.astype(np.float32)
    log_field /= max(float(np.abs(log_field).max()), 1e-6)
    return np.exp(np.float32(strength) * log_field)


def soft_inside(distance: np.ndarray, radius: np.ndarray | float, width: float) -> np.ndarray:
    """Membership in [0, 1] of being inside ``radius`` (same units), blurred over ``width``."""
    return (0.5 - 0.5 * np.tanh((distance - radius) / (2.0 * width))).astype(np.float32)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q
