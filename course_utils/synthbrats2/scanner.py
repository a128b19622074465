"""Rendering the four contrasts, with each subject scanned its own way.

Tissue levels, the tumour's own levels, a contrast curve (a power law), the bias field's
strength, the noise level, and a thick-slice acquisition resampled to the grid (blur along
one axis) are drawn per subject and per contrast, so that after z-scoring one threshold still
cannot fit all subjects. Transcendental functions (``exp``, ``power``) run in float64 and the
result is rounded to int16 once, so a last-place difference between CPUs never shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..synth.contrasts import GENERATION_ORDER as MODALITIES  # the generator's order (its draws)

__all__ = ["LEVELS", "render"]

# Mean intensity of each tissue per contrast (columns t1, t1ce, t2, flair), relative to white
# matter on T1. Non-enhancing tumour is grey on T1, mildly bright on T2/FLAIR, not enhancing.
LEVELS = {
    "csf": (0.30, 0.30, 1.00, 0.12),
    "gm": (0.62, 0.64, 0.68, 0.72),
    "wm": (0.88, 0.88, 0.48, 0.55),
    "necrosis": (0.32, 0.34, 0.88, 0.55),
    "nonenhancing": (0.54, 0.59, 0.76, 0.85),
    "enhancing": (0.58, 1.30, 0.70, 0.82),
    "oedema": (0.60, 0.62, 0.82, 0.92),
    "vessel": (0.45, 1.35, 0.35, 0.40),
    "dura": (0.55, 1.25, 0.62, 0.70),
    "plexus": (0.58, 1.30, 0.80, 0.55),
    "flair_lesion": (0.66, 0.68, 0.78, 0.88),
    "cyst": (0.32, 0.32, 0.98, 0.16),
}
HEALTHY = ("csf", "gm", "wm")
CORE = ("necrosis", "nonenhancing", "enhancing")
MIMIC_KEYS = ("vessel", "dura", "plexus", "flair_lesion", "cyst")
DETAIL_WEIGHT = (1.0, 1.0, -0.6, -0.5)


def _bias_terms(shape, inside: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """The 19 monomials of degree 1-3 that `bias_log` combines (float64, one value per
    ``inside`` voxel) in the normalised coordinates, -1 to 1 along each axis. They depend only
    on the brain mask, so a subject computes them once for its four contrasts."""
    coordinates = [
        2.0 * index / max(n - 1, 1) - 1.0 for index, n in zip(inside, shape, strict=True)
    ]
    squares = [a * b for i, a in enumerate(coordinates) for b in coordinates[i:]]
    cubes = [a * a * a for a in coordinates]
    return coordinates + squares + cubes


def bias_log(rng: np.random.Generator, terms: list[np.ndarray]) -> np.ndarray:
    """A smooth log-bias at the brain's voxels (float64, max |value| = 1): a random
    polynomial of degree 3, one standard normal coefficient per term of `_bias_terms`."""
    field = np.zeros(len(terms[0]))
    scaled = np.empty_like(field)
    for coefficient, term in zip(rng.normal(0.0, 1.0, len(terms)), terms, strict=True):
        field += np.multiply(coefficient, term, out=scaled)
    return field / max(float(np.abs(field).max()), 1e-6)


@dataclass(frozen=True)
class _Brain:
    """The grid and its brain voxels: ``flat`` (C-order indices of the voxels where the brain
    membership exceeds 0.5), their `_bias_terms` and the voxel size in mm."""

    shape: tuple[int, ...]
    flat: np.ndarray
    terms: list[np.ndarray]
    spacing_mm: float

    def volume(self, values: np.ndarray, dtype) -> np.ndarray:
        """``values`` (one per brain voxel) in a volume of ``dtype``, zero elsewhere."""
        volume = np.zeros(self.shape, dtype=dtype)
        volume.reshape(-1)[self.flat] = values
        return volume


@dataclass(frozen=True)
class _Subject:
    """What a subject's four contrasts share: the healthy maps at the brain's voxels (float64,
    ``at``) and the template's anatomical detail there; the tumour's and each mimic's maps at
    the voxels where they are nonzero (``tumour``: indices into the brain's voxels and the
    maps there; ``mimics``: name -> (indices, membership)); and three draws: how strongly the
    tumour enhances, the shift of the necrosis level per contrast, and the thick-slice axis
    (``None``: thin slices).

    Blending a map whose membership is 0 leaves the signal as it was (``1.0 * x + 0.0``), so
    `_signal` blends each only where it is nonzero, with the bytes of blending everywhere."""

    at: dict[str, np.ndarray]
    detail: np.ndarray
    tumour: tuple[np.ndarray, dict[str, np.ndarray]]
    mimics: dict[str, tuple[np.ndarray, np.ndarray]]
    enhancement: float
    necrosis_shift: tuple[float, ...]
    thick_axis: int | None


def _prepare(rng: np.random.Generator, at: dict[str, np.ndarray]) -> _Subject:
    """The shared maps and the per-subject draws (enhancement, necrosis, thick slices)."""
    core = sum(at[key] for key in CORE)
    model_t1 = sum(at[name] * LEVELS[name][0] for name in HEALTHY)
    enhancement = rng.uniform(0.65, 1.25)
    # Necrosis varies most between tumours (fluid, debris, protein, blood): on T1 it ranges from
    # CSF-dark to almost iso-intense with oedema, so only the rim around it gives it away.
    necrosis_shift = (
        rng.uniform(0.8, 1.9),
        rng.uniform(0.8, 1.6),
        rng.uniform(0.75, 1.1),
        rng.uniform(0.6, 1.6),
    )
    thick = rng.uniform() < 0.4
    thick_axis = int(rng.integers(0, 3))
    tumour = np.flatnonzero((at["oedema"] != 0) | (core != 0))
    near = {key: at[key][tumour] for key in ("oedema", *CORE)}
    near["core"] = core[tumour]
    near["oedema_texture"] = 1.0 + 0.12 * at["texture_oedema"][tumour]
    near["core_texture"] = 1.0 + 0.1 * at["texture_core"][tumour]
    mimics = {}
    for name in MIMIC_KEYS:
        where = np.flatnonzero(at[name])
        mimics[name] = (where, at[name][where])
    return _Subject(
        at=at,
        detail=(at["t1"] - model_t1) * (1.0 - core),
        tumour=(tumour, near),
        mimics=mimics,
        enhancement=enhancement,
        necrosis_shift=necrosis_shift,
        thick_axis=thick_axis if thick else None,
    )


def _levels(rng: np.random.Generator, index: int, subject: _Subject) -> dict[str, float]:
    """Each tissue's mean intensity in contrast ``index`` (of `MODALITIES`), jittered +-12 %."""
    jitter = {name: rng.uniform(0.88, 1.12) for name in LEVELS}
    level = {name: values[index] * jitter[name] for name, values in LEVELS.items()}
    level["necrosis"] *= subject.necrosis_shift[index]
    if MODALITIES[index] == "t1ce":
        base = level["wm"]
        for name in ("enhancing", "vessel", "dura", "plexus"):
            level[name] = base + (level[name] - base) * subject.enhancement
    return level


