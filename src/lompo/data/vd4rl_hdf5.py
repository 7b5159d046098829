"""V-D4RL's 84 px HDF5 shards (the format its DrQ+BC/CQL/BC code reads).

Each shard holds many episodes back to back: ``observation`` uint8
``(N, 3, 84, 84)`` (channels first), ``action`` ``(N, A)``, ``reward`` ``(N,)``,
``discount`` ``(N,)`` and ``step_type`` ``(N,)`` with 0 = first, 1 = mid,
2 = last. Episodes are split at ``step_type == 0`` and converted to the npz
episode convention (images channels last, ``is_first/is_last/is_terminal``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lompo.data.episodes import ArrayHeader, EpisodeSummary, validate_arrays
from lompo.errors import EpisodeFileError

HDF5_KEYS = ("observation", "action", "reward", "discount", "step_type")
HDF5_SUFFIXES = (".hdf5", ".h5")


def _open(path: Path):
    import h5py

    try:
        if path.stat().st_size == 0:
            raise EpisodeFileError(path, ["file is empty (0 bytes)"])
        return h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise EpisodeFileError(path, [f"not a readable HDF5 file (truncated or corrupt): {err}"]) from None


def _episode_spans(step_type: np.ndarray) -> list[tuple[int, int]]:
    starts = np.flatnonzero(step_type == 0).tolist()
    ends = starts[1:] + [len(step_type)]
    return list(zip(starts, ends))


def inspect_hdf5(path: Path | str, action_bounds=None) -> list[EpisodeSummary]:
    """Validate one shard; return one summary per episode. Raises :class:`EpisodeFileError`."""
    path = Path(path)
    with _open(path) as f:
        missing = [k for k in HDF5_KEYS if k not in f]
        if missing:
            raise EpisodeFileError(path, [f"missing dataset(s) {missing} (found: {sorted(f.keys())})"])
        unallocated = [
            f"dataset {k!r} declares {f[k].shape[0]:,} rows but stores no data"
            for k in HDF5_KEYS
            if f[k].shape and f[k].shape[0] > 0 and f[k].id.get_storage_size() == 0
        ]
        lengths = {k: f[k].shape[0] if f[k].shape else 0 for k in HDF5_KEYS}
        if len(set(lengths.values())) > 1:
            unallocated.append("datasets have different lengths: " + ", ".join(f"{k}={n}" for k, n in lengths.items()))
        if unallocated:  # refuse before reading what the shapes claim
            raise EpisodeFileError(path, unallocated)
        try:
            obs = f["observation"]
            header = {"observation": (obs.shape, obs.dtype)}
            arrays = {k: np.asarray(f[k][()]) for k in HDF5_KEYS if k != "observation"}
        except (OSError, ValueError, KeyError) as err:
            raise EpisodeFileError(path, [f"data cannot be read (truncated or corrupt): {err}"]) from None
    problems = []
    shape, dtype = header["observation"]
    if dtype != np.uint8:
        problems.append(f"dataset 'observation' has dtype {dtype}, expected uint8")
    if len(shape) != 4 or shape[1] != 3:
        problems.append(f"dataset 'observation' has shape {shape}, expected (N, 3, H, W)")
    lengths = {"observation": shape[0], **{k: len(v) for k, v in arrays.items()}}
    if len(set(lengths.values())) > 1:
        problems.append("datasets have different lengths: " + ", ".join(f"{k}={n}" for k, n in lengths.items()))
    step_type = arrays["step_type"]
    if not np.isin(step_type, (0, 1, 2)).all():
        problems.append("dataset 'step_type' has values other than 0 (first), 1 (mid), 2 (last)")
    elif len(step_type) and step_type[0] != 0:
        problems.append("dataset 'step_type' does not start with 0 (first step of an episode)")
    if problems:
        raise EpisodeFileError(path, problems)
    summaries = []
    for start, stop in _episode_spans(step_type):
        episode_arrays: dict[str, np.ndarray | ArrayHeader] = {
            k: v[start:stop] for k, v in arrays.items() if k != "step_type"
        }
        episode_arrays["image"] = ArrayHeader((stop - start, shape[2], shape[3], 3), np.dtype(np.uint8))
        found = validate_arrays(episode_arrays, action_bounds)
        if found:
            raise EpisodeFileError(path, [f"episode at rows {start}:{stop}: {p}" for p in found])
        reward = np.asarray(arrays["reward"][start:stop], np.float64)
        summaries.append(
            EpisodeSummary(
                path=path,
                num_steps=stop - start,
                image_shape=(shape[2], shape[3], 3),
                action_dim=int(episode_arrays["action"].shape[1]),
                episode_return=float(reward[1:].sum()),
                keys=("image", "action", "reward", "discount", *("is_first", "is_last", "is_terminal")),
                span=(start, stop),
            )
        )
    return summaries


def read_hdf5_episode(path: Path | str, span: tuple[int, int]) -> dict[str, np.ndarray]:
    """Read rows ``span`` of a shard as an episode in the npz convention."""
    path = Path(path)
    start, stop = span
    with _open(path) as f:
        try:
            obs = np.asarray(f["observation"][start:stop])
            rows = {k: np.asarray(f[k][start:stop]) for k in ("action", "reward", "discount", "step_type")}
        except (OSError, ValueError, KeyError) as err:
            raise EpisodeFileError(path, [f"data cannot be read (truncated or corrupt): {err}"]) from None
    n = stop - start
    discount = rows["discount"].astype(np.float32)
    is_last = rows["step_type"] == 2
    return {
        "image": np.ascontiguousarray(obs.transpose(0, 2, 3, 1)),
        "action": rows["action"].astype(np.float32),
        "reward": rows["reward"].astype(np.float32),
        "discount": discount,
        "is_first": np.arange(n) == 0,
        "is_last": is_last,
        "is_terminal": is_last & (discount == 0),
    }


def write_hdf5_shard(path: Path | str, episodes: list[dict[str, np.ndarray]]) -> Path:
    """Write episodes as one V-D4RL-style shard (for tests and export), atomically."""
    import os

    import h5py

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    cat = {k: np.concatenate([e[k] for e in episodes]) for k in ("image", "action", "reward", "discount")}
    step_type = np.concatenate([np.where(e["is_first"], 0, np.where(e["is_last"], 2, 1)) for e in episodes])
    with h5py.File(tmp, "w") as f:
        f["observation"] = cat["image"].transpose(0, 3, 1, 2)
        f["action"] = cat["action"]
        f["reward"] = cat["reward"]
        f["discount"] = cat["discount"]
        f["step_type"] = step_type.astype(np.int64)
    os.replace(tmp, path)
    return path
