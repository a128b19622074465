"""Inside the tumour core: enhancement that is irregular, nodular, thick or thin, often
incomplete, sometimes absent; necrosis sometimes absent; non-enhancing tumour.

BraTS label 1 covers both necrosis and non-enhancing tumour core; the generator keeps them
apart in its truth (``necrosis`` and ``nonenhancing`` memberships) because they look
different: necrosis is dark on T1 and bright on T2, non-enhancing tumour is grey on T1, mildly
bright on T2 and FLAIR, and not enhancing on T1ce.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .fields import blob, gaussian_near_nonzero, nonzero_box, random_rotation, smooth_noise
from .tumour import Plan

__all__ = ["select_core", "paint_core"]


def select_core(
    plan: Plan, scores: list[np.ndarray], allowed: np.ndarray, spacing_mm: float
) -> np.ndarray:
    """The core's level field (float32, box): each focus's score divided by the score of its
    ``n``-th voxel, so the core (``n`` voxels per focus, ``allowed`` voxels only) is exactly
    where the level is at most 1. Outside ``allowed`` the level is infinite."""
    voxel_mm3 = spacing_mm**3
    level = np.full(allowed.shape, np.inf, dtype=np.float32)
    for focus, score in zip(plan.foci, scores, strict=True):
        candidates = np.sort(score[allowed])
        count = int(np.clip(round(focus.core_mm3 / voxel_mm3), 1, len(candidates)))
        threshold = max(float(candidates[count - 1]), 1e-6)
        level = np.minimum(level, np.where(allowed, score / np.float32(threshold), np.inf))
    return level.astype(np.float32)


def _core_depth(core: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.distance_transform_edt(core)`` (voxels, float64), computed on the box
    around the core widened by one voxel, with the same bytes: the background voxel nearest
    to a core voxel can always be moved into that box (clamp it to the box: no farther, and
    still background), and the distances are square roots of the same integers."""
    depth = np.zeros(core.shape)
    box = nonzero_box(core, 1)
    if box is not None:
        depth[box] = ndimage.distance_transform_edt(core[box])
    return depth


def shell_pattern(rng: np.random.Generator, core: np.ndarray, spacing_mm: float):
    """A rim of varying thickness (1.5-6.5 mm, +-50 %), enhancing on 45-100 % of the surface,
    plus 0-3 enhancing nodules. Returns boolean ``(enhancing, necrosis)`` in the box."""
    shape = core.shape
    depth = _core_depth(core) * spacing_mm
    thickness = rng.uniform(1.5, 6.5) * (
        1.0 + 0.5 * np.clip(smooth_noise(rng, shape, 8.0 / spacing_mm), -1.5, 1.5)
    )
    rim = core & (depth <= thickness)
    patches = smooth_noise(rng, shape, rng.uniform(8.0, 16.0) / spacing_mm)
    completeness = rng.uniform(0.45, 1.0)
    cut = np.quantile(patches[rim], 1.0 - completeness) if rim.any() else 0.0
    enhancing = rim & (patches >= cut)
    rim_voxels = np.argwhere(rim)
    for _ in range(int(rng.integers(0, 4)) if len(rim_voxels) else 0):
        centre = rim_voxels[rng.integers(len(rim_voxels))]
        radii = rng.uniform(3.0, 7.0, 3)
        box = tuple(slice(0, n) for n in shape)
        enhancing |= core & (blob(box, centre, radii, random_rotation(rng), spacing_mm) < 1.0)
    necrosis = core & ~rim & ~enhancing
    return enhancing, necrosis


def paint_core(rng: np.random.Generator, plan: Plan, core: np.ndarray, spacing_mm: float):
    """Labels and soft memberships of the core's parts (box arrays).

    Returns ``(enhancing, necrosis, memberships)``: boolean masks (non-enhancing tumour is
    ``core & ~enhancing & ~necrosis``) and float32 ``necrosis``, ``nonenhancing``,
    ``enhancing`` memberships in [0, 1] with partial volume at their edges.
    """
    shape = core.shape
    if plan.kind == "ring":
        enhancing, necrosis = shell_pattern(rng, core, spacing_mm)
    elif plan.kind == "solid":
        patches = smooth_noise(rng, shape, rng.uniform(6.0, 12.0) / spacing_mm)
        share = rng.uniform(0.35, 0.8)
        cut = np.quantile(patches[core], 1.0 - share) if core.any() else 0.0
        enhancing = core & (patches >= cut)
        necrosis = np.zeros(shape, dtype=bool)
    else:
        enhancing = np.zeros(shape, dtype=bool)
        necrosis = np.zeros(shape, dtype=bool)
    nonenhancing = core & ~enhancing & ~necrosis
    memberships = {}
    for key, mask in (
        ("necrosis", necrosis),
        ("nonenhancing", nonenhancing),
        ("enhancing", enhancing),
    ):
        memberships[key] = gaussian_near_nonzero(mask.astype(np.float32), 0.55)
    total = memberships["necrosis"] + memberships["nonenhancing"] + memberships["enhancing"]
    over = np.maximum(total, 1.0)
    for key in memberships:
        memberships[key] = (memberships[key] / over).astype(np.float32)
    return enhancing, necrosis, memberships
