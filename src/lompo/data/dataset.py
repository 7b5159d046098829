"""Dataset folders: discovery, validation of every file, ``dataset.json`` metadata.

A dataset folder directly holds episode files: ``.npz`` episodes (ours and
V-D4RL's 64 px data) or V-D4RL's ``.hdf5`` shards (84 px). Folders we write also
hold ``dataset.json``. Loading validates every file and reports *all* problems,
each with its file name; ``skip_bad=True`` loads the rest and reports what was
skipped. Source files are only ever opened for reading.
"""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lompo.data.episodes import EpisodeSummary, inspect_episode
from lompo.data.vd4rl_hdf5 import HDF5_SUFFIXES, inspect_hdf5
from lompo.envs.registry import TASKS, normalize_task_name
from lompo.errors import DatasetError, EpisodeFileError, Problem
from lompo.files import atomic_write_bytes, sha256_of

METADATA_FILE = "dataset.json"
EPISODE_SUFFIXES = (".npz", *HDF5_SUFFIXES)
DMC_ACTION_BOUNDS = (-1.0, 1.0)  # every DMC suite task
AGENT_MARKER = "agent.json"  # marks a behaviour-agent folder (state episodes, not a dataset)


def episode_files(folder: Path) -> list[Path]:
    """Episode files directly inside ``folder``, sorted by name (V-D4RL names start with a timestamp).
    Entries named like episodes that are not regular files (a folder, a pipe, a link to a device) are
    listed too: the scan reports them rather than leaving them out silently."""
    return sorted(p for p in folder.iterdir() if p.suffix in EPISODE_SUFFIXES and not p.name.startswith("."))


def find_dataset_folders(root: Path | str, max_depth: int = 4) -> list[Path]:
    """Every folder under ``root`` (itself included) that directly holds episode files; behaviour-agent
    folders (marked by ``agent.json``) are skipped with everything below them. Symbolic links to folders
    are followed only while they stay inside ``root``, and each real folder is listed once."""
    root = Path(root)
    real_root = root.resolve()
    found = []
    seen: set[Path] = set()
    frontier = [(root, 0)]
    while frontier:
        folder, depth = frontier.pop()
        real = folder.resolve()
        if real in seen or not real.is_relative_to(real_root):
            continue
        seen.add(real)
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        if any(c.name == AGENT_MARKER for c in children):
            continue
        if any(c.is_file() and c.suffix in EPISODE_SUFFIXES for c in children):
            found.append(folder)
        if depth < max_depth:
            frontier += [(c, depth + 1) for c in children if c.is_dir() and not c.name.startswith(".")]
    return sorted(found)


def infer_task(path: Path) -> str | None:
    """The task named by a V-D4RL style path (``.../walker_walk/medium/64px``), if any."""
    for part in reversed(Path(path).resolve().parts):
        name = normalize_task_name(part)
        if name in TASKS:
            return name
    return None


MAX_METADATA_BYTES = 64 << 20  # a dataset.json listing a million files is about 100 MB less than this


def read_metadata(folder: Path) -> dict[str, Any] | None:
    """``dataset.json`` of ``folder`` (None when there is none), read only if it is a regular file of
    at most :data:`MAX_METADATA_BYTES`, and validated (:func:`metadata_problems`)."""
    path = Path(folder) / METADATA_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise DatasetError(folder, [Problem(path, "is not a regular file (a pipe, device or folder)")])
        with open(path, "rb") as f:
            raw = f.read(MAX_METADATA_BYTES + 1)
        if len(raw) > MAX_METADATA_BYTES:
            raise DatasetError(folder, [Problem(path, f"is larger than {MAX_METADATA_BYTES >> 20} MiB")])
        data = json.loads(raw.decode())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else err
        raise DatasetError(folder, [Problem(path, f"unreadable metadata: {reason}")]) from None
    if not isinstance(data, dict):
        raise DatasetError(folder, [Problem(path, "metadata must be a JSON object")])
    problems = metadata_problems(data)
    if problems:
        raise DatasetError(folder, [Problem(path, p) for p in problems])
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounds_ordered(low: Any, high: Any) -> bool:
    try:
        return bool(np.all(np.asarray(low, float) < np.asarray(high, float)))
    except ValueError:  # lists of different lengths
        return False


def metadata_problems(data: dict[str, Any]) -> list[str]:
    """What is wrong with the fields of ``dataset.json`` lompo reads (others are kept as they are)."""
    problems = []

    def check(key: str, ok: Callable[[Any], bool], expected: str) -> None:
        if key in data and data[key] is not None and not ok(data[key]):
            problems.append(f"field {key!r} must be {expected}, got {json.dumps(data[key])[:80]}")

    check("task", lambda v: isinstance(v, str) and v != "", 'a task name such as "walker-walk"')
    check("recipe", lambda v: isinstance(v, str), "a string")
    check(
        "image_size", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096, "an integer 1-4096"
    )
    check(
        "action_repeat", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100, "an integer 1-100"
    )
    check("camera", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 64, "an integer 0-64")
    check(
        "episode_length",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10_000_000,
        "an integer 1-10,000,000 (simulator steps)",
    )
    check("render_profile", lambda v: v in ("standard", "fast"), '"standard" or "fast"')
    check(
        "action_bounds",
        lambda v: (
            isinstance(v, list)
            and len(v) == 2
            and all(_is_number(b) or (isinstance(b, list) and b and all(_is_number(x) for x in b)) for b in v)
            and _bounds_ordered(*v)
        ),
        "[low, high] (numbers or lists of numbers, low < high)",
    )
    check(
        "files",
        lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(h, str) for k, h in v.items()),
        "an object of file name -> SHA-256",
    )
    check(
        "reference_returns",
        lambda v: isinstance(v, dict) and all(v.get(k) is None or _is_number(v[k]) for k in ("random", "expert")),
        'an object such as {"random": 40.2, "expert": 850.0}',
    )
    check("statistics", lambda v: isinstance(v, dict), "an object")
    return problems


