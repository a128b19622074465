"""Record what the BraTS 2023 organisers' evaluation code says on random multi-lesion scenes.

tests/test_lesionwise.py re-renders the scenes of ``tests/data/brats2023_lesionwise.json`` and
checks that ``course_utils.lesionwise`` and ``course_utils.metrics`` give the recorded lesion-wise
Dice, lesion counts, Dice, sensitivity and specificity. This script wrote that file: it draws
the scenes, renders them (label maps in the BraTS 2023 coding 1 necrosis, 2 oedema, 3 enhancing,
at 1 mm), and runs ``get_LesionWiseResults(..., "BraTS-GLI")`` of the organisers' ``metrics.py``
(github.com/rachitsaluja/BraTS-2023-Metrics) on them. Nothing of that code is copied here; it
is imported from a checkout given on the command line.

That code pins numpy 1.24, pandas 1.3.4 (Python <= 3.10), scipy, nibabel and
connected-components-3d: run this script with a Python that has those (numpy < 2, any pandas
1.x), not the course's environment. On pandas >= 1.4 one of its calls, ``replace(np.inf, 374)``
on a frame holding an array column, raises; `compatible_replace` below then applies the same
replacement to each numeric column, which changes no number.

Usage::

    git clone https://github.com/rachitsaluja/BraTS-2023-Metrics /tmp/BraTS-2023-Metrics
    python tools/brats2023_reference.py /tmp/BraTS-2023-Metrics
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "brats2023_lesionwise.json"
SHAPE = (40, 40, 32)


def render(shape, blobs, bridges=()) -> np.ndarray:
    """uint8 label map: each blob an ellipsoid of oedema (2) around necrosis (1) in an
    enhancing rim (3); the highest label wins where blobs overlap; bridges are oedema lines.

    Blobs are ``[cx, cy, cz, rx, ry, rz, rim]`` (voxels; ``rim`` the inner radius of the
    enhancing rim as a fraction), bridges ``[x0, y0, z0, x1, y1, z1]``. Only products, sums and
    comparisons of the recorded numbers: the same map on every machine.
    """
    grid = np.indices(shape, dtype=np.float64)
    out = np.zeros(shape, np.uint8)
    for cx, cy, cz, rx, ry, rz, rim in blobs:
        d2 = ((grid[0] - cx) / rx) ** 2 + ((grid[1] - cy) / ry) ** 2 + ((grid[2] - cz) / rz) ** 2
        label = np.where(d2 <= 1.0, np.where(d2 > rim**2, 3, 1), np.where(d2 <= 2.56, 2, 0))
        out = np.maximum(out, label.astype(np.uint8))
    for x0, y0, z0, x1, y1, z1 in bridges:
        for t in np.linspace(0.0, 1.0, 64):
            point = np.rint([x0 + t * (x1 - x0), y0 + t * (y1 - y0), z0 + t * (z1 - z0)])
            index = tuple(int(p) for p in point)
            if all(0 <= i < n for i, n in zip(index, shape, strict=True)):
                out[index] = max(out[index], 2)
    return out


def draw_scene(rng: np.random.Generator) -> dict:
    """0-5 truth blobs (some close to the last), a prediction that keeps, shifts, drops, adds
    and sometimes bridges them."""
    truth = []
    for _ in range(rng.integers(0, 6)):
        if truth and rng.random() < 0.3:
            centre = np.array(truth[-1][:3]) + rng.uniform(-7, 7, 3)
        else:
            centre = rng.uniform(6, np.array(SHAPE) - 6)
        radii = rng.uniform(0.8, 6.0) * rng.uniform(0.6, 1.4, 3)
        truth.append([*centre, *radii, rng.uniform(0.3, 0.8)])
    pred = []
    for blob in truth:
        if rng.random() < 0.7:
            shift = rng.integers(-2, 3, 3) if rng.random() < 0.6 else np.zeros(3)
            pred.append([*(np.array(blob[:3]) + shift), *blob[3:]])
    for _ in range(rng.integers(0, 3)):
        centre = rng.uniform(6, np.array(SHAPE) - 6)
        pred.append([*centre, *(rng.uniform(0.8, 4.0) * rng.uniform(0.6, 1.4, 3)), 0.5])
    bridges = []
    if len(truth) >= 2 and rng.random() < 0.3:
        bridges.append([*truth[0][:3], *truth[1][:3]])
    return {"truth": rounded(truth), "pred": rounded(pred), "bridges": rounded(bridges)}


def rounded(rows) -> list[list[float]]:
    """Rows of numbers to 2 decimals: the recorded scene is exactly what gets rendered."""
    return [[round(float(v), 2) for v in row] for row in rows]


def compatible_replace(original):
    """``DataFrame.replace``, retried column by column on the numeric columns where pandas >= 1.4
    refuses a frame that holds an array column."""

    def replace(frame, to_replace=None, value=None, *args, **kwargs):
        try:
            return original(frame, to_replace, value, *args, **kwargs)
        except ValueError:
            result = frame if kwargs.get("inplace") else frame.copy()
            for column in frame.columns:
                if frame[column].dtype != object:
                    result[column] = original(frame[column].to_frame(), to_replace, value)[column]
            return None if kwargs.get("inplace") else result

    return replace


def run_reference(metrics_dir: Path, scenes: list[dict]) -> list[dict]:
    import nibabel as nib
    import pandas as pd

    sys.path.insert(0, str(metrics_dir))
    import metrics  # the organisers' metrics.py

    pd.DataFrame.replace = compatible_replace(pd.DataFrame.replace)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, scene in enumerate(scenes):
            paths = {}
            for name in ("truth", "pred"):
                labels = render(SHAPE, scene[name], scene["bridges"] if name == "pred" else ())
                paths[name] = f"{tmp}/case{k}_{name}.nii.gz"
                nib.save(nib.Nifti1Image(labels, np.eye(4)), paths[name])
            table = metrics.get_LesionWiseResults(paths["pred"], paths["truth"], "BraTS-GLI")
            results.append(
                {
                    row.Labels: {
                        "lesionwise_dice": float(row.LesionWise_Score_Dice),
                        "lesionwise_hd95": float(row.LesionWise_Score_HD95),
                        "tp": int(row.Num_TP),
                        "fn": int(row.Num_FN),
                        "fp": int(row.Num_FP),
                        "dice": float(row.Legacy_Dice),
                        "hd95": float(row.Legacy_HD95),
                        "sensitivity": float(row.Sensitivity),
                        "specificity": float(row.Specificity),
                    }
                    for row in table.itertuples()
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics_dir", type=Path, help="checkout of BraTS-2023-Metrics")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    scenes = [draw_scene(rng) for _ in range(args.cases)]
    results = run_reference(args.metrics_dir, scenes)
    commit = subprocess.run(
        ["git", "-C", str(args.metrics_dir), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    record = {
        "source": "github.com/rachitsaluja/BraTS-2023-Metrics metrics.py, "
        "get_LesionWiseResults(pred, gt, 'BraTS-GLI')",
        "commit": commit or "unknown",
        "spacing_mm": [1.0, 1.0, 1.0],
        "shape": list(SHAPE),
        "cases": [
            {**scene, "reference": result} for scene, result in zip(scenes, results, strict=True)
        ],
    }
    # one line per scene, so that a change shows up as the scenes it touches
    cases = record.pop("cases")
    header = [f" {json.dumps(key)}: {json.dumps(value)}," for key, value in record.items()]
    body = ",\n".join(f"  {json.dumps(case)}" for case in cases)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(["{", *header, ' "cases": [', body, " ]", "}"]) + "\n")
    print(f"wrote {args.out} ({len(scenes)} scenes)")


if __name__ == "__main__":
    main()
