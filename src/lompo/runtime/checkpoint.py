"""Checkpoints: everything needed to continue a run exactly, and nothing that unpickles.

A checkpoint is a folder ``checkpoints/{name}/`` with

* ``weights.safetensors`` — every ``torch.Tensor`` of the state tree;
* ``arrays.npz`` — every ``numpy.ndarray`` (replay buffers, RNG arrays), read
  with ``allow_pickle=False``;
* ``state.json`` — the rest of the tree (counters, phase, optimiser
  hyper-parameters, RNG states) with tensors and arrays replaced by references;
* ``manifest.json`` — SHA-256 of the three files, written last.

The folder is written under a temporary name, fsynced, then renamed; the
``checkpoints/latest`` pointer is replaced atomically afterwards. A crash at
any moment leaves the previous checkpoint as the latest complete one, and
:func:`latest_checkpoint` skips anything that fails its manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lompo.errors import CheckpointError
from lompo.files import atomic_write_text, fsync_dir

FILES = ("weights.safetensors", "arrays.npz", "state.json")
POINTER = "latest"


# ------------------------------------------------------------------ state tree <-> files
def encode_tree(obj: Any, tensors: dict, arrays: dict, path: str = "") -> Any:
    """Replace tensors and arrays by references; keep dict key types and tuples."""
    if isinstance(obj, torch.Tensor):
        key = path or "root"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"object arrays cannot be checkpointed ({path})")
        key = path or "root"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        items = [[k, encode_tree(v, tensors, arrays, f"{path}/{k}")] for k, v in obj.items()]
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return dict(items)
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_tree(v, tensors, arrays, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode_tree(v, tensors, arrays, f"{path}/{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__} at {path or 'root'}")


def decode_tree(obj: Any, tensors: dict, arrays: dict) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__tuple__" in obj:
            return tuple(decode_tree(v, tensors, arrays) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: decode_tree(v, tensors, arrays) for k, v in obj["__dict__"]}
        return {k: decode_tree(v, tensors, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_tree(v, tensors, arrays) for v in obj]
    return obj


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ save / load
def save_checkpoint(directory: Path | str, name: str, state: dict, keep: int = 2) -> Path:
    """Write ``state`` as checkpoint ``directory/name`` atomically and point ``latest`` at it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    arrays: dict[str, np.ndarray] = {}
    tree = encode_tree(state, tensors, arrays)
    final = directory / name
    tmp = directory / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        save_file(tensors, str(tmp / FILES[0]))
        with open(tmp / FILES[1], "wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        (tmp / FILES[2]).write_text(json.dumps(tree))
        manifest = {"files": {f: _sha256(tmp / f) for f in FILES}}
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        for f in (*FILES, "manifest.json"):
            with open(tmp / f, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(tmp)
        if final.exists():  # re-saving the same step (e.g. after a resume): replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_dir(directory)
    except (OSError, SafetensorError) as err:  # disk full, quota, permissions
        shutil.rmtree(tmp, ignore_errors=True)
        previous = latest_checkpoint(directory)
        kept = f"the latest complete checkpoint is still {previous.name}" if previous else "no checkpoint was kept yet"
        raise CheckpointError(
            directory, f"could not write checkpoint {name} ({err}); {kept}: free space, then resume the run"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_pointer(directory, name)
    _prune(directory, keep, protect=name)
    return final


def _checkpoint_dirs(directory: Path) -> list[Path]:
    """Complete-looking checkpoint folders, oldest first (by modification time, then name)."""
    dirs = [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(dirs, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _prune(directory: Path, keep: int, protect: str) -> None:
    for stale in directory.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    dirs = [p for p in _checkpoint_dirs(directory) if p.name != protect]
    for old in dirs[: max(0, len(dirs) - (keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def verify_checkpoint(path: Path) -> str | None:
    """``None`` if the folder is a complete checkpoint, else what is wrong with it."""
    manifest_path = path / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"manifest.json missing or unreadable ({err.__class__.__name__})"
    for f in FILES:
        if not (path / f).is_file():
            return f"{f} is missing"
        if _sha256(path / f) != manifest.get("files", {}).get(f):
            return f"{f} does not match its SHA-256 in manifest.json (truncated or modified)"
    return None


def write_pointer(directory: Path | str, name: str) -> None:
    """Point ``directory/latest`` at checkpoint ``name`` (atomically: a crash leaves the old pointer)."""
    atomic_write_text(Path(directory) / POINTER, name)


def latest_checkpoint(directory: Path | str) -> Path | None:
    """The newest complete checkpoint: the one ``latest`` names, else the newest that verifies."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    try:
        named = directory / (directory / POINTER).read_text().strip()
        if named.name and verify_checkpoint(named) is None:
            return named
    except OSError:
        pass
    for candidate in reversed(_checkpoint_dirs(directory)):
        if verify_checkpoint(candidate) is None:
            return candidate
    return None


def load_checkpoint(path: Path | str) -> dict:
    """Read a checkpoint folder; never unpickles. Raises :class:`CheckpointError` naming the bad file."""
    path = Path(path)
    problem = verify_checkpoint(path)
    if problem:
        raise CheckpointError(path, problem)
    try:
        tensors = load_file(str(path / FILES[0]))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(path / FILES[0], f"not a readable safetensors file: {err}") from None
    try:
        with np.load(path / FILES[1], allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as err:
        raise CheckpointError(path / FILES[1], f"refused to load (pickled objects are never loaded): {err}") from None
    except OSError as err:
        raise CheckpointError(path / FILES[1], f"not a readable npz file: {err}") from None
    try:
        tree = json.loads((path / FILES[2]).read_text())
        return decode_tree(tree, tensors, arrays)
    except (json.JSONDecodeError, KeyError) as err:
        raise CheckpointError(path / FILES[2], f"state is unreadable: {err}") from None
