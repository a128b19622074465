"""Anatomy that varies between subjects: shape, asymmetry, ventricles, atrophy, mass effect.

SynthBraTS 1 warped one template gently. Here each subject also gets a left/right
asymmetry, larger smooth deformations, ventricles of its own size, a degree of cortical
atrophy (wider sulci), and a mass effect that grows with the tumour, so large tumours
compress the ventricles and shift the midline.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage

from ..synth.template import Template, load_template, read_only
from ..threads import usable_cores
from .fields import nonzero_box, ramp, smooth_noise

__all__ = ["template_extras", "anatomy_source", "push_away", "warp_anatomy", "vary_tissue"]


@functools.lru_cache(maxsize=2)
def template_extras(spacing_mm: float = 2.0) -> dict[str, np.ndarray]:
    """Maps derived once from the template: ``depth`` (mm from the brain surface) and
    ``ventricle`` (deep CSF, 0..1), float32 ``(X, Y, Z)``; ``centre`` (voxel, float64)."""
    template = load_template(spacing_mm)
    depth = ndimage.distance_transform_edt(template.brain) * spacing_mm
    csf = np.clip(template.brain - template.gm - template.wm, 0.0, 1.0)
    ventricle = ndimage.gaussian_filter(((csf > 0.5) & (depth > 18.0)).astype(np.float32), 0.5)
    return {
        "depth": read_only(depth.astype(np.float32)),
        "ventricle": read_only(ventricle.astype(np.float32)),
        "centre": read_only(np.array(ndimage.center_of_mass(template.brain))),
    }


def anatomy_source(rng: np.random.Generator, template: Template) -> np.ndarray:
    """Where each subject voxel samples the template (float32 ``(3, X, Y, Z)`` voxels).

    A per-axis scaling of 0.90-1.10, a left/right asymmetry of up to 5 %, and a smooth
    random displacement of 2-6 mm correlated over 20-40 mm.
    """
    shape = template.brain.shape
    s = template.spacing_mm
    centre = template_extras(s)["centre"]
    scale = rng.uniform(0.90, 1.10, 3)
    asymmetry = rng.uniform(-0.05, 0.05)
    warp_mm = rng.uniform(2.0, 6.0)
    warp_scale_vox = rng.uniform(20.0, 40.0) / s
    source = np.empty((3, *shape), dtype=np.float32)
    for axis in range(3):
        offset = np.arange(shape[axis], dtype=np.float64) - centre[axis]
        factor = scale[axis] * (1.0 + (asymmetry * np.sign(offset) if axis == 0 else 0.0))
        coordinate = (centre[axis] + offset / factor).astype(np.float32)
        source[axis] = coordinate.reshape([-1 if a == axis else 1 for a in range(3)])
        source[axis] += np.float32(warp_mm / s) * smooth_noise(rng, shape, warp_scale_vox)
    return source


def push_away(source: np.ndarray, centre: np.ndarray, push_mm: float, spacing_mm: float) -> None:
    """Mass effect: tissue moves outwards as if a ball of radius ``push_mm`` were inserted.

    A point at radius ``r`` (mm) from ``centre`` samples radius ``cbrt(r**3 - push**3)``, so
    the displacement decays like ``push**3 / (3 r**2)``; applied within 6 push radii.
    ``cbrt`` runs in float64 and is rounded to float32. Modifies ``source`` in place.
    """
    half = int(np.ceil(6 * push_mm / spacing_mm))
    box = tuple(
        slice(max(int(c) - half, 0), min(int(c) + half + 1, n))
        for c, n in zip(centre, source.shape[1:], strict=True)
    )
    offsets = np.meshgrid(
        *[
            np.arange(b.start, b.stop, dtype=np.float64) - c
            for b, c in zip(box, centre, strict=True)
        ],
        indexing="ij",
        sparse=True,
    )
    radius = np.sqrt(offsets[0] ** 2 + offsets[1] ** 2 + offsets[2] ** 2) * spacing_mm + 1e-3
    shrink = (np.cbrt(np.maximum(radius**3 - push_mm**3, 0.0)) / radius - 1.0).astype(np.float32)
    for axis in range(3):
        source[(axis, *box)] += (offsets[axis] * shrink).astype(np.float32)


def _dilated_once(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask)`` (one step, 6-connected), computed on the box
    around ``mask`` widened by one voxel: outside it the result is False, and the voxels the
    box's border hides were False, as SciPy's border value is."""
    out = np.zeros(mask.shape, dtype=bool)
    box = nonzero_box(mask, 1)
    if box is not None:
        out[box] = ndimage.binary_dilation(mask[box])
    return out


