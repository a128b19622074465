"""Benchmark: reading a shuffled 189-slice MR series into a correctly ordered volume.

Side by side in one run: ``course_utils.io.load_volume`` (pydicom underneath), a plain
pydicom loop (read, sort by position, stack), and SimpleITK's ``ImageSeriesReader`` (GDCM).
The series is the worked example's T1 generated at 1 mm (197 x 233 x 189, the MNI grid),
written by ``io.write_dicom_series`` and renamed at random. Every reader's voxels and
geometry are checked against the source before its speed is reported.

Run: ``python benchmarks/dicom_series.py [--repeats N]``. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np


def write_shuffled_series(folder: Path) -> nib.Nifti1Image:
    from course_utils import io, synth

    t1 = synth.make_subject((0, 0), spacing_mm=1.0)["t1"]
    paths = io.write_dicom_series(t1, folder)
    names = random.Random(0).sample(range(10**6), len(paths))
    for path, name in zip(paths, names, strict=True):
        path.rename(folder / f"{name:06d}")
    return t1


def read_course(folder: Path):
    from course_utils import io

    image = io.load_volume(folder)
    return np.asarray(image.dataobj), image.affine


def read_pydicom_loop(folder: Path):
    import pydicom

    from course_utils.io import LPS_TO_RAS

    datasets = [pydicom.dcmread(p) for p in folder.iterdir()]
    datasets.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    voxels = np.stack([ds.pixel_array.T for ds in datasets], axis=2)
    first, last = datasets[0], datasets[-1]
    spacing = [float(v) for v in first.PixelSpacing][::-1]
    orientation = np.asarray(first.ImageOrientationPatient, float)
    affine = np.eye(4)
    affine[:3, 0] = orientation[:3] * spacing[0]
    affine[:3, 1] = orientation[3:] * spacing[1]
    first_position = np.asarray(first.ImagePositionPatient, float)
    last_position = np.asarray(last.ImagePositionPatient, float)
    affine[:3, 2] = (last_position - first_position) / (len(datasets) - 1)
    affine[:3, 3] = first_position
    return voxels, LPS_TO_RAS @ affine


def read_simpleitk(folder: Path):
    import SimpleITK as sitk

    from course_utils.io import LPS_TO_RAS

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(image.GetDirection()).reshape(3, 3) * np.asarray(
        image.GetSpacing()
    )
    affine[:3, 3] = image.GetOrigin()
    return sitk.GetArrayFromImage(image).transpose(2, 1, 0), LPS_TO_RAS @ affine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    readers = {
        "course_utils io.load_volume": read_course,
        "plain pydicom loop": read_pydicom_loop,
        "SimpleITK ImageSeriesReader": read_simpleitk,
    }
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "series"
        source = write_shuffled_series(folder)
        n_slices = len(list(folder.iterdir()))
        expected = np.asarray(source.dataobj)
        times: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.repeats):  # interleave readers so machine noise hits all alike
            for name, read in readers.items():
                start = time.perf_counter()
                voxels, affine = read(folder)
                times[name].append(time.perf_counter() - start)
                same = np.array_equal(voxels, expected)
                geometry = float(np.abs(affine - source.affine).max())
                if not same or geometry > 1e-4:
                    raise SystemExit(f"{name} read the series wrongly ({same=}, {geometry=})")

    reference = statistics.median(times["SimpleITK ImageSeriesReader"])
    print(
        f"Shuffled series of {n_slices} slices of {expected.shape[0]}x{expected.shape[1]}; "
        f"median of {args.repeats} runs; all readers gave identical voxels and geometry"
    )
    print(f"{'reader':30} {'seconds':>8} {'slices/s':>9} {'vs SimpleITK':>13}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:30} {median:8.3f} {n_slices / median:9.0f} {reference / median:12.2f}x")


if __name__ == "__main__":
    main()
