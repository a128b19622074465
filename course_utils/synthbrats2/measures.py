"""Image and shape statistics of a cohort that say how real it looks (``REALISM.md``).

All are computed from the files alone (z-scored images and the rater-1 labels), so they can
be compared with the same numbers on real BraTS. Healthy tissue classes are approximated from
the T1 of tissue away from the tumour: "white-matter-like" is above the 70th percentile of
healthy T1, "grey-matter-like" between the 30th and 55th.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, spatial

__all__ = ["bhattacharyya", "edge_width", "shape_measures", "image_measures"]

BINS = np.linspace(-5.0, 8.0, 131)


def bhattacharyya(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya coefficient of two samples' histograms (z units, 0.1 bins): 0 = no
    overlap, 1 = the same distribution. Empty sample: NaN."""
    if a.size == 0 or b.size == 0:
        return float("nan")
    p = np.histogram(np.clip(a, BINS[0], BINS[-1]), BINS)[0] / a.size
    q = np.histogram(np.clip(b, BINS[0], BINS[-1]), BINS)[0] / b.size
    return float(np.sum(np.sqrt(p * q)))


def signed_distance(mask: np.ndarray, spacing_mm: float) -> np.ndarray:
    """mm to the mask's boundary, positive inside (float32)."""
    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    return ((inside - outside) * spacing_mm).astype(np.float32)


def edge_width(values, distance, valid, outside_mm, inside_mm, spacing_mm) -> float:
    """10-90 % rise distance (mm) of the mean profile of ``values`` across a boundary.

    ``distance`` is the signed distance (mm, positive inside); the plateaux are the mean
    values at distances within ``outside_mm`` and ``inside_mm`` (``(near, far)`` pairs).
    NaN when the two plateaux do not differ.
    """
    centres = np.arange(outside_mm[0], inside_mm[1] + 1e-6, spacing_mm / 2)
    profile = []
    for c in centres:
        band = valid & (np.abs(distance - c) <= spacing_mm / 2)
        profile.append(values[band].mean() if band.any() else np.nan)
    profile = np.array(profile)
    low = np.nanmean(profile[(centres >= outside_mm[0]) & (centres <= outside_mm[1])])
    high = np.nanmean(profile[(centres >= inside_mm[0]) & (centres <= inside_mm[1])])
    if not np.isfinite(low) or not np.isfinite(high) or high - low < 0.2:
        return float("nan")
    fraction = (profile - low) / (high - low)
    crossings = []
    for level in (0.1, 0.9):
        above = np.nonzero(fraction >= level)[0]
        if len(above) == 0 or above[0] == 0:
            return float("nan")
        i = above[0]
        t = (level - fraction[i - 1]) / (fraction[i] - fraction[i - 1])
        crossings.append(centres[i - 1] + t * (centres[i] - centres[i - 1]))
    return float(crossings[1] - crossings[0])


def solidity(mask: np.ndarray) -> float:
    """Voxels of ``mask`` over voxels inside its convex hull (NaN below 20 voxels)."""
    points = np.argwhere(mask)
    if len(points) < 20:
        return float("nan")
    try:
        hull = spatial.Delaunay(points[spatial.ConvexHull(points).vertices])
    except spatial.QhullError:
        return float("nan")
    low, high = points.min(0), points.max(0) + 1
    grid = np.stack(
        np.meshgrid(*[np.arange(a, b) for a, b in zip(low, high, strict=True)], indexing="ij"), -1
    )
    inside = hull.find_simplex(grid.reshape(-1, 3)) >= 0
    return float(len(points) / max(int(inside.sum()), len(points)))