def _signal(subject: _Subject, level: dict[str, float], index: int) -> np.ndarray:
    """The noise-free, unbiased signal at the brain's voxels (float64): healthy tissue with the
    template's detail, then oedema, the core and the mimics blended over it."""
    at = subject.at
    x = sum(at[name] * level[name] for name in HEALTHY) + DETAIL_WEIGHT[index] * subject.detail
    where, near = subject.tumour
    y = x[where]
    infiltrated = 0.85 * near["oedema"]
    y = (1.0 - infiltrated) * y + infiltrated * level["oedema"] * near["oedema_texture"]
    core_level = dict(level)
    if MODALITIES[index] == "t1ce":  # patchy enhancement: +-15 % within the enhancing tumour
        patchy = 1.0 + 0.15 * (near["core_texture"] - 1.0) / 0.1
        core_level["enhancing"] = level["enhancing"] * patchy
    core = sum(near[name] * core_level[name] for name in CORE)
    x[where] = (1.0 - near["core"]) * y + near["core_texture"] * core
    for name in MIMIC_KEYS:
        where, membership = subject.mimics[name]
        x[where] = (1.0 - membership) * x[where] + membership * level[name]
    return x


def _scan(
    rng: np.random.Generator, x: np.ndarray, wm_level: float, brain: _Brain, thick_axis
) -> tuple[np.ndarray, dict[str, float]]:
    """Acquire the signal ``x`` (float64, one value per brain voxel): the contrast curve, the
    bias field, a thick slice along ``thick_axis`` (``None``: thin), Rician noise and a gain.
    Returns the int16 volume and the draws (``gamma``, ``bias``, ``thick_slice_mm``,
    ``noise``), rounded for the facts file."""
    gamma = rng.uniform(0.8, 1.25)
    x = np.power(np.maximum(x, 0.0) / wm_level, gamma) * wm_level
    bias = rng.uniform(0.1, 0.45)
    x = x * np.exp(bias * bias_log(rng, brain.terms))
    slice_mm = rng.uniform(3.0, 6.0) if thick_axis is not None else 0.0
    if slice_mm > brain.spacing_mm:  # a slice no thicker than the voxel leaves nothing to blur
        spacing_mm = brain.spacing_mm
        sigma = np.sqrt(max(slice_mm**2 - spacing_mm**2, 0.0)) / 2.3548 / spacing_mm
        blurred = ndimage.gaussian_filter1d(brain.volume(x, np.float64), sigma, axis=thick_axis)
        x = np.take(blurred, brain.flat)
    relative_noise = rng.uniform(0.015, 0.06)
    sigma = relative_noise * wm_level
    noisy = np.hypot(
        x + sigma * rng.standard_normal(x.shape), sigma * rng.standard_normal(x.shape)
    )
    gain = rng.uniform(500.0, 2000.0)
    values = brain.volume(np.clip(np.rint(noisy * gain), 0, np.iinfo(np.int16).max), np.int16)
    draws = {
        "thick_slice_mm": round(float(slice_mm), 2),
        "noise": round(float(relative_noise), 4),
        "bias": round(float(bias), 3),
        "gamma": round(float(gamma), 3),
    }
    return values, draws


