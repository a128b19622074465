"""Atomic writes and checksums."""

from __future__ import annotations

import hashlib
import os

import pytest

from course_utils import files


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "notes.txt"
    files.atomic_write_text(target, "first")
    files.atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["notes.txt"]


def test_a_failed_write_keeps_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "notes.txt"
    files.atomic_write_text(target, "good")

    def no_rename(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        files.atomic_write_text(target, "half")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_atomic_directory_appears_only_when_complete(tmp_path):
    final = tmp_path / "cohort"
    with pytest.raises(RuntimeError):
        with files.atomic_directory(final) as building:
            (building / "a.txt").write_text("a")
            assert not final.exists()
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []

    with files.atomic_directory(final) as building:
        (building / "a.txt").write_text("a")
    assert (final / "a.txt").read_text() == "a"


def test_atomic_directory_replaces_an_existing_folder(tmp_path):
    final = tmp_path / "cohort"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with files.atomic_directory(final) as building:
        (building / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def test_stale_partials_of_a_killed_process_are_removed(tmp_path):
    stale = tmp_path / f"{files.TEMP_MARKER}cohort.abc123"
    stale.mkdir()
    (stale / "half.nii.gz").write_bytes(b"\x1f\x8b")
    unrelated = tmp_path / f"{files.TEMP_MARKER}other.xyz"
    unrelated.mkdir()
    with files.atomic_directory(tmp_path / "cohort"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [unrelated.name, "cohort"]


def test_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "blob"
    data = os.urandom(3 * 1024 + 7)
    path.write_bytes(data)
    assert files.sha256_file(path, chunk_bytes=1000) == hashlib.sha256(data).hexdigest()


def test_atomic_path_keeps_the_extension_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "scan.nii.gz"
    with files.atomic_path(target) as temporary:
        assert temporary.name.endswith("-scan.nii.gz") and temporary.parent == tmp_path
        temporary.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    with pytest.raises(ValueError):
        with files.atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            raise ValueError("writer crashed")
    assert target.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["scan.nii.gz"]


def test_atomic_writes_get_normal_permissions_not_temporary_ones(tmp_path):
    mask = files.current_umask()
    written = files.atomic_write_text(tmp_path / "a.txt", "x")
    with files.atomic_path(tmp_path / "b.nii") as temporary:
        temporary.write_bytes(b"x")
    with files.atomic_directory(tmp_path / "folder"):
        pass
    assert written.stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "b.nii").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o777 & ~mask
