"""File-system helpers every layer uses: atomic writes, directory fsync, SHA-256, JSON lines,
package versions. Nothing here knows about datasets, runs or algorithms."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

VERSIONED_PACKAGES = ("lompo", "numpy", "torch", "dm_control", "mujoco", "gymnasium")


def fsync_dir(path: Path | str) -> None:
    """Flush a directory's entries (a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path | str, content: bytes | Callable[[IO[bytes]], Any]) -> None:
    """Write ``content`` (bytes, or a function writing to the open file) to ``path`` through a temp
    file in the same folder, fsync, then rename: readers see the old file or the new one, never a part."""
    write_fn = content if callable(content) else (lambda f: f.write(content))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def sha256_of(path: Path | str, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def append_jsonl(path: Path | str, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path: Path | str) -> list[dict]:
    """The records of a JSON-lines file; [] when it does not exist. Blank lines and a line cut by a
    crash (not JSON) are left out: a resumed run truncates such a line anyway."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def package_versions() -> dict[str, str]:
    """Python's and the main packages' versions, recorded in datasets and runs."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return versions


def lock_path() -> Path | None:
    """The repository's ``requirements.lock`` when lompo runs from a checkout (editable install), else None."""
    candidate = Path(__file__).resolve().parents[2] / "requirements.lock"
    return candidate if candidate.is_file() else None


def lock_record() -> dict[str, Any]:
    """Which locked environment made a dataset or a run: the lock file's SHA-256 and whether every
    package it pins is installed at that version (``None`` for both outside a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    path = lock_path()
    if path is None:
        return {"sha256": None, "matches_installed": None}
    mismatched = []
    for line in path.read_text().splitlines():
        name, sep, pinned = line.strip().partition("==")
        if not sep or name.startswith("#"):
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed is None or installed.split("+")[0] != pinned:
            mismatched.append(name)
    return {"sha256": sha256_of(path), "matches_installed": not mismatched, "mismatched": mismatched[:20]}


@contextlib.contextmanager
def exclusive_lock(path: Path | str, busy: str, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed) for the block. If another process
    holds it: wait for it with ``wait``, else raise :class:`~lompo.errors.LompoError` with ``busy`` and
    that process's id. The lock goes with the process (also when it is killed), so a stale lock file
    never blocks anyone."""
    from lompo.errors import LompoError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LompoError(f"{busy} (pid {holder}); wait for it to end or stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
