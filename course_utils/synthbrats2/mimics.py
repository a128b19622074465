"""Healthy tissue that trivial rules mistake for tumour.

On T1ce: enhancing cortical vessels (thin tubes in the sulci), dura and the superior sagittal
sinus left by skull stripping, the choroid plexus in the ventricles. On FLAIR and T2:
periventricular caps and small white-matter hyperintensities. On T2: cysts as bright as CSF.
None of them is ever labelled tumour; all of them are kept clear of the tumour itself.
"""

from __future__ import annotations

import numpy as np

from .fields import blob, box_around, gaussian_near_nonzero, random_rotation, smooth_noise

__all__ = ["MIMICS", "draw_mimics"]

#: The mimic maps `draw_mimics` returns.
MIMICS = ("vessel", "dura", "plexus", "flair_lesion", "cyst")


def vessels(rng: np.random.Generator, tissue: dict, spacing_mm: float) -> np.ndarray:
    """20-60 smooth random walks (10-40 mm) through sulcal CSF and cortex, ~1.5 mm thick."""
    shape = tissue["brain"].shape
    candidates = np.argwhere(
        (tissue["csf"] > 0.3) & (tissue["depth"] < 14.0) & (tissue["depth"] > 1.0)
    )
    lines = np.zeros(shape, dtype=np.float32)
    if len(candidates) == 0:
        return lines
    for _ in range(int(rng.integers(20, 61))):
        point = candidates[rng.integers(len(candidates))].astype(np.float64)
        direction = rng.standard_normal(3)
        for _ in range(int(rng.uniform(10.0, 40.0) / spacing_mm)):
            direction = direction / np.sqrt(np.sum(direction**2)) + 0.35 * rng.standard_normal(3)
            direction /= np.sqrt(np.sum(direction**2))
            point = np.clip(point + direction, 0, np.array(shape) - 1)
            lines[tuple(np.rint(point).astype(int))] = 1.0
    return np.clip(gaussian_near_nonzero(lines, 0.6 * 1.5 / spacing_mm) * 3.0, 0.0, 1.0)


def dura(
    rng: np.random.Generator, tissue: dict, inside: tuple[np.ndarray, ...], spacing_mm: float
) -> np.ndarray:
    """Patches of the brain's outer 3 mm (dura left by skull stripping) and the superior
    sagittal sinus along the top of the midline. ``inside``: the brain's voxels (their
    indices, as `numpy.nonzero` gives them)."""
    centre_x = float(np.mean(inside[0]))
    shape = tissue["brain"].shape
    shell = (tissue["depth"] > 0.0) & (tissue["depth"] < rng.uniform(2.0, 5.0))
    patches = smooth_noise(rng, shape, 12.0 / spacing_mm) > rng.uniform(0.3, 1.2)
    x = (np.arange(shape[0]) - centre_x).reshape(-1, 1, 1) * spacing_mm
    z = np.arange(shape[2]).reshape(1, 1, -1)
    top = z > np.quantile(inside[2], 0.45)
    sinus = (np.abs(x) < 3.0) & top & (tissue["depth"] < 7.0) & (tissue["depth"] > 0.0)
    return ((shell & patches) | sinus).astype(np.float32) * np.float32(rng.uniform(0.6, 1.0))


def blobs_at(
    rng: np.random.Generator, shape, sites: np.ndarray, count: int, radius_mm, spacing_mm: float
) -> np.ndarray:
    """``count`` soft ellipsoids (radii drawn from ``radius_mm`` = (low, high)) at random
    ``sites`` (voxel indices, ``(N, 3)``). Returns float32 of ``shape`` in [0, 1]."""
    out = np.zeros(shape, dtype=np.float32)
    for _ in range(count if len(sites) else 0):
        centre = sites[rng.integers(len(sites))]
        radii = rng.uniform(*radius_mm, 3)
        box = box_around(centre, 1.5 * radii.max(), shape, spacing_mm)
        local = centre - np.array([b.start for b in box])
        full = tuple(slice(0, b.stop - b.start) for b in box)
        distance = blob(full, local, radii, random_rotation(rng), spacing_mm)
        out[box] = np.maximum(out[box], np.clip(1.5 - distance, 0.0, 1.0))
    return out


def draw_mimics(
    rng: np.random.Generator, tissue: dict, keep_clear: np.ndarray, spacing_mm: float
) -> dict[str, np.ndarray]:
    """The five mimic maps (float32 ``(X, Y, Z)`` fractions in [0, 1], see `MIMICS`).

    ``keep_clear`` (bool) is where no mimic may be: the tumour and a margin around it.
    """
    shape = tissue["brain"].shape
    inside = tissue["brain"] > 0.5
    ventricle = tissue["ventricle"] > 0.5
    deep_wm = np.argwhere((tissue["wm"] > 0.7) & (tissue["depth"] > 8.0) & ~keep_clear)
    near_ventricle = gaussian_near_nonzero(tissue["ventricle"], 2.5 / spacing_mm * 2.0)
    caps = (
        (near_ventricle > 0.12)
        & (tissue["wm"] > 0.4)
        & ~ventricle
        & (smooth_noise(rng, shape, 10.0 / spacing_mm) > rng.uniform(-0.5, 1.0))
    ).astype(np.float32)
    flair_lesion = np.maximum(
        gaussian_near_nonzero(caps, 0.6) * np.float32(rng.uniform(0.0, 1.0) < 0.8),
        blobs_at(rng, shape, deep_wm, int(rng.integers(0, 14)), (1.5, 4.5), spacing_mm),
    )
    maps = {
        "vessel": vessels(rng, tissue, spacing_mm),
        "dura": dura(rng, tissue, np.nonzero(inside), spacing_mm),
        "plexus": blobs_at(
            rng, shape, np.argwhere(ventricle), int(rng.integers(3, 8)), (3.0, 6.0), spacing_mm
        )
        * ventricle,
        "flair_lesion": flair_lesion,
        "cyst": blobs_at(rng, shape, deep_wm, int(rng.integers(0, 3)), (3.0, 7.0), spacing_mm),
    }
    for key, values in maps.items():
        maps[key] = np.where(keep_clear | ~inside, 0.0, values).astype(np.float32)
    return maps