def write_metadata(folder: Path, metadata: dict[str, Any]) -> Path:
    path = Path(folder) / METADATA_FILE
    text = json.dumps(metadata, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write_bytes(path, lambda f: f.write(text.encode()))
    return path


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


@dataclass
class DatasetIndex:
    """A validated dataset folder: one summary per episode, plus what was skipped."""

    root: Path
    episodes: list[EpisodeSummary]
    metadata: dict[str, Any] | None
    task: str | None
    file_hashes: dict[Path, str]  # SHA-256 of every source file kept
    skipped: list[Problem] = field(default_factory=list)

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def num_transitions(self) -> int:
        return sum(e.num_transitions for e in self.episodes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.episodes[0].image_shape

    @property
    def action_dim(self) -> int:
        return self.episodes[0].action_dim

    @property
    def returns(self) -> np.ndarray:
        return np.array([e.episode_return for e in self.episodes], np.float64)

    @property
    def source_files(self) -> list[Path]:
        return sorted({e.path for e in self.episodes})


def _action_bounds(metadata, task):
    if metadata and "action_bounds" in metadata:
        low, high = metadata["action_bounds"]
        return np.asarray(low, np.float64), np.asarray(high, np.float64)
    if task is not None:
        return DMC_ACTION_BOUNDS
    return None


def scan_dataset(root: Path | str, *, skip_bad: bool = False, task: str | None = None) -> DatasetIndex:
    """Validate every episode file of the dataset folder ``root``.

    Raises :class:`DatasetError` listing every problem (with file names) unless
    ``skip_bad``, in which case the bad files are left out and listed in ``skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(root, [Problem(root, "no such file or directory")])
    if not root.is_dir():
        raise DatasetError(root, [Problem(root, "is not a folder (a dataset is a folder of episode files)")])
    files = episode_files(root)
    if not files:
        nested = [p for p in find_dataset_folders(root) if p != root]
        if nested:
            choices = "\n".join(f"    {p}" for p in nested)
            raise DatasetError(
                root,
                [Problem(root, "holds no episode files itself")],
                hint=f"it holds several datasets; pass one of:\n{choices}",
            )
        others = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        what = "empty folder" if not others else f"no episode files (.npz, .hdf5) among {others[:10]}"
        raise DatasetError(root, [Problem(root, what)])

    metadata = read_metadata(root)
    task = normalize_task_name(task) if task else (metadata or {}).get("task") or infer_task(root)
    bounds = _action_bounds(metadata, task)

    episodes: list[EpisodeSummary] = []
    problems: list[Problem] = []
    hashes = {}
    for path in files:
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # reading a pipe would block, a device never ends
                problems.append(Problem(path, "is not a regular file (a folder, pipe or device)"))
                continue
            hashes[path] = sha256_of(path)
        except OSError as err:  # removed or made unreadable after the folder was listed
            problems.append(Problem(path, f"cannot read file ({err.strerror or err}); removed during the scan?"))
    files = [path for path in files if path in hashes]
    listed: dict[str, str] = (metadata or {}).get("files") or {}
    for name, digest in sorted(listed.items()):
        path = root / name
        if path not in hashes:
            problems.append(Problem(path, "listed in dataset.json but missing (incomplete download?)"))
        elif hashes[path] != digest:
            problems.append(Problem(path, "content differs from the SHA-256 recorded in dataset.json"))
    for path in files:
        try:
            if path.suffix in HDF5_SUFFIXES:
                episodes += inspect_hdf5(path, bounds)
            else:
                episodes.append(inspect_episode(path, bounds))
        except EpisodeFileError as err:
            problems += [Problem(err.path, p) for p in err.problems]

    # Dataset-level consistency: image shape and action dimension agree across episodes.
    if episodes:
        for attr, label in (("image_shape", "image shape"), ("action_dim", "action dimension")):
            values = [getattr(e, attr) for e in episodes]
            majority = max(set(values), key=values.count)
            for e in episodes:
                if getattr(e, attr) != majority:
                    problems.append(
                        Problem(e.path, f"{label} {getattr(e, attr)} differs from the dataset's {majority}")
                    )
        bad_paths = {p.path for p in problems}
        if skip_bad:
            episodes = [e for e in episodes if e.path not in bad_paths]

    if problems and not skip_bad:
        raise DatasetError(root, problems, hint="use --skip-bad to load the remaining files")
    if not episodes:
        raise DatasetError(
            root, problems or [Problem(root, "no valid episodes")], hint="no valid episode is left to load"
        )
    kept = {e.path for e in episodes}
    return DatasetIndex(
        root=root,
        episodes=episodes,
        metadata=metadata,
        task=task,
        file_hashes={p: h for p, h in hashes.items() if p in kept},
        skipped=problems,
    )


__all__ = [
    "METADATA_FILE",
    "DatasetIndex",
    "episode_files",
    "find_dataset_folders",
    "infer_task",
    "read_metadata",
    "scan_dataset",
    "write_metadata",
]
