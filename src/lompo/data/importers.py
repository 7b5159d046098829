"""Episodes recorded outside lompo (a robot's camera and action log) as a lompo dataset folder.

The generic episode folder (``lompo import SRC --out DIR``) holds one entry per episode, taken in
name order:

* a folder with the episode's frames — image files (``.png``, ``.jpg``, ``.jpeg``, in name order)
  or one video file (``.mp4``, ``.avi``, ``.mov``, ``.mkv``, ``.webm``) — and its arrays as files
  named ``actions``, ``rewards``, ``terminals``, ``proprio`` with the suffix ``.npy``, ``.csv`` or
  ``.json``; or
* a video file at the top level, ``NAME.mp4``, with its arrays beside it as ``NAME.actions.csv``,
  ``NAME.rewards.npy``, ...

Alignment is V-D4RL's: an episode of T transitions has T+1 frames and T actions; frame 0 is seen
before the first action and frame t+1 after action t. ``rewards`` (T values, the reward of each
action) and ``terminals`` (T flags; only the last may be true: the episode ended in a terminal
state) are optional — without rewards the episode's rewards are 0 and ``dataset.json`` says so
(``lompo reward apply`` can label them later). ``proprio`` has T+1 rows, one per frame. ``actions``
are (T, action_dim) numbers; a CSV may start with a header row.

Frames are converted to RGB, centre-cropped to a square and resized to ``size`` pixels with
Pillow's area filter (``Image.Resampling.BOX``: each output pixel is the mean of the input pixels it covers).
Videos are decoded with PyAV (the ``video`` extra). ``.npy`` files are read with
``allow_pickle=False``: nothing is ever unpickled.

Every episode is checked before anything is written; a bad one is named with its problem
(``--skip-bad`` imports the others and lists it). The output folder is written under a temporary
name and renamed when complete; it must not exist yet. The source is only read.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lompo import __version__
from lompo.data.dataset import write_metadata
from lompo.data.episodes import episode_filename, write_episode
from lompo.envs.registry import normalize_task_name
from lompo.errors import DatasetError, EpisodeFileError, LompoError, Problem
from lompo.files import sha256_of

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
ARRAY_SUFFIXES = (".npy", ".csv", ".json")
ARRAY_NAMES = ("actions", "rewards", "terminals", "proprio")
MAX_ARRAY_FILE_BYTES = 1 << 30


@dataclass
class SourceEpisode:
    """Where one episode's frames and arrays are."""

    name: str
    frames: list[Path]  # image files in order, or one video file
    arrays: dict[str, Path]  # "actions" (required), "rewards", "terminals", "proprio"

    @property
    def files(self) -> list[Path]:
        return [*self.frames, *self.arrays.values()]


@dataclass
class ImportResult:
    folder: Path
    episodes: int
    skipped: list[Problem] = field(default_factory=list)


# ------------------------------------------------------------------------------------ layout
def _arrays_in(folder: Path, prefix: str = "") -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in ARRAY_NAMES:
        candidates = [folder / f"{prefix}{name}{suffix}" for suffix in ARRAY_SUFFIXES]
        present = [p for p in candidates if p.is_file()]
        if len(present) > 1:
            raise EpisodeFileError(present[0], [f"{name} is given twice ({', '.join(p.name for p in present)})"])
        if present:
            found[name] = present[0]
    return found