def ball(radius_vox: int) -> np.ndarray:
    r = np.arange(-radius_vox, radius_vox + 1)
    return (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= radius_vox**2


def shape_measures(subjects) -> dict[str, float]:
    """Core solidity, rim completeness and thickness variation, and oedema "fingers"."""
    solid, complete, thickness_cv, fingers = [], [], [], []
    for s in subjects:
        core = np.isin(s.seg, (1, 4))
        enhancing = s.seg == 4
        whole = s.seg > 0
        solid.append(solidity(core))
        if enhancing.sum() >= 20:
            surface = core & ~ndimage.binary_erosion(core)
            complete.append(float(enhancing[surface].mean()))
            depth = ndimage.distance_transform_edt(enhancing) * s.spacing_mm
            ridge = enhancing & (depth >= ndimage.maximum_filter(depth, 3))
            values = 2.0 * depth[ridge]
            if values.size >= 10:
                thickness_cv.append(float(values.std() / values.mean()))
        radius = max(int(round(4.0 / s.spacing_mm)), 1)
        opened = ndimage.binary_opening(whole, structure=ball(radius))
        fingers.append(float(1.0 - opened.sum() / max(whole.sum(), 1)))
    return {
        "core_solidity_median": float(np.nanmedian(solid)),
        "rim_completeness_median": float(np.median(complete)) if complete else float("nan"),
        "rim_thickness_cv_median": float(np.median(thickness_cv))
        if thickness_cv
        else float("nan"),
        "fingers_volume_lost_to_4mm_opening_median": float(np.median(fingers)),
    }


def tissue_classes(s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(healthy, wm_like, gm_like)`` boolean masks of a subject (see the module doc)."""
    tumour = ndimage.binary_dilation(s.seg > 0, iterations=2)
    healthy = s.brain & ~tumour
    t1 = s.z[1]
    p30, p55, p70 = np.percentile(t1[healthy], [30, 55, 70])
    return healthy, healthy & (t1 > p70), healthy & (t1 > p30) & (t1 < p55)


def subject_image_measures(s) -> dict[str, float]:
    flair, t1, t1ce, t2 = s.z
    healthy, wm, gm = tissue_classes(s)
    oedema, enhancing, whole = s.seg == 2, s.seg == 4, s.seg > 0
    out = {
        "bc_oedema_wm_flair": bhattacharyya(flair[oedema], flair[wm]),
        "bc_oedema_gm_flair": bhattacharyya(flair[oedema], flair[gm]),
        "bc_oedema_gm_t2": bhattacharyya(t2[oedema], t2[gm]),
        "bc_et_healthy_t1ce": bhattacharyya(t1ce[enhancing], t1ce[healthy]),
        "oedema_flair_mean": float(flair[oedema].mean()) if oedema.any() else np.nan,
        "oedema_flair_sd": float(flair[oedema].std()) if oedema.any() else np.nan,
        "et_t1ce_mean": float(t1ce[enhancing].mean()) if enhancing.any() else np.nan,
    }
    near_tumour = ndimage.binary_dilation(whole, iterations=1)
    for name, image, label in (("flair", flair, oedema), ("t1ce", t1ce, enhancing)):
        if label.any():
            bright = s.brain & (image > np.median(image[label]))
            out[f"mimic_share_{name}"] = float(
                (bright & ~near_tumour).sum() / max(bright.sum(), 1)
            )
        else:
            out[f"mimic_share_{name}"] = np.nan
    sd = signed_distance(whole, s.spacing_mm)
    out["edge_width_tumour_flair_mm"] = edge_width(
        flair, sd, s.brain, (-12, -8), (6, 12), s.spacing_mm
    )
    deep = ndimage.distance_transform_edt(s.brain) * s.spacing_mm > 6.0
    smooth_t1 = ndimage.gaussian_filter(t1, 1.0)
    gw_mask = smooth_t1 > 0.5 * (np.median(t1[wm]) + np.median(t1[gm]))
    sd_gw = signed_distance(gw_mask & s.brain, s.spacing_mm)
    out["edge_width_gm_wm_t1_mm"] = edge_width(
        t1, sd_gw, healthy & deep, (-4, -2), (3, 6), s.spacing_mm
    )
    raw = s.raw["t1"].astype(np.float64)
    core_wm = ndimage.binary_erosion(wm, iterations=1)
    weight = ndimage.gaussian_filter(core_wm.astype(np.float64), 3.0)
    smooth = ndimage.gaussian_filter(raw * core_wm, 3.0) / np.maximum(weight, 1e-6)
    p5, p95 = np.percentile(smooth[core_wm & (weight > 0.2)], [5, 95])
    out["bias_wm_p95_over_p5_t1"] = float(p95 / max(p5, 1e-6))
    kernel = np.zeros((3, 3, 3))
    kernel[1, 1, :] = kernel[1, :, 1] = kernel[:, 1, 1] = -1.0 / 6.0
    kernel[1, 1, 1] = 1.0
    residual = ndimage.convolve(raw, kernel)[core_wm]
    noise = residual.std() * np.sqrt(6.0 / 7.0)
    out["snr_t1"] = float(raw[core_wm].mean() / max(noise, 1e-6))
    return out


def image_measures(subjects) -> dict[str, float]:
    """Cohort summaries of `subject_image_measures`: means, and spreads between subjects."""
    rows = [subject_image_measures(s) for s in subjects]
    column = {key: np.array([r[key] for r in rows], dtype=np.float64) for key in rows[0]}
    out = {}
    for key in (
        "bc_oedema_wm_flair",
        "bc_oedema_gm_flair",
        "bc_oedema_gm_t2",
        "bc_et_healthy_t1ce",
    ):
        out[f"{key}_mean"] = float(np.nanmean(column[key]))
    out["oedema_flair_sd_within_mean"] = float(np.nanmean(column["oedema_flair_sd"]))
    out["oedema_flair_mean_sd_between"] = float(np.nanstd(column["oedema_flair_mean"]))
    out["et_t1ce_mean_sd_between"] = float(np.nanstd(column["et_t1ce_mean"]))
    out["mimic_share_flair_mean"] = float(np.nanmean(column["mimic_share_flair"]))
    out["mimic_share_t1ce_mean"] = float(np.nanmean(column["mimic_share_t1ce"]))
    tumour = np.nanmedian(column["edge_width_tumour_flair_mm"])
    grey_white = np.nanmedian(column["edge_width_gm_wm_t1_mm"])
    out["edge_width_tumour_flair_mm_median"] = float(tumour)
    out["edge_width_gm_wm_t1_mm_median"] = float(grey_white)
    out["edge_width_ratio_tumour_over_gm_wm"] = float(tumour / grey_white)
    for key in ("bias_wm_p95_over_p5_t1", "snr_t1"):
        out[f"{key}_min"] = float(np.nanmin(column[key]))
        out[f"{key}_median"] = float(np.nanmedian(column[key]))
        out[f"{key}_max"] = float(np.nanmax(column[key]))
    return out
