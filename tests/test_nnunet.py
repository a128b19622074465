"""nnU-Net v2 export, checked by nnU-Net's own dataset-integrity check and file by file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from course_utils import brats, nnunet, synth
from course_utils.errors import CorruptFileError
from course_utils.training import RunFolderError


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Three SynthBraTS subjects at 4 mm, each with a second rater's ``_seg_rater2`` file
    beside its ``_seg`` as SynthBraTS 2 writes them (here: the labels shifted by a voxel)."""
    root = tmp_path_factory.mktemp("nnunet") / "synthbrats"
    for folder in synth.make_cohort(root, 3, seed=2, spacing_mm=4.0):
        seg = nib.load(folder / f"{folder.name}_seg.nii.gz")
        other = np.roll(np.asanyarray(seg.dataobj), 1, axis=0)
        nib.save(nib.Nifti1Image(other, seg.affine), folder / f"{folder.name}_seg_rater2.nii.gz")
    return root


@pytest.fixture(scope="module")
def exported(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("raw") / "nnUNet_raw" / "Dataset501_SynthBraTS"
    return out, nnunet.export_nnunet(cohort, out)


def verify_with_nnunet(folder, capfd) -> str:
    """nnU-Net v2's `verify_dataset_integrity` on ``folder``; returns what it printed."""
    os.environ.setdefault("nnUNet_raw", str(folder.parent))  # read at import, unused here
    integrity = pytest.importorskip(
        "nnunetv2.experiment_planning.verify_dataset_integrity",
        reason="nnunetv2 is not installed: "
        "pip install --no-deps --require-hashes -r requirements-nnunet-check.txt",
    )
    integrity.verify_dataset_integrity(str(folder), num_processes=1)
    return capfd.readouterr().out


def test_nnunet_accepts_the_exported_cohort(exported, capfd):
    out, _ = exported
    printed = verify_with_nnunet(out, capfd)
    assert "Verification completed" in printed or "####" in printed
    # geometry mismatches are only warnings to nnU-Net: there must be none
    assert "Warning" not in printed and "Error" not in printed


def test_dataset_json_is_nnunets_region_based_brats_form(exported):
    out, info = exported
    assert json.loads((out / "dataset.json").read_text()) == info
    assert info["channel_names"] == {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}
    assert info["labels"] == {
        "background": 0,
        "whole tumour": [1, 2, 3],
        "tumour core": [2, 3],
        "enhancing tumour": [3],
    }
    assert info["regions_class_order"] == [1, 2, 3]
    assert info["numTraining"] == 3 and info["file_ending"] == ".nii.gz"


def test_channels_are_the_source_files_and_labels_are_remapped_consecutively(cohort, exported):
    out, _ = exported
    subjects = sorted(p for p in cohort.iterdir() if p.is_dir())
    to_nnunet = {0: 0, 1: 2, 2: 1, 4: 3}  # nnU-Net's BraTS example: ED 1, NCR 2, ET 3
    for folder in subjects:
        for k, modality in enumerate(brats.MODALITIES):
            source = folder / brats.BRATS_2021_FILES.file_name(folder.name, modality)
            target = out / "imagesTr" / f"{folder.name}_{k:04d}.nii.gz"
            assert target.read_bytes() == source.read_bytes()
        seg = nib.load(folder / f"{folder.name}_seg.nii.gz")
        label = nib.load(out / "labelsTr" / f"{folder.name}.nii.gz")
        np.testing.assert_array_equal(label.affine, seg.affine)
        expected = np.vectorize(to_nnunet.get)(np.asanyarray(seg.dataobj))
        np.testing.assert_array_equal(np.asanyarray(label.dataobj), expected)
        assert label.get_data_dtype() == np.uint8


def test_second_rater_files_are_not_exported(cohort, exported):
    out, _ = exported
    assert list(cohort.glob("*/*_seg_rater2.nii.gz"))  # the source has them
    names = sorted(p.name for p in (out / "imagesTr").iterdir())
    assert len(names) == 3 * 4 and not any("rater" in n for n in names)
    assert len(list((out / "labelsTr").iterdir())) == 3


def test_a_brats_2024_folder_keeps_the_resection_cavity_as_a_region_of_its_own(
    cohort, gli_copy, tmp_path, capfd
):
    gli = gli_copy(cohort, tmp_path / "gli", "2024")
    seg = next(gli.glob("*/*-seg.nii.gz"))
    image = nib.load(seg)
    values = np.asanyarray(image.dataobj).copy()
    values[:3, :3, :3] = brats.BRATS_2024_GLI.value_of("cavity")
    nib.save(nib.Nifti1Image(values, image.affine, image.header), seg)
    out = tmp_path / "Dataset502_GLI2024"
    info = nnunet.export_nnunet(gli, out, edition="2024")
    assert info["labels"]["resection cavity"] == [4]
    assert info["regions_class_order"] == [1, 2, 3, 4]
    exported = nib.load(out / "labelsTr" / seg.name.replace("-seg", ""))
    assert (np.asanyarray(exported.dataobj)[:3, :3, :3] == 4).all()
    printed = verify_with_nnunet(out, capfd)
    assert "Warning" not in printed and "Error" not in printed


def test_bad_targets_and_values_are_refused(cohort, exported, tmp_path):
    out, _ = exported
    with pytest.raises(ValueError, match="DatasetNNN_Name"):
        nnunet.export_nnunet(cohort, tmp_path / "SynthBraTS")
    with pytest.raises(RunFolderError, match="already exists"):
        nnunet.export_nnunet(cohort, out)
    broken = tmp_path / "broken"
    folder = sorted(p for p in cohort.iterdir() if p.is_dir())[0]
    (broken / folder.name).mkdir(parents=True)
    for key in (*brats.MODALITIES, "seg"):
        name = brats.BRATS_2021_FILES.file_name(folder.name, key)
        (broken / folder.name / name).write_bytes((folder / name).read_bytes())
    seg = broken / folder.name / f"{folder.name}_seg.nii.gz"
    image = nib.load(seg)
    values = np.asanyarray(image.dataobj).copy()
    values[0, 0, 0] = 3  # BraTS 2021 has no label 3
    nib.save(nib.Nifti1Image(values, image.affine, image.header), seg)
    with pytest.raises(CorruptFileError, match=r"\[3\]") as caught:
        nnunet.export_nnunet(broken, tmp_path / "Dataset503_Broken")
    assert str(seg) in str(caught.value)


def test_export_nnunet_command(cohort, tmp_path):
    out = tmp_path / "nnUNet_raw" / "Dataset504_Cli"
    result = subprocess.run(
        [sys.executable, "-m", "course_utils", "export-nnunet", "--data", str(cohort),
         "--out", str(out), "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "wrote 3 cases" in result.stdout and "nnUNetv2_plan_and_preprocess -d 504" in result.stdout
    )
    assert json.loads((out / "dataset.json").read_text())["numTraining"] == 3
