"""Where data lives: the repository's data/ folder unless COURSE_DATA says otherwise."""

from __future__ import annotations

from pathlib import Path

from course_utils import paths


def test_inside_a_clone_data_lives_in_the_repository(monkeypatch):
    monkeypatch.delenv("COURSE_DATA", raising=False)
    root = paths.repository_root()
    assert root is not None and (root / "course_utils").is_dir()
    assert paths.data_dir() == root / "data"
    assert paths.synthbrats_dir() == root / "data" / "synthbrats"
    assert paths.checkpoints_dir() == root / "data" / "checkpoints"


def test_course_data_overrides_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert paths.data_dir() == tmp_path
    assert paths.synthbrats_dir() == tmp_path / "synthbrats"


def test_home_is_used_outside_a_clone(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA", raising=False)
    monkeypatch.setattr(paths, "repository_root", lambda: None)
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    assert paths.data_dir() == tmp_path / "course_data"


def test_every_sample_file_is_shipped_with_its_package():
    for key in paths.SAMPLE_FILES:
        assert paths.sample_file(key).is_file(), key


def test_an_unknown_sample_lists_the_known_ones():
    import pytest

    with pytest.raises(KeyError, match="dicom_mr"):
        paths.sample_file("nope")


def test_the_shipped_checkpoint_is_found_even_when_course_data_points_elsewhere(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert (
        paths.shipped_checkpoint()
        == paths.repository_root() / "data/checkpoints/unet_synthbrats.pt"
    )


def test_a_plain_install_without_the_checkpoint_is_told_how_to_get_it(monkeypatch, tmp_path):
    import pytest

    from course_utils.errors import DatasetNotFoundError

    monkeypatch.setattr(paths, "repository_root", lambda: None)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="pip install -e"):
        paths.shipped_checkpoint()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints/unet_synthbrats.pt").write_bytes(b"")
    assert paths.shipped_checkpoint() == tmp_path / "checkpoints/unet_synthbrats.pt"
