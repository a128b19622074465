"""One SynthBraTS 2 subject from a seed, and cohorts written in the BraTS 2021 layout.

The order of the steps (and of the random draws) is fixed: anatomy, tumour plan, mass
effect, warp, ventricles and atrophy, core, enhancement, oedema, raters, mimics, scanner.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from .. import files
from ..heap import release_free_memory
from ..synth.cohort import nifti_gz_bytes, subject_id
from ..synth.contrasts import GENERATION_ORDER as MODALITIES  # the generator's order (its draws)
from ..synth.subject import to_nifti
from ..synth.template import load_template
from . import anatomy, core, oedema, raters, scanner, tumour
from .fields import smooth_noise
from .mimics import MIMICS, draw_mimics

__all__ = [
    "VERSION",
    "TRUTH_NAME",
    "simulate",
    "make_subject",
    "make_cohort",
    "subject_files",
]

#: The generator version a cohort made by this subpackage records.
VERSION = "2.0"
#: Per-subject facts only the generator knows (kind of core, necrosis, foci), at the root.
TRUTH_NAME = "synthbrats2_truth.json"
#: Keys of `make_subject`'s result, in file order (BraTS 2021 file names, plus rater 2).
KEYS = (*MODALITIES, "seg", "seg_rater2")


def place_in(shape, box, values, fill=0) -> np.ndarray:
    """``values`` (box-shaped) placed in a full array of ``shape`` filled with ``fill``."""
    full = np.full(shape, fill, dtype=values.dtype)
    full[box] = values
    return full


def stratum_of(seed: int | Sequence[int]) -> int | None:
    """The subject's variety stratum (0-9) when ``seed`` is ``(cohort_seed, index)``."""
    if isinstance(seed, int | np.integer) or len(seed) != 2:
        return None
    cohort_seed, index = (int(value) for value in seed)
    return (index + 3 * cohort_seed) % 10


def build_tumour(rng, template, source, stratum):
    """Plan the tumour and apply its mass effect to ``source`` (in place)."""
    plan = tumour.draw_plan(rng, template, source, stratum)
    for focus in plan.foci:
        pushed_mm3 = focus.core_mm3 + 0.3 * (focus.whole_mm3 - focus.core_mm3)
        push_mm = float((3 * pushed_mm3 / (4 * np.pi)) ** (1 / 3))
        anatomy.push_away(source, focus.centre, push_mm, template.spacing_mm)
    return plan


@dataclass(frozen=True)
class _Tumour:
    """The tumour on its ``box`` of the grid: the soft memberships ``parts`` (float32:
    ``necrosis``, ``nonenhancing``, ``enhancing``, ``oedema``), the ``necrosis`` mask, the
    labels without rater noise (``exact``) and the two raters' (``rated``), uint8 0/1/2/4."""

    box: tuple[slice, ...]
    parts: dict[str, np.ndarray]
    necrosis: np.ndarray
    exact: np.ndarray
    rated: list[np.ndarray]


def _draw_tumour(rng: np.random.Generator, plan, tissue: dict, s: float) -> _Tumour:
    """Core, enhancement, oedema and the raters' labels on the tumour's box (`_Tumour`)."""
    box = tumour.tumour_box(plan, tissue["brain"].shape, s)
    local = {key: tissue[key][box] for key in ("brain", "csf", "gm", "wm", "ventricle")}
    brain = local["brain"] > 0.5
    core_level = core.select_core(
        plan, tumour.core_scores(rng, plan, box, s), brain & (local["ventricle"] < 0.5), s
    )
    in_core = core_level <= 1.0
    enhancing, necrosis, parts = core.paint_core(rng, plan, in_core, s)
    concentration = oedema.spread(rng, in_core, local["wm"], local["gm"], local["csf"], s)
    allowed = brain & ((local["csf"] < 0.6) | in_core)
    oedema_voxels = round(plan.whole_mm3 / s**3) - int(in_core.sum())
    level = oedema.oedema_label_level(concentration, allowed & ~in_core, oedema_voxels)
    core_membership = parts["necrosis"] + parts["nonenhancing"] + parts["enhancing"]
    visible = oedema.visible_oedema(rng, concentration, level)
    parts["oedema"] = (visible * (1.0 - local["csf"]) * (1.0 - core_membership)).astype(np.float32)
    fields = raters.TumourFields(concentration, level, core_level, parts["enhancing"], allowed)
    exact = raters.draw_rater(rng, fields, s, exact=True)
    rated = [raters.draw_rater(rng, fields, s) for _ in range(2)]
    return _Tumour(box, parts, necrosis, exact, rated)


def _facts(plan, seg_exact: np.ndarray, necrosis: np.ndarray, draws: dict, s: float) -> dict:
    """The subject's facts (JSON-able): kind, foci, volumes in cm^3, scanner draws."""
    voxel_cm3 = s**3 / 1000.0
    return {
        "kind": plan.kind,
        "foci": len(plan.foci),
        "has_enhancing": bool(np.any(seg_exact == 4)),
        "has_necrosis": bool(necrosis.sum() * voxel_cm3 >= 0.5),
        "whole_cm3": round(float(np.sum(seg_exact > 0) * voxel_cm3), 2),
        "necrosis_cm3": round(float(necrosis.sum() * voxel_cm3), 2),
        "scanner": draws,
    }


