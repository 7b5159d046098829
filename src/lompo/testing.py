"""Synthetic episodes and the bad-input corpus (docs/reliability.md), for tests and for
``benchmarks/bad_input_corpus.py``.

Each :class:`BadInput` builds one broken dataset folder — a few good episodes plus the
broken thing, or a folder that is broken as a whole — and names the file and the problem
that lompo's error must mention. The cases are the failures V-D4RL's mirrors and
hand-made datasets have shown: truncated downloads, key-length mismatches, wrong image
layouts, NaNs, pickled objects, HDF5 shards missing a dataset.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lompo.data.dataset import write_metadata
from lompo.data.episodes import write_episode
from lompo.data.vd4rl_hdf5 import write_hdf5_shard

# Tasks whose action bounds are known, so out-of-bounds actions are detectable (2-D actions).
CORPUS_TASK = "walker-walk"
CORPUS_ACTION_DIM = 2


def synthetic_episode(
    num_transitions: int = 10,
    size: int = 8,
    action_dim: int = 2,
    seed: int = 0,
    episode_id: int = 0,
    terminal: bool = False,
) -> dict[str, np.ndarray]:
    """A small valid episode in the V-D4RL convention (random images, actions in [-1, 1]);
    the extra ``step`` and ``episode_id`` keys let tests trace where a sample came from."""
    rng = np.random.default_rng(seed)
    n = num_transitions + 1
    action = rng.uniform(-1, 1, (n, action_dim)).astype(np.float32)
    action[0] = 0
    reward = rng.uniform(0, 1, n).astype(np.float32)
    reward[0] = 0
    discount = np.ones(n, np.float32)
    if terminal:
        discount[-1] = 0
    return {
        "image": rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
        "action": action,
        "reward": reward,
        "discount": discount,
        "is_first": np.arange(n) == 0,
        "is_last": np.arange(n) == n - 1,
        "is_terminal": (np.arange(n) == n - 1) & terminal,
        "step": np.arange(n, dtype=np.int64),
        "episode_id": np.full(n, episode_id, np.int64),
    }


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (to prove nothing was modified)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class BadInput:
    name: str
    description: str
    build: Callable[[Path], None]  # writes the case into an existing, empty folder
    file: str  # the file the error must name ("" when the folder as a whole is the problem)
    problem: str  # a phrase the error must contain
    good_episodes: int = 3  # valid episodes next to the bad file (what --skip-bad keeps)
    skippable: bool = True  # False: --skip-bad cannot leave it out (dataset.json describes every file)


def _good(folder: Path, n: int = 3) -> None:
    for i in range(n):
        write_episode(folder, synthetic_episode(6, seed=i), name=f"good{i}.npz")


def _with_good(write: Callable[[Path], object]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        _good(folder)
        write(folder)

    return build


def _broken(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    """An episode written with plain ``np.savez`` after ``change`` broke it."""

    def write(folder: Path) -> None:
        episode = synthetic_episode(6)
        change(episode)
        np.savez(folder / name, **episode)  # type: ignore[arg-type]

    return _with_good(write)


def _truncated(folder: Path) -> None:
    good = (folder / "good0.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(good[: len(good) // 2])


def _hdf5_missing_dataset(folder: Path) -> None:
    import h5py

    write_hdf5_shard(folder / "shard0.hdf5", [synthetic_episode(5), synthetic_episode(5, seed=1)])
    with h5py.File(folder / "shard1.hdf5", "w") as f:
        f["observation"] = np.zeros((4, 3, 8, 8), np.uint8)
        f["action"] = np.zeros((4, 2), np.float32)


def _truncated_hdf5(folder: Path) -> None:
    path = write_hdf5_shard(folder / "shard0.hdf5", [synthetic_episode(5)])
    (folder / "cut.hdf5").write_bytes(path.read_bytes()[:500])


def _flipped_image_bytes(folder: Path) -> None:
    """A compressed episode whose image bytes were flipped after writing: its headers still parse
    (a scan passes), its image member fails decompression or its CRC-32."""
    path = write_episode(folder, synthetic_episode(6, seed=9), name="flipped.npz")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("image.npy")
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    middle = start + member.compress_size // 2
    for i in range(middle, middle + 16):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _lying_header(name: str, key: str, shape: tuple[int, ...]) -> Callable[[Path], None]:
    """An episode whose ``key`` member's .npy header declares ``shape`` over a few real bytes."""

    def write(folder: Path) -> None:
        episode = synthetic_episode(6)
        with zipfile.ZipFile(folder / name, "w") as archive:
            for k, value in episode.items():
                buffer = io.BytesIO()
                if k == key:
                    header = {
                        "descr": np.lib.format.dtype_to_descr(value.dtype),
                        "fortran_order": False,
                        "shape": shape,
                    }
                    np.lib.format.write_array_header_1_0(buffer, header)
                    buffer.write(value.tobytes())
                else:
                    np.save(buffer, value)
                archive.writestr(f"{k}.npy", buffer.getvalue())

    return _with_good(write)