def find_episodes(source: Path) -> tuple[list[SourceEpisode], list[Problem]]:
    """The episodes of a generic episode folder (module docstring), and entries that are not one."""
    if not source.is_dir():
        raise DatasetError(source, [Problem(source, "is not a folder (expected one entry per episode)")])
    episodes, problems = [], []
    for entry in sorted(source.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                frames = sorted(p for p in entry.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                videos = sorted(p for p in entry.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
                if frames and videos:
                    raise EpisodeFileError(entry, ["holds both image files and a video; keep one"])
                if len(videos) > 1:
                    raise EpisodeFileError(entry, [f"holds {len(videos)} videos; one episode has one video"])
                if not frames and not videos:
                    raise EpisodeFileError(entry, ["holds no frames (image files or one video)"])
                episodes.append(SourceEpisode(entry.name, frames or videos, _arrays_in(entry)))
            elif entry.suffix.lower() in VIDEO_SUFFIXES:
                episodes.append(SourceEpisode(entry.stem, [entry], _arrays_in(source, prefix=f"{entry.stem}.")))
        except EpisodeFileError as err:
            problems += [Problem(err.path, p) for p in err.problems]
    for episode in episodes:
        if "actions" not in episode.arrays:
            where = episode.frames[0].parent if len(episode.frames) != 1 else episode.frames[0]
            problems.append(Problem(where, "no actions file (actions.npy, actions.csv or actions.json)"))
    if not episodes and not problems:
        raise DatasetError(source, [Problem(source, "holds no episode (a folder of frames, or a video, per episode)")])
    return [e for e in episodes if "actions" in e.arrays], problems


# ------------------------------------------------------------------------------------ reading
def read_array_file(path: Path) -> np.ndarray:
    """A ``.npy`` (never unpickled), ``.csv`` (a non-numeric first row is a header) or ``.json``
    (a list, or a list of lists) file as a numeric array."""
    if path.stat().st_size > MAX_ARRAY_FILE_BYTES:
        raise EpisodeFileError(path, [f"is larger than {MAX_ARRAY_FILE_BYTES >> 20} MiB"])
    try:
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            lines = path.read_text().splitlines()
            skip = 0
            if lines and not _numeric_row(lines[0]):
                skip = 1
            array = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
        else:
            array = np.asarray(json.loads(path.read_text()), dtype=np.float64)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise EpisodeFileError(path, ["holds Python objects (a pickle); lompo never loads pickles"]) from None
        raise EpisodeFileError(path, [f"is not a numeric array: {err}"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise EpisodeFileError(path, [f"cannot be read: {err}"]) from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise EpisodeFileError(path, [f"is not a numeric array (dtype {array.dtype})"])
    return array


def _numeric_row(line: str) -> bool:
    try:
        [float(cell) for cell in line.split(",")]
        return True
    except ValueError:
        return False


def square_resize(image: np.ndarray, size: int) -> np.ndarray:
    """An ``(H, W, C)`` frame as ``(size, size, 3)`` uint8: RGB, centre-cropped to a square, resized
    with Pillow's area filter (``Image.Resampling.BOX``)."""
    from PIL import Image

    picture = Image.fromarray(image).convert("RGB")
    width, height = picture.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    picture = picture.crop((left, top, left + side, top + side))
    if side != size:
        picture = picture.resize((size, size), Image.Resampling.BOX)
    return np.asarray(picture, dtype=np.uint8)


def read_frames(files: list[Path], size: int) -> np.ndarray:
    """The frames of image files or of one video, as ``(N, size, size, 3)`` uint8."""
    if len(files) == 1 and files[0].suffix.lower() in VIDEO_SUFFIXES:
        return _read_video(files[0], size)
    from PIL import Image, UnidentifiedImageError

    frames = []
    for path in files:
        try:
            with Image.open(path) as picture:
                frames.append(square_resize(np.asarray(picture.convert("RGB")), size))
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise EpisodeFileError(path, [f"is not a readable image: {err}"]) from None
    return np.stack(frames)


def _read_video(path: Path, size: int) -> np.ndarray:
    try:
        import av
    except ImportError:
        raise LompoError(
            f"{path}: reading videos needs PyAV: pip install 'lompo[video]' (or extract the frames as images)"
        ) from None
    try:
        with av.open(str(path)) as container:
            frames = [square_resize(f.to_ndarray(format="rgb24"), size) for f in container.decode(video=0)]
    except (av.FFmpegError, OSError, ValueError, IndexError) as err:
        raise EpisodeFileError(path, [f"is not a readable video: {err}"]) from None
    if not frames:
        raise EpisodeFileError(path, ["video has no frames"])
    return np.stack(frames)


# ------------------------------------------------------------------------------------ one episode
def in_convention(image: np.ndarray, actions: np.ndarray, rewards: np.ndarray, terminal: bool) -> dict:
    """T+1 frames, T actions and T rewards as a lompo episode: a zero action and reward before the
    first frame, the flags set, discount 0 at a terminal last step."""
    n = len(image)
    return {
        "image": image,
        "action": np.concatenate([np.zeros((1, actions.shape[1])), actions]).astype(np.float32),
        "reward": np.concatenate([[0.0], rewards]).astype(np.float32),
        "discount": np.where(np.arange(n) == n - 1, 0.0 if terminal else 1.0, 1.0).astype(np.float32),
        "is_first": np.arange(n) == 0,
        "is_last": np.arange(n) == n - 1,
        "is_terminal": (np.arange(n) == n - 1) & terminal,
    }


def build_episode(source: SourceEpisode, size: int) -> dict[str, np.ndarray]:
    """One source episode in lompo's convention (``action[0]``/``reward[0]`` are 0, flags set)."""
    image = read_frames(source.frames, size)
    arrays = {name: read_array_file(path) for name, path in source.arrays.items()}
    problems, steps = [], len(image) - 1
    actions = arrays["actions"]
    if actions.ndim == 1:
        actions = actions[:, None]
    if actions.ndim != 2:
        problems.append(f"actions have shape {actions.shape}; expected (T, action_dim)")
    elif len(actions) != steps:
        problems.append(
            f"{len(image)} frames and {len(actions)} actions; an episode of T actions has T+1 frames "
            "(frame 0 before the first action, frame t+1 after action t)"
        )
    if steps < 1:
        problems.append(f"{len(image)} frame(s); at least 2 (one transition) are needed")
    expected = {"rewards": steps, "terminals": steps, "proprio": steps + 1}
    for name, length in expected.items():
        if name in arrays:
            value = arrays[name].reshape(len(arrays[name]), -1) if arrays[name].ndim else arrays[name]
            if name != "proprio" and value.ndim == 2 and value.shape[1] == 1:
                value = value[:, 0]
            arrays[name] = value
            if value.ndim == 0 or len(value) != length:
                what = "frame" if name == "proprio" else "action"
                problems.append(
                    f"{name} has {len(value) if value.ndim else 0} rows; expected {length} (one per {what})"
                )
    terminals = arrays.get("terminals")
    if terminals is not None and not problems:
        if not np.isin(terminals, (0, 1)).all():
            problems.append("terminals must be 0/1 (true/false)")
        elif terminals[:-1].any():
            problems.append(f"terminals is true before the last step (step {int(np.argmax(terminals))})")
    if problems:
        where = source.frames[0].parent if len(source.frames) != 1 else source.frames[0]
        raise EpisodeFileError(where, problems)
    terminal = bool(terminals is not None and terminals[-1])
    episode = in_convention(image, actions, arrays.get("rewards", np.zeros(steps)), terminal)
    if "proprio" in arrays:
        episode["proprio"] = arrays["proprio"].astype(np.float32)
    return episode


# ------------------------------------------------------------------------------------ writing
def write_imported(
    source: Path,
    out: Path,
    episodes: list,
    build: Callable[[Any], dict[str, np.ndarray]],
    *,
    problems: list[Problem],
    description: dict[str, Any],
    task: str | None,
    size: int,
    skip_bad: bool,
    progress: bool,
) -> ImportResult:
    """Build every source episode (``build(e)``; ``e.name`` and ``e.files`` name it) and write them
    as the dataset folder ``out``: under a temporary name, renamed once complete and only if no
    episode failed (or ``skip_bad``). ``description`` goes into ``dataset.json``'s ``source``."""
    tmp = out.parent / f".{out.name}.import-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        written = []
        iterator: Any = episodes
        if progress:
            from tqdm import tqdm

            iterator = tqdm(episodes, desc="importing episodes", unit="ep")
        dims: dict[int, str] = {}
        for index, episode in enumerate(iterator):
            try:
                arrays = build(episode)
            except EpisodeFileError as err:
                problems += [Problem(err.path, p) for p in err.problems]
                continue
            dims.setdefault(arrays["action"].shape[1], episode.name)
            uid = f"{index:06d}{uuid.uuid5(uuid.NAMESPACE_URL, episode.name).hex[:8]}"
            name = episode_filename(len(arrays["reward"]), uid=uid)
            written.append((episode, write_episode(tmp, arrays, name=name)))
        if len(dims) > 1:
            problems.append(Problem(source, f"episodes disagree on the action dimension: {sorted(dims)}"))
        if problems and not skip_bad:
            raise DatasetError(source, problems, hint="use --skip-bad to import the other episodes")
        if not written:
            raise DatasetError(source, problems or [Problem(source, "no episode")], hint="nothing to import")
        digest = functools.cache(sha256_of)  # (a Minari file holds every episode: hashed once)
        metadata = {
            "task": task,
            "recipe": "imported",
            "image_size": size,
            "files": {path.name: sha256_of(path) for _, path in written},
            "rewards": description.pop("rewards"),
            "source": {
                "path": str(source),
                **description,
                "importer": f"lompo {__version__}",
                "resize": f"centre square crop, Pillow BOX filter to {size} px",
                "episodes": {
                    path.name: {str(f.relative_to(source)): digest(f) for f in episode.files}
                    for episode, path in written
                },
                "skipped": [str(p) for p in problems],
            },
        }
        write_metadata(tmp, {k: v for k, v in metadata.items() if v is not None})
        if out.exists():
            out.rmdir()  # empty (checked by check_output)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportResult(out, len(written), problems)


def check_output(out: Path, size: int) -> None:
    if not 8 <= size <= 4096:
        raise LompoError(f"--size must be 8-4096 pixels, got {size}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LompoError(f"{out} already exists and is not empty; choose a new --out")


# ------------------------------------------------------------------------------------ the folder
def import_episode_folder(
    source: Path | str,
    out: Path | str,
    *,
    size: int = 64,
    task: str | None = None,
    skip_bad: bool = False,
    progress: bool = False,
) -> ImportResult:
    """Write the generic episode folder ``source`` as the lompo dataset folder ``out`` (module
    docstring); ``task`` names a registry task when the data came from one (evaluation needs it)."""
    source, out = Path(source).resolve(), Path(out)
    check_output(out, size)
    task = normalize_task_name(task) if task else None
    episodes, problems = find_episodes(source)
    missing = sum("rewards" not in e.arrays for e in episodes)
    rewards = "given" if not missing else f"absent in {missing} of {len(episodes)} episodes (0 there)"
    return write_imported(
        source,
        out,
        episodes,
        lambda e: build_episode(e, size),
        problems=problems,
        description={"format": "episode folder", "rewards": rewards},
        task=task,
        size=size,
        skip_bad=skip_bad,
        progress=progress,
    )


# ------------------------------------------------------------------------------------ LeRobot
@dataclass
class LeRobotEpisode:
    name: str
    table: Path  # the episode's parquet file
    video: Path  # the chosen camera's mp4

    @property
    def files(self) -> list[Path]:
        return [self.table, self.video]


def _lerobot_layout(source: Path, camera: str | None) -> tuple[list[LeRobotEpisode], list[Problem], str, dict]:
    """The episodes of a LeRobot (v2) dataset folder: ``meta/info.json`` names the parquet and video
    path templates and the video features (cameras)."""
    info_path = source / "meta" / "info.json"
    try:
        info = json.loads(info_path.read_text())
        data_path, video_path = info["data_path"], info["video_path"]
        features = info["features"]
        chunks_size = int(info.get("chunks_size", 1000))
        total = int(info["total_episodes"])
    except FileNotFoundError:
        raise DatasetError(source, [Problem(info_path, "missing: not a LeRobot dataset folder")]) from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(source, [Problem(info_path, f"unreadable LeRobot metadata ({err!r})")]) from None
    cameras = sorted(k for k, v in features.items() if isinstance(v, dict) and v.get("dtype") == "video")
    if camera is None and len(cameras) == 1:
        camera = cameras[0]
    if camera is None or camera not in cameras:
        raise DatasetError(
            source, [Problem(info_path, f"choose a camera with --camera: one of {cameras} (got {camera!r})")]
        )
    for key in ("action",):
        if key not in features:
            raise DatasetError(source, [Problem(info_path, f"has no {key!r} feature")])
    episodes, problems = [], []
    for index in range(total):
        fields = {"episode_chunk": index // chunks_size, "episode_index": index, "video_key": camera}
        table, video = source / data_path.format(**fields), source / video_path.format(**fields)
        absent = [p for p in (table, video) if not p.is_file()]
        if absent:
            problems += [Problem(p, f"episode {index} is missing this file") for p in absent]
            continue
        episodes.append(LeRobotEpisode(f"episode_{index:06d}", table, video))
    return episodes, problems, camera, features


def build_lerobot_episode(episode: LeRobotEpisode, size: int) -> dict[str, np.ndarray]:
    """LeRobot rows hold (observation t, action t, next.reward t): N rows give N frames and N actions.
    In V-D4RL's convention the last action has no next frame, so it is left out: T = N - 1."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(episode.table).to_pydict()
    except (OSError, ValueError) as err:
        raise EpisodeFileError(episode.table, [f"is not a readable parquet file: {err}"]) from None
    image = read_frames([episode.video], size)
    try:
        actions = np.asarray(table["action"], np.float64)
    except (KeyError, ValueError) as err:
        raise EpisodeFileError(episode.table, [f"has no numeric 'action' column ({err!r})"]) from None
    rows = len(actions)
    problems = []
    if actions.ndim != 2:
        problems.append(f"'action' has shape {actions.shape}; expected (rows, action_dim)")
    if len(image) != rows:
        problems.append(f"{rows} rows but the video {episode.video.name} has {len(image)} frames")
    if rows < 2:
        problems.append(f"{rows} row(s); at least 2 are needed")
    if problems:
        raise EpisodeFileError(episode.table, problems)
    reward = np.asarray(table.get("next.reward", [0.0] * rows), np.float64).reshape(rows)
    result = in_convention(image, actions[:-1], reward[:-1], terminal=False)
    if "observation.state" in table:
        result["proprio"] = np.asarray(table["observation.state"], np.float32).reshape(rows, -1)
    return result


def import_lerobot(
    source: Path | str,
    out: Path | str,
    *,
    camera: str | None = None,
    size: int = 64,
    task: str | None = None,
    skip_bad: bool = False,
    progress: bool = False,
) -> ImportResult:
    """Write a LeRobot (v2 layout: parquet tables + one mp4 per camera and episode) dataset folder as a
    lompo dataset, without the ``lerobot`` package: ``camera`` picks the video feature, ``action`` the
    actions, ``next.reward`` the rewards (0 without it), ``observation.state`` the proprioception.
    ``next.done`` does not tell a terminal state from a time limit, so no episode is marked terminal."""
    source, out = Path(source).resolve(), Path(out)
    check_output(out, size)
    task = normalize_task_name(task) if task else None
    episodes, problems, camera, features = _lerobot_layout(source, camera)
    return write_imported(
        source,
        out,
        episodes,
        lambda e: build_lerobot_episode(e, size),
        problems=problems,
        description={
            "format": "lerobot",
            "camera": camera,
            "rewards": "given (next.reward)" if "next.reward" in features else "absent (0)",
        },
        task=task,
        size=size,
        skip_bad=skip_bad,
        progress=progress,
    )


# ------------------------------------------------------------------------------------ Minari
@contextlib.contextmanager
def minari_root(root: Path | str | None):
    """Point Minari at ``root`` (``MINARI_DATASETS_PATH``) while the block runs; default: its own."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    if root is not None:
        os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    try:
        yield
    finally:
        if root is not None:
            if previous is None:
                os.environ.pop("MINARI_DATASETS_PATH", None)
            else:
                os.environ["MINARI_DATASETS_PATH"] = previous


def _minari():
    try:
        import minari
    except ImportError:
        raise LompoError("Minari datasets need the minari package: pip install 'lompo[minari]'") from None
    return minari


@dataclass
class MinariEpisode:
    name: str
    data: Any  # minari EpisodeData
    files: list[Path]


def build_minari_episode(episode: MinariEpisode, size: int, image_key: str | None) -> dict[str, np.ndarray]:
    """Minari episodes hold T+1 observations and T actions, rewards, terminations: V-D4RL's alignment."""
    data = episode.data
    observations = data.observations
    if isinstance(observations, dict):
        if image_key is None or image_key not in observations:
            raise EpisodeFileError(episode.files[0], [f"dict observations: choose the image with --camera, one of "
                                                      f"{sorted(observations)} (got {image_key!r})"])  # fmt: skip
        observations = observations[image_key]
    image = np.asarray(observations)
    if image.ndim != 4 or image.dtype != np.uint8 or image.shape[-1] != 3:
        raise EpisodeFileError(
            episode.files[0], [f"{episode.name}: observations {image.shape} {image.dtype} are not RGB uint8 images"]
        )
    if image.shape[1:3] != (size, size):
        image = np.stack([square_resize(frame, size) for frame in image])
    actions = np.asarray(data.actions, np.float64).reshape(len(data.actions), -1)
    steps = len(actions)
    if len(image) != steps + 1:
        raise EpisodeFileError(episode.files[0], [f"{episode.name}: {len(image)} observations and {steps} actions"])
    terminal = bool(np.asarray(data.terminations)[-1])
    return in_convention(image, actions, np.asarray(data.rewards, np.float64), terminal)


def import_minari(
    dataset_id: str,
    out: Path | str,
    *,
    root: Path | str | None = None,
    camera: str | None = None,
    size: int = 64,
    task: str | None = None,
    skip_bad: bool = False,
    progress: bool = False,
) -> ImportResult:
    """Write the Minari dataset ``dataset_id`` (under ``root``, else Minari's own folder) as a lompo
    dataset: image observations (or the ``camera`` key of dict observations), actions, rewards,
    terminations (a truncation is an episode end that is not terminal)."""
    minari = _minari()
    out = Path(out)
    check_output(out, size)
    task = normalize_task_name(task) if task else None
    with minari_root(root):
        try:
            dataset = minari.load_dataset(dataset_id)
        except (FileNotFoundError, ValueError) as err:
            raise LompoError(f"cannot load Minari dataset {dataset_id!r}: {err}") from None
        data_file = Path(dataset.spec.data_path) / "main_data.hdf5"
        episodes = [MinariEpisode(f"episode_{e.id}", e, [data_file]) for e in dataset.iterate_episodes()]
        return write_imported(
            data_file.parent,
            out,
            episodes,
            lambda e: build_minari_episode(e, size, camera),
            problems=[],
            description={"format": "minari", "dataset_id": dataset_id, "rewards": "given"},
            task=task,
            size=size,
            skip_bad=skip_bad,
            progress=progress,
        )


def export_minari(data: Path | str, dataset_id: str, *, root: Path | str | None = None) -> Path:
    """Write the lompo dataset ``data`` as the Minari dataset ``dataset_id`` (images stored losslessly:
    ``jpeg_encoding=False``); ``import_minari`` reads it back to the same arrays."""
    import gymnasium as gym

    from lompo.data.dataset import read_metadata, scan_dataset
    from lompo.data.episodes import read_episode

    minari = _minari()
    from minari.data_collector import EpisodeBuffer

    index = scan_dataset(Path(data))
    buffers = []
    for summary in index.episodes:
        episode = read_episode(summary.path)
        buffers.append(
            EpisodeBuffer(
                observations=episode["image"],
                actions=episode["action"][1:],
                rewards=episode["reward"][1:],
                terminations=episode["is_terminal"][1:],
                truncations=episode["is_last"][1:] & ~episode["is_terminal"][1:],
            )
        )
    low, high = (read_metadata(Path(data)) or {}).get("action_bounds") or (-1.0, 1.0)
    action_space = gym.spaces.Box(
        np.broadcast_to(np.asarray(low, np.float32), (index.action_dim,)),
        np.broadcast_to(np.asarray(high, np.float32), (index.action_dim,)),
        dtype=np.float32,
    )
    observation_space = gym.spaces.Box(0, 255, tuple(index.image_shape), np.uint8)
    with minari_root(root), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no environment spec": lompo datasets name a task only
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            action_space=action_space,
            observation_space=observation_space,
            algorithm_name=f"lompo {__version__} export of {Path(data).resolve()}",
            description=f"lompo dataset {Path(data).resolve()} (task {index.task})",
            jpeg_encoding=False,
        )
        return Path(dataset.spec.data_path)
