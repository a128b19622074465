"""SynthBraTS 2: determinism (also under another CPU dispatch), label invariants, the second
rater, mimics, variety, and the trivial baselines kept from regressing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy._core._multiarray_umath import __cpu_features__ as features

from course_utils import metrics, paths, synth, synthbrats2
from course_utils.synthbrats2 import realism
from course_utils.synthbrats2.mimics import MIMICS

# Subjects of seed 3 whose draws are known (checked once, kept as facts about the generator):
RING, NO_ENHANCEMENT, SOLID = (3, 0), (3, 1), (3, 6)


@pytest.fixture(scope="module")
def subjects():
    return {seed: synthbrats2.simulate(seed) for seed in (RING, NO_ENHANCEMENT, SOLID)}


def digests(arrays) -> dict[str, str]:
    return {key: hashlib.sha256(arrays[key].tobytes()).hexdigest() for key in synthbrats2.KEYS}


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(subjects):
    again = synth.make_subject(RING, version="2")
    for key in synthbrats2.KEYS:
        assert np.asarray(again[key].dataobj).tobytes() == subjects[RING][0][key].tobytes(), key
    assert digests(subjects[RING][0])["flair"] != digests(subjects[SOLID][0])["flair"]


def rounding_digest() -> str:
    """The bytes of float64 ``exp`` and ``cbrt`` (as the child computes them): on NumPy 2.4
    they differ in the last place between the AVX-512 (SVML) and the other paths."""
    values = np.linspace(-4.0, 4.0, 100_001)
    return hashlib.sha256(np.exp(values).tobytes() + np.cbrt(values).tobytes()).hexdigest()


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 dispatch names")
def test_another_cpu_dispatch_gives_the_same_bytes(subjects):
    # NumPy's AVX-512 transcendental functions round differently from its other paths; the
    # generator must not let that show. The child runs with the AVX-512 dispatch switched off.
    script = textwrap.dedent(
        f"""
        import hashlib, json
        from numpy._core._multiarray_umath import __cpu_features__ as features
        from course_utils import synthbrats2
        import numpy as np
        values = np.linspace(-4.0, 4.0, 100_001)
        rounding = hashlib.sha256(np.exp(values).tobytes() + np.cbrt(values).tobytes()).hexdigest()
        arrays, _ = synthbrats2.simulate({RING})
        print(json.dumps({{"skx": features["AVX512_SKX"], "rounding": rounding, "digests": {{
            key: hashlib.sha256(arrays[key].tobytes()).hexdigest()
            for key in synthbrats2.KEYS}}}}))
        """
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
    output = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=paths.repository_root(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    child = json.loads(output.strip().splitlines()[-1])
    assert not child["skx"]  # the child really ran without the AVX-512 paths
    if features["AVX512_SKX"]:  # ... and they do round differently on this CPU
        assert child["rounding"] != rounding_digest()
    assert child["digests"] == digests(subjects[RING][0])


def test_rater_version_names_are_checked():
    with pytest.raises(ValueError, match="version"):
        synth.make_subject(RING, version="3")


@pytest.mark.parametrize("key", ["seg", "seg_rater2"])
def test_labels_are_brats_values_inside_the_brain_and_nested(subjects, key):
    for arrays, truth in subjects.values():
        labels = arrays[key]
        assert set(np.unique(labels)) <= {0, 1, 2, 4}
        assert not np.any(labels[truth["brain"] <= 0.5])
        whole, core, enhancing = labels > 0, np.isin(labels, (1, 4)), labels == 4
        assert core.sum() > 0 and np.all(whole[core]) and np.all(core[enhancing])
        # Oedema is drawn in tissue, not in the CSF of the ventricles and sulci.
        assert np.mean(truth["csf"][labels == 2] > 0.9) < 0.01


def test_mimics_are_present_and_never_labelled_tumour(subjects):
    for arrays, truth in subjects.values():
        for name in ("vessel", "dura", "plexus"):
            assert np.sum(truth[name] > 0.5) > 10, name
        mimic = truth["mimic"] > 0.05
        assert mimic.sum() > 100
        for key in ("seg", "seg_rater2"):
            assert not np.any(arrays[key][mimic]), key
    assert set(MIMICS) <= set(truth)


def test_the_second_rater_differs_but_agrees_closely(subjects):
    for arrays, _ in subjects.values():
        assert np.any(arrays["seg"] != arrays["seg_rater2"])
        wt = metrics.dice_score(arrays["seg"] > 0, arrays["seg_rater2"] > 0)
        assert 0.7 < wt < 0.97


def test_cohort_files_include_the_second_rater_and_the_truth(tmp_path):
    (folder,) = synthbrats2.make_cohort(tmp_path, 1, seed=3)
    paths = synthbrats2.subject_files(folder)
    assert paths["seg_rater2"].name == f"{folder.name}_seg_rater2.nii.gz"
    assert all(path.is_file() for path in paths.values())
    assert (tmp_path / synthbrats2.TRUTH_NAME).is_file()


def test_some_subjects_have_no_enhancement_and_some_no_necrosis(subjects):
    kinds = {seed: truth["facts"] for seed, (_, truth) in subjects.items()}
    assert kinds[RING]["kind"] == "ring" and kinds[RING]["has_necrosis"]
    assert kinds[NO_ENHANCEMENT]["kind"] == "nonenhancing"
    assert not kinds[NO_ENHANCEMENT]["has_enhancing"] and not kinds[NO_ENHANCEMENT]["has_necrosis"]
    assert not np.any(subjects[NO_ENHANCEMENT][0]["seg"] == 4)
    assert kinds[SOLID]["kind"] == "solid" and not kinds[SOLID]["has_necrosis"]
    assert np.any(subjects[SOLID][0]["seg"] == 4)


def test_trivial_baselines_stay_far_from_solving_the_data():
    # Not the realism report's bars (those need >= 40 unseen subjects, benchmarks/realism.py):
    # a guard that a change to the generator does not make 8 subjects easy again.
    pytest.importorskip("sklearn")
    cohort = [
        realism.subject_from_arrays(f"s{index}", synthbrats2.simulate((11, index))[0], 2.0)
        for index in range(8)
    ]
    scores = realism.baselines(cohort)
    assert scores["flair_threshold_WT"] < 0.82
    assert scores["logreg_WT"] < 0.86
    assert scores["logreg_means_ET"] < 0.80


def test_thick_slices_thinner_than_a_coarse_voxel_leave_the_images_finite():
    # At 4 mm a drawn 3-4 mm slice is thinner than the voxel: there is nothing to blur, and a
    # zero-width Gaussian once filled those T2/FLAIR images with NaN (cast to int16 garbage).
    import warnings

    from course_utils import synthbrats2

    thick = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for index in range(8):
            images, truth = synthbrats2.simulate((3, index), spacing_mm=4.0)
            slices = truth["facts"]["scanner"]["thick_slice_mm"].values()
            thick += any(0 < mm <= 4.0 for mm in slices)
            for name in ("t2", "flair"):
                assert images[name].min() >= 0 and images[name].max() > 0
    assert thick, "no subject drew a slice thinner than 4 mm: pick other seeds"


def sparse_volumes(count: int, dtype):
    """Small volumes, nonzero in a random sub-box (touching the grid's edges or not)."""
    rng = np.random.default_rng(0)
    for _ in range(count):
        shape = tuple(int(n) for n in rng.integers(1, 24, 3))
        low = [int(rng.integers(0, n)) for n in shape]
        box = tuple(
            slice(lo, int(rng.integers(lo, n)) + 1) for lo, n in zip(low, shape, strict=True)
        )
        volume = np.zeros(shape, dtype=dtype)
        inside = rng.uniform(size=volume[box].shape) < rng.uniform(0.05, 1.0)
        volume[box] = inside if dtype is bool else inside * rng.uniform(0.0, 1.0, inside.shape)
        yield rng, volume


def test_work_on_the_nonzero_box_gives_the_bytes_of_the_whole_grid():
    from scipy import ndimage

    from course_utils.synthbrats2 import anatomy, core, fields

    for rng, volume in sparse_volumes(60, np.float32):
        sigma = float(rng.choice([0.45, 0.55, 0.6, 2.5]))
        expected = ndimage.gaussian_filter(volume, sigma)
        assert fields.gaussian_near_nonzero(volume, sigma).tobytes() == expected.tobytes()
        steps = int(rng.integers(0, 3))
        expected = volume
        for _ in range(steps):
            expected = ndimage.grey_dilation(expected, size=(3, 3, 3))
        assert anatomy._grown(volume, steps).tobytes() == expected.tobytes()
        points = rng.uniform(-1.5, 1.1, (3, 500)) * np.array(volume.shape)[:, None]
        expected = anatomy._sample_linear(volume, points.astype(np.float32))
        got = anatomy._sample_near_nonzero(volume, points.astype(np.float32))
        assert got.tobytes() == expected.tobytes()
    for _, mask in sparse_volumes(60, bool):
        expected = ndimage.distance_transform_edt(mask)
        assert core._core_depth(mask).tobytes() == expected.tobytes()
        expected = ndimage.binary_dilation(mask)
        assert anatomy._dilated_once(mask).tobytes() == expected.tobytes()