def _hdf5_unallocated(folder: Path) -> None:
    """A shard whose 'reward' declares 10^8 rows that were never written (a 2.5 KB file)."""
    import h5py

    write_hdf5_shard(folder / "shard0.hdf5", [synthetic_episode(5), synthetic_episode(5, seed=1)])
    with h5py.File(folder / "hollow.hdf5", "w") as f:
        for key, shape, dtype in (
            ("observation", (10**8, 3, 8, 8), np.uint8),
            ("action", (10**8, 2), np.float32),
            ("reward", (10**8,), np.float32),
            ("discount", (10**8,), np.float32),
            ("step_type", (10**8,), np.int64),
        ):
            f.create_dataset(key, shape=shape, dtype=dtype, chunks=True)


def _metadata(text: str | Callable[[Path], object]) -> Callable[[Path], None]:
    """Good episodes and a bad ``dataset.json`` (text, or written by a function of its path)."""

    def write(folder: Path) -> None:
        path = folder / "dataset.json"
        path.write_text(text) if isinstance(text, str) else text(path)

    return _with_good(write)


def _metadata_field(key: str, value) -> Callable[[Path], None]:
    return _metadata(json.dumps({"task": CORPUS_TASK, key: value}))


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _foreign_member(folder: Path) -> None:
    np.savez(folder / "notes.npz", **synthetic_episode(6))  # type: ignore[arg-type]
    with zipfile.ZipFile(folder / "notes.npz", "a") as archive:
        archive.writestr("notes.txt", "recorded on the lab robot")


def _unrelated(folder: Path) -> None:
    (folder / "notes.txt").write_text("hello")
    (folder / "picture.png").write_bytes(b"\x89PNG")


def _set(key: str, index, value) -> Callable[[dict], None]:
    def change(episode: dict) -> None:
        episode[key][index] = value

    return change


