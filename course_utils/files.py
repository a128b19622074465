"""Atomic file and folder writes, and content hashes.

Every writer in the course goes through here, so an interrupted run (Ctrl-C, a killed
kernel, a full disk) never leaves a half-written file where a complete one is expected:
data is written to a temporary sibling first and renamed into place, which is atomic on
POSIX file systems.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_directory",
    "atomic_path",
    "exclusive_lock",
    "sha256_file",
]

TEMP_MARKER = ".partial-"


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_shareable(path: Path, directory: bool = False) -> None:
    """Give a temporary file or folder the permissions a normal ``open``/``mkdir`` would.

    ``mkstemp`` and ``mkdtemp`` create 0600 files and 0700 folders; renamed into place they
    would keep those, hiding course data from other users of a shared JupyterHub.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The parent folder is created if needed. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f"{TEMP_MARKER}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        make_shareable(Path(temp_name))
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path for a writer that needs a file name (nibabel, pynrrd, SimpleITK).

    The temporary file sits next to ``path`` and keeps its extensions (``.nii.gz``, ``.nrrd``),
    so writers that pick a format from the name still work; it replaces ``path`` only if the
    block finishes, and is removed if the block raises.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_MARKER, suffix=f"-{final.name}", dir=final.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        make_shareable(temp)
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder under a temporary name and move it to ``path`` only on success.

    Yields the temporary folder to fill. If the block raises (including
    ``KeyboardInterrupt``) the temporary folder is deleted and ``path`` is untouched.
    On success an existing ``path`` is replaced. Leftovers of a process that was killed
    outright (no chance to clean up) are removed the next time the same ``path`` is built.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(final)
    temp = Path(tempfile.mkdtemp(prefix=f"{TEMP_MARKER}{final.name}.", dir=final.parent))
    try:
        yield temp
        make_shareable(temp, directory=True)
        if final.exists():
            retired = Path(
                tempfile.mkdtemp(prefix=f"{TEMP_MARKER}{final.name}.old.", dir=final.parent)
            )
            os.replace(final, retired / final.name)
            os.replace(temp, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def remove_stale_partials(final: Path) -> None:
    """Delete temporary siblings of ``final`` left behind by a killed process."""
    for leftover in final.parent.glob(f"{TEMP_MARKER}{final.name}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks of ``chunk_bytes``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if needed) for the block.

    Serialises builds of the same dataset by two processes (two notebooks opened at once).
    Uses ``fcntl.flock``; where that doesn't exist (Windows) the block runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
