"""Anatomy (SynthBraTS 1): the template deformed into one subject's brain.

A global scaling plus a smooth random displacement field, then the tumour's mass effect;
the template's tissue maps are sampled at the displaced positions. Arrays ``(X, Y, Z)``,
voxel units unless a name says mm.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .fields import smooth_noise
from .template import Template
from .tumour import Tumour

__all__ = ["anatomy_source", "add_mass_effect", "warp_tissue"]


def anatomy_source(rng: np.random.Generator, template: Template):
    """Where each subject voxel samples the template: global scaling plus a smooth warp.

    Returns ``(source, centre, scale)``: ``source`` is float32 ``(3, X, Y, Z)`` voxel
    coordinates in the template, ``centre`` the brain's centre of mass (voxels) and
    ``scale`` the per-axis scaling about it.
    """
    shape = template.brain.shape
    s = template.spacing_mm
    centre = np.array(ndimage.center_of_mass(template.brain), dtype=np.float32)
    scale = rng.uniform(0.94, 1.06, 3).astype(np.float32)
    source = np.empty((3, *shape), dtype=np.float32)
    for axis in range(3):
        coordinate = np.arange(shape[axis], dtype=np.float32)
        coordinate = centre[axis] + (coordinate - centre[axis]) / scale[axis]
        source[axis] = coordinate.reshape([-1 if a == axis else 1 for a in range(3)])
        source[axis] += np.float32(3.0 / s) * smooth_noise(rng, shape, 24.0 / s)
    return source, centre, scale


def add_mass_effect(source: np.ndarray, tumour: Tumour, spacing_mm: float) -> None:
    """Push tissue away from the tumour, as if a ball of 0.7 x the core radius were inserted.

    A point at radius ``r`` from the centre comes from radius ``cbrt(r**3 - push**3)``, so
    the displacement decays like ``push**3 / (3 r**2)``; it is applied within 5 push radii.
    Modifies ``source`` (``(3, X, Y, Z)`` voxel coordinates) in place.
    """
    push = 0.7 * tumour.radius_core
    half = int(np.ceil(5 * push / spacing_mm))
    box = tuple(
        slice(max(int(c) - half, 0), min(int(c) + half + 1, n))
        for c, n in zip(tumour.centre, source.shape[1:], strict=True)
    )
    offset = (
        np.stack(
            np.meshgrid(
                *[np.arange(b.start, b.stop, dtype=np.float32) for b in box], indexing="ij"
            )
        )
        - tumour.centre[:, None, None, None]
    )
    radius = np.sqrt(np.sum(offset**2, axis=0)) * spacing_mm + 1e-3
    shrink = np.cbrt(np.maximum(radius**3 - push**3, 0.0)) / radius - 1.0
    source[(slice(None), *box)] += offset * shrink


def warp_tissue(template: Template, source: np.ndarray) -> dict[str, np.ndarray]:
    """Sample the template's maps at ``source``; only where the warped brain can be.

    A nearest-neighbour look-up of the brain mask finds the voxels worth interpolating
    (plus a one-voxel rim); trilinear interpolation runs there alone. Returns float32
    ``t1``, ``gm``, ``wm``, ``csf`` and ``brain`` maps of the subject grid.
    """
    shape = template.brain.shape
    nearest = tuple(
        np.clip(np.rint(source[axis]), 0, shape[axis] - 1).astype(np.intp) for axis in range(3)
    )
    near_brain = ndimage.binary_dilation(template.brain[nearest] > 0, iterations=1)
    where = np.nonzero(near_brain)
    points = source[(slice(None), *where)]
    tissue = {}
    for key in ("t1", "gm", "wm", "brain"):
        values = np.zeros(shape, dtype=np.float32)
        values[where] = ndimage.map_coordinates(getattr(template, key), points, order=1)
        tissue[key] = values
    tissue["csf"] = np.clip(tissue["brain"] - tissue["gm"] - tissue["wm"], 0.0, 1.0)
    return tissue
