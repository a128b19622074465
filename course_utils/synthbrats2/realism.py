"""How hard is a cohort to segment? Trivial baselines, variety and image statistics.

`realism_report` reads a BraTS 2021 layout folder (SynthBraTS 1 or 2, or real BraTS) and
measures only what the files show, so the same check runs on real data: the measures and
their bars are those of the issue "SynthBraTS 2" and of the expert review it links
(``REALISM.md``). Only "without necrosis" needs the generator's own truth
(``synthbrats2_truth.json``); without it the share of subjects with no label 1 is shown.

Baselines are fitted on the first half of the subjects (sorted by name) and scored on the
second half: a FLAIR z-score threshold keeping the largest connected component (WT), and a
4-class logistic regression (background, necrosis / non-enhancing, oedema, enhancing) on the
4 z-scored intensities, and again with their 3x3x3 means added. Needs scikit-learn (a test
and benchmark dependency, not a course one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from .. import brats
from ..baselines import largest_component
from ..lesionwise import LESION_CONNECTIVITY
from ..metrics import dice_score
from ..synth.contrasts import GENERATION_ORDER as MODALITIES  # the generator's order (its draws)
from .cohort import TRUTH_NAME
from .measures import image_measures, shape_measures

__all__ = [
    "Target",
    "TARGETS",
    "load_cohort",
    "subject_from_arrays",
    "baselines",
    "realism_report",
]

#: Tensor order of the features (FLAIR, T1, T1ce, T2), whatever the file order.
FEATURE_ORDER = brats.MODALITIES  # the course's tensor order
REGIONS = brats.BRATS_2021.regions  # BraTS 2021 label values of WT, TC, ET


@dataclass(frozen=True)
class Target:
    """A bar from the issue: ``low <= value <= high`` (either side may be None)."""

    key: str
    text: str
    low: float | None
    high: float | None

    def met(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (
            self.high is None or value <= self.high
        )

    def bar(self) -> str:
        if self.low is None:
            return f"<= {self.high:g}"
        if self.high is None:
            return f">= {self.low:g}"
        return f"{self.low:g} - {self.high:g}"


TARGETS = (
    Target("flair_threshold_WT", "FLAIR threshold + largest component, WT Dice", None, 0.75),
    Target("logreg_WT", "logistic regression, 4 intensities, WT Dice", None, 0.80),
    Target("logreg_TC", "logistic regression, 4 intensities, TC Dice", None, 0.70),
    Target("logreg_ET", "logistic regression, 4 intensities, ET Dice", None, 0.70),
    Target("logreg_means_WT", "logistic regression + 3x3x3 means, WT Dice", None, 0.80),
    Target("logreg_means_TC", "logistic regression + 3x3x3 means, TC Dice", None, 0.70),
    Target("logreg_means_ET", "logistic regression + 3x3x3 means, ET Dice", None, 0.70),
    Target("share_without_ET", "share of subjects without ET", 0.05, 0.15),
    Target("share_without_necrosis", "share of subjects without necrosis", 0.10, None),
    Target("share_multifocal", "share multifocal (>= 2 components >= 1 cm^3)", 0.05, None),
    Target("wt_volume_min_cm3", "smallest WT volume (cm^3)", 10.0, None),
    Target("wt_volume_max_cm3", "largest WT volume (cm^3)", None, 250.0),
    Target("wt_volume_median_cm3", "median WT volume (cm^3)", 40.0, 120.0),
    Target("inter_rater_WT", "inter-rater Dice WT (cohort mean)", 0.80, 0.92),
)


@dataclass
class Subject:
    """One subject in memory: z-scored images ``(4, X, Y, Z)`` float32 in `FEATURE_ORDER`,
    ``brain`` (bool), ``seg`` and ``rater2`` (uint8 or None), voxel size (mm) and ``raw``
    (``{"t1": int16 array}``: the unnormalised T1, for bias and SNR)."""

    name: str
    z: np.ndarray
    brain: np.ndarray
    seg: np.ndarray
    rater2: np.ndarray | None
    spacing_mm: float
    raw: dict


def zscore(image: np.ndarray, brain: np.ndarray) -> np.ndarray:
    values = image[brain].astype(np.float64)
    out = np.zeros(image.shape, dtype=np.float32)
    out[brain] = (values - values.mean()) / max(values.std(), 1e-6)
    return out


def load_cohort(root: str | os.PathLike[str]) -> list[Subject]:
    """Every subject folder under ``root`` holding the four images and a seg."""
    subjects = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        path = {
            key: folder / f"{folder.name}_{key}.nii.gz"
            for key in (*MODALITIES, "seg", "seg_rater2")
        }
        if not all(path[key].is_file() for key in (*MODALITIES, "seg")):
            continue
        arrays = {key: np.asarray(nib.load(path[key]).dataobj) for key in (*MODALITIES, "seg")}
        if path["seg_rater2"].is_file():
            arrays["seg_rater2"] = np.asarray(nib.load(path["seg_rater2"]).dataobj)
        affine = nib.load(path["seg"]).affine
        spacing = float(np.cbrt(abs(np.linalg.det(affine[:3, :3]))))
        subjects.append(subject_from_arrays(folder.name, arrays, spacing))
    return subjects


def subject_from_arrays(name: str, arrays: dict[str, np.ndarray], spacing_mm: float) -> Subject:
    """A `Subject` from ``t1``, ``t1ce``, ``t2``, ``flair``, ``seg`` (and optionally
    ``seg_rater2``) arrays of one ``(X, Y, Z)`` grid; the brain is where any image is > 0."""
    brain = np.any([arrays[key] > 0 for key in MODALITIES], axis=0)
    z = np.stack([zscore(arrays[key], brain) for key in FEATURE_ORDER])
    seg = np.asarray(arrays["seg"]).astype(np.uint8)
    rater2 = arrays.get("seg_rater2")
    return Subject(name, z, brain, seg, rater2, float(spacing_mm), {"t1": arrays["t1"]})


def region(seg: np.ndarray, name: str) -> np.ndarray:
    return np.isin(seg, REGIONS[name])


def flair_threshold(fit: list[Subject], score: list[Subject]) -> tuple[float, float]:
    """The FLAIR z threshold with the best mean WT Dice on ``fit`` (largest component kept),
    and its mean WT Dice on ``score``."""

    def mean_dice(subjects, threshold):
        return float(
            np.mean(
                [
                    dice_score(largest_component(s.z[0] > threshold), region(s.seg, "WT"))
                    for s in subjects
                ]
            )
        )

    coarse = np.arange(0.0, 4.01, 0.25)
    best = max(coarse, key=lambda t: mean_dice(fit, t))
    fine = np.arange(best - 0.2, best + 0.21, 0.1)
    best = float(max(fine, key=lambda t: mean_dice(fit, t)))
    return best, mean_dice(score, best)


def features(subject: Subject, with_means: bool) -> np.ndarray:
    """``(n_brain_voxels, 4 or 8)`` float32: z-scored intensities (and their 3x3x3 means)."""
    columns = [subject.z[c][subject.brain] for c in range(4)]
    if with_means:
        columns += [ndimage.uniform_filter(subject.z[c], 3)[subject.brain] for c in range(4)]
    return np.stack(columns, axis=1)


def classes(seg: np.ndarray) -> np.ndarray:
    """BraTS labels 0/1/2/4 -> classes 0..3 (background, necrosis/NET, oedema, enhancing)."""
    from ..datasets import brats_to_classes

    return brats_to_classes(seg)


def logistic_regression(fit, score, with_means: bool, max_samples: int = 300_000) -> dict:
    """Mean Dice per region on ``score`` of a per-voxel 4-class logistic regression."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = np.concatenate([features(s, with_means) for s in fit])
    y = np.concatenate([classes(s.seg[s.brain]) for s in fit])
    if len(y) > max_samples:
        keep = rng.choice(len(y), max_samples, replace=False)
        x, y = x[keep], y[keep]
    model = LogisticRegression(max_iter=500).fit(x, y)
    dice = {name: [] for name in REGIONS}
    for s in score:
        predicted = np.zeros(s.seg.shape, dtype=np.uint8)
        predicted[s.brain] = np.array(brats.CLASS_LABELS, dtype=np.uint8)[
            model.predict(features(s, with_means))
        ]
        for name in REGIONS:
            dice[name].append(dice_score(region(predicted, name), region(s.seg, name)))
    return {name: float(np.mean(values)) for name, values in dice.items()}


