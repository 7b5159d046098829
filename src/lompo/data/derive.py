"""Datasets made from datasets: ``lompo subsample`` and ``lompo merge``.

**Subsample** (LOMPO appendix B trains on the dataset subsampled ×5 and ×25): keep a random
``fraction`` of the dataset's whole episodes (``unit="episodes"``), or cut every episode into windows of
``window`` transitions and keep a fraction of the windows (``unit="windows"``: the same amount of data
spread over more of the state space). The count kept is exactly ``fraction × n`` rounded to the nearest
integer (halves up). Choices come from
one permutation per seed, so with one seed a smaller fraction is a subset of a larger one (the ×25 data
lies inside the ×5 data).

**Merge** (V-D4RL's mixed datasets, e.g. original + distracted frames, and multitask datasets): the
episodes of several datasets in one folder. Their images, action dimension, action bounds and action
repeat must agree; their tasks may differ (a multitask dataset), and the merged dataset then names a task
only if given one.

Both validate their sources like ``lompo info`` (``skip_bad`` leaves bad files out), write the new folder
under a temporary name and rename it when complete, never touch the sources, copy ``.npz`` episodes byte
for byte, and record in ``dataset.json`` where every episode came from (``derived_from``).
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lompo.data.dataset import DatasetIndex, read_metadata, scan_dataset, write_metadata
from lompo.data.episodes import EpisodeSummary, read_episode, write_episode
from lompo.data.stats import return_statistics
from lompo.data.vd4rl_hdf5 import read_hdf5_episode
from lompo.envs.registry import get_task
from lompo.errors import LompoError
from lompo.files import sha256_of

UNITS = ("episodes", "windows")
# Fields of a source's dataset.json that describe its files, not its kind: never carried over.
PER_FOLDER_FIELDS = ("files", "statistics", "created", "derived_from", "source")


@dataclass(frozen=True)
class Piece:
    """One episode of the new dataset: a source episode, or the window ``[start, stop]`` of its steps."""

    source: int
    episode: EpisodeSummary
    window: tuple[int, int] | None = None

    def name(self, prefix: str = "") -> str:
        """``{source stem}[-w{start}]-{steps}.npz`` (the length suffix lompo and V-D4RL read)."""
        stem = self.episode.path.stem
        if self.episode.span is not None:  # one episode of an HDF5 shard
            stem = f"{stem}-e{self.episode.span[0]:07d}"
        elif stem.rsplit("-", 1)[-1].isdigit():
            stem = stem.rsplit("-", 1)[0]
        if self.window is None:
            return f"{prefix}{stem}-{self.episode.num_steps}.npz"
        start, stop = self.window
        return f"{prefix}{stem}-w{start:06d}-{stop - start + 1}.npz"

    def record(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"source": self.source, "file": self.episode.path.name}
        if self.episode.span is not None:
            entry["rows"] = list(self.episode.span)
        if self.window is not None:
            entry["steps"] = list(self.window)
        return entry


def episode_arrays(episode: EpisodeSummary) -> dict[str, np.ndarray]:
    if episode.span is not None:
        return read_hdf5_episode(episode.path, episode.span)
    return read_episode(episode.path)


def cut_window(arrays: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    """Steps ``start..stop`` (inclusive) as an episode of its own, in the stored convention: the first
    step has no incoming transition (zero action and reward, discount 1, ``is_first``); the window ends
    by truncation (``is_last``), and ``is_terminal`` is kept."""
    window = {key: value[start : stop + 1].copy() for key, value in arrays.items()}
    for key, first in (("action", 0.0), ("reward", 0.0), ("discount", 1.0)):
        if key in window:
            window[key][0] = first
    if "is_first" in window:
        window["is_first"][:] = False
        window["is_first"][0] = True
    if "is_last" in window:
        window["is_last"][:] = False
        window["is_last"][-1] = True
    if "is_terminal" in window:
        window["is_terminal"][0] = False
    return window


def windows_of(episode: EpisodeSummary, length: int) -> list[tuple[int, int]]:
    """Consecutive windows of ``length`` transitions; a shorter remainder at the episode's end is left out."""
    return [(start, start + length) for start in range(0, episode.num_transitions - length + 1, length)]


def _check_out(out: Path, sources: list[Path]) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LompoError(f"{out} already exists and is not empty; choose a new --out")
    for source in sources:
        if out.resolve() == source.resolve():
            raise LompoError(f"--out {out} is the source dataset {source}; choose a new folder")


