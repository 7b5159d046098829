"""File-system helpers every layer uses: atomic writes, directory fsync, SHA-256, JSON lines,
package versions. Nothing here knows about datasets, runs or algorithms."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Callable
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


def atomic_write_bytes(path: Path | str, write_fn: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` through a temp file in the same folder, fsync, then rename: readers see the old
    file or the new one, never a part."""
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
    atomic_write_bytes(path, lambda f: f.write(text.encode()))


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
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return versions
