"""Analytic 2D test images: the continuous image is known exactly, between the pixels too.

`blobs` draws a few Gaussian blobs at any shift and rotation, so a moved copy is exact (no
interpolation went into it); `rotate_slice` rotates a sampled image by interpolation, and
`interpolation_error` scores an interpolation order against the exact image, which is what
interpolation is for: estimating the continuous image between the samples. Used by
notebook 05 (the seed's registration loop and the interpolation section).
"""

from __future__ import annotations

import numpy as np

__all__ = ["blobs", "rotate_slice", "interpolation_error"]

#: The blobs: (row, column, sigma, height), in pixels and intensity units.
BLOBS = ((14.0, 15.0, 5.0, 1.0), (30.0, 22.0, 4.0, 0.7), (20.0, 33.0, 6.0, 0.5))


def _rotated_points(shape: tuple[int, int], rotation_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the points that pixel centres pull from, rotated about the centre.

    A positive angle turns the image content anticlockwise in (column, row) axes about
    the array centre ``((H - 1) / 2, (W - 1) / 2)``.
    """
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    centre_row, centre_column = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    angle = np.deg2rad(rotation_deg)
    dx, dy = columns - centre_column, rows - centre_row
    x = np.cos(angle) * dx + np.sin(angle) * dy + centre_column
    y = -np.sin(angle) * dx + np.cos(angle) * dy + centre_row
    return y, x


def blobs(
    shape: tuple[int, int],
    shift: tuple[float, float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
):
    """A smooth 2D test image (float32 tensor ``(H, W)``): Gaussian blobs, moved exactly.

    ``shift`` is ``(dx, dy)`` pixels along columns and rows; ``rotation_deg`` turns the
    content about the array centre first (anticlockwise in column/row axes, as
    `rotate_slice`). The blobs are evaluated analytically at every pixel centre, so a moved
    image is exact, with no interpolation.

    Examples
    --------
    >>> image = blobs((48, 48))
    >>> tuple(image.shape), round(float(image.max()), 2)
    ((48, 48), 1.0)
    """
    import torch

    rows, columns = _rotated_points(shape, rotation_deg)
    image = np.zeros(shape)
    for row, column, sigma, height in BLOBS:
        distance2 = (columns - column - shift[0]) ** 2 + (rows - row - shift[1]) ** 2
        image += height * np.exp(-distance2 / (2 * sigma**2))
    return torch.tensor(image, dtype=torch.float32)


def rotate_slice(image: np.ndarray, rotation_deg: float, order: int) -> np.ndarray:
    """``image`` ``(H, W)`` rotated about its centre by interpolation of the given ``order``.

    0 nearest, 1 linear, 3 cubic B-spline (``scipy.ndimage.map_coordinates``, with its
    spline prefilter); points outside take the nearest edge value. float64 ``(H, W)``.
    """
    if order not in (0, 1, 3):
        raise ValueError(f"order={order!r}: use 0 (nearest), 1 (linear) or 3 (cubic).")
    from scipy import ndimage

    rows, columns = _rotated_points(np.shape(image), rotation_deg)
    values = np.asarray(image, dtype=np.float64)
    return ndimage.map_coordinates(values, [rows, columns], order=order, mode="nearest")


def interpolation_error(
    order: int,
    rotation_deg: float = 10.0,
    round_trips: int = 0,
    shape: tuple[int, int] = (48, 48),
) -> np.ndarray:
    """Absolute errors of an interpolation ``order`` against the exact continuous `blobs`.

    With ``round_trips=0`` the sampled blobs are rotated once by ``rotation_deg`` and compared
    with the blobs drawn analytically at that rotation: the error of estimating the image
    between its samples. With ``round_trips=n`` they are rotated there and back ``n`` times
    and compared with the exact original, which shows how errors add up. Only pixels within
    the disc that stays inside the image count. Returns the 1D float64 array of ``|error|``
    (intensity units; the blobs peak at 1), one per pixel of the disc.

    Examples
    --------
    >>> bool(interpolation_error(3).mean() < interpolation_error(1).mean())
    True
    """
    if round_trips < 0:
        raise ValueError(f"round_trips={round_trips}: use 0 (one rotation) or more.")
    sampled = blobs(shape).numpy().astype(np.float64)
    if round_trips == 0:
        result = rotate_slice(sampled, rotation_deg, order)
        exact = blobs(shape, rotation_deg=rotation_deg).numpy().astype(np.float64)
    else:
        result = sampled
        for _ in range(round_trips):
            result = rotate_slice(rotate_slice(result, rotation_deg, order), -rotation_deg, order)
        exact = sampled
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]]
    radius = min(shape) / 2 - 2
    disc = (rows - (shape[0] - 1) / 2) ** 2 + (columns - (shape[1] - 1) / 2) ** 2 < radius**2
    return np.abs(result - exact)[disc]
