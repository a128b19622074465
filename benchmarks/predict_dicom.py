"""Benchmark: ``predict`` on four DICOM series with known moves, over held-out subjects (issue 19).

Each held-out SynthBraTS subject (seed 1, as notebook 07's) is written as four DICOM series by
`acquisition.write_separate_series` (its own voxel size per contrast, `SERIES_SPACING_MM`, and
its own rigid move, `SERIES_MOVES`: 2-5 degrees, 2-6 mm) and segmented by `predict_files`, which
co-registers FLAIR, T1 and T2 to the T1ce. Reported per contrast: the registration error at the
brain's 8 bounding-box corners (mm; target <= 1), the final mutual information and the time;
per subject: the WT Dice of the labels against the truth moved like the T1ce series, beside
the WT Dice of the same subject's NIfTI files (target: DICOM >= 0.9 x NIfTI).

Run ``python benchmarks/predict_dicom.py [--subjects 4]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def wt_dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=4)
    args = parser.parse_args()
    from course_utils.threads import configure_threads

    configure_threads()
    import nibabel as nib

    from course_utils import acquisition, brats, paths, synth, training
    from course_utils.predict import predict_files
    from course_utils.registration import target_registration_error

    loaded = training.load_model(paths.shipped_checkpoint())
    run = {"model_and_checkpoint": loaded, "progress": False}
    print(f"{'subject':<9}{'contrast':<9}{'TRE max':>9}{'mean':>7}{'MI':>7}{'s':>6}")
    ratios = []
    for index in range(args.subjects):
        images = synth.make_subject((1, index))
        with tempfile.TemporaryDirectory() as tmp:
            nifti = {}
            for m in brats.MODALITIES:
                nifti[m] = Path(tmp) / f"{m}.nii.gz"
                nib.save(images[m], nifti[m])
            series = acquisition.write_separate_series(images, Path(tmp) / "series")
            result = predict_files(paths.shipped_checkpoint(), series.folders, f"{tmp}/d", **run)
            predict_files(paths.shipped_checkpoint(), nifti, f"{tmp}/n", **run)
            labels = nib.load(f"{tmp}/d.nii.gz")
            truth = acquisition.labels_as_seen(images["seg"], labels, series)
            dicom = wt_dice(np.asarray(labels.dataobj), np.asarray(truth.dataobj))
            plain = wt_dice(
                np.asarray(nib.load(f"{tmp}/n.nii.gz").dataobj), np.asarray(images["seg"].dataobj)
            )
        corners = acquisition.brain_corners(images["t1"], series)
        for modality, found in result["registration"].items():
            error = target_registration_error(
                np.array(found["matrix"]), acquisition.true_matrix(series, modality), corners
            )
            print(
                f"{index:<9}{modality:<9}{error.max():>9.2f}{error.mean():>7.2f}"
                f"{found['mutual_information']:>7.3f}{found['seconds']:>6.1f}"
            )
        ratios.append(dicom / plain)
        print(f"{index:<9}WT Dice: DICOM series {dicom:.3f}, NIfTI files {plain:.3f}", flush=True)
    print(f"DICOM / NIfTI WT Dice: mean {np.mean(ratios):.3f}, min {np.min(ratios):.3f} (>= 0.9)")


if __name__ == "__main__":
    main()
