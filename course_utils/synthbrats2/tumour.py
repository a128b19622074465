"""Tumour shape: where the foci sit, how big they are, and their lobulated cores.

A subject's tumour is one focus, or (one subject in five) two foci 55-90 mm apart, far
enough that their oedema stays apart (at 35-60 mm it merged in all but a few).
Each core is a union of 1-6 overlapping ellipsoids whose surface is pushed in and out by a
smooth random field (lobulation), so it is irregular rather than a ball. Volumes are exact:
the core is the ``n`` voxels of lowest shape score, ``n`` drawn from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..synth.template import Template
from .fields import blob, random_rotation, smooth_noise

__all__ = ["Focus", "Plan", "draw_plan", "locate", "tumour_box", "core_scores"]

KINDS = ("ring", "solid", "nonenhancing")


@dataclass(frozen=True)
class Focus:
    """One tumour focus: ``centre`` (subject voxel indices), ``core_mm3`` and its ellipsoids,
    each ``(offset_mm (3,), radii_mm (3,), rotation (3, 3))`` about the centre."""

    centre: np.ndarray
    core_mm3: float
    whole_mm3: float
    blobs: tuple


@dataclass(frozen=True)
class Plan:
    """What a subject's tumour will be: its foci, the kind of core (``"ring"``: enhancing
    rim around necrosis; ``"solid"``: enhancing and non-enhancing tumour, no necrosis;
    ``"nonenhancing"``: no enhancement at all, like a lower-grade glioma) and its lobulation
    (relative amplitude of the surface bumps)."""

    foci: tuple[Focus, ...]
    kind: str
    lobulation: float

    @property
    def whole_mm3(self) -> float:
        return float(sum(f.whole_mm3 for f in self.foci))


def locate(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The subject voxel (float64) whose template coordinate ``source`` is ``target``.

    Fixed-point iteration on the displacement ``source - identity``; three steps suffice for
    the smooth warps used here.
    """
    shape = np.array(source.shape[1:])
    point = np.array(target, dtype=np.float64)
    for _ in range(4):
        index = tuple(np.clip(np.rint(point).astype(int), 0, shape - 1))
        displacement = source[(slice(None), *index)].astype(np.float64) - np.array(index)
        point = np.clip(np.array(target, dtype=np.float64) - displacement, 0, shape - 1)
    return point


def draw_blobs(rng: np.random.Generator, radius_mm: float) -> tuple:
    """1-6 overlapping ellipsoids whose union has a radius of roughly ``radius_mm``."""
    count = int(min(1 + rng.poisson(2.0), 6))
    blobs = [(np.zeros(3), radius_mm * rng.uniform(0.75, 1.3, 3), random_rotation(rng))]
    for _ in range(count - 1):
        direction = rng.standard_normal(3)
        direction /= np.sqrt(np.sum(direction**2))
        offset = direction * radius_mm * rng.uniform(0.4, 1.0)
        radii = radius_mm * rng.uniform(0.3, 0.75) * rng.uniform(0.7, 1.4, 3)
        blobs.append((offset, radii, random_rotation(rng)))
    return tuple(blobs)


def draw_plan(
    rng: np.random.Generator, template: Template, source: np.ndarray, stratum: int | None = None
) -> Plan:
    """Draw the tumour: volumes (whole tumour log-normal, median 70 cm^3, 15-200 cm^3),
    core share 12-60 %, kind and focality.

    With ``stratum`` (0-9, from the subject's index in its cohort) the variety is a quota, so
    that any 10 consecutive subjects hold the same mix: stratum 0 has no enhancement (10 %),
    stratum 5 a solid core (10 %), strata 3 and 8 two foci (20 %). Without it, the same
    shares are random draws.
    """
    whole = float(np.clip(np.exp(rng.normal(np.log(70e3), 0.6)), 15e3, 200e3))
    core_share = rng.uniform(0.12, 0.6)
    kind = KINDS[int(np.searchsorted([0.8, 0.9], rng.uniform()))]
    multifocal = rng.uniform() < 0.2
    if stratum is not None:
        kind = {0: "nonenhancing", 5: "solid"}.get(stratum % 10, "ring")
        multifocal = stratum % 10 in (3, 8)
    sites = template.tumour_sites
    first = sites[rng.integers(len(sites))].astype(np.float64)
    centres, shares = [first], [1.0]
    if multifocal:
        distance_vox = np.sqrt(np.sum((sites - first) ** 2, axis=1)) * template.spacing_mm
        candidates = np.nonzero((distance_vox > 55.0) & (distance_vox < 90.0))[0]
        if len(candidates):
            centres.append(sites[candidates[rng.integers(len(candidates))]].astype(np.float64))
            second = rng.uniform(0.25, 0.45)
            shares = [1.0 - second, second]
    foci = []
    for centre, share in zip(centres, shares, strict=True):
        core_mm3 = whole * share * core_share
        radius = float((3 * core_mm3 / (4 * np.pi)) ** (1 / 3))
        foci.append(
            Focus(locate(source, centre), core_mm3, whole * share, draw_blobs(rng, radius))
        )
    return Plan(foci=tuple(foci), kind=kind, lobulation=float(rng.uniform(0.1, 0.3)))


def tumour_box(plan: Plan, shape, spacing_mm: float) -> tuple[slice, ...]:
    """The grid region the tumour and its oedema can reach (a box around all foci)."""
    low = np.full(3, np.inf)
    high = np.full(3, -np.inf)
    for focus in plan.foci:
        reach = (2.4 * (3 * focus.whole_mm3 / (4 * np.pi)) ** (1 / 3) + 10.0) / spacing_mm
        low = np.minimum(low, focus.centre - reach)
        high = np.maximum(high, focus.centre + reach)
    return tuple(
        slice(max(int(np.floor(lo)), 0), min(int(np.ceil(hi)) + 1, n))
        for lo, hi, n in zip(low, high, shape, strict=True)
    )


def core_scores(
    rng: np.random.Generator, plan: Plan, box: tuple[slice, ...], spacing_mm: float
) -> list[np.ndarray]:
    """Per focus, a float32 shape score in ``box``: below 1 inside the lobulated ellipsoids,
    smallest at the centre. The core is where the score is lowest (see `paint_core`)."""
    box_shape = tuple(b.stop - b.start for b in box)
    scores = []
    for focus in plan.foci:
        local = [focus.centre - np.array([b.start for b in box])]
        score = np.full(box_shape, np.inf, dtype=np.float32)
        for offset, radii, rotation in focus.blobs:
            centre = local[0] + offset / spacing_mm
            full_box = tuple(slice(0, n) for n in box_shape)
            score = np.minimum(score, blob(full_box, centre, radii, rotation, spacing_mm))
        bumps = np.clip(smooth_noise(rng, box_shape, rng.uniform(5.0, 10.0) / spacing_mm), -2, 2)
        scores.append((score / (1.0 + np.float32(plan.lobulation) * bumps)).astype(np.float32))
    return scores