def baselines(subjects: list[Subject]) -> dict[str, float]:
    """The trivial baselines' mean Dice on the second half, fitted on the first half."""
    half = len(subjects) // 2
    fit, score = subjects[:half], subjects[half:]
    threshold, wt = flair_threshold(fit, score)
    result = {"flair_threshold_z": threshold, "flair_threshold_WT": wt}
    for prefix, with_means in (("logreg", False), ("logreg_means", True)):
        for name, value in logistic_regression(fit, score, with_means).items():
            result[f"{prefix}_{name}"] = value
    return result


def variety(subjects: list[Subject], truth: dict | None) -> dict[str, float]:
    """Shares without ET / necrosis, multifocality, WT volumes and inter-rater Dice."""
    volumes, multifocal, no_et, no_label1, rater = [], [], [], [], {n: [] for n in REGIONS}
    for s in subjects:
        voxel_cm3 = s.spacing_mm**3 / 1000.0
        wt = region(s.seg, "WT")
        volumes.append(wt.sum() * voxel_cm3)
        labels, count = ndimage.label(wt, LESION_CONNECTIVITY)
        sizes = np.bincount(labels.ravel())[1:] * voxel_cm3
        multifocal.append(int(np.sum(sizes >= 1.0)) >= 2)
        no_et.append(not np.any(s.seg == 4))
        no_label1.append(not np.any(s.seg == 1))
        if s.rater2 is not None:
            for name in REGIONS:
                rater[name].append(dice_score(region(s.seg, name), region(s.rater2, name)))
    if truth is not None:
        facts = [truth["subjects"][s.name] for s in subjects if s.name in truth["subjects"]]
        no_necrosis = float(np.mean([not f["has_necrosis"] for f in facts]))
    else:
        no_necrosis = float(np.mean(no_label1))
    result = {
        "share_without_ET": float(np.mean(no_et)),
        "share_without_necrosis": no_necrosis,
        "share_multifocal": float(np.mean(multifocal)),
        "wt_volume_min_cm3": float(np.min(volumes)),
        "wt_volume_max_cm3": float(np.max(volumes)),
        "wt_volume_median_cm3": float(np.median(volumes)),
    }
    for name, values in rater.items():
        result[f"inter_rater_{name}"] = float(np.mean(values)) if values else float("nan")
    return result


