"""Tumour (SynthBraTS 1): a tumour's geometry and its labels.

`draw_tumour` places an ellipsoid in white matter; `paint_tumour` gives it a necrotic core
(label 1) inside an enhancing rim (label 4), surrounded by oedema (label 2) that spreads
preferentially along white matter. Labels are BraTS 2021 (`brats.BRATS_2021`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .fields import random_rotation, smooth_noise, soft_inside
from .template import Template

__all__ = ["Tumour", "draw_tumour", "paint_tumour"]


@dataclass(frozen=True)
class Tumour:
    """A tumour's geometry: centre (voxel index), radii (mm) and shape of its ellipsoid."""

    centre: np.ndarray
    radius_whole: float
    radius_core: float
    radius_necrosis: float
    rotation: np.ndarray
    stretch: np.ndarray

    def box(self, shape: Sequence[int], spacing_mm: float) -> tuple[slice, ...]:
        """The part of the grid the tumour and its oedema can reach (clipped to ``shape``)."""
        half = int(np.ceil(2.6 * self.radius_whole / spacing_mm)) + 2
        return tuple(
            slice(max(int(c) - half, 0), min(int(c) + half + 1, n))
            for c, n in zip(self.centre, shape, strict=True)
        )


def draw_tumour(
    rng: np.random.Generator, template: Template, centre: np.ndarray, scale: np.ndarray
) -> Tumour:
    """Draw a tumour: a white-matter site and a whole-tumour volume of 20-130 cm^3."""
    site = template.tumour_sites[rng.integers(len(template.tumour_sites))]
    whole_volume_mm3 = np.exp(rng.uniform(np.log(20e3), np.log(130e3)))
    radius_whole = float((3 * whole_volume_mm3 / (4 * np.pi)) ** (1 / 3))
    radius_core = radius_whole * rng.uniform(0.55, 0.8)
    rim_mm = rng.uniform(3.5, 7.0)  # enhancing rim thickness
    radius_necrosis = max(radius_core - rim_mm, 0.0)
    stretch = rng.uniform(0.8, 1.25, 3)
    return Tumour(
        centre=(centre + (site - centre) * scale).astype(np.float32),
        radius_whole=radius_whole,
        radius_core=float(radius_core),
        radius_necrosis=float(radius_necrosis),
        rotation=random_rotation(rng),
        stretch=stretch / np.cbrt(np.prod(stretch)),
    )


def paint_tumour(
    rng: np.random.Generator, tumour: Tumour, tissue: dict[str, np.ndarray], spacing_mm: float
):
    """Labels and soft tissue memberships of the tumour, computed inside its box only.

    Returns ``(seg, membership)``: ``seg`` is uint8 ``(X, Y, Z)`` with BraTS labels
    0/1/2/4 (zero outside the brain); ``membership`` maps ``necrosis``, ``enhancing``,
    ``core`` and ``oedema`` to float32 ``(X, Y, Z)`` fractions in [0, 1] and ``texture``
    to a multiplicative tumour texture around 1.
    """
    shape = tissue["brain"].shape
    s = spacing_mm
    box = tumour.box(shape, s)
    box_shape = tuple(b.stop - b.start for b in box)
    offset = (
        np.stack(
            np.meshgrid(
                *[np.arange(b.start, b.stop, dtype=np.float32) for b in box], indexing="ij"
            )
        )
        - tumour.centre[:, None, None, None]
    )
    offset_mm = np.einsum("ij,j...->i...", tumour.rotation.astype(np.float32), offset * s)
    distance = np.sqrt(np.sum((offset_mm * tumour.stretch[:, None, None, None]) ** 2, axis=0))
    lumps = np.clip(smooth_noise(rng, box_shape, 10.0 / s), -2.0, 2.0)
    spread = np.clip(smooth_noise(rng, box_shape, 14.0 / s), -2.0, 2.0)
    core_distance = distance / (1.0 + 0.12 * lumps)
    oedema_distance = distance / (1.0 + 0.25 * spread)

    wm, csf = tissue["wm"][box], tissue["csf"][box]
    oedema_reach = tumour.radius_whole * (0.75 + 0.45 * wm)
    not_fluid = csf < 0.6
    labels = np.zeros(box_shape, dtype=np.uint8)
    labels[(oedema_distance < oedema_reach) & not_fluid] = 2
    labels[core_distance < tumour.radius_core] = 4
    labels[core_distance < tumour.radius_necrosis] = 1
    seg = np.zeros(shape, dtype=np.uint8)
    seg[box] = labels
    seg[tissue["brain"] <= 0.5] = 0

    necrosis = soft_inside(core_distance, tumour.radius_necrosis, 0.5 * s)
    core = soft_inside(core_distance, tumour.radius_core, 0.35 * s)
    oedema = np.where(labels == 2, 1.0, soft_inside(oedema_distance, oedema_reach, 0.5 * s))
    box_maps = {
        "necrosis": necrosis,
        "enhancing": core - necrosis,
        "core": core,
        "oedema": (oedema * (1.0 - core) * not_fluid).astype(np.float32),
        "texture": 1.0 + 0.08 * lumps,
    }
    membership = {}
    for key, values in box_maps.items():
        full = np.full(shape, 1.0 if key == "texture" else 0.0, dtype=np.float32)
        full[box] = values
        membership[key] = full
    return seg, membership
