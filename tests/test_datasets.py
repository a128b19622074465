"""Datasets: three layouts, label codings, regions, normalisation, reorientation, slices,
caching, seeded DataLoader workers and the errors a bad folder raises."""

from __future__ import annotations

import functools
import json
import shutil

import nibabel as nib
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from course_utils import synth
from course_utils.datasets import (
    BraTSDataset,
    IncompleteSubjectError,
    SliceDataset,
    brats_to_classes,
    classes_to_regions,
    detect_layout,
    max_scale,
    msd_to_brats,
    normalisation_record,
    normalise_image,
    regions_to_classes,
    robust_brain_mask,
    zscore_normalise,
)
from course_utils.errors import (
    CorruptFileError,
    DatasetIntegrityError,
    DatasetNotFoundError,
    EditionUnknownError,
    GeometryMismatchError,
)
from course_utils.transforms import (
    Compose,
    RandomAffine,
    RandomFlip,
    RandomGaussianNoise,
    sample_generator,
)

SHAPE = (16, 16, 12)
AFFINE = np.array([[2.0, 0, 0, -16.0], [0, 2.0, 0, -18.0], [0, 0, 2.0, -10.0], [0, 0, 0, 1.0]])
MODALITIES = ("flair", "t1", "t1ce", "t2")
MODALITY_MEANS = {"flair": 100, "t1": 200, "t1ce": 300, "t2": 400}
MSD_NAMES = {"flair": "FLAIR", "t1": "T1w", "t1ce": "t1gd", "t2": "T2w"}
BRATS_TO_MSD = {0: 0, 1: 2, 2: 1, 4: 3}
#: Which regions (WT, TC, ET) each BraTS label belongs to.
REGIONS_OF = {0: (0, 0, 0), 1: (1, 1, 0), 2: (1, 0, 0), 4: (1, 1, 1)}


def subject_arrays(index: int) -> dict[str, np.ndarray]:
    """A tiny subject: a brain ellipsoid, a nested tumour shifted by ``index`` along z.

    Each modality's brain has its own mean (`MODALITY_MEANS`), so channels can be told apart.
    The tumour spans z = 3 + index .. 8 + index.
    """
    d, h, w = np.indices(SHAPE)
    brain = ((d - 7.5) / 7.5) ** 2 + ((h - 7.5) / 7.5) ** 2 + ((w - 5.5) / 5.8) ** 2 < 1
    rng = np.random.default_rng(index)
    arrays = {
        m: (brain * np.rint(rng.normal(mean, 10, SHAPE))).astype(np.int16)
        for m, mean in MODALITY_MEANS.items()
    }
    seg = np.zeros(SHAPE, np.uint8)
    z = index
    seg[4:12, 4:12, 3 + z : 9 + z] = 2
    seg[5:11, 5:11, 4 + z : 8 + z] = 4
    seg[6:9, 6:9, 5 + z : 7 + z] = 1
    arrays["seg"] = seg
    return arrays


def save(path, data, affine=AFFINE):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)


def write_brats(root, n_subjects=2, arrays_of=subject_arrays):
    for index in range(n_subjects):
        name = f"BraTS2021_{index:05d}"
        for key, values in arrays_of(index).items():
            save(root / name / f"{name}_{key}.nii.gz", values)
    return root


