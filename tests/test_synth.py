"""SynthBraTS: labels, contrasts, determinism, variety, layout, caching and atomic builds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import nibabel as nib
import numpy as np
import pytest

from course_utils import brats, files, synth, synthbrats2
from course_utils.errors import MissingTemplateError


def region_mean(values, mask):
    return float(values[mask].astype(np.float64).mean())


def test_labels_are_exactly_the_brats_values(simulated_subject):
    arrays, _ = simulated_subject
    assert set(np.unique(arrays["seg"])) == {0, 1, 2, 4}


def test_everything_outside_the_brain_is_zero(simulated_subject):
    arrays, truth = simulated_subject
    outside = truth["brain"] <= 0.5
    for key in (*brats.MODALITIES, "seg"):
        assert not np.any(arrays[key][outside]), key
    inside = ~outside
    assert np.mean(arrays["t1"][inside] > 0) > 0.99


@pytest.mark.parametrize("index", [0, 1, 2])
def test_contrasts_have_the_relative_intensities_a_radiologist_expects(index):
    arrays, truth = synth.simulate((0, index))
    healthy = truth["core"] + truth["oedema"] < 0.01
    wm = (truth["wm"] > 0.9) & healthy
    gm = (truth["gm"] > 0.9) & healthy
    csf = (truth["csf"] > 0.9) & healthy
    necrosis, enhancing, oedema = (arrays["seg"] == label for label in (1, 4, 2))
    mean = {m: (lambda mask, m=m: region_mean(arrays[m], mask)) for m in brats.MODALITIES}
    assert mean["t1"](wm) > mean["t1"](gm) > mean["t1"](csf)
    assert mean["t1"](necrosis) < mean["t1"](gm)
    assert mean["t1ce"](enhancing) > 1.3 * mean["t1ce"](wm)
    assert mean["t2"](csf) > mean["t2"](gm) > mean["t2"](wm)
    assert mean["t2"](oedema) > mean["t2"](gm)
    assert mean["flair"](csf) < 0.5 * mean["flair"](gm)
    assert mean["flair"](oedema) > 1.2 * mean["flair"](gm)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    first = synth.make_subject((3, 1))
    again = synth.make_subject((3, 1))
    other = synth.make_subject((3, 2))
    for key in (*brats.MODALITIES, "seg"):
        assert synth.nifti_gz_bytes(first[key]) == synth.nifti_gz_bytes(again[key]), key
        assert synth.nifti_gz_bytes(first[key]) != synth.nifti_gz_bytes(other[key]), key


def test_synthbrats_1_tumours_vary_in_size_and_place_like_a_brats_cohort():
    volumes_cm3, centres_mm = [], []
    for index in range(8):
        images = synth.make_subject((7, index), version="1")
        seg = np.asarray(images["seg"].dataobj)
        voxel_cm3 = np.prod(images["seg"].header.get_zooms()) / 1000
        volumes_cm3.append((seg > 0).sum() * voxel_cm3)
        assert (seg == 4).sum() * voxel_cm3 > 0.5, f"subject {index} has no enhancing tumour"
        centres_mm.append(
            nib.affines.apply_affine(images["seg"].affine, np.argwhere(seg > 0).mean(0))
        )
    assert all(10 <= v <= 200 for v in volumes_cm3), volumes_cm3
    assert max(volumes_cm3) / min(volumes_cm3) > 2
    assert np.std(centres_mm, axis=0).max() > 15, "tumours cluster in one place"
    assert len({np.sign(c[0]) for c in centres_mm}) == 2, "tumours in one hemisphere only"


def test_images_share_one_ras_grid_in_millimetres(subject_images):
    affine = subject_images["t1"].affine
    for key, image in subject_images.items():
        assert image.shape == (98, 116, 94), key
        np.testing.assert_array_equal(image.affine, affine)
        assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
        assert image.header.get_zooms() == (2.0, 2.0, 2.0)
        assert image.header.get_xyzt_units()[0] == "mm"
    assert subject_images["seg"].get_data_dtype() == np.uint8
    assert subject_images["flair"].get_data_dtype() == np.int16


@pytest.mark.parametrize(
    ("version", "extras"), [("2", ("seg_rater2",)), ("1", ())], ids=["SynthBraTS 2", "1"]
)
def test_make_cohort_writes_the_brats_2021_layout(tmp_path, version, extras):
    folders = synth.make_cohort(tmp_path, 2, seed=5, version=version)
    assert [f.name for f in folders] == ["SynthBraTS_s5_0000", "SynthBraTS_s5_0001"]
    for folder in folders:
        names = sorted(p.name for p in folder.iterdir())
        keys = (*brats.MODALITIES, "seg", *extras)
        assert names == sorted(f"{folder.name}_{k}.nii.gz" for k in keys)
        image = nib.load(folder / f"{folder.name}_t1ce.nii.gz")
        assert image.shape == (98, 116, 94)
    assert synth.list_subjects(tmp_path) == folders
    assert (tmp_path / "synthbrats2_truth.json").is_file() == (version == "2")


def test_ensure_dataset_builds_once_then_reuses_the_verified_cohort(tmp_path, monkeypatch):
    root = synth.ensure_dataset(tmp_path / "cohort", 2, seed=1, progress=False)
    manifest = json.loads((root / synth.MANIFEST_NAME).read_text())
    assert manifest["seed"] == 1 and manifest["n_subjects"] == 2
    assert manifest["version"] == synth.GENERATOR_VERSION == synthbrats2.VERSION
    assert len(manifest["files"]) == 2 * 6 + 1  # 4 images, 2 raters, and the cohort's truth
    assert "synthbrats2_truth.json" in manifest["files"]
    for relative, digest in manifest["files"].items():
        assert files.sha256_file(root / relative) == digest

    def must_not_build(*args, **kwargs):
        raise AssertionError("rebuilt a cohort that matched its manifest")

    monkeypatch.setattr(synth.cohort, "make_cohort", must_not_build)
    assert synth.ensure_dataset(tmp_path / "cohort", 2, seed=1, progress=False) == root


def test_ensure_dataset_rebuilds_a_tampered_or_different_cohort(tmp_path):
    root = synth.ensure_dataset(tmp_path / "cohort", 1, seed=2, progress=False)
    t1 = root / "SynthBraTS_s2_0000" / "SynthBraTS_s2_0000_t1.nii.gz"
    original = t1.read_bytes()
    t1.write_bytes(original[: len(original) // 2])  # a half-copied file
    synth.ensure_dataset(root, 1, seed=2, progress=False)
    assert t1.read_bytes() == original

    synth.ensure_dataset(root, 1, seed=3, progress=False)
    assert [p.name for p in synth.list_subjects(root)] == ["SynthBraTS_s3_0000"]


def test_an_interrupted_build_leaves_the_previous_cohort_and_no_debris(tmp_path, monkeypatch):
    root = synth.ensure_dataset(tmp_path / "cohort", 1, seed=4, progress=False)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    real_simulate = synthbrats2.cohort.simulate
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_simulate(*args, **kwargs)

    monkeypatch.setattr(synthbrats2.cohort, "simulate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        synth.ensure_dataset(root, 3, seed=5, progress=False)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cohort.lock", "cohort"]


def test_a_killed_build_leaves_nothing_half_written_and_the_next_build_cleans_up(tmp_path):
    root = tmp_path / "cohort"
    script = textwrap.dedent(
        f"""
        from course_utils import synth
        synth.ensure_dataset({str(root)!r}, 50, seed=0, progress=False)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partials = list(tmp_path.glob(f"{files.TEMP_MARKER}*/SynthBraTS_s0_0001"))
        if partials:
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the build never got going")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not root.exists(), "a killed build must not leave a cohort folder behind"

    synth.ensure_dataset(root, 1, seed=0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cohort.lock", "cohort"]


def test_a_missing_template_names_the_package_to_install(monkeypatch):
    monkeypatch.setattr(synth.template.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingTemplateError, match="nilearn.*Fix: Install"):
        synth.template_folder()


def test_smooth_noise_with_one_scale_per_axis_matches_the_single_scale_bit_for_bit():
    shape = (20, 24, 18)
    single = synth.smooth_noise(np.random.default_rng(5), shape, 4.0)
    per_axis = synth.smooth_noise(np.random.default_rng(5), shape, (4.0, 4.0, 4.0))
    assert single.dtype == per_axis.dtype == np.float32
    assert single.tobytes() == per_axis.tobytes()


def test_generation_order_is_the_modalities_in_the_order_version_1_0_renders_them():
    # Not the tensor order: the generator's random draws follow this order (see synth).
    assert synth.GENERATION_ORDER == ("t1", "t1ce", "t2", "flair")
    assert list(synth.subject_files("x/S")) == ["t1", "t1ce", "t2", "flair", "seg"]
