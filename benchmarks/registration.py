"""Benchmark: our PyTorch registration against SimpleITK's, on known transforms.

The bars (issue #5), on the MNI152 anatomy at 2 mm:

- mono-modal affine (rotations up to 10 degrees, translations up to 10 mm, scalings up to
  8 %), NCC: mean TRE <= 0.3 mm;
- multi-modal rigid (T1 against a T2-like contrast), MI: mean TRE <= 0.5 mm;
- each in <= 20 s on 2 cores, and no worse than SimpleITK's ``ImageRegistrationMethod``
  (correlation / Mattes MI, multi-resolution) in accuracy and time, measured in the same run;
- deformable: on a pair with a known smooth deformation, the Dice of warped tissue labels
  improves over affine alone, with no folding (Jacobian determinant > 0 everywhere).

Run with ``python benchmarks/registration.py`` (about 3 minutes) or ``--trials 2`` for a
quick look. Prints tables; nothing is asserted, because timings on shared machines are noisy.

How the test pairs are made (the same for both methods)
- Fixed: the MNI152 T1 template at 2 mm (``registration.mni_image``).
- Moving: a random transform ``T`` (fixed -> moving) is drawn; the moving image is sampled
  from the **1 mm** template (T1, or the T2-like contrast built from its tissue maps),
  smoothed to 2 mm resolution, at ``inv(T) @ y`` for every voxel ``y`` of a 2 mm grid, with
  cubic interpolation, then Rician noise (sigma 2 % of the brightest tissue) is added. So
  the moving image is not the fixed one resampled by the interpolator the methods use
  (no "inverse crime"), and carries its own noise.
- TRE: mean and max distance between ``M_est @ x`` and ``T @ x`` over all brain voxels x.
- Deformable: the 1 mm T1 and tissue labels are warped by a smooth random displacement
  (``registration.smooth_displacement``, 3 mm standard deviation, 30 mm correlation) and a
  small random affine; Dice of CSF, grey and white matter (mean of the three) against the
  fixed labels after no registration, affine only, and affine + deformable.

How things are measured
- Both methods run one after the other on each pair, alternating, in one process, after a
  warm-up run of each (imports, torch's first optimiser, SimpleITK's first filter).
- Wall-clock seconds of the call (what a user waits) and CPU seconds of the process. Ours
  runs on one torch thread (its default; ``--threads 2`` for two), SimpleITK on two.
- The load average is printed: another process competing for the 2 cores slows both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def load_average() -> str:
    try:
        return ", ".join(f"{load:.1f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


class TestBed:
    """The fixed image, the 1 mm sources of the moving images, and the TRE targets."""

    def __init__(self, noise: float = 0.02):
        import nibabel as nib
        import numpy as np
        from scipy import ndimage

        from course_utils import registration as reg

        self.reg = reg
        self.fixed = reg.mni_image("t1")
        self.labels = reg.mni_tissue_labels()
        sigma_mm = np.sqrt(2.0**2 - 1.0) / 2.3548  # 1 mm resolution -> 2 mm, as synth does
        self.sources = {}
        for contrast in ("t1", "t2"):
            image = reg.mni_image(contrast, spacing_mm=1.0)
            smooth = ndimage.gaussian_filter(np.asarray(image.dataobj), sigma_mm)
            self.sources[contrast] = nib.Nifti1Image(smooth, image.affine)
        self.source_labels = reg.mni_tissue_labels(spacing_mm=1.0)
        ijk = np.argwhere(np.asarray(self.fixed.dataobj) > 0.05)
        self.targets = nib.affines.apply_affine(self.fixed.affine, ijk)
        self.centre = reg.centre_of_mass(self.fixed)
        self.noise = noise

    def moving(self, contrast, truth, seed, displacement=None):
        """The source anatomy moved by ``truth`` (and ``displacement``) onto the 2 mm grid."""
        import nibabel as nib
        import numpy as np

        image = self.reg.resample(
            self.sources[contrast],
            self.fixed,
            np.linalg.inv(truth),
            displacement=displacement,
            order=3,
        )
        values = np.asarray(image.dataobj)
        rng = np.random.default_rng(seed)
        sigma = self.noise * float(np.percentile(values[values > 0.05], 99))
        noisy = np.hypot(
            values + sigma * rng.standard_normal(values.shape),
            sigma * rng.standard_normal(values.shape),
        )
        return nib.Nifti1Image((noisy * (values > 0.01)).astype(np.float32), self.fixed.affine)

    def tre(self, matrix, truth):
        errors = self.reg.target_registration_error(matrix, truth, self.targets)
        return float(errors.mean()), float(errors.max())


def timed(function, *args, **kwargs):
    start, start_cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - start_cpu, result


def run_task(bed, name, contrast, transform, metric, limits, trials, threads):
    """Both methods on ``trials`` random pairs; returns rows of per-trial measurements."""
    import numpy as np

    reg = bed.reg
    rng = np.random.default_rng({"affine": 1, "rigid": 2}[transform])
    methods = {
        "ours": lambda f, m: reg.register(
            f, m, transform=transform, metric=metric, threads=threads
        ),
        "SimpleITK": lambda f, m: reg.register_simpleitk(f, m, transform=transform, metric=metric),
    }
    rows = {method: [] for method in methods}
    for trial in range(trials):
        truth = reg.random_affine(rng, **limits, centre_mm=bed.centre)
        moving = bed.moving(contrast, truth, seed=trial)
        order = list(methods) if trial % 2 == 0 else list(methods)[::-1]
        for method in order:
            wall, cpu, result = timed(methods[method], bed.fixed, moving)
            mean_tre, max_tre = bed.tre(result.matrix, truth)
            rows[method].append((mean_tre, max_tre, wall, cpu))
            print(
                f"  {name} trial {trial} {method:9}: TRE {mean_tre:.3f} mm (max {max_tre:.3f}), "
                f"{wall:.1f} s wall, {cpu:.1f} s CPU, load {load_average()}",
                flush=True,
            )
    return rows


def print_table(results, bars):
    """One row per task and method: mean TRE, worst TRE, median seconds, ratios to SimpleITK."""
    print()
    print(
        "| task | method | mean TRE mm | worst trial mean TRE | max TRE mm | wall s (median) "
        "| CPU s (median) | TRE / SimpleITK | wall / SimpleITK |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    verdicts = []
    for task, rows in results.items():
        summary = {}
        for method, trials in rows.items():
            summary[method] = {
                "tre": statistics.mean(t[0] for t in trials),
                "worst": max(t[0] for t in trials),
                "max": max(t[1] for t in trials),
                "wall": statistics.median(t[2] for t in trials),
                "cpu": statistics.median(t[3] for t in trials),
            }
        reference = summary["SimpleITK"]
        for method, s in summary.items():
            print(
                f"| {task} | {method} | {s['tre']:.3f} | {s['worst']:.3f} | {s['max']:.3f} | "
                f"{s['wall']:.2f} | {s['cpu']:.2f} | {s['tre'] / reference['tre']:.2f} | "
                f"{s['wall'] / reference['wall']:.2f} |"
            )
        ours, bar = summary["ours"], bars[task]
        verdicts.append(
            f"{task}: mean TRE {ours['tre']:.3f} mm (bar <= {bar} mm: "
            f"{'met' if ours['tre'] <= bar else 'MISSED'}); median time {ours['wall']:.1f} s "
            f"(bar <= 20 s: {'met' if ours['wall'] <= 20 else 'MISSED'}); vs SimpleITK: TRE "
            f"{'no worse' if ours['tre'] <= reference['tre'] else 'WORSE'}, time "
            f"{'no worse' if ours['wall'] <= reference['wall'] else 'WORSE'}"
        )
    print()
    for verdict in verdicts:
        print(verdict)


def dice(reference, labels) -> float:
    import numpy as np

    scores = []
    for k in (1, 2, 3):
        a, b = reference == k, labels == k
        scores.append(2 * np.sum(a & b) / (np.sum(a) + np.sum(b)))
    return float(np.mean(scores))


def run_deformable(bed, trials, threads):
    """Dice of tissue labels: none / affine / deformable; the Jacobian's minimum."""
    import numpy as np

    reg = bed.reg
    fixed_labels = np.asarray(bed.labels.dataobj)
    print()
    print(
        "| pair | Dice, no registration | affine | affine + deformable | min Jacobian "
        "| max Jacobian | affine s | deformable s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for trial in range(trials):
        truth = reg.random_affine(
            100 + trial,
            max_rotation_deg=5,
            max_translation_mm=5,
            max_scaling=0.04,
            centre_mm=bed.centre,
        )
        field = reg.smooth_displacement(bed.fixed, amplitude_mm=3.0, scale_mm=30.0, seed=trial)
        moving = bed.moving("t1", truth, seed=50 + trial, displacement=field)
        moving_labels = reg.resample(
            bed.source_labels, bed.fixed, np.linalg.inv(truth), displacement=field, order=0
        )
        affine_s, _, affine = timed(
            reg.register, bed.fixed, moving, transform="affine", threads=threads
        )
        deformable_s, _, deformable = timed(
            reg.register, bed.fixed, moving, transform="deformable", threads=threads
        )
        scores = []
        for result in (None, affine, deformable):
            if result is None:
                warped = moving_labels
            else:
                warped = reg.resample(
                    moving_labels,
                    bed.fixed,
                    result.matrix,
                    displacement=result.displacement,
                    order=0,
                )
            scores.append(dice(fixed_labels, np.asarray(warped.dataobj)))
        jacobian = reg.jacobian_determinant(deformable.displacement, bed.fixed.affine)
        print(
            f"| {trial} | {scores[0]:.3f} | {scores[1]:.3f} | {scores[2]:.3f} | "
            f"{jacobian.min():.2f} | {jacobian.max():.2f} | {affine_s:.1f} | {deformable_s:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="random pairs per task")
    parser.add_argument("--deformable-trials", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for ours")
    args = parser.parse_args()

    import torch

    print(
        f"load average before: {load_average()}; torch {torch.__version__}, "
        f"ours on {args.threads} torch thread(s), SimpleITK on 2"
    )
    start = time.perf_counter()
    bed = TestBed()
    print(f"test bed (1 mm template, T1 and T2-like) built in {time.perf_counter() - start:.1f} s")
    warm = bed.moving("t1", bed.reg.world_transform_matrix(translation_mm=(2, 0, 0)), seed=99)
    bed.reg.register(bed.fixed, warm, levels=(4,), iterations=2)
    bed.reg.register_simpleitk(bed.fixed, warm, levels=(4,), iterations=2)

    tasks = {
        "affine, NCC (T1 to T1)": (
            "t1",
            "affine",
            "ncc",
            {"max_rotation_deg": 10, "max_translation_mm": 10, "max_scaling": 0.08},
        ),
        "rigid, MI (T2-like to T1)": (
            "t2",
            "rigid",
            "mi",
            {"max_rotation_deg": 10, "max_translation_mm": 10},
        ),
    }
    bars = {"affine, NCC (T1 to T1)": 0.3, "rigid, MI (T2-like to T1)": 0.5}
    results = {}
    for task, (contrast, transform, metric, limits) in tasks.items():
        print(f"\n{task}:")
        results[task] = run_task(
            bed, task, contrast, transform, metric, limits, args.trials, args.threads
        )
    print_table(results, bars)
    run_deformable(bed, args.deformable_trials, args.threads)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