def simulate(seed: int | Sequence[int], spacing_mm: float = 2.0):
    """The arrays of one subject and the truth behind them.

    Returns ``(arrays, truth)``. ``arrays``: ``t1``, ``t1ce``, ``t2``, ``flair`` (int16),
    ``seg`` (rater 1) and ``seg_rater2`` (uint8, labels 0/1/2/4), all ``(X, Y, Z)``
    (98 x 116 x 94 at 2 mm, axes R-A-S). ``truth``: float32 maps ``csf``, ``gm``, ``wm``,
    ``brain``, ``oedema`` (visible signal), ``necrosis``, ``nonenhancing``, ``enhancing``,
    the mimic maps (`MIMICS`) and ``mimic`` (their maximum); ``seg_exact`` (uint8, the labels
    without rater noise); ``facts`` (a JSON-able dict: kind, foci, volumes, scanner draws).
    """
    release_free_memory()  # make room: a subject's temporaries are ~0.2 GB at 2 mm
    s = float(spacing_mm)
    rng = np.random.default_rng(seed)
    template = load_template(s)
    source = anatomy.anatomy_source(rng, template)
    plan = build_tumour(rng, template, source, stratum_of(seed))
    tissue = anatomy.warp_anatomy(template, source)
    anatomy.vary_tissue(rng, tissue, s)
    shape = tissue["brain"].shape

    lesion = _draw_tumour(rng, plan, tissue, s)
    box, parts, (rated_1, rated_2) = lesion.box, lesion.parts, lesion.rated
    labelled = (lesion.exact > 0) | (rated_1 > 0) | (rated_2 > 0) | (parts["oedema"] > 0.05)
    keep_clear = place_in(shape, box, ndimage.binary_dilation(labelled, iterations=3))
    mimics = draw_mimics(rng, tissue, keep_clear, s)
    mimic = np.maximum.reduce([mimics[key] for key in MIMICS])
    box_shape = lesion.exact.shape
    parts["texture_oedema"] = smooth_noise(rng, box_shape, 5.0 / s)
    parts["texture_core"] = smooth_noise(rng, box_shape, 4.0 / s)
    full_parts = {key: place_in(shape, box, values) for key, values in parts.items()}
    images, draws = scanner.render(rng, tissue, {**full_parts, **mimics}, s)

    arrays = dict(images)
    outside = (tissue["brain"] <= 0.5) | (mimic > 0.05)
    for key, labels in (("seg", rated_1), ("seg_rater2", rated_2), ("seg_exact", lesion.exact)):
        full = place_in(shape, box, labels)
        full[outside] = 0
        arrays[key] = full
    seg_exact = arrays.pop("seg_exact")
    truth = {key: tissue[key] for key in ("csf", "gm", "wm", "brain")}
    truth.update({k: v for k, v in full_parts.items() if not k.startswith("texture")})
    truth.update(mimics)
    truth.update(mimic=mimic, seg_exact=seg_exact)
    truth["facts"] = _facts(plan, seg_exact, lesion.necrosis, draws, s)
    release_free_memory()  # the simulation's temporaries: back to the system (`heap`)
    return arrays, truth


def make_subject(seed: int | Sequence[int], spacing_mm: float = 2.0) -> dict[str, nib.Nifti1Image]:
    """One SynthBraTS 2 subject as NIfTI images (keys: `KEYS`), RAS+ affine in mm.

    Same seed, same bytes, on any CPU. See `simulate` for what each array holds.
    """
    arrays, _ = simulate(seed, spacing_mm)
    affine = load_template(spacing_mm).affine
    return {key: to_nifti(arrays[key], affine) for key in KEYS}


def subject_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Paths of one subject's files: the BraTS 2021 five plus ``<ID>_seg_rater2.nii.gz``."""
    folder = Path(folder)
    return {key: folder / f"{folder.name}_{key}.nii.gz" for key in KEYS}


def make_cohort(
    root: str | os.PathLike[str],
    n_subjects: int,
    seed: int = 0,
    spacing_mm: float = 2.0,
    *,
    progress: bool = False,
) -> list[Path]:
    """Write ``n_subjects`` SynthBraTS 2 subjects under ``root`` (atomically, file by file),
    plus `TRUTH_NAME` with each subject's ``facts``. Returns the subject folders in order.
    ``progress`` shows a progress bar."""
    from ..synth.cohort import progress_bar

    root = Path(root)
    folders, facts = [], {}
    for index in progress_bar(range(n_subjects), progress):
        folder = root / subject_id(seed, index)
        arrays, truth = simulate((seed, index), spacing_mm)
        affine = load_template(spacing_mm).affine
        for key, path in subject_files(folder).items():
            files.atomic_write_bytes(path, nifti_gz_bytes(to_nifti(arrays[key], affine)))
        facts[folder.name] = truth["facts"]
        folders.append(folder)
    record = {
        "generator": "SynthBraTS",
        "version": VERSION,
        "seed": seed,
        "spacing_mm": float(spacing_mm),
        "subjects": facts,
    }
    files.atomic_write_text(root / TRUTH_NAME, json.dumps(record, indent=1))
    return folders