def _write(out: Path, pieces: list[Piece], indexes: list[DatasetIndex], metadata: dict, derived: dict) -> Path:
    """Write every piece (an ``.npz`` source episode copied byte for byte) and ``dataset.json``
    under a temporary name, then rename it to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.derive-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        prefix = len(indexes) > 1
        episodes, returns, transitions = {}, [], 0
        for piece in pieces:
            name = piece.name(f"{piece.source:02d}-" if prefix else "")
            if name in episodes:
                raise LompoError(f"two episodes would both be named {name}")
            if piece.window is None and piece.episode.span is None:
                shutil.copyfile(piece.episode.path, tmp / name)
                returns.append(piece.episode.episode_return)
                transitions += piece.episode.num_transitions
            else:
                arrays = episode_arrays(piece.episode)
                if piece.window is not None:
                    arrays = cut_window(arrays, *piece.window)
                write_episode(tmp, arrays, name=name)
                returns.append(float(np.sum(arrays["reward"][1:], dtype=np.float64)))
                transitions += len(arrays["reward"]) - 1
            episodes[name] = {**piece.record(), "task": indexes[piece.source].task} if prefix else piece.record()
        derived["sources"] = [
            {
                "path": str(index.root.resolve()),
                "task": index.task,
                "dataset_json_sha256": sha256_of(index.root / "dataset.json")
                if (index.root / "dataset.json").is_file()
                else None,
                "episodes": index.num_episodes,
                "transitions": index.num_transitions,
                "skipped": [str(p) for p in index.skipped],
            }
            for index in indexes
        ]
        derived["episodes"] = episodes
        metadata = {
            **metadata,
            "statistics": return_statistics(np.array(returns), transitions).as_dict(),
            "files": {name: sha256_of(tmp / name) for name in sorted(episodes)},
            "derived_from": derived,
        }
        write_metadata(tmp, {k: v for k, v in metadata.items() if v is not None})
        if out.exists():
            out.rmdir()  # empty (checked before)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _carried_metadata(index: DatasetIndex) -> dict[str, Any]:
    metadata = {k: v for k, v in (read_metadata(index.root) or {}).items() if k not in PER_FOLDER_FIELDS}
    if index.task and not metadata.get("task"):
        metadata["task"] = index.task  # inferred from the folder's name
    return metadata


def subsample_dataset(
    data: Path | str,
    out: Path | str,
    *,
    fraction: float,
    seed: int = 0,
    unit: str = "episodes",
    window: int = 50,
    complement: bool = False,
    skip_bad: bool = False,
) -> Path:
    """Write ``round(fraction × n)`` of the dataset's episodes (or ``window``-transition windows) to
    ``out`` (module docstring); ``complement``: exactly the others (the same call without it leaves
    them out), e.g. to distract one half of the trajectories and not the other."""
    data, out = Path(data), Path(out)
    if not 0 < fraction <= 1:
        raise LompoError(f"--fraction must be in (0, 1], got {fraction}")
    if unit not in UNITS:
        raise LompoError(f"--unit must be one of {UNITS}, got {unit!r}")
    if window < 1:
        raise LompoError(f"--window must be >= 1 transition, got {window}")
    _check_out(out, [data])
    index = scan_dataset(data, skip_bad=skip_bad)
    if unit == "episodes":
        candidates = [Piece(0, episode) for episode in index.episodes]
    else:
        candidates = [Piece(0, e, w) for e in index.episodes for w in windows_of(e, window)]
        if not candidates:
            longest = max(e.num_transitions for e in index.episodes)
            raise LompoError(f"{data}: no episode holds a window of {window} transitions (longest: {longest})")
    count = math.floor(fraction * len(candidates) + 0.5)
    if count < 1:
        raise LompoError(f"--fraction {fraction} of {len(candidates)} {unit} keeps none; use a larger fraction")
    order = np.random.default_rng(seed).permutation(len(candidates))
    chosen = order[count:] if complement else order[:count]
    if not len(chosen):
        raise LompoError(f"--complement of --fraction {fraction} of {len(candidates)} {unit} keeps none")
    kept = [candidates[i] for i in sorted(chosen)]
    derived = {
        "operation": "subsample",
        "fraction": fraction,
        "unit": unit,
        "window": window if unit == "windows" else None,
        "seed": seed,
        "complement": complement,
        "kept": f"{len(kept)} of {len(candidates)} {unit}",
    }
    return _write(out, kept, [index], _carried_metadata(index), derived)


def merge_datasets(
    sources: list[Path | str], out: Path | str, *, task: str | None = None, skip_bad: bool = False
) -> Path:
    """Write the episodes of every source dataset to ``out`` (module docstring)."""
    paths, out = [Path(s) for s in sources], Path(out)
    if len(paths) < 2:
        raise LompoError("merge needs at least two datasets")
    if len({p.resolve() for p in paths}) < len(paths):
        raise LompoError("a dataset is named twice; merge each one once")
    _check_out(out, paths)
    indexes = [scan_dataset(p, skip_bad=skip_bad) for p in paths]
    metadatas = [_carried_metadata(index) for index in indexes]
    checks: list[tuple[str, Any]] = [
        ("image shape", lambda i, m: list(i.image_shape)),
        ("action dimension", lambda i, m: i.action_dim),
        ("action bounds", lambda i, m: m.get("action_bounds")),
        ("action repeat", lambda i, m: m.get("action_repeat")),
    ]
    for label, value in checks:
        values = [value(i, m) for i, m in zip(indexes, metadatas, strict=True)]
        if any(v != values[0] for v in values):
            listing = "; ".join(f"{p}: {v}" for p, v in zip(paths, values, strict=True))
            raise LompoError(f"cannot merge datasets of different {label}: {listing}")
    tasks = [index.task for index in indexes]
    metadata = {k: v for k, v in metadatas[0].items() if all(m.get(k) == v for m in metadatas[1:])}
    metadata["task"] = get_task(task).name if task else (tasks[0] if len(set(tasks)) == 1 else None)
    if metadata["task"] != tasks[0] or len(set(tasks)) > 1:
        metadata.pop("reference_returns", None)  # the sources' references are for their own tasks
    metadata["recipe"] = metadata.get("recipe") or "merged"
    pieces = [Piece(i, episode) for i, index in enumerate(indexes) for episode in index.episodes]
    return _write(out, pieces, indexes, metadata, {"operation": "merge", "tasks": tasks})


__all__ = ["UNITS", "cut_window", "merge_datasets", "subsample_dataset", "windows_of"]