def write_msd(root, n_subjects=2, order=("flair", "t1", "t1ce", "t2")):
    """MSD Task01 layout; ``order`` is the modalities' order on the 4th axis (and in the JSON)."""
    for index in range(n_subjects):
        arrays = subject_arrays(index)
        image = np.stack([arrays[m] for m in order], axis=-1)
        save(root / "imagesTr" / f"BRATS_{index + 1:03d}.nii.gz", image)
        msd = np.vectorize(BRATS_TO_MSD.get)(arrays["seg"]).astype(np.uint8)
        save(root / "labelsTr" / f"BRATS_{index + 1:03d}.nii.gz", msd)
    (root / "imagesTr" / "._BRATS_001.nii.gz").write_bytes(b"\x00\x05\x16\x07 macOS junk")
    info = {
        "name": "BRATS",
        "modality": {str(i): MSD_NAMES[m] for i, m in enumerate(order)},
        "labels": {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing"},
    }
    (root / "dataset.json").write_text(json.dumps(info))
    return root


@pytest.fixture
def brats_root(tmp_path):
    return write_brats(tmp_path / "brats")


@pytest.fixture
def msd_root(tmp_path):
    return write_msd(tmp_path / "Task01_BrainTumour")


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    return synth.ensure_dataset(tmp_path_factory.mktemp("synth") / "cohort", 2, 5, progress=False)


def same_items(a: dict, b: dict) -> bool:
    return (
        torch.equal(a["image"], b["image"])
        and torch.equal(a["label"], b["label"])
        and np.allclose(a["affine"], b["affine"])
    )


# --- layouts ---------------------------------------------------------------------------------


def test_each_layout_is_recognised(brats_root, msd_root, synth_root):
    assert detect_layout(brats_root) == "brats2021"
    assert detect_layout(msd_root) == "msd"
    assert detect_layout(synth_root) == "synthbrats"
    assert BraTSDataset(msd_root).ids == ["BRATS_001", "BRATS_002"]  # ._ file skipped
    assert BraTSDataset(synth_root).ids == [synth.subject_id(5, i) for i in range(2)]


def test_an_msd_folder_without_labels_is_msd_only_for_prediction(msd_root):
    import shutil

    shutil.rmtree(msd_root / "labelsTr")
    (msd_root / "imagesTr").rename(msd_root / "imagesTs")
    assert detect_layout(msd_root, labelled=False) == "msd"
    with pytest.raises(DatasetNotFoundError, match="matches none of the layouts"):
        detect_layout(msd_root)  # training needs labelsTr/
    (msd_root / "dataset.json").unlink()
    with pytest.raises(DatasetNotFoundError):
        detect_layout(msd_root, labelled=False)  # without it the channel order is unknown


def test_a_brats_folder_is_synthbrats_only_with_a_synthbrats_manifest(brats_root):
    (brats_root / "manifest.json").write_text(json.dumps({"generator": "something else"}))
    assert detect_layout(brats_root) == "brats2021"
    (brats_root / "manifest.json").write_text(json.dumps({"generator": "SynthBraTS"}))
    assert detect_layout(brats_root) == "synthbrats"


@pytest.mark.parametrize("target", ["regions", "labels"])
def test_items_have_the_documented_keys_shapes_and_dtypes(brats_root, target):
    item = BraTSDataset(brats_root, target=target)[1]
    assert set(item) == {"image", "label", "id", "affine"}
    assert item["image"].dtype == torch.float32 and item["image"].shape == (4, *SHAPE)
    if target == "regions":
        assert item["label"].dtype == torch.float32 and item["label"].shape == (3, *SHAPE)
    else:
        assert item["label"].dtype == torch.int64 and item["label"].shape == SHAPE
    assert item["id"] == "BraTS2021_00001"
    assert item["affine"].dtype == np.float64 and np.allclose(item["affine"], AFFINE)


def test_the_synthbrats_cohort_loads_with_nested_non_empty_regions(synth_root):
    dataset = BraTSDataset(synth_root)
    assert dataset.layout == "synthbrats" and len(dataset) == 2
    for item in dataset:
        assert item["image"].shape == (4, 98, 116, 94)
        wt, tc, et = item["label"]
        assert et.sum() > 0 and (et <= tc).all() and (tc <= wt).all() and tc.sum() < wt.sum()
        raw = synth.subject_files(synth_root / item["id"])
        outside = ~np.any([nib.load(raw[m]).get_fdata() != 0 for m in MODALITIES], axis=0)
        assert not item["image"][:, torch.from_numpy(outside)].any()


# --- modalities and label codings ------------------------------------------------------------


def test_channels_are_the_requested_modalities_in_the_requested_order(brats_root):
    raw = BraTSDataset(brats_root, modalities=("t2", "flair", "t1ce"), normalise=False)[0]
    brain = raw["image"][0] != 0
    means = [float(channel[brain].mean()) for channel in raw["image"]]
    assert means == pytest.approx([400, 100, 300], abs=5)


@pytest.mark.parametrize(
    ("brats", "class_index"), [(0, 0), (1, 1), (2, 2), (4, 3)], ids=["bg", "ncr", "ed", "et"]
)
def test_each_brats_label_lands_in_its_class_and_regions(brats, class_index):
    classes = brats_to_classes(np.array([brats]))
    assert classes.tolist() == [class_index]
    assert tuple(classes_to_regions(classes)[:, 0]) == REGIONS_OF[brats]


@pytest.mark.parametrize(
    ("msd", "meaning", "regions"),
    [
        (0, "background", (0, 0, 0)),
        (1, "oedema", (1, 0, 0)),
        (2, "non-enhancing", (1, 1, 0)),
        (3, "enhancing", (1, 1, 1)),
    ],
)
def test_each_msd_label_lands_in_the_regions_of_its_meaning(tmp_path, msd, meaning, regions):
    root = write_msd(tmp_path / "msd", n_subjects=1)
    label = np.zeros(SHAPE, np.uint8)
    label[3, 4, 5] = msd
    save(root / "labelsTr" / "BRATS_001.nii.gz", label)
    item = BraTSDataset(root)[0]
    assert tuple(item["label"][:, 3, 4, 5].tolist()) == regions, meaning
    assert item["label"].sum() == sum(regions)  # nowhere else


def test_msd_and_brats_copies_of_a_subject_give_identical_items(brats_root, msd_root):
    for target in ("regions", "labels"):
        brats, msd = BraTSDataset(brats_root, target=target), BraTSDataset(msd_root, target=target)
        for index in range(2):
            assert same_items(brats[index], msd[index])


def test_msd_modalities_are_read_in_the_order_dataset_json_gives(brats_root, tmp_path):
    shuffled = write_msd(tmp_path / "shuffled", order=("t2", "t1ce", "flair", "t1"))
    assert same_items(BraTSDataset(shuffled)[0], BraTSDataset(brats_root)[0])


def test_label_conversions_round_trip_and_refuse_foreign_values():
    brats = np.array([[0, 1], [2, 4]])
    classes = brats_to_classes(brats)
    assert np.array_equal(regions_to_classes(classes_to_regions(classes)), classes)
    as_tensor = regions_to_classes(classes_to_regions(torch.from_numpy(classes)))
    assert torch.equal(as_tensor, torch.from_numpy(classes))
    assert np.array_equal(msd_to_brats(np.array([0, 1, 2, 3])), [0, 2, 1, 4])
    with pytest.raises(ValueError, match=r"\[3\]"):
        brats_to_classes(np.array([0, 3, 4]))
    with pytest.raises(ValueError, match=r"\[4\]"):
        msd_to_brats(np.array([4]))


# --- reorientation ---------------------------------------------------------------------------


def lps_copy(values, affine=AFFINE):
    """The same image stored with x and y reversed (as DICOM-derived and BraTS files are)."""
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[:2, 3] = [values.shape[0] - 1, values.shape[1] - 1]
    return values[::-1, ::-1].copy(), affine @ flip


def transposed_copy(values, affine=AFFINE):
    """The same image stored with its axes in z, x, y order."""
    permute = np.eye(4)[:, [2, 0, 1, 3]]
    return np.ascontiguousarray(values.transpose(2, 0, 1)), affine @ permute


@pytest.mark.parametrize("storage", [lps_copy, transposed_copy], ids=["lps", "transposed"])
def test_a_file_stored_in_another_voxel_order_gives_the_same_tensor(brats_root, tmp_path, storage):
    other = tmp_path / "other"
    for index in range(2):
        name = f"BraTS2021_{index:05d}"
        for key, values in subject_arrays(index).items():
            data, affine = storage(values)
            save(other / name / f"{name}_{key}.nii.gz", data, affine)
    reference, reoriented = BraTSDataset(brats_root), BraTSDataset(other)
    assert nib.aff2axcodes(nib.load(next(other.glob("*/*_t1.nii.gz"))).affine) != ("R", "A", "S")
    for index in range(2):
        assert same_items(reference[index], reoriented[index])
    assert SliceDataset(other).index.tolist() == SliceDataset(brats_root).index.tolist()


# --- normalisation ---------------------------------------------------------------------------


def brain_volume(shape=(3, 10, 11, 12), seed=0):
    rng = np.random.default_rng(seed)
    grid = np.indices(shape[1:])
    centre = (np.array(shape[1:]) - 1) / 2
    brain = sum(((g - c) / (c + 0.5)) ** 2 for g, c in zip(grid, centre, strict=True)) < 0.8
    scales = np.arange(1, shape[0] + 1).reshape(-1, 1, 1, 1)
    image = (rng.normal(500, 80, shape) * scales * brain).astype(np.float32)
    return image, brain


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_zscore_gives_zero_mean_unit_std_inside_the_brain_and_zero_outside(kind):
    image, brain = brain_volume()
    result = zscore_normalise(image if kind == "numpy" else torch.from_numpy(image))
    assert isinstance(result, np.ndarray if kind == "numpy" else torch.Tensor)
    result = np.asarray(result)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result[:, brain].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(result[:, brain].std(axis=1), 1, atol=1e-5)
    assert not result[:, ~brain].any()


def test_zscore_uses_the_given_mask_and_zeroes_everything_outside_it():
    image, brain = brain_volume()
    mask = brain.copy()
    mask[:5] = False
    result = zscore_normalise(image, mask)
    np.testing.assert_allclose(result[:, mask].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(result[:, mask].std(axis=1), 1, atol=1e-5)
    assert not result[:, ~mask].any()


def test_a_brain_voxel_dark_in_one_channel_stays_in_the_default_mask():
    image, brain = brain_volume()
    voxel = tuple(np.argwhere(brain)[0])
    image[(0, *voxel)] = 0.0  # brain in channels 1, 2 but exactly 0 in channel 0
    result = zscore_normalise(image)
    assert result[(0, *voxel)] < -3  # far below this channel's mean: scored, not background


def test_zscore_clips_at_the_percentiles_before_scoring():
    image, brain = brain_volume()
    result = zscore_normalise(image, clip_percentiles=(5, 95))
    for channel, values in enumerate(image[:, brain]):
        low, high = np.percentile(values, [5, 95])
        clipped = np.clip(values.astype(np.float64), low, high)
        expected = (clipped - clipped.mean()) / clipped.std()
        np.testing.assert_allclose(result[channel, brain], expected, atol=1e-4)


def test_one_bright_voxel_wrecks_max_scaling_but_barely_moves_the_zscore():
    image, brain = brain_volume(shape=(1, 64, 64, 64))
    spoiled = image.copy()
    hot = tuple(np.argwhere(brain)[0])
    spoiled[(0, *hot)] = 10 * image.max()  # one hot voxel: a vessel, an artefact
    others = brain.copy()
    others[hot] = False

    def change(normalise, **settings):
        clean, dirty = normalise(image, **settings)[0], normalise(spoiled, **settings)[0]
        return np.abs(dirty[others] - clean[others]).mean() / np.abs(clean[others]).mean()

    assert change(max_scale) > 0.8  # every voxel shrinks about tenfold
    assert change(zscore_normalise) < 0.05
    assert change(zscore_normalise, clip_percentiles=(0.5, 99.5)) < 1e-3


def test_degenerate_channels_normalise_to_zeros_not_nan():
    image = np.zeros((3, 4, 4, 4), np.float32)
    image[1, 1:3, 1:3, 1:3] = 7.0  # constant inside the brain; channel 0 and 2 all zero
    for result in (zscore_normalise(image), zscore_normalise(image, clip_percentiles=(1, 99))):
        assert np.isfinite(result).all() and not result.any()
    assert np.array_equal(max_scale(image)[1], image[1] / 7.0) and not max_scale(image)[0].any()


def test_the_dataset_z_scores_by_default_and_can_be_told_otherwise(brats_root):
    item = BraTSDataset(brats_root)[0]
    brain = (item["image"] != 0).any(0)
    torch.testing.assert_close(item["image"][:, brain].mean(1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(item["image"][:, brain].std(1), torch.ones(4), atol=1e-3, rtol=0)
    raw = BraTSDataset(brats_root, normalise=False)[0]["image"]
    assert np.array_equal(raw[0].numpy(), subject_arrays(0)["flair"])
    scaled = BraTSDataset(brats_root, normalise=max_scale)[0]["image"]
    torch.testing.assert_close(scaled.flatten(1).amax(1), torch.ones(4))
    clipped = functools.partial(zscore_normalise, clip_percentiles=(1, 99))
    assert BraTSDataset(brats_root, normalise=clipped)[0]["image"].max() < item["image"].max()


# --- caching ---------------------------------------------------------------------------------


def test_a_cached_subject_is_not_read_again_and_cannot_be_corrupted_by_its_user(brats_root):
    dataset = BraTSDataset(brats_root, cache=True)
    expected = dataset[0]["image"].clone()  # read, then cached
    first = dataset[0]  # from the cache
    first["image"] += 1000.0  # a careless caller
    shutil.rmtree(brats_root / "BraTS2021_00000")
    assert torch.equal(dataset[0]["image"], expected)
    assert len(BraTSDataset(brats_root)) == 1  # the files really are gone


def test_fill_cache_loads_every_subject_up_front(brats_root):
    dataset = BraTSDataset(brats_root, cache=True, target="labels")
    dataset.fill_cache()
    expected = [dataset[i] for i in range(2)]
    shutil.rmtree(brats_root)
    assert all(same_items(dataset[i], expected[i]) for i in range(2))
    with pytest.raises(ValueError, match="cache=True"):
        BraTSDataset(write_brats(brats_root)).fill_cache()


# --- slices ----------------------------------------------------------------------------------


def test_slice_dataset_keeps_exactly_the_axial_slices_with_tumour(brats_root):
    slices = SliceDataset(brats_root)
    expected = [(s, z) for s in range(2) for z in range(3 + s, 9 + s)]  # see subject_arrays
    assert slices.index.tolist() == [list(row) for row in expected]
    volumes = BraTSDataset(brats_root)
    for i, (s, z) in enumerate(expected):
        item = slices[i]
        assert item["image"].shape == (4, 16, 16) and item["label"].shape == (3, 16, 16)
        assert torch.equal(item["image"], volumes[s]["image"][..., z])
        assert torch.equal(item["label"], volumes[s]["label"][..., z])
        assert item["slice"] == z and item["id"] == volumes.ids[s] and item["label"].any()


def test_slice_dataset_without_skipping_has_every_slice_and_other_axes_work(brats_root):
    assert len(SliceDataset(brats_root, skip_empty=False)) == 2 * SHAPE[2]
    sagittal = SliceDataset(brats_root, axis=0, target="labels")
    assert len(sagittal) == 2 * 8  # the oedema spans x = 4..11 in both subjects
    item = sagittal[0]
    assert item["image"].shape == (4, 16, 12) and item["label"].shape == (16, 12)
    assert item["label"].dtype == torch.int64 and item["slice"] == 4


def test_slice_dataset_augments_reproducibly_per_seed_and_epoch(brats_root):
    slices = SliceDataset(BraTSDataset(brats_root), transform=RandomAffine(p=1.0), seed=3)
    first, again = slices[2], slices[2]
    assert torch.equal(first["image"], again["image"])
    slices.set_epoch(1)
    assert not torch.equal(slices[2]["image"], first["image"])


# --- seeded DataLoader workers ---------------------------------------------------------------


AUGMENT = Compose([RandomFlip(), RandomAffine(p=1.0), RandomGaussianNoise(p=1.0)])


def run_epochs(dataset, num_workers, epochs=(0, 1), **loader_settings):
    loader = DataLoader(dataset, batch_size=1, num_workers=num_workers, **loader_settings)
    images = []
    for epoch in epochs:
        dataset.set_epoch(epoch)
        images.append(torch.cat([batch["image"] for batch in loader]))
    return images


def test_two_workers_give_reproducible_augmentations_equal_to_zero_workers(brats_root):
    dataset = BraTSDataset(brats_root, transform=AUGMENT, seed=11)
    first_run = run_epochs(dataset, num_workers=2)
    second_run = run_epochs(BraTSDataset(brats_root, transform=AUGMENT, seed=11), num_workers=2)
    in_process = run_epochs(BraTSDataset(brats_root, transform=AUGMENT, seed=11), num_workers=0)
    for a, b, c in zip(first_run, second_run, in_process, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(first_run[0], first_run[1])  # a new epoch, new augmentations
    other_seed = run_epochs(BraTSDataset(brats_root, transform=AUGMENT, seed=12), num_workers=0)
    assert not torch.equal(other_seed[0], first_run[0])


def test_two_workers_augment_identical_subjects_differently(tmp_path):
    twins = write_brats(tmp_path / "twins", arrays_of=lambda index: subject_arrays(0))
    dataset = BraTSDataset(twins, transform=AUGMENT)
    assert torch.equal(BraTSDataset(twins)[0]["image"], BraTSDataset(twins)[1]["image"])
    (batch,) = run_epochs(dataset, num_workers=2, epochs=(0,))
    assert not torch.equal(batch[0], batch[1])


def test_set_epoch_reaches_persistent_workers(brats_root):
    dataset = BraTSDataset(brats_root, transform=AUGMENT, cache=True)
    persistent = run_epochs(dataset, num_workers=2, persistent_workers=True)
    fresh = run_epochs(BraTSDataset(brats_root, transform=AUGMENT), num_workers=0)
    for a, b in zip(persistent, fresh, strict=True):
        assert torch.equal(a, b)


def test_a_sample_is_augmented_with_the_generator_of_its_seed_epoch_and_index(brats_root):
    dataset = BraTSDataset(brats_root, transform=AUGMENT, seed=4)
    dataset.set_epoch(2)
    by_hand = AUGMENT(BraTSDataset(brats_root)[1], sample_generator(4, 2, 1))
    assert same_items(dataset[1], by_hand)


# --- errors ----------------------------------------------------------------------------------


def test_a_missing_folder_is_dataset_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        BraTSDataset(tmp_path / "nowhere")


def test_a_folder_matching_no_layout_names_the_layouts_looked_for_and_what_it_found(tmp_path):
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "brain.nii.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetNotFoundError) as caught:
        BraTSDataset(tmp_path)
    message = str(caught.value)
    for expected in ("BraTS 2021", "MSD", "SynthBraTS", "notes.txt", "scans/", "Fix:"):
        assert expected in message


@pytest.mark.parametrize("missing", ["t1ce", "seg"])
def test_a_subject_missing_a_file_names_the_subject_and_the_file(brats_root, missing):
    (brats_root / "BraTS2021_00001" / f"BraTS2021_00001_{missing}.nii.gz").unlink()
    with pytest.raises(IncompleteSubjectError) as caught:
        BraTSDataset(brats_root)
    assert isinstance(caught.value, DatasetIntegrityError)
    assert "subject BraTS2021_00001" in str(caught.value)
    assert f"BraTS2021_00001_{missing}.nii.gz" in str(caught.value)
    if missing == "t1ce":  # the fix the message suggests works
        assert len(BraTSDataset(brats_root, modalities=("flair", "t2"))) == 2


def test_msd_folder_errors_name_the_file_at_fault(msd_root):
    (msd_root / "labelsTr" / "BRATS_002.nii.gz").unlink()
    with pytest.raises(IncompleteSubjectError, match="BRATS_002"):
        BraTSDataset(msd_root)
    info = json.loads((msd_root / "dataset.json").read_text())
    info["modality"] = {"0": "FLAIR", "1": "T1w", "2": "T2w"}
    (msd_root / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(DatasetIntegrityError, match="t1ce"):
        BraTSDataset(msd_root)
    (msd_root / "dataset.json").unlink()
    with pytest.raises(DatasetNotFoundError, match="dataset.json"):
        BraTSDataset(msd_root)


def test_a_label_of_another_shape_names_both_files_and_shapes(brats_root):
    folder = brats_root / "BraTS2021_00000"
    save(folder / "BraTS2021_00000_seg.nii.gz", np.zeros((16, 16, 11), np.uint8))
    dataset = BraTSDataset(brats_root)
    with pytest.raises(GeometryMismatchError) as caught:
        dataset[0]
    message = str(caught.value)
    assert "BraTS2021_00000_seg.nii.gz" in message and "BraTS2021_00000_flair.nii.gz" in message
    assert "(16, 16, 11)" in message and "(16, 16, 12)" in message


def test_a_label_on_a_shifted_grid_names_both_affines(brats_root):
    shifted = AFFINE.copy()
    shifted[0, 3] += 5.0
    folder = brats_root / "BraTS2021_00000"
    save(folder / "BraTS2021_00000_seg.nii.gz", subject_arrays(0)["seg"], shifted)
    with pytest.raises(GeometryMismatchError, match="affine") as caught:
        BraTSDataset(brats_root)[0]
    assert "-11." in str(caught.value) and "-16." in str(caught.value)


def test_unexpected_label_values_are_a_corrupt_file(brats_root):
    seg = subject_arrays(1)["seg"]
    seg[seg == 4] = 3  # BraTS 2023 coding
    save(brats_root / "BraTS2021_00001" / "BraTS2021_00001_seg.nii.gz", seg)
    with pytest.raises(CorruptFileError, match=r"\[3\].*BraTS 2023"):
        BraTSDataset(brats_root)[1]


def test_bad_arguments_are_value_errors(brats_root):
    with pytest.raises(ValueError, match="modalities"):
        BraTSDataset(brats_root, modalities=("t1", "pd"))
    with pytest.raises(ValueError, match="target"):
        BraTSDataset(brats_root, target="classes")
    with pytest.raises(ValueError, match="no subject"):
        BraTSDataset(brats_root, subjects=["BraTS2021_00009"])
    with pytest.raises(ValueError, match="axis"):
        SliceDataset(brats_root, axis=3)
    with pytest.raises(IndexError):
        BraTSDataset(brats_root)[2]
    chosen = BraTSDataset(brats_root, subjects=["BraTS2021_00001"])
    assert chosen.ids == ["BraTS2021_00001"] and chosen[-1]["id"] == "BraTS2021_00001"


# --- BraTS 2023 / 2024 (GLI) -----------------------------------------------------------------

#: BraTS 2021 label value -> BraTS 2023/2024 GLI value (enhancing tumour 4 -> 3).
BRATS_TO_GLI = {0: 0, 1: 1, 2: 2, 4: 3}
GLI_SUFFIXES = {"flair": "t2f", "t1": "t1n", "t1ce": "t1c", "t2": "t2w", "seg": "seg"}


def write_gli(root, n_subjects=2, prefix="BraTS-GLI"):
    """BraTS 2023/2024 GLI layout: ``BraTS-GLI-0000n-000/BraTS-GLI-0000n-000-t2f.nii.gz``..."""
    for index in range(n_subjects):
        name = f"{prefix}-{index:05d}-000"
        for key, values in subject_arrays(index).items():
            if key == "seg":
                values = np.vectorize(BRATS_TO_GLI.get)(values).astype(np.uint8)
            save(root / name / f"{name}-{GLI_SUFFIXES[key]}.nii.gz", values)
    return root


def test_a_gli_folder_is_recognised_and_needs_its_edition(tmp_path):
    root = write_gli(tmp_path / "gli")
    assert detect_layout(root) == "brats2023"
    with pytest.raises(EditionUnknownError, match="edition='2023'") as caught:
        BraTSDataset(root)
    assert str(root) in str(caught.value)
    assert BraTSDataset(root, edition="2023").layout == "brats2023"


def test_gli_2023_and_brats_2021_copies_of_a_subject_give_identical_items(brats_root, tmp_path):
    gli = write_gli(tmp_path / "gli")
    for target in ("regions", "labels"):
        old = BraTSDataset(brats_root, target=target)
        new = BraTSDataset(gli, target=target, edition="2023")
        for index in range(2):
            assert same_items(old[index], new[index])


@pytest.mark.parametrize(
    ("value", "regions"),
    [(0, (0, 0, 0)), (1, (1, 1, 0)), (2, (1, 0, 0)), (3, (1, 1, 1)), (4, (0, 0, 0))],
    ids=["bg", "netc", "snfh", "et", "cavity"],
)
def test_each_brats_2024_label_lands_in_the_regions_of_its_meaning(tmp_path, value, regions):
    root = write_gli(tmp_path / "gli", n_subjects=1)
    label = np.zeros(SHAPE, np.uint8)
    label[3, 4, 5] = value
    save(root / "BraTS-GLI-00000-000" / "BraTS-GLI-00000-000-seg.nii.gz", label)
    item = BraTSDataset(root, edition="2024")[0]
    assert tuple(item["label"][:, 3, 4, 5].tolist()) == regions
    assert item["label"].sum() == sum(regions)  # the cavity is in no region


def test_a_2024_cavity_read_as_2023_is_a_corrupt_file_naming_the_value(tmp_path):
    root = write_gli(tmp_path / "gli", n_subjects=1)
    label = np.zeros(SHAPE, np.uint8)
    label[3, 4, 5] = 4
    path = root / "BraTS-GLI-00000-000" / "BraTS-GLI-00000-000-seg.nii.gz"
    save(path, label)
    with pytest.raises(CorruptFileError, match=r"\[4\]") as caught:
        BraTSDataset(root, edition="2023")[0]
    assert str(path) in str(caught.value)


def test_other_brats_2023_challenges_are_refused_by_name(tmp_path):
    root = write_gli(tmp_path / "mixed", n_subjects=1)
    write_gli(root, n_subjects=1, prefix="BraTS-MEN")
    with pytest.raises(DatasetIntegrityError, match="BraTS-MEN-00000-000"):
        BraTSDataset(root, edition="2023")


def test_an_edition_for_a_layout_that_needs_none_is_a_value_error(brats_root):
    with pytest.raises(ValueError, match="edition"):
        BraTSDataset(brats_root, edition="2023")


def test_a_gli_subject_missing_its_t1c_names_the_file(tmp_path):
    root = write_gli(tmp_path / "gli", n_subjects=1)
    missing = root / "BraTS-GLI-00000-000" / "BraTS-GLI-00000-000-t1c.nii.gz"
    missing.unlink()
    with pytest.raises(IncompleteSubjectError, match="t1c"):
        BraTSDataset(root, edition="2023")


# --- named normalisations and the robust brain mask ------------------------------------------


def test_a_named_normalisation_is_recorded_with_its_parameters_and_refused_when_unknown():
    assert normalisation_record("zscore_brain_mask") == {
        "method": "zscore_brain_mask",
        "threshold": 0.2,
        "clip_percentiles": None,
    }
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalisation_record("minmax")
    with pytest.raises(ValueError, match="takes no parameter"):
        normalisation_record({"method": "zscore_nonzero", "threshold": 0.1})


def test_zscore_nonzero_is_todays_default_normalisation():
    image = torch.from_numpy(np.random.default_rng(0).random((2, 6, 6, 6), dtype=np.float32))
    image[:, :2] = 0
    assert torch.equal(normalise_image(image, "zscore_nonzero"), zscore_normalise(image))


def test_the_robust_mask_is_shared_by_the_channels_and_ignores_a_faint_shell():
    image = np.zeros((4, 12, 12, 12), np.float32)
    image[:, 3:9, 3:9, 3:9] = 500.0
    image[0, 5, 5, 5] = 0.0  # a hole in one contrast, filled
    shelled = image.copy()
    shelled[:, 2:10, 2:10, 2:10][image[:, 2:10, 2:10, 2:10] == 0] = 1.0
    shelled[:, 5, 5, 5] = 500.0
    mask = robust_brain_mask(image)
    assert mask.sum() == 216 and (robust_brain_mask(shelled) == mask).all()
    normalised = normalise_image(shelled, "zscore_brain_mask")
    assert (normalised[:, ~mask] == 0).all()


def test_a_dataset_normalises_with_a_named_method(synth_root):
    by_name = BraTSDataset(synth_root, normalise="zscore_brain_mask")[0]["image"]
    raw = BraTSDataset(synth_root, normalise=False)[0]["image"]
    assert torch.allclose(by_name, normalise_image(raw, "zscore_brain_mask"))
