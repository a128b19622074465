"""Oedema that spreads along white matter and fades into normal tissue.

A concentration leaves the core and diffuses (repeated blurring on a 4 mm sub-grid, where it
is cheap) with a conductivity that is high in white matter, low in grey matter and zero in
CSF: it runs finger-like into the white matter of the gyri and stops at the cortex and the
ventricles. Its visible signal is graded and patchy; the label is where it passes a threshold
chosen to give the planned volume, and that threshold sits at a different fraction of the
signal's plateau in each subject (raters, too, differ on where oedema ends).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .fields import ramp, smooth_noise

__all__ = ["spread", "oedema_label_level", "visible_oedema"]


def spread(
    rng: np.random.Generator,
    core: np.ndarray,
    wm: np.ndarray,
    gm: np.ndarray,
    csf: np.ndarray,
    spacing_mm: float,
) -> np.ndarray:
    """The oedema concentration (float32, box shape): 1 in the core, decaying outwards.

    Diffusion runs on a grid of about 4 mm (every second voxel at 2 mm) for 16 steps; each
    step blurs by one coarse voxel and multiplies by a conductivity of ``0.93-0.98`` in white
    matter, ``0.55-0.75`` in grey matter and 0 in CSF; a patchy factor (+-15-40 %) makes the
    signal heterogeneous. Everything is float32 arithmetic or C filters: no transcendentals.
    """
    step = max(int(round(4.0 / spacing_mm)), 1)
    coarse = tuple(slice(0, None, step) for _ in range(3))
    conductivity = (
        np.float32(rng.uniform(0.93, 0.98)) * wm[coarse]
        + np.float32(rng.uniform(0.55, 0.75)) * gm[coarse]
    ) * (csf[coarse] < 0.5)
    source = core[coarse].astype(np.float32)
    field = source.copy()
    for _ in range(16):
        field = np.maximum(source, ndimage.gaussian_filter(field, 1.0) * conductivity)
    zoom = [n / c for n, c in zip(core.shape, field.shape, strict=True)]
    fine = ndimage.zoom(field, zoom, order=1, grid_mode=True, mode="grid-constant")
    fine = fine[tuple(slice(0, n) for n in core.shape)].astype(np.float32)
    patchy = np.clip(smooth_noise(rng, core.shape, rng.uniform(6.0, 14.0) / spacing_mm), -2, 2)
    fine = fine * (1.0 + np.float32(rng.uniform(0.15, 0.4)) * patchy)
    fine[core] = np.maximum(fine[core], 1.0)
    return np.clip(fine, 0.0, None).astype(np.float32)


def oedema_label_level(concentration: np.ndarray, allowed: np.ndarray, whole_voxels: int) -> float:
    """The concentration above which the ``whole_voxels`` highest ``allowed`` voxels lie."""
    values = np.sort(concentration[allowed])[::-1]
    count = int(np.clip(whole_voxels, 1, len(values)))
    return max(float(values[count - 1]), 0.02)


def visible_oedema(
    rng: np.random.Generator, concentration: np.ndarray, level: float
) -> np.ndarray:
    """How much oedema signal each voxel shows, in [0, 1] (float32): a ramp of the
    concentration from ``0.3-0.7 x level`` (faint signal beyond the label) to
    ``1.6-4 x level`` (plateau deep inside)."""
    low = rng.uniform(0.3, 0.7) * level
    high = rng.uniform(1.6, 4.0) * level
    return ramp(concentration, low, high)