def _replace(key: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def change(episode: dict) -> None:
        episode[key] = make(episode[key])

    return change


def _drop(key: str) -> Callable[[dict], None]:
    return lambda episode: episode.pop(key)


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput(
        "truncated_npz",
        "an .npz cut in half (interrupted download)",
        _with_good(_truncated),
        "truncated.npz",
        "not a readable .npz archive",
    ),
    BadInput(
        "zero_bytes",
        "a zero-byte file",
        _with_good(lambda f: (f / "empty.npz").write_bytes(b"")),
        "empty.npz",
        "file is empty",
    ),
    BadInput(
        "missing_key",
        "an episode without 'action'",
        _broken("nokey.npz", _drop("action")),
        "nokey.npz",
        "missing key(s) ['action']",
    ),
    BadInput(
        "unequal_lengths",
        "'reward' one step shorter (the V-D4RL humanoid file)",
        _broken("lengths.npz", _replace("reward", lambda r: r[:-1])),
        "lengths.npz",
        "keys have different lengths",
    ),
    BadInput(
        "image_dtype",
        "float32 images",
        _broken("dtype.npz", _replace("image", lambda x: x.astype(np.float32))),
        "dtype.npz",
        "has dtype float32, expected uint8",
    ),
    BadInput(
        "image_shape",
        "grey images (T+1, H, W)",
        _broken("shape.npz", _replace("image", lambda x: x[..., 0])),
        "shape.npz",
        "expected (T+1, H, W, 3)",
    ),
    BadInput(
        "channels_first",
        "images stored (T+1, 3, H, W)",
        _broken("chw.npz", _replace("image", lambda x: np.ascontiguousarray(x.transpose(0, 3, 1, 2)))),
        "chw.npz",
        "looks channels-first",
    ),
    BadInput(
        "action_dim_mismatch",
        "one episode with 5-D actions among 2-D ones",
        _with_good(lambda f: write_episode(f, synthetic_episode(6, action_dim=5), name="wide.npz")),
        "wide.npz",
        "action dimension 5 differs from the dataset's 2",
    ),
    BadInput(
        "image_size_mismatch",
        "one episode of 16 px images among 8 px ones",
        _with_good(lambda f: write_episode(f, synthetic_episode(6, size=16), name="big.npz")),
        "big.npz",
        "image shape (16, 16, 3) differs",
    ),
    BadInput(
        "nan_reward",
        "a NaN reward",
        _broken("nan.npz", _set("reward", 3, np.nan)),
        "nan.npz",
        "key 'reward' has 1 NaN/inf value(s) (first at step 3)",
    ),
    BadInput(
        "inf_reward",
        "an infinite reward",
        _broken("infreward.npz", _set("reward", 5, -np.inf)),
        "infreward.npz",
        "key 'reward' has 1 NaN/inf value(s) (first at step 5)",
    ),
    BadInput(
        "nan_action",
        "a NaN action",
        _broken("nanaction.npz", _set("action", (1, 0), np.nan)),
        "nanaction.npz",
        "key 'action' has 1 NaN/inf value(s) (first at step 1)",
    ),
    BadInput(
        "inf_action",
        "an infinite action",
        _broken("inf.npz", _set("action", (2, 1), np.inf)),
        "inf.npz",
        "key 'action' has 1 NaN/inf value(s) (first at step 2)",
    ),
    BadInput(
        "action_out_of_bounds",
        "an action of 3.0 (bounds [-1, 1])",
        _broken("bounds.npz", _set("action", (4, 0), 3.0)),
        "bounds.npz",
        "outside the bounds",
    ),
    BadInput(
        "reward_beyond_float32",
        "a float64 reward of 1e300 (would become inf as float32)",
        _broken(
            "huge.npz", _replace("reward", lambda r: np.where(np.arange(len(r)) == 2, 1e300, r.astype(np.float64)))
        ),
        "huge.npz",
        "beyond float32's range",
    ),
    BadInput(
        "inexact_int_reward",
        "int64 rewards of 2**40 + 1 (float32 cannot hold them)",
        _broken("bigint.npz", _replace("reward", lambda r: np.full(r.shape, 2**40 + 1, np.int64))),
        "bigint.npz",
        "cannot represent exactly",
    ),
    BadInput(
        "flag_not_boolean",
        "is_first stored as floats with a 0.5",
        _broken(
            "half.npz", _replace("is_first", lambda x: np.where(np.arange(len(x)) == 2, 0.5, x.astype(np.float32)))
        ),
        "half.npz",
        "other than true/false",
    ),
    BadInput(
        "first_mid_episode",
        "is_first true in the middle of an episode",
        _broken("midfirst.npz", _set("is_first", 3, True)),
        "midfirst.npz",
        "must be true at step 0 and only there",
    ),
    BadInput(
        "last_mid_episode",
        "is_last true before the last step",
        _broken("midlast.npz", _set("is_last", 2, True)),
        "midlast.npz",
        "must be true at the last step and only there",
    ),
    BadInput(
        "terminal_mid_episode",
        "is_terminal true before the last step",
        _broken("midterminal.npz", _set("is_terminal", 2, True)),
        "midterminal.npz",
        "is true before the last step",
    ),
    BadInput(
        "discount_out_of_range",
        "a discount of 5.0",
        _broken("discount.npz", _set("discount", 3, 5.0)),
        "discount.npz",
        "outside [0, 1]",
    ),
    BadInput(
        "crc_flipped_image",
        "flipped bytes inside a compressed image member (headers intact)",
        _with_good(_flipped_image_bytes),
        "flipped.npz",
        "corrupt",
    ),
    BadInput(
        "billion_step_header",
        "a reward header declaring 10^9 steps over 7 real values",
        _lying_header("billion.npz", "reward", (10**9,)),
        "billion.npz",
        "declares 1,000,000,000 steps",
    ),
    BadInput(
        "huge_image_header",
        "an image header declaring 100000 x 100000 pixels",
        _lying_header("huge_image.npz", "image", (7, 100_000, 100_000, 3)),
        "huge_image.npz",
        "declares shape (7, 100000, 100000, 3)",
    ),
    BadInput(
        "long_inflating_member",
        "an 'action' member of 5,000,000 zero rows (40 MB) compressed to 40 KB beside 7-step keys",
        _with_good(
            lambda f: np.savez_compressed(
                f / "inflating.npz",
                **{**synthetic_episode(6), "action": np.zeros((5_000_000, 2), np.float32)},  # type: ignore[arg-type]
            )
        ),
        "inflating.npz",
        "keys have different lengths",
    ),
    BadInput(
        "wide_action",
        "actions of 20,000 dimensions (80 KB per step, compressed)",
        _with_good(
            lambda f: np.savez_compressed(
                f / "wide_action.npz",
                **{**synthetic_episode(6), "action": np.zeros((7, 20_000), np.float32)},  # type: ignore[arg-type]
            )
        ),
        "wide_action.npz",
        "declares 80,000 bytes per step",
    ),
    BadInput(
        "hdf5_unallocated",
        "an HDF5 shard declaring 10^8 rows it never stored",
        _hdf5_unallocated,
        "hollow.hdf5",
        "declares 100,000,000 rows but stores no data",
        good_episodes=2,
    ),
    BadInput(
        "pickled_objects",
        "an object array (loading it would unpickle)",
        _broken("pickle.npz", lambda ep: ep.__setitem__("info", np.array([{"a": 1}] * 7, dtype=object))),
        "pickle.npz",
        "holds Python objects (a pickle)",
    ),
    BadInput(
        "hdf5_missing_dataset",
        "a V-D4RL HDF5 shard without reward/discount/step_type",
        _hdf5_missing_dataset,
        "shard1.hdf5",
        "missing dataset(s) ['reward', 'discount', 'step_type']",
        good_episodes=2,
    ),
    BadInput(
        "truncated_hdf5",
        "an HDF5 shard cut at 500 bytes next to a good shard",
        _truncated_hdf5,
        "cut.hdf5",
        "not a readable HDF5 file",
        good_episodes=1,
    ),
    BadInput(
        "foreign_member",
        "an .npz with a text file added to the archive",
        _with_good(_foreign_member),
        "notes.npz",
        "key 'notes.txt' cannot be read",
    ),
    BadInput(
        "text_named_npz",
        "a text file named like an episode",
        _with_good(lambda f: (f / "readme.npz").write_text("see the lab wiki")),
        "readme.npz",
        "not a readable .npz archive",
    ),
    BadInput(
        "npy_named_npz",
        "a single .npy array saved under an .npz name",
        _with_good(lambda f: (f / "array.npz").write_bytes(_npy_bytes(np.zeros(10, np.float32)))),
        "array.npz",
        "not a readable .npz archive",
    ),
    BadInput(
        "folder_named_npz",
        "a folder named like an episode",
        _with_good(lambda f: (f / "folder.npz").mkdir()),
        "folder.npz",
        "is not a regular file",
    ),
    BadInput(
        "device_named_npz",
        "a link to /dev/zero named like an episode (reading it never ends)",
        _with_good(lambda f: os.symlink("/dev/zero", f / "zero.npz")),
        "zero.npz",
        "is not a regular file",
    ),
    BadInput(
        "pipe_named_npz",
        "a named pipe (FIFO) named like an episode (reading it blocks)",
        _with_good(lambda f: os.mkfifo(f / "pipe.npz")),
        "pipe.npz",
        "is not a regular file",
    ),
    BadInput(
        "one_step_episode",
        "an episode of a single step (no transition)",
        _broken("single.npz", lambda ep: ep.update({k: v[:1] for k, v in ep.items()})),
        "single.npz",
        "at least 2 (one transition) are needed",
    ),
    BadInput(
        "reward_column",
        "rewards stored as a (T+1, 1) column",
        _broken("column.npz", _replace("reward", lambda r: r[:, None])),
        "column.npz",
        "key 'reward' has shape (7, 1), expected (T+1,)",
    ),
    BadInput(
        "action_vector",
        "actions stored (T+1,) without their action dimension",
        _broken("flat.npz", _replace("action", lambda a: a[:, 0])),
        "flat.npz",
        "key 'action' has shape (7,), expected (T+1, action_dim)",
    ),
    BadInput(
        "rgba_images",
        "RGBA images (T+1, H, W, 4)",
        _broken("rgba.npz", _replace("image", lambda x: np.concatenate([x, x[..., :1]], -1))),
        "rgba.npz",
        "expected (T+1, H, W, 3)",
    ),
    BadInput(
        "text_rewards",
        "rewards stored as strings",
        _broken("strings.npz", _replace("reward", lambda r: r.astype(str))),
        "strings.npz",
        "key 'reward' has non-numeric dtype",
    ),
    BadInput(
        "flag_counts",
        "is_first stored as int64 with a 2",
        _broken("counts.npz", _replace("is_first", lambda x: x.astype(np.int64) * 2)),
        "counts.npz",
        "holds values other than true/false",
    ),
    BadInput(
        "negative_discount",
        "a discount of -3.0",
        _broken("negative.npz", _set("discount", 2, -3.0)),
        "negative.npz",
        "outside [0, 1]",
    ),
    BadInput(
        "listed_file_missing",
        "dataset.json lists a file the folder lacks (an incomplete download)",
        _metadata_field("files", {"gone.npz": "0" * 64}),
        "gone.npz",
        "listed in dataset.json but missing",
        good_episodes=3,
    ),
    BadInput(
        "listed_hash_differs",
        "a file whose SHA-256 differs from the one dataset.json records",
        _metadata(lambda p: p.write_text(json.dumps({"task": CORPUS_TASK, "files": {"good0.npz": "0" * 64}}))),
        "good0.npz",
        "differs from the SHA-256 recorded in dataset.json",
        good_episodes=2,
    ),
    *(
        BadInput(
            f"metadata_{key}",
            f'dataset.json with "{key}": {json.dumps(value)}',
            _metadata_field(key, value),
            "dataset.json",
            f"field {key!r} must be",
            skippable=False,
        )
        for key, value in (
            ("action_bounds", "ab"),
            ("files", []),
            ("reference_returns", "oops"),
            ("camera", 99),
            ("task", 123),
            ("episode_length", 10**12),
            ("image_size", 2.5),
        )
    ),
    BadInput(
        "metadata_bounds_reversed",
        'dataset.json with "action_bounds": [1, -1]',
        _metadata_field("action_bounds", [1, -1]),
        "dataset.json",
        "low < high",
        skippable=False,
    ),
    BadInput(
        "metadata_not_json",
        "dataset.json that is not JSON",
        _metadata("{task: walker-walk}"),
        "dataset.json",
        "unreadable metadata",
        skippable=False,
    ),
    BadInput(
        "metadata_not_object",
        "dataset.json holding a list",
        _metadata("[1, 2]"),
        "dataset.json",
        "metadata must be a JSON object",
        skippable=False,
    ),
    BadInput(
        "metadata_utf16",
        "dataset.json written as UTF-16",
        _metadata(lambda p: p.write_bytes(json.dumps({"task": CORPUS_TASK}).encode("utf-16"))),
        "dataset.json",
        "unreadable metadata",
        skippable=False,
    ),
    BadInput(
        "metadata_deep_nesting",
        "dataset.json nested 100,000 levels deep",
        _metadata("[" * 100_000 + "]" * 100_000),
        "dataset.json",
        "nested too deeply",
        skippable=False,
    ),
    BadInput(
        "metadata_pipe",
        "dataset.json that is a named pipe (reading it blocks)",
        _metadata(os.mkfifo),
        "dataset.json",
        "is not a regular file",
        skippable=False,
    ),
    BadInput(
        "metadata_device",
        "dataset.json linked to /dev/zero (reading it never ends)",
        _metadata(lambda p: os.symlink("/dev/zero", p)),
        "dataset.json",
        "is not a regular file",
        skippable=False,
    ),
    BadInput("empty_folder", "a folder with nothing in it", lambda f: None, "", "empty folder", good_episodes=0),
    BadInput(
        "unrelated_files",
        "a folder of a text file and a PNG",
        _unrelated,
        "",
        "no episode files (.npz, .hdf5) among ['notes.txt', 'picture.png']",
        good_episodes=0,
    ),
)

# one bad episode file next to three good ones: what a scan must name and --skip-bad must leave out
FILE_CASES = tuple(
    case for case in BAD_INPUTS if case.file.endswith((".npz", ".hdf5")) and case.good_episodes == 3 and case.skippable
)


def write_corpus(root: Path) -> list[tuple[BadInput, Path]]:
    """Write every case into ``root/<case name>/``; returns ``(case, folder)`` pairs. Folders with
    episodes get a ``dataset.json`` naming the task, so training knows the action bounds too."""
    built = []
    for case in BAD_INPUTS:
        folder = Path(root) / case.name
        folder.mkdir(parents=True, exist_ok=False)
        case.build(folder)
        if case.good_episodes and not os.path.lexists(folder / "dataset.json"):
            write_metadata(folder, {"task": CORPUS_TASK})
        built.append((case, folder))
    return built
