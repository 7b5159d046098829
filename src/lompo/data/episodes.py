"""V-D4RL / Dreamer episode files: one episode per ``.npz``.

Format (docs/datasets.md): every array has the same leading length ``T + 1``.
``image`` uint8 ``(T+1, H, W, 3)``; ``action`` float32 ``(T+1, A)`` whose first
row is zero (step 0 is the reset frame); ``reward`` float32 ``(T+1,)`` with 0 at
step 0; ``discount`` float32; ``is_first``, ``is_last``, ``is_terminal`` bool.
Any other key (proprioceptive ``orientations``, ``physics_state``...) is kept.
Transition ``t -> t+1`` is ``(image[t], action[t+1], reward[t+1], image[t+1], discount[t+1])``.

Files are never unpickled (``allow_pickle=False``); arrays of Python objects are
reported as a problem without being loaded.
"""

from __future__ import annotations

import io
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from lompo.errors import EpisodeFileError
from lompo.files import atomic_write_bytes

REQUIRED_KEYS = ("image", "action", "reward")
FLAG_KEYS = ("is_first", "is_last", "is_terminal")
STANDARD_KEYS = (*REQUIRED_KEYS, "discount", *FLAG_KEYS)
# What a store holds for each standard key, whatever the file's dtype: every episode is converted
# to these (exactly, or refused by validation), so no episode's dtype can change another's values.
CANONICAL_DTYPES: dict[str, np.dtype] = {
    "image": np.dtype(np.uint8),
    "action": np.dtype(np.float32),
    "reward": np.dtype(np.float32),
    "discount": np.dtype(np.float32),
    **{key: np.dtype(bool) for key in FLAG_KEYS},
}
FLOAT32_MAX = float(np.finfo(np.float32).max)


# --------------------------------------------------------------------------- writing
def episode_filename(num_steps: int, when: datetime | None = None, uid: str | None = None) -> str:
    """``{timestamp}-{uuid}-{length}.npz``; ``length`` is the stored step count T+1 (as V-D4RL)."""
    when = when or datetime.now(UTC)
    return f"{when.strftime('%Y%m%dT%H%M%S')}-{uid or uuid.uuid4().hex}-{num_steps}.npz"


def write_episode(
    directory: Path | str, episode: dict[str, np.ndarray], *, compress: bool = True, name: str | None = None
) -> Path:
    """Validate ``episode`` and write it atomically into ``directory``; returns the file's path."""
    episode = {k: np.asarray(v) for k, v in episode.items()}
    length = len(episode["reward"]) if "reward" in episode else 0
    path = Path(directory) / (name or episode_filename(length))
    problems = validate_arrays(dict(episode))
    if problems:
        raise EpisodeFileError(path, ["refusing to write an invalid episode: " + p for p in problems])
    saver = np.savez_compressed if compress else np.savez
    atomic_write_bytes(path, lambda f: saver(f, **episode))  # type: ignore[arg-type]
    return path


