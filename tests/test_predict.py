"""``course-utils predict`` with the shipped checkpoint on a SynthBraTS subject without labels."""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from course_utils import brats, paths, synth, training
from course_utils.errors import CourseDataError, GeometryMismatchError, IncompleteSubjectError
from course_utils.predict import predict_files, predict_folder


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    """A held-out-seed subject in the BraTS 2021 layout, its labels moved out of the folder."""
    root = tmp_path_factory.mktemp("predict") / "cohort"
    folder = root / "Case_0001"
    folder.mkdir(parents=True)
    images = synth.make_subject((1, 3))
    for key in (*brats.MODALITIES, "seg"):  # not the second rater: BraTS has one
        name = brats.BRATS_2021_FILES.file_name(folder.name, key)
        nib.save(images[key], (root if key == "seg" else folder) / name)
    return root, folder, images


@pytest.fixture(scope="module")
def shipped():
    return training.load_model(paths.shipped_checkpoint())


def contrasts(folder):
    return {m: folder / brats.BRATS_2021_FILES.file_name(folder.name, m) for m in brats.MODALITIES}


def wt_dice(labels: np.ndarray, seg: np.ndarray) -> float:
    a, b = labels > 0, seg > 0
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def test_labels_overlay_the_t1ce_even_when_it_is_stored_left_to_right(subject, shipped, tmp_path):
    _, folder, images = subject
    flipped = {}
    for m in brats.MODALITIES:  # LAS voxel order: the same world, another array
        image = images[m].as_reoriented(np.array([[0, -1], [1, 1], [2, 1]]))
        flipped[m] = tmp_path / f"{m}.nii.gz"
        nib.save(image, flipped[m])
    result = predict_files(
        paths.shipped_checkpoint(),
        flipped,
        tmp_path / "out.nii.gz",
        probabilities=True,
        progress=False,
        model_and_checkpoint=shipped,
    )
    labels = nib.load(tmp_path / "out.nii.gz")
    t1ce = nib.load(flipped["t1ce"])
    assert labels.shape == t1ce.shape and np.allclose(labels.affine, t1ce.affine)
    assert nib.aff2axcodes(labels.affine) == ("L", "A", "S")
    seg = images["seg"].as_reoriented(np.array([[0, -1], [1, 1], [2, 1]]))
    values = np.asarray(labels.dataobj)
    assert set(np.unique(values)) <= {0, 1, 2, 4}
    assert wt_dice(values, np.asarray(seg.dataobj)) >= 0.95  # on the true tumour
    stored = json.loads((tmp_path / "out.json").read_text())
    assert stored == json.loads(json.dumps(result))
    assert stored["input"]["spacing_mm"] == [2.0, 2.0, 2.0] and stored["resampled"] is False
    assert stored["input"]["normalisation"]["method"] == "zscore_nonzero"
    probabilities = nib.load(tmp_path / "out_probabilities.nii.gz")
    assert probabilities.shape == (*t1ce.shape, 3)
    assert 0.0 <= probabilities.get_fdata().min() and probabilities.get_fdata().max() <= 1 + 1e-6


def test_a_folder_without_labels_is_predicted_subject_by_subject(subject, tmp_path):
    root, folder, images = subject
    results = predict_folder(paths.shipped_checkpoint(), root, tmp_path, progress=False)
    assert len(results) == 1
    labels = nib.load(tmp_path / f"{folder.name}_pred.nii.gz")
    assert np.allclose(labels.affine, images["t1ce"].affine)
    assert wt_dice(np.asarray(labels.dataobj), np.asarray(images["seg"].dataobj)) >= 0.95
    assert (tmp_path / f"{folder.name}_pred.json").is_file()


def test_missing_mismatched_and_dicom_folder_contrasts_are_refused(subject, shipped, tmp_path):
    _, folder, images = subject
    given = contrasts(folder)
    run = {"model_and_checkpoint": shipped, "progress": False}
    checkpoint = paths.shipped_checkpoint()
    with pytest.raises(IncompleteSubjectError, match=r"no file was given for \['t2'\]"):
        predict_files(checkpoint, {**given, "t2": None}, tmp_path / "a", **run)
    with pytest.raises(CourseDataError, match="DICOM series folders"):
        predict_files(checkpoint, {**given, "t1": tmp_path}, tmp_path / "a", **run)
    moved = nib.Nifti1Image(
        np.asarray(images["t2"].dataobj), images["t2"].affine @ np.diag([1, 1, 1.5, 1])
    )
    nib.save(moved, tmp_path / "t2_other_grid.nii.gz")
    with pytest.raises(GeometryMismatchError, match="differs from the reference"):
        predict_files(
            checkpoint, {**given, "t2": tmp_path / "t2_other_grid.nii.gz"}, tmp_path / "a", **run
        )
    model, saved = shipped
    three = {**saved, "input": {**saved["input"], "modalities": ["flair", "t1ce", "t2"]}}
    with pytest.raises(CourseDataError, match=r"not \['t1'\]"):
        predict_files(checkpoint, given, tmp_path / "a", model_and_checkpoint=(model, three))
    assert not (tmp_path / "a.nii.gz").exists()


def test_the_command_line_predicts_nifti_files_and_says_what_it_did(subject, tmp_path):
    _, folder, _ = subject
    flags = [a for m, p in contrasts(folder).items() for a in (f"--{m}", str(p))]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_utils",
            "predict",
            *flags,
            "--out",
            str(tmp_path / "p"),
            "--threads",
            "1",
            "--quiet",
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "no resampling" in done.stdout and (tmp_path / "p.nii.gz").is_file()
    refused = subprocess.run(
        [sys.executable, "-m", "course_utils", "predict", "--t1ce", str(folder), "--out", "x"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and "error:" in refused.stderr and "t1" in refused.stderr
