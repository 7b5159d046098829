"""EpisodeStore: a dataset packed into contiguous arrays, cached as memory-mapped ``.npy``.

Episodes are concatenated step by step (uint8 images, the rest as stored) with
``episode_starts`` / ``episode_lengths``. The cache folder is named by a hash of
the source files' *contents*, so a changed file gives a new store and an
unchanged dataset is packed once. Arrays are opened with ``mmap_mode='r'``:
the store never holds a second copy in memory; RSS follows the page cache's
working set. The cache is written to a temp folder and renamed when complete.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from lompo.data.dataset import DatasetIndex
from lompo.data.episodes import CANONICAL_DTYPES, STANDARD_KEYS, StreamedArray, archive_problem, canonical, read_episode
from lompo.data.vd4rl_hdf5 import read_hdf5_episode
from lompo.errors import DatasetError, EpisodeFileError, LompoError, Problem
from lompo.files import exclusive_lock

STORE_FORMAT = 2  # 2: episodes in content order (1: file-name order)
STORE_FILE = "store.json"


def default_cache_root() -> Path:
    """``$LOMPO_CACHE`` if set, else ``~/.cache/lompo/stores``."""
    env = os.environ.get("LOMPO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lompo" / "stores"


def content_order(index: DatasetIndex) -> list:
    """The dataset's episodes ordered by content (file hash, then position in the file), not by file
    name: collectors name files by wall-clock time, so two builds of the same data would otherwise pack
    (and sample) their episodes in different orders, and one seed would give two different runs."""
    return sorted(index.episodes, key=lambda e: (index.file_hashes[e.path], e.span[0] if e.span else 0))


def store_key(index: DatasetIndex) -> str:
    """Hash of the store format, every source file's content and the episodes taken from it."""
    digest = hashlib.sha256(f"lompo-store-v{STORE_FORMAT}".encode())
    for episode in content_order(index):
        digest.update(f"{index.file_hashes[episode.path]}:{episode.span}:{episode.num_steps};".encode())
    return digest.hexdigest()[:32]