class EpisodeBuilder:
    """Accumulates one episode step by step in the file's convention (zero first action)."""

    def __init__(self, action_dim: int):
        self.action_dim = action_dim
        self._steps: list[dict[str, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self._steps)

    def add_first(self, image: np.ndarray, **extras) -> None:
        if self._steps:
            raise RuntimeError("add_first called twice for one episode")
        self._steps.append(self._step(image, np.zeros(self.action_dim, np.float32), 0.0, 1.0, extras))

    def add_step(self, action, reward: float, image: np.ndarray, discount: float = 1.0, **extras) -> None:
        if not self._steps:
            raise RuntimeError("add_step before add_first")
        self._steps.append(self._step(image, action, reward, discount, extras))

    @staticmethod
    def _step(image, action, reward, discount, extras) -> dict[str, np.ndarray]:
        step: dict[str, np.ndarray] = {
            "image": np.asarray(image, np.uint8),
            "action": np.asarray(action, np.float32).reshape(-1),
            "reward": np.asarray(reward, np.float32),
            "discount": np.asarray(discount, np.float32),
        }
        step.update({k: np.asarray(v) for k, v in extras.items()})
        return step

    def finish(self, terminated: bool = False) -> dict[str, np.ndarray]:
        """Stack the steps into the episode arrays; the last step is a terminal one if ``terminated``."""
        if len(self._steps) < 2:
            raise RuntimeError("an episode needs at least one transition")
        episode = {k: np.stack([s[k] for s in self._steps]) for k in self._steps[0]}
        n = len(self._steps)
        episode["is_first"] = np.arange(n) == 0
        episode["is_last"] = np.arange(n) == n - 1
        episode["is_terminal"] = episode["is_last"] & bool(terminated)
        if terminated:
            episode["discount"][-1] = 0.0
        return episode


# --------------------------------------------------------------------------- validation
@dataclass
class ArrayHeader:
    shape: tuple[int, ...]
    dtype: np.dtype


def validate_arrays(arrays: dict[str, np.ndarray | ArrayHeader], action_bounds=None) -> list[str]:
    """All problems of one episode's arrays (headers suffice for ``image``). Empty list = valid."""
    problems: list[str] = []
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        problems.append(f"missing key(s) {missing} (found: {sorted(arrays)})")
    for key, value in arrays.items():
        if value.dtype == object:
            problems.append(f"key {key!r} holds Python objects (a pickle); lompo never loads pickles")
    if problems:
        return problems

    lengths = {k: (v.shape[0] if len(v.shape) else None) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k}={n}" for k, n in lengths.items())
        problems.append(f"keys have different lengths: {described}")
    length = lengths["reward"]
    if length is not None and length < 2:
        problems.append(f"episode has {length} step(s); at least 2 (one transition) are needed")

    image = arrays["image"]
    if image.dtype != np.uint8:
        problems.append(f"key 'image' has dtype {image.dtype}, expected uint8")
    if len(image.shape) == 4 and image.shape[1] in (1, 3) and image.shape[-1] not in (1, 3):
        problems.append(
            f"key 'image' has shape {tuple(image.shape)}, which looks channels-first; expected (T+1, H, W, 3)"
        )
    elif len(image.shape) != 4 or image.shape[-1] != 3:
        problems.append(f"key 'image' has shape {tuple(image.shape)}, expected (T+1, H, W, 3)")

    action = arrays["action"]
    if len(action.shape) != 2:
        problems.append(f"key 'action' has shape {tuple(action.shape)}, expected (T+1, action_dim)")
    reward = arrays["reward"]
    if len(reward.shape) != 1:
        problems.append(f"key 'reward' has shape {tuple(reward.shape)}, expected (T+1,)")
    for key in ("action", "reward", "discount"):
        if isinstance(numbers := arrays.get(key), np.ndarray):
            if not np.issubdtype(numbers.dtype, np.number) or np.issubdtype(numbers.dtype, np.complexfloating):
                problems.append(f"key {key!r} has non-numeric dtype {numbers.dtype}")
                continue
            bad = ~np.isfinite(numbers)
            if bad.any():
                first = int(np.argwhere(bad)[0][0])
                problems.append(f"key {key!r} has {int(bad.sum())} NaN/inf value(s) (first at step {first})")
                continue
            problems += float32_problems(key, numbers)
    problems += flag_problems(arrays)
    discount = arrays.get("discount")
    if isinstance(discount, np.ndarray) and np.issubdtype(discount.dtype, np.number) and discount.size:
        finite = discount[np.isfinite(discount)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            problems.append(
                f"key 'discount' has values outside [0, 1] (min {finite.min():.4g}, max {finite.max():.4g})"
            )
    if action_bounds is not None and isinstance(action, np.ndarray) and np.issubdtype(action.dtype, np.number):
        low, high = action_bounds
        finite = np.where(np.isfinite(action), action, 0.0)
        outside = (finite < np.asarray(low) - 1e-5) | (finite > np.asarray(high) + 1e-5)
        if outside.any():
            first = int(np.argwhere(outside)[0][0])
            problems.append(
                f"key 'action' has {int(outside.sum())} value(s) outside the bounds [{low}, {high}] "
                f"(min {finite.min():.4g}, max {finite.max():.4g}, first at step {first})"
            )
    return problems


def float32_problems(key: str, values: np.ndarray) -> list[str]:
    """Why ``values`` cannot become float32 without changing: beyond float32's range (it would become
    inf), or integers float32 cannot hold exactly. Wider floats are rounded, as float32 storage means."""
    if values.dtype == np.float32 or values.size == 0:
        return []
    if np.issubdtype(values.dtype, np.floating) and values.dtype.itemsize > 4 and np.abs(values).max() > FLOAT32_MAX:
        return [
            f"key {key!r} has values beyond float32's range (max |x| {np.abs(values).max():.4g}); they would become inf"
        ]
    if np.issubdtype(values.dtype, np.integer) and not np.array_equal(values.astype(np.float32), values):
        return [f"key {key!r} holds {values.dtype} values float32 cannot represent exactly"]
    return []


def flag_problems(arrays: dict[str, np.ndarray | ArrayHeader]) -> list[str]:
    """The ``is_*`` flags: 0/1 values only, ``is_first`` at step 0 only, ``is_last`` at the last step
    only, ``is_terminal`` only where ``is_last`` is set."""
    problems, flags = [], {}
    for key in FLAG_KEYS:
        value = arrays.get(key)
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            continue
        if value.dtype != bool:
            numeric = np.issubdtype(value.dtype, np.number) and not np.issubdtype(value.dtype, np.complexfloating)
            if not numeric or not np.isin(value, (0, 1)).all():
                problems.append(
                    f"key {key!r} holds values other than true/false (0/1), e.g. "
                    f"{value[~np.isin(value, (0, 1))][0] if numeric else value.dtype}"
                )
                continue
        flags[key] = value.astype(bool)
    if "is_first" in flags and (flags["is_first"][1:].any() or (len(flags["is_first"]) and not flags["is_first"][0])):
        problems.append("key 'is_first' must be true at step 0 and only there")
    if "is_last" in flags and (flags["is_last"][:-1].any() or (len(flags["is_last"]) and not flags["is_last"][-1])):
        problems.append("key 'is_last' must be true at the last step and only there")
    if "is_terminal" in flags and flags["is_terminal"][:-1].any():
        problems.append(f"key 'is_terminal' is true before the last step (step {int(np.argmax(flags['is_terminal']))})")
    return problems


def canonical(key: str, value: np.ndarray) -> np.ndarray:
    """``value`` in the store's dtype for ``key`` (:data:`CANONICAL_DTYPES`); other keys unchanged."""
    dtype = CANONICAL_DTYPES.get(key)
    return value if dtype is None or value.dtype == dtype else value.astype(dtype)


# --------------------------------------------------------------------------- reading
def _npy_header(fp) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` stream ``fp``, which is left at the payload."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape), bool(fortran_order), np.dtype(dtype)


def _read_header(archive: zipfile.ZipFile, member: str) -> ArrayHeader:
    with archive.open(member) as fp:
        shape, _, dtype = _npy_header(fp)  # header only, no payload
    return ArrayHeader(shape, dtype)


MAX_EPISODE_STEPS = 10_000_000  # longer than any episode of a real dataset
MAX_MEMBER_BYTES = 4 << 30  # one array of one episode (a 1000-step episode at 256 px is 0.2 GB)
MAX_STEP_BYTES = 64 << 10  # one step of a key other than the image (an action of 16,384 float32 values)


def _declared_size_problems(archive: zipfile.ZipFile) -> list[str]:
    """Each member's header against what the member really holds, before anything is allocated: a
    header may claim far more steps or pixels than its file has (a bad writer, a hostile file)."""
    problems = []
    for info in archive.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        try:
            header = _read_header(archive, info.filename)
        except _CORRUPT as err:
            problems.append(f"key {key!r} cannot be read (truncated or corrupt): {err}")
            continue
        if header.dtype == object:
            continue  # reported by validation without loading
        declared = int(np.prod(header.shape, dtype=object)) * header.dtype.itemsize
        if header.shape and header.shape[0] > MAX_EPISODE_STEPS:
            problems.append(f"key {key!r} declares {header.shape[0]:,} steps (more than {MAX_EPISODE_STEPS:,})")
        elif declared > info.file_size:
            problems.append(
                f"key {key!r} declares shape {header.shape} ({declared:,} bytes) but holds {info.file_size:,} bytes"
            )
        elif key != "image" and header.shape and declared > MAX_STEP_BYTES * max(1, header.shape[0]):
            per_step = declared // max(1, header.shape[0])
            problems.append(f"key {key!r} declares {per_step:,} bytes per step (more than {MAX_STEP_BYTES:,})")
        elif info.file_size > MAX_MEMBER_BYTES:
            problems.append(f"key {key!r} inflates to {info.file_size:,} bytes (more than {MAX_MEMBER_BYTES:,})")
    return problems


def _read_array(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    with archive.open(member) as fp:
        return np.lib.format.read_array(io.BufferedReader(fp), allow_pickle=False)  # type: ignore[type-var]


_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError, NotImplementedError)


@dataclass
class EpisodeSummary:
    """What a scan learns of one episode without decoding its images."""

    path: Path
    num_steps: int  # T + 1
    image_shape: tuple[int, int, int]
    action_dim: int
    episode_return: float
    keys: tuple[str, ...]
    span: tuple[int, int] | None = None  # rows of an HDF5 shard holding this episode

    @property
    def num_transitions(self) -> int:
        return self.num_steps - 1


def _load_validated(path: Path, action_bounds, decode_images: bool) -> dict[str, np.ndarray | ArrayHeader]:
    """Open ``path``, decode its arrays (images only if ``decode_images``; object arrays never)
    and validate them. Raises :class:`EpisodeFileError` listing every problem found."""
    problems: list[str] = []
    try:
        size = path.stat().st_size
    except OSError as err:
        raise EpisodeFileError(path, [f"cannot read file: {err.strerror or err}"]) from None
    if size == 0:
        raise EpisodeFileError(path, ["file is empty (0 bytes)"])
    try:
        archive = zipfile.ZipFile(path)
    except _CORRUPT as err:
        raise EpisodeFileError(path, [f"not a readable .npz archive (truncated or corrupt): {err}"]) from None
    arrays: dict[str, np.ndarray | ArrayHeader] = {}
    with archive:
        problems = _declared_size_problems(archive)
        if problems:  # refuse before allocating what a header claims
            raise EpisodeFileError(path, problems)
        headers = {(m[:-4] if m.endswith(".npy") else m): _read_header(archive, m) for m in archive.namelist()}
        if len({h.shape[0] if h.shape else None for h in headers.values()}) > 1:
            # keys of different lengths: refused from the headers, before a long member is read whole
            raise EpisodeFileError(path, validate_arrays(dict(headers)))
        for member in archive.namelist():
            key = member[:-4] if member.endswith(".npy") else member
            try:
                if headers[key].dtype == object or (key == "image" and not decode_images):
                    arrays[key] = headers[key]
                else:
                    arrays[key] = _read_array(archive, member)
            except _CORRUPT as err:
                problems.append(f"key {key!r} cannot be read (truncated or corrupt): {err}")
    if problems:
        raise EpisodeFileError(path, problems)
    problems = validate_arrays(arrays, action_bounds)
    if problems:
        raise EpisodeFileError(path, problems)
    return arrays


def inspect_episode(path: Path | str, action_bounds=None) -> EpisodeSummary:
    """Validate one episode file; decodes every array but the images (their headers are read).

    Raises :class:`EpisodeFileError` listing every problem found.
    """
    path = Path(path)
    arrays = _load_validated(path, action_bounds, decode_images=False)
    reward = np.asarray(arrays["reward"], np.float64)
    return EpisodeSummary(
        path=path,
        num_steps=int(reward.shape[0]),
        image_shape=tuple(arrays["image"].shape[1:]),
        action_dim=int(arrays["action"].shape[1]),
        episode_return=float(reward[1:].sum()),
        keys=tuple(arrays),
    )


def archive_problem(path: Path | str) -> str | None:
    """Why the ``.npz`` at ``path`` cannot be read in full (a member failing its CRC-32, a truncated
    stream), or None. Decompresses every member once without keeping it: scans read only headers."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except _CORRUPT as err:
        return f"not a readable .npz archive (truncated or corrupt): {err}"
    return None if bad is None else f"member {bad!r} fails its CRC-32 check (corrupt bytes)"


@dataclass(frozen=True)
class StreamedArray:
    """An ``.npz`` member not read into memory: :meth:`copy_into` decompresses it chunk by chunk
    straight into its destination (a slice of a memory-mapped store), so packing an episode of any
    length holds one chunk of its images at a time, not the whole array."""

    path: Path
    member: str
    shape: tuple[int, ...]
    dtype: np.dtype

    CHUNK = 1 << 20

    def copy_into(self, out: np.ndarray) -> None:
        if out.shape != self.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"cannot stream {self.member} of shape {self.shape} into {out.shape} {out.dtype}")
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as fp:
            if _npy_header(fp)[1]:  # Fortran order  # rare: read whole and let numpy reorder
                out[...] = _read_array(archive, self.member)
                return
            target = out.reshape(-1).view(np.uint8).data
            done = 0
            while done < len(target):
                read = cast(io.BufferedIOBase, fp).readinto(target[done : done + self.CHUNK])
                if not read:
                    raise EOFError(f"{self.member} ends after {done:,} of {len(target):,} bytes")
                done += read


def read_episode(path: Path | str, action_bounds=None, stream_images: bool = False) -> dict[str, Any]:
    """Read and validate one episode file completely (one pass). Raises :class:`EpisodeFileError`.
    ``stream_images``: the images are returned as a :class:`StreamedArray` (their header was
    validated; their bytes are copied by the caller)."""
    path = Path(path)
    arrays = _load_validated(path, action_bounds, decode_images=not stream_images)
    episode: dict[str, Any] = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)}
    image = arrays.get("image")
    if isinstance(image, ArrayHeader) and image.dtype != object:
        episode["image"] = StreamedArray(path, "image.npy", image.shape, image.dtype)
    return with_standard_keys(episode)


def with_standard_keys(episode: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add ``discount`` and the ``is_*`` flags when an older file lacks them (Dreamer v1 files)."""
    n = len(episode["reward"])
    episode.setdefault("discount", np.ones(n, np.float32))
    episode.setdefault("is_first", np.arange(n) == 0)
    episode.setdefault("is_last", np.arange(n) == n - 1)
    episode.setdefault("is_terminal", np.asarray(episode["is_last"], bool) & (episode["discount"] == 0))
    return episode
