"""Training and evaluation end to end on a tiny cohort: files, determinism, resume, DDP, CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch

from course_utils import synth, training
from course_utils.datasets import BraTSDataset, normalisation_record
from course_utils.errors import CourseDataError
from course_utils.training import (
    PatchDataset,
    RunFolderError,
    TrainConfig,
    epoch_order,
    load_model,
    split_subjects,
    train,
)

#: Small enough to train in seconds: 4 mm subjects, 32^3 patches, a two-level network.
TINY = TrainConfig(
    epochs=2,
    patches_per_subject=2,
    patch_size=32,
    batch_size=2,
    features=(4, 8),
    validation_subjects=1,
    validate_every=1,
    overlap=0.0,
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "synthbrats"
    return synth.ensure_dataset(root, 3, seed=5, spacing_mm=4.0, progress=False)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_writes_model_last_history_and_metrics(cohort, tmp_path):
    metrics = train(cohort, tmp_path / "run", TINY, progress=False, command="course-utils x")
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "history.csv",
        "last.pt",
        "metrics.json",
        "model.pt",
    ]
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert all(0 <= float(row["val_dice_WT"]) <= 1 for row in rows)
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["command"] == "course-utils x"
    assert len(saved["training_subjects"]) == 2 and len(saved["validation_subjects"]) == 1
    assert saved["best_epoch"] in (1, 2)
    checkpoint = torch.load(run / "model.pt", weights_only=True)  # plain data and tensors only
    assert checkpoint["format"] == training.CHECKPOINT_FORMAT
    assert checkpoint["model"]["features"] == [4, 8]
    assert checkpoint["epoch"] == saved["best_epoch"]


def test_the_same_seed_gives_the_same_weights_and_another_seed_does_not(cohort, tmp_path):
    train(cohort, tmp_path / "a", TINY, progress=False)
    train(cohort, tmp_path / "b", TINY, progress=False)
    other = TrainConfig(**{**TINY.__dict__, "seed": 1})
    train(cohort, tmp_path / "c", other, progress=False)
    assert same_weights(weights(tmp_path / "a/last.pt"), weights(tmp_path / "b/last.pt"))
    assert not same_weights(weights(tmp_path / "a/last.pt"), weights(tmp_path / "c/last.pt"))


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(cohort, tmp_path, monkeypatch):
    train(cohort, tmp_path / "whole", TINY, progress=False)
    real_write_history = training.write_history

    def interrupt_after_first_epoch(path, history):
        real_write_history(path, history)
        raise KeyboardInterrupt  # as if Ctrl-C came right after epoch 1 was saved

    monkeypatch.setattr(training.loop, "write_history", interrupt_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(cohort, tmp_path / "cut", TINY, progress=False)
    monkeypatch.setattr(training.loop, "write_history", real_write_history)
    assert len((tmp_path / "cut/history.csv").read_text().splitlines()) == 2  # header + epoch 1
    with pytest.raises(RunFolderError, match="--resume"):
        train(cohort, tmp_path / "cut", TINY, progress=False)
    train(cohort, tmp_path / "cut", TINY, resume=True, progress=False)
    assert same_weights(weights(tmp_path / "whole/last.pt"), weights(tmp_path / "cut/last.pt"))
    assert (tmp_path / "whole/history.csv").read_text().count("\n") == 3
    whole = list(csv.DictReader((tmp_path / "whole/history.csv").open()))
    cut = list(csv.DictReader((tmp_path / "cut/history.csv").open()))
    assert [r["train_loss"] for r in whole] == [r["train_loss"] for r in cut]


def test_a_resume_with_other_settings_or_data_is_refused(cohort, tmp_path):
    import shutil

    train(cohort, tmp_path / "run", TINY, progress=False)
    with pytest.raises(RunFolderError, match=r"learning_rate 0.003 -> 0.01"):
        train(cohort, tmp_path / "run", dataclasses.replace(TINY, learning_rate=0.01),
              resume=True, progress=False)  # fmt: skip
    fewer = tmp_path / "fewer"
    shutil.copytree(cohort, fewer)
    shutil.rmtree(sorted(p for p in fewer.iterdir() if p.is_dir())[-1])
    with pytest.raises(RunFolderError, match="training_subjects"):
        train(fewer, tmp_path / "run", TINY, resume=True, progress=False)
    # what does not change the result may change
    train(cohort, tmp_path / "run", dataclasses.replace(TINY, num_workers=1), resume=True,
          progress=False)  # fmt: skip


def test_load_model_gives_the_trained_network_in_eval_mode(cohort, tmp_path):
    train(cohort, tmp_path / "run", TINY, progress=False)
    model, checkpoint = load_model(tmp_path / "run/model.pt")
    assert not model.training and model.features == (4, 8)
    assert same_weights(model.state_dict(), checkpoint["state_dict"])
    record = checkpoint["input"]  # what the network expects of its input, as trained
    assert record["spacing_mm"] == [4.0, 4.0, 4.0] and record["orientation"] == "RAS"
    assert record["modalities"] == list(BraTSDataset(cohort).modalities)
    assert record["normalisation"] == normalisation_record(TINY.normalisation)
    assert record["normalisation"]["method"] == "zscore_brain_mask"
    assert record["patch_size"] == 32 and record["regions"]["ET"] == [4]
    reread = torch.load(tmp_path / "run/model.pt", weights_only=True)  # plain types only
    assert reread["input"] == record


def test_a_cohort_of_mixed_voxel_sizes_is_refused_for_training(cohort, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(cohort, mixed)
    other = synth.make_subject((9, 0), spacing_mm=5.0)
    folder = sorted(p for p in mixed.iterdir() if p.is_dir())[0]
    for key, path in synth.subject_files(folder).items():
        nib.save(other[key], path)
    with pytest.raises(CourseDataError, match="mixes voxel sizes"):
        train(mixed, tmp_path / "run", TINY, progress=False)


def test_an_unknown_normalisation_is_refused_by_the_config():
    with pytest.raises(ValueError, match="unknown normalisation"):
        TrainConfig(normalisation="minmax")


def test_a_truncated_or_foreign_checkpoint_is_refused_with_the_fix(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CourseDataError, match="not a course U-Net checkpoint"):
        load_model(tmp_path / "foreign.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "foreign.pt").read_bytes()[:40])
    with pytest.raises(CourseDataError, match="cannot be read as a weights-only checkpoint"):
        load_model(tmp_path / "cut.pt")
    with pytest.raises(RunFolderError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    for old in ("course_utils.unet/1", "course_utils.unet/2"):  # /2: no "input" record
        torch.save({"format": old, "state_dict": {}}, tmp_path / "old.pt")
        with pytest.raises(CourseDataError, match="another version of course_utils.*Retrain"):
            load_model(tmp_path / "old.pt")
    torch.save({"format": training.CHECKPOINT_FORMAT, "state_dict": {}}, tmp_path / "bare.pt")
    with pytest.raises(CourseDataError, match="no 'input' record"):
        load_model(tmp_path / "bare.pt")


def test_a_checkpoint_holding_code_is_refused(tmp_path):
    torch.save(
        {"format": training.CHECKPOINT_FORMAT, "hook": np.random.default_rng}, tmp_path / "evil.pt"
    )
    with pytest.raises(CourseDataError, match="weights-only"):
        load_model(tmp_path / "evil.pt")


def test_evaluate_writes_the_brats_metrics_and_overlayable_predictions(cohort, tmp_path):
    train(cohort, tmp_path / "run", TINY, progress=False)
    results = training.evaluate(
        tmp_path / "run/model.pt",
        cohort,
        json_path=tmp_path / "eval.json",
        predictions=tmp_path / "pred",
        progress=False,
    )
    assert json.loads((tmp_path / "eval.json").read_text()) == json.loads(json.dumps(results))
    assert results["subjects"] == 3 and len(results["per_subject"]) == 3
    for key in ("dice", "hd95_mm", "sensitivity", "specificity"):
        assert sorted(results[key]) == ["ET", "TC", "WT"]
    dice_wt = np.mean([s["dice_WT"] for s in results["per_subject"]])
    assert results["dice"]["WT"] == pytest.approx(dice_wt)
    dataset = BraTSDataset(cohort, target="labels")
    for index, subject_id in enumerate(dataset.ids):
        item = dataset[index]
        prediction = nib.load(tmp_path / "pred" / f"{subject_id}_pred.nii.gz")
        np.testing.assert_allclose(prediction.affine, item["affine"])
        assert prediction.shape == tuple(item["label"].shape)
        assert set(np.unique(np.asanyarray(prediction.dataobj)).tolist()) <= {0, 1, 2, 4}


def test_patches_are_seeded_by_epoch_and_index_and_centred_on_tumour_when_asked(cohort):
    subjects = BraTSDataset(cohort, target="labels", cache=True)
    patches = PatchDataset(subjects, 3, 16, foreground_ratio=1.0, seed=0)
    first = patches[4]
    assert first["image"].shape == (4, 16, 16, 16) and first["label"].shape == (3, 16, 16, 16)
    assert torch.equal(first["image"], patches[4]["image"])
    assert first["label"][0, 8, 8, 8] == 1  # the centre voxel is whole tumour
    patches.set_epoch(1)
    assert not torch.equal(first["image"], patches[4]["image"])
    assert len(patches) == 9


def test_each_rank_takes_a_disjoint_equal_share_of_whole_batches():
    ranks = [training.Context(rank=r, world_size=2) for r in (0, 1)]
    shares = [epoch_order(0, 3, 11, context, batch_size=2) for context in ranks]
    assert [len(s) for s in shares] == [4, 4]
    assert not set(shares[0]) & set(shares[1])
    assert epoch_order(0, 3, 11, training.Context(), 2) != epoch_order(
        0, 4, 11, training.Context(), 2
    )


def test_the_split_holds_out_the_asked_number_and_refuses_to_hold_out_everything():
    train_ids, val_ids = split_subjects([f"s{i}" for i in range(10)], 3, seed=0)
    assert len(train_ids) == 7 and len(val_ids) == 3 and not set(train_ids) & set(val_ids)
    with pytest.raises(ValueError, match="no training subject"):
        split_subjects(["a", "b"], 2, seed=0)


def cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "course_utils", *args], capture_output=True, text=True, **kwargs
    )


TINY_FLAGS = [
    "--epochs",
    "1",
    "--patches-per-subject",
    "2",
    "--patch-size",
    "32",
    "--features",
    "4",
    "8",
    "--validation-subjects",
    "1",
    "--overlap",
    "0",
    "--threads",
    "1",
    "--quiet",
]


def test_train_and_evaluate_commands(cohort, tmp_path):
    result = cli("train", "--data", str(cohort), "--out", str(tmp_path / "run"), *TINY_FLAGS)
    assert result.returncode == 0, result.stderr
    assert "best validation Dice (epoch 1): WT" in result.stdout
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    assert metrics["command"].startswith("course-utils train --data")
    again = cli("train", "--data", str(cohort), "--out", str(tmp_path / "run"), *TINY_FLAGS)
    assert again.returncode == 1 and "Pass --resume" in again.stderr
    evaluated = cli(
        "evaluate",
        "--checkpoint",
        str(tmp_path / "run/model.pt"),
        "--data",
        str(cohort),
        "--json",
        str(tmp_path / "e.json"),
        "--quiet",
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "3 subjects" in evaluated.stdout and "hd95_mm" in evaluated.stdout
    assert json.loads((tmp_path / "e.json").read_text())["subjects"] == 3


@pytest.mark.parametrize("edition", ["2023", "2024"])
def test_train_and_evaluate_read_a_brats_gli_folder_given_its_edition(
    cohort, tmp_path, gli_copy, edition
):
    gli = gli_copy(cohort, tmp_path / "gli", edition)
    run = tmp_path / "run"
    refused = cli("train", "--data", str(gli), "--out", str(run), *TINY_FLAGS)
    assert refused.returncode == 1 and "--edition 2023 or --edition 2024" in refused.stderr
    trained = cli("train", "--data", str(gli), "--out", str(run), "--edition", edition,
                  *TINY_FLAGS)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["layout"], metrics["edition"]) == ("brats2023", edition)
    assert len(metrics["training_subjects"]) == 2
    assert all(s.startswith("BraTS-GLI-") for s in metrics["training_subjects"])
    other = {"2023": "2024", "2024": "2023"}[edition]
    resumed = cli("train", "--data", str(gli), "--out", str(run), "--edition", other,
                  "--resume", *TINY_FLAGS)  # fmt: skip
    assert resumed.returncode == 1 and f"edition '{edition}' -> '{other}'" in resumed.stderr
    evaluated = cli("evaluate", "--checkpoint", str(run / "model.pt"), "--data", str(gli),
                    "--edition", edition, "--predictions", str(tmp_path / "pred"),
                    "--json", str(tmp_path / "e.json"), "--quiet")  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert "3 subjects" in evaluated.stdout
    # The same model on the BraTS 2021 copy scores the same: only the coding differs.
    reference = training.evaluate(run / "model.pt", cohort, progress=False)
    assert json.loads((tmp_path / "e.json").read_text())["dice"] == pytest.approx(
        reference["dice"], abs=1e-6
    )
    predictions = sorted((tmp_path / "pred").glob("BraTS-GLI-*_pred.nii.gz"))
    assert len(predictions) == 3
    values = set()
    for path in predictions:
        values |= set(np.unique(np.asanyarray(nib.load(path).dataobj)).tolist())
    assert values <= {0, 1, 2, 3}  # the edition's coding: ET is 3, never BraTS 2021's 4


def test_an_edition_for_a_brats_2021_folder_is_refused_by_the_commands(cohort, tmp_path):
    result = cli("train", "--data", str(cohort), "--out", str(tmp_path / "r"),
                 "--edition", "2023", *TINY_FLAGS)  # fmt: skip
    assert result.returncode != 0 and "is synthbrats" in result.stderr
    result = cli("evaluate", "--checkpoint", "x.pt", "--data", str(cohort), "--edition", "2031")
    assert result.returncode != 0 and "invalid choice" in result.stderr


def test_nonsense_training_settings_are_refused_with_a_message(cohort, tmp_path):
    result = cli("train", "--data", str(cohort), "--out", str(tmp_path / "r"), "--epochs", "0")
    assert result.returncode != 0 and "epochs must be at least 1" in result.stderr


def test_torchrun_trains_with_two_cpu_processes(cohort, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--standalone",
            "-m",
            "course_utils",
            "train",
            "--data",
            str(cohort),
            "--out",
            str(tmp_path / "ddp"),
            *TINY_FLAGS,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote ") == 1  # rank 0 reports ...
    metrics = json.loads((tmp_path / "ddp/metrics.json").read_text())
    assert metrics["processes"] == 2  # ... and records the run of both
    rows = list(csv.DictReader((tmp_path / "ddp/history.csv").open()))
    assert len(rows) == 1  # one row per epoch, not one per process
    model, _ = load_model(tmp_path / "ddp/model.pt")
    assert model.features == (4, 8)