class EpisodeStore:
    """Read-only, memory-mapped view of a packed dataset."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        try:
            self.info: dict[str, Any] = json.loads((self.directory / STORE_FILE).read_text())
            self.arrays: dict[str, np.ndarray] = {
                key: np.load(self.directory / f"{key}.npy", mmap_mode="r", allow_pickle=False)
                for key in self.info["keys"]
            }
            self.episode_starts = np.load(self.directory / "episode_starts.npy", allow_pickle=False)
            self.episode_lengths = np.load(self.directory / "episode_lengths.npy", allow_pickle=False)
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
            raise DatasetError(
                self.directory,
                [Problem(self.directory, f"episode store is unreadable: {err}")],
                hint="delete this cache folder; it is rebuilt from the dataset",
            ) from None
        total = int(self.episode_lengths.sum())
        bad = [k for k, v in self.arrays.items() if v.shape[0] != total]
        if bad:
            raise DatasetError(
                self.directory,
                [Problem(self.directory, f"arrays {bad} do not hold {total} steps")],
                hint="delete this cache folder; it is rebuilt from the dataset",
            )

    # ------------------------------------------------------------------ build
    @classmethod
    def from_index(
        cls, index: DatasetIndex, cache_root: Path | str | None = None, progress: bool = False
    ) -> EpisodeStore:
        """Open the cached store of ``index``, packing it first if needed."""
        cache_root = Path(cache_root) if cache_root else default_cache_root()
        target = cache_root / store_key(index)
        # What the dataset says of itself now: the cache is keyed by the episode files' contents only,
        # so an edited dataset.json (a corrected task, reference returns) reaches every run that opens it.
        info = {
            "source": str(index.root),
            "task": index.task,
            "metadata": index.metadata,
            "files": [str(p) for p in index.source_files],
        }
        if (target / STORE_FILE).exists():
            store = cls(target)
            wrong = [k for k, dtype in CANONICAL_DTYPES.items() if k in store.arrays and store[k].dtype != dtype]
            if wrong:  # packed before every episode was converted to the canonical dtypes
                raise DatasetError(
                    target,
                    [
                        Problem(
                            target,
                            f"keys {wrong} were packed in the first episode's dtype, which may have "
                            "changed other episodes' values",
                        )
                    ],
                    hint="delete this cache folder; it is rebuilt from the dataset",
                )
            store.info.update(info)
            return store
        try:
            check_free_space(index, cache_root)
            with exclusive_lock(cache_root / f".{target.name}.lock", "", wait=True):  # one build at a time
                if (target / STORE_FILE).exists():  # built meanwhile by another process
                    store = cls(target)
                    store.info.update(info)
                    return store
                return cls._build(index, target, info, progress)
        except OSError as err:  # a read-only or missing cache location, a disk error while packing
            raise DatasetError(
                index.root,
                [Problem(cache_root, f"cannot write the packed store here: {err.strerror or err}")],
                hint="point LOMPO_CACHE at a writable folder",
            ) from None

    @classmethod
    def _build(cls, index: DatasetIndex, target: Path, info: dict[str, Any], progress: bool) -> EpisodeStore:
        common = set.intersection(*(set(e.keys) for e in index.episodes)) | set(STANDARD_KEYS)
        episodes = content_order(index)

        def load(i: int) -> dict[str, Any]:
            summary = episodes[i]
            if summary.span is not None:
                return read_hdf5_episode(summary.path, summary.span)
            return read_episode(summary.path, stream_images=True)

        lengths = [e.num_steps for e in episodes]
        names = [str(e.path) + (f" (rows {e.span[0]}-{e.span[1]})" if e.span else "") for e in episodes]
        return cls.pack(target, lengths, load, keys=sorted(common), info=info, progress=progress, names=names)

    @classmethod
    def from_episodes(cls, episodes: list[dict[str, np.ndarray]], directory: Path | str) -> EpisodeStore:
        """Pack in-memory episodes (tests, imports) into ``directory``."""
        keys = sorted(set.intersection(*(set(e) for e in episodes)))
        return cls.pack(Path(directory), [len(e["reward"]) for e in episodes], lambda i: episodes[i], keys=keys)

    @classmethod
    def pack(
        cls,
        target: Path,
        lengths: list[int],
        load: Callable[[int], dict[str, Any]],
        keys: Iterable[str],
        info: dict[str, Any] | None = None,
        progress: bool = False,
        names: list[str] | None = None,
    ) -> EpisodeStore:
        """Write episodes ``load(0..n-1)`` into a temp folder, then rename it to ``target``."""
        keys = list(keys)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_builds(target.parent)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            total = int(sum(lengths))
            arrays: dict[str, np.ndarray] = {}
            iterator = range(len(lengths))
            if progress:
                from tqdm import tqdm

                iterator = tqdm(iterator, desc="packing episodes", unit="ep")
            for i in iterator:
                episode = load(i)
                name = names[i] if names else f"episode {i}"
                for key in keys:
                    value = episode[key]
                    if not isinstance(value, StreamedArray):
                        value = canonical(key, np.asarray(value))
                    if key not in arrays:
                        arrays[key] = np.lib.format.open_memmap(
                            tmp / f"{key}.npy", mode="w+", dtype=value.dtype, shape=(total, *value.shape[1:])
                        )
                    if value.shape[0] != lengths[i] or value.shape[1:] != arrays[key].shape[1:]:
                        raise LompoError(
                            f"{name}: key {key!r} has shape {value.shape}, expected "
                            f"({lengths[i]}, {', '.join(map(str, arrays[key].shape[1:]))})"
                        )
                    if value.dtype != arrays[key].dtype and not np.can_cast(value.dtype, arrays[key].dtype, "safe"):
                        raise LompoError(
                            f"{name}: key {key!r} has dtype {value.dtype}, which the store's {arrays[key].dtype} "
                            "(the dtype of the first episode packed) cannot hold exactly; make the episodes agree"
                        )
                    if isinstance(value, StreamedArray):
                        value.copy_into(arrays[key][starts[i] : starts[i] + lengths[i]])
                    else:
                        arrays[key][starts[i] : starts[i] + lengths[i]] = value
            for array in arrays.values():
                array.flush()  # type: ignore[attr-defined]
            del arrays
            np.save(tmp / "episode_starts.npy", starts)
            np.save(tmp / "episode_lengths.npy", np.asarray(lengths, np.int64))
            meta = {
                "format": STORE_FORMAT,
                "keys": keys,
                "num_steps": total,
                "num_episodes": len(lengths),
                **(info or {}),
            }
            (tmp / STORE_FILE).write_text(json.dumps(meta, indent=2, default=str))
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / STORE_FILE).exists():  # not a concurrent build of the same store
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except EpisodeFileError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DatasetError(err.path.parent, [Problem(err.path, p) for p in err.problems]) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls(target)

    # ------------------------------------------------------------------ access
    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def __contains__(self, key: str) -> bool:
        return key in self.arrays

    @property
    def num_steps(self) -> int:
        return int(self.episode_lengths.sum())

    @property
    def num_episodes(self) -> int:
        return len(self.episode_lengths)

    @property
    def num_transitions(self) -> int:
        return self.num_steps - self.num_episodes

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.arrays["image"].shape[1:])

    @property
    def action_dim(self) -> int:
        return int(self.arrays["action"].shape[1])

    def episode(self, i: int) -> dict[str, np.ndarray]:
        start, length = int(self.episode_starts[i]), int(self.episode_lengths[i])
        return {k: v[start : start + length] for k, v in self.arrays.items()}

    def episode_returns(self) -> np.ndarray:
        reward = np.asarray(self.arrays["reward"], np.float64)
        per_step = np.where(np.asarray(self.arrays["is_first"]), 0.0, reward)
        cumulative = np.concatenate([[0.0], np.cumsum(per_step)])
        return cumulative[self.episode_starts + self.episode_lengths] - cumulative[self.episode_starts]

    def subset(self, episodes: np.ndarray) -> EpisodeStore:
        """The same memory-mapped arrays seen through some of the episodes (samplers draw only from them)."""
        view = copy.copy(self)
        view.episode_starts = self.episode_starts[np.asarray(episodes, np.int64)]
        view.episode_lengths = self.episode_lengths[np.asarray(episodes, np.int64)]
        return view


def verified(
    index: DatasetIndex, skip_bad: bool = False, cache_root: Path | str | None = None, always: bool = False
) -> DatasetIndex:
    """Before a store is first packed, check every ``.npz`` decompresses with correct CRC-32s (a scan
    reads headers only). Bad files are refused by name, or left out with ``skip_bad`` (added to
    ``index.skipped``). A store that exists was built from files that passed (checked again with
    ``always``, as ``lompo info`` does)."""
    cache_root = Path(cache_root) if cache_root else default_cache_root()
    if not always and (cache_root / store_key(index) / STORE_FILE).exists():
        return index
    bad = {}
    for path in sorted({e.path for e in index.episodes if e.span is None}):
        problem = archive_problem(path)
        if problem is not None:
            bad[path] = problem
    if not bad:
        return index
    problems = [Problem(path, why) for path, why in bad.items()]
    kept = [e for e in index.episodes if e.path not in bad]
    if not skip_bad or not kept:
        raise DatasetError(index.root, problems, hint="--skip-bad leaves these files out" if kept else "")
    return dataclasses.replace(
        index,
        episodes=kept,
        file_hashes={p: h for p, h in index.file_hashes.items() if p not in bad},
        skipped=[*index.skipped, *problems],
    )


def remove_stale_builds(cache_root: Path) -> None:
    """Delete temporary store folders (``.KEY.tmp-PID-...``) whose building process no longer runs."""
    for stale in cache_root.glob(".*.tmp-*"):
        try:
            pid = int(stale.name.rsplit(".tmp-", 1)[1].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(stale, ignore_errors=True)
        except (ValueError, PermissionError):
            continue  # not ours to judge


def check_free_space(index: DatasetIndex, cache_root: Path) -> None:
    """Refuse to pack a store that cannot fit: a disk filling up under memory-mapped writes ends the
    process with SIGBUS, not with an error."""
    steps = sum(e.num_steps for e in index.episodes)
    needed = steps * (int(np.prod(index.image_shape)) + 4 * (index.action_dim + 3) + 3) * 1.05 + (1 << 20)
    cache_root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache_root).free
    if free < needed:
        raise DatasetError(
            index.root,
            [
                Problem(
                    cache_root,
                    f"packing this dataset needs about {needed / 2**30:.2f} GiB; {free / 2**30:.2f} GiB free",
                )
            ],
            hint="free space or point LOMPO_CACHE at a larger disk",
        )


def load_store(
    root: Path | str,
    *,
    skip_bad: bool = False,
    task: str | None = None,
    cache_root: Path | str | None = None,
    progress: bool = False,
) -> EpisodeStore:
    """Validate the dataset folder ``root`` and open its (cached) store."""
    from lompo.data.dataset import scan_dataset

    index = verified(scan_dataset(root, skip_bad=skip_bad, task=task), skip_bad, cache_root)
    return EpisodeStore.from_index(index, cache_root=cache_root, progress=progress)