def render(
    rng: np.random.Generator,
    tissue: dict[str, np.ndarray],
    parts: dict[str, np.ndarray],
    spacing_mm: float,
) -> tuple[dict[str, np.ndarray], dict]:
    """The four contrasts (int16 ``(X, Y, Z)``, zero outside the brain) and the scanner draws.

    ``tissue`` holds ``csf``, ``gm``, ``wm``, ``brain``, ``t1`` (template T1 for anatomical
    detail); ``parts`` the memberships ``oedema`` (visible signal), ``necrosis``,
    ``nonenhancing``, ``enhancing`` and the mimics, all float32 fractions, and the textures
    ``texture_oedema``, ``texture_core`` (float32, unit-variance fields, zero where unused).
    The work runs on the brain's voxels only (float64), in the steps `_prepare` (what the
    contrasts share), `_levels`, `_signal` and `_scan` (per contrast).
    """
    shape = tissue["brain"].shape
    inside = np.nonzero(tissue["brain"] > 0.5)
    brain = _Brain(
        shape, np.ravel_multi_index(inside, shape), _bias_terms(shape, inside), spacing_mm
    )
    maps = {**tissue, **parts}
    keys = ("csf", "gm", "wm", "t1", *parts)
    subject = _prepare(
        rng, {key: np.take(maps[key], brain.flat).astype(np.float64) for key in keys}
    )
    draws = {"thick_slice_mm": {}, "noise": {}, "bias": {}, "gamma": {}}
    images = {}
    for index, modality in enumerate(MODALITIES):
        level = _levels(rng, index, subject)
        thick_axis = subject.thick_axis if modality in ("t2", "flair") else None
        images[modality], scan = _scan(
            rng, _signal(subject, level, index), level["wm"], brain, thick_axis
        )
        for key, value in scan.items():
            draws[key][modality] = value
    return images, draws