def realism_report(root: str | os.PathLike[str], *, show: bool = True) -> dict[str, float]:
    """Measure a BraTS-layout cohort against the realism targets; print a table.

    Parameters
    ----------
    root
        A folder of subject folders ``<ID>/<ID>_{t1,t1ce,t2,flair,seg}.nii.gz`` (and
        optionally ``<ID>_seg_rater2.nii.gz``). Use subjects of seeds not used for tuning;
        the issue's bars are for at least 40 subjects.
    show
        Print the targets (measured against bar) and the other measures.

    Returns
    -------
    dict
        Every measure by name (Dice in [0, 1], shares in [0, 1], volumes in cm^3, widths in
        mm), plus ``targets_met`` (how many of `TARGETS` are met) and ``targets`` (their count).
    """
    subjects = load_cohort(root)
    if len(subjects) < 4:
        raise ValueError(f"{root} holds {len(subjects)} complete subjects; need at least 4")
    truth_path = Path(root) / TRUTH_NAME
    truth = json.loads(truth_path.read_text()) if truth_path.is_file() else None
    result = {"subjects": float(len(subjects))}
    result.update(baselines(subjects))
    result.update(variety(subjects, truth))
    result.update(shape_measures(subjects))
    result.update(image_measures(subjects))
    met = [target.met(result[target.key]) for target in TARGETS]
    result["targets_met"] = float(sum(met))
    result["targets"] = float(len(TARGETS))
    if show:
        print(format_report(result))
    return result


def format_report(result: dict[str, float]) -> str:
    """The report as text: the issue's targets (measured, bar, met) then the other measures."""
    lines = [f"SynthBraTS realism report: {int(result['subjects'])} subjects", ""]
    lines.append(f"{'target':<52} {'measured':>9}  {'bar':<12} met")
    for target in TARGETS:
        value = result[target.key]
        met = "yes" if target.met(value) else "NO"
        lines.append(f"{target.text:<52} {value:>9.3f}  {target.bar():<12} {met}")
    lines.append(f"targets met: {int(result['targets_met'])} of {int(result['targets'])}")
    lines.append("")
    lines.append("other measures (REALISM.md; no bar in the issue)")
    shown = {t.key for t in TARGETS} | {"subjects", "targets_met", "targets"}
    for key, value in result.items():
        if key not in shown:
            lines.append(f"  {key:<50} {value:>9.3f}")
    return "\n".join(lines)