def _sample_linear(volume: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``volume`` (float32) interpolated linearly at ``points`` (``(3, N)`` voxel
    coordinates), zero outside: float32 ``(N,)``."""
    return ndimage.map_coordinates(volume, points, order=1)


def _sample_near_nonzero(volume: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`_sample_linear` with the same bytes, interpolating only the points within two voxels
    of ``volume``'s nonzero box: elsewhere all eight neighbours of a point are zero, so the
    interpolated value is +0.0 (every weight is >= 0)."""
    values = np.zeros(points.shape[1], dtype=volume.dtype)
    box = nonzero_box(volume, 2)
    if box is None:
        return values
    near = np.ones(points.shape[1], dtype=bool)
    for axis, b in enumerate(box):
        near &= (points[axis] >= b.start) & (points[axis] < b.stop)
    values[near] = _sample_linear(volume, points[:, near])
    return values


def warp_anatomy(template: Template, source: np.ndarray) -> dict[str, np.ndarray]:
    """Sample the template's maps at ``source``, only near the warped brain.

    Returns float32 ``(X, Y, Z)`` maps ``t1``, ``gm``, ``wm``, ``brain``, ``depth`` (mm),
    ``ventricle`` and ``csf``.
    """
    shape = template.brain.shape
    extras = template_extras(template.spacing_mm)
    nearest = tuple(
        np.clip(np.rint(source[axis]), 0, shape[axis] - 1).astype(np.intp) for axis in range(3)
    )
    where = np.nonzero(_dilated_once(template.brain[nearest] > 0))
    points = source[(slice(None), *where)]
    maps = {
        "t1": template.t1,
        "gm": template.gm,
        "wm": template.wm,
        "brain": template.brain,
        "depth": extras["depth"],
        "ventricle": extras["ventricle"],
    }

    def sample(key: str) -> np.ndarray:
        # The ventricle map is zero away from the ventricles: sample it only near them.
        interpolate = _sample_near_nonzero if key == "ventricle" else _sample_linear
        values = np.zeros(shape, dtype=np.float32)
        values[where] = interpolate(maps[key], points)
        return values

    # Each map on its own, in up to two threads (SciPy interpolates without holding the GIL):
    # the same bytes in any order, and a second core, where this process may use one, halves
    # the generator's slowest step.
    with ThreadPoolExecutor(max_workers=min(2, usable_cores()[0])) as pool:
        tissue = dict(zip(maps, pool.map(sample, maps), strict=True))
    tissue["csf"] = np.clip(tissue["brain"] - tissue["gm"] - tissue["wm"], 0.0, 1.0)
    return tissue


def _grown(ventricle: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` grey dilations (3 x 3 x 3) of ``ventricle`` (float32, >= 0), computed on the
    box around its nonzero voxels widened by ``steps + 1``, with the same bytes: a maximum
    filter does no arithmetic, and every sample it sees beyond the box, or mirrors in at the
    box's border, is zero."""
    box = nonzero_box(ventricle, steps + 1) if steps else None
    if box is None:
        return ventricle
    local = ventricle[box]
    for _ in range(steps):
        local = ndimage.grey_dilation(local, size=(3, 3, 3))
    out = np.zeros_like(ventricle)
    out[box] = local
    return out


def vary_tissue(rng: np.random.Generator, tissue: dict[str, np.ndarray], spacing_mm: float):
    """Ventricles of the subject's own size and cortical atrophy (wider sulci), in place.

    The ventricles grow by 0-4 mm (grey dilation, blended); 0-45 % of the grey matter within
    6 mm of the surface or next to CSF turns to CSF. White and grey matter keep their ratio
    where the CSF grows.
    """
    grow_steps = int(rng.integers(0, 3))
    ventricle = _grown(tissue["ventricle"], grow_steps)
    ventricle = ventricle * np.float32(rng.uniform(0.6, 1.0) if grow_steps else 1.0)
    ventricle = np.minimum(ventricle, tissue["brain"])
    atrophy = np.float32(rng.uniform(0.0, 0.45))
    near_csf = ndimage.uniform_filter(tissue["csf"], 3)
    shallow = 1.0 - ramp(tissue["depth"], 2.0, 6.0 + 4.0 * float(atrophy))
    loss = atrophy * tissue["gm"] * np.maximum(shallow, np.clip(2.0 * near_csf, 0.0, 1.0))
    gm = tissue["gm"] - loss
    csf = np.maximum(tissue["csf"] + loss, ventricle)
    parenchyma = gm + tissue["wm"]
    keep = np.clip(tissue["brain"] - csf, 0.0, None) / np.maximum(parenchyma, 1e-3)
    keep = np.minimum(keep, 1.0)
    tissue["gm"] = (gm * keep).astype(np.float32)
    tissue["wm"] = (tissue["wm"] * keep).astype(np.float32)
    tissue["csf"] = np.clip(tissue["brain"] - tissue["gm"] - tissue["wm"], 0, 1).astype(np.float32)
    tissue["ventricle"] = ventricle.astype(np.float32)
