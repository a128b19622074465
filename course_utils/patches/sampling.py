"""Sampling training patches: random patches, a chosen share of them centred on tumour.

`sample_patches` draws exactly ``round(n * foreground_ratio)`` centres on the label's
foreground and the rest anywhere (`draw_centres`), with no rejection loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._copy import gather
from ._validation import Array, as_triple, check_volume, is_int, to_numpy
from .grid import pad_to_patch

__all__ = ["sample_patches", "draw_centres"]


def sample_patches(
    image: Array,
    label: Array,
    n: int,
    patch_size: int | Sequence[int],
    *,
    foreground_ratio: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> tuple[Array, Array, np.ndarray]:
    """Random training patches, a chosen share of them centred on tumour.

    Exactly ``round(n * foreground_ratio)`` centres (Python's ``round``: halves go to the
    even number) are drawn uniformly from the foreground voxels (``label > 0``), and the rest
    uniformly from the whole volume, so those land on tumour as often as tumour fills the
    volume. There is no rejection loop: no patch is ever drawn and thrown away.

    Each patch is placed with its centre voxel (``origin + patch // 2``) on the drawn centre,
    then moved inside the volume where it would stick out, so near a border the centre
    shifts. Axes shorter than the patch are zero-padded. The patches come out in a random
    order (the tumour-centred ones are not first).

    If the label has no foreground, every centre is drawn uniformly, silently.

    Parameters
    ----------
    image
        ``(C, D, H, W)`` NumPy array or torch tensor.
    label
        ``(D, H, W)`` or ``(1, D, H, W)`` segmentation, same spatial shape; ``> 0`` is tumour.
    n
        Number of patches.
    patch_size
        One int or three ``(D, H, W)``, in voxels.
    foreground_ratio
        Share of patches centred on foreground, in ``[0, 1]``.
    rng
        A ``numpy.random.Generator`` (advanced by the call) or an int seed; the same seed
        gives the same patches.

    Returns
    -------
    image_patches
        ``(n, C, *patch_size)``, same kind and dtype as ``image``.
    label_patches
        ``(n, *patch_size)`` or ``(n, 1, *patch_size)``, following ``label``.
    origins
        ``(n, 3)`` int64 patch origins in voxels.

    Examples
    --------
    >>> label = np.zeros((8, 8, 8), dtype=np.uint8)
    >>> label[6, 6, 6] = 1
    >>> image = np.zeros((2, 8, 8, 8), dtype=np.float32)
    >>> x, y, origins = sample_patches(image, label, 4, 3, foreground_ratio=1.0, rng=0)
    >>> x.shape, y.shape, origins[0].tolist(), int(y[:, 1, 1, 1].sum())
    ((4, 2, 3, 3, 3), (4, 3, 3, 3), [5, 5, 5], 4)
    """
    check_volume(image, "image")
    patch = as_triple(patch_size, "patch_size")
    spatial = tuple(image.shape[1:])
    label_ok = label.ndim == 3 or (label.ndim == 4 and label.shape[0] == 1)
    if not label_ok or tuple(label.shape[-3:]) != spatial:
        raise ValueError(
            f"label must be (D, H, W) or (1, D, H, W) matching the image's {spatial}; "
            f"got {tuple(label.shape)}."
        )
    if not is_int(n) or n < 0 or not 0 <= foreground_ratio <= 1:
        raise ValueError(
            f"n must be an int >= 0 and foreground_ratio in [0, 1]; got {n!r}, "
            f"{foreground_ratio!r}."
        )
    centres = draw_centres(to_numpy(label).reshape(spatial), n, foreground_ratio, rng)
    last = np.maximum(np.asarray(spatial) - patch, 0)
    origins = np.clip(centres - np.asarray(patch) // 2, 0, last)
    image_patches = gather(pad_to_patch(image, patch), origins, patch)
    channel_label = label if label.ndim == 4 else label[None]
    label_patches = gather(pad_to_patch(channel_label, patch), origins, patch)
    return image_patches, label_patches if label.ndim == 4 else label_patches[:, 0], origins


def draw_centres(
    label: np.ndarray, n: int, ratio: float, rng: np.random.Generator | int | None
) -> np.ndarray:
    """``(n, 3)`` centre voxels: ``round(n * ratio)`` on ``label > 0``, the rest anywhere."""
    rng = np.random.default_rng(rng)
    foreground = np.flatnonzero(label > 0)
    n_foreground = round(n * ratio) if foreground.size else 0
    picked = foreground[rng.integers(0, max(foreground.size, 1), n_foreground)]
    on_tumour = np.stack(np.unravel_index(picked, label.shape), axis=1)
    anywhere = rng.integers(0, label.shape, size=(n - n_foreground, 3))
    centres = np.concatenate([on_tumour, anywhere]).astype(np.int64)
    return centres[rng.permutation(n)]
