"""Datasets made by re-rendering, not re-collecting (V-D4RL section 5.1).

``lompo collect --from DATASET --distraction KIND:SEVERITY[:dynamic] --out DIR`` renders every stored
physics state of ``DATASET`` again under a set of fixed distractions (:mod:`lompo.envs.distractions`):
actions, rewards, flags and physics states are copied unchanged, only the images differ. Episode ``i``
(in file-name order) shows distraction ``i % count`` of the set, its dynamic part advancing one step
per frame. ``--camera N`` renders from another of the task's cameras instead of (or as well as) a
distraction, and records it in ``dataset.json``, so training and evaluation on the new dataset see
that camera. The source's task, action repeat, render profile (and camera, unless changed) are
reused, so the new frames differ from the source's by what was asked alone. Episodes are written
one by one under their source names, so a rerun of the same command continues; ``dataset.json``
comes last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lompo.data.dataset import episode_files, read_metadata, scan_dataset, write_metadata
from lompo.data.episodes import read_episode, write_episode
from lompo.data.stats import return_statistics
from lompo.envs.distractions import Distraction
from lompo.envs.dmc import DMCEnv, make_env
from lompo.errors import ConfigError, DatasetError, Problem
from lompo.files import sha256_of

CARRIED_OVER = ("files", "statistics", "created", "distraction", "rerendered_from")


def render_episode(env: DMCEnv, episode: dict[str, np.ndarray], index: int, size: int) -> np.ndarray:
    """The frames of a stored episode, under distraction ``index`` of the env's set if it has one."""
    frames = []
    for t, state in enumerate(episode["physics_state"]):
        env.set_physics_state(state)
        if env.distractions:
            if t == 0:
                env.start_distraction(index)
            else:
                env.advance_distraction()
        frames.append(env.render_image(size))
    return np.stack(frames)


def rerender(
    source: Path | str,
    out: Path | str,
    distractions: list[Distraction] | None = None,
    *,
    camera: int | None = None,
    progress: bool = True,
) -> Path:
    """Write ``source`` re-rendered under ``distractions`` and/or from ``camera`` to the dataset folder
    ``out`` (module docstring)."""
    source, out = Path(source), Path(out)
    distractions = distractions or []
    if not distractions and camera is None:
        raise ConfigError("nothing to re-render: give a distraction or a camera")
    if camera is not None and camera < 0:
        raise ConfigError(f"camera must be a camera index >= 0, got {camera}")
    if out.resolve() == source.resolve():
        raise ConfigError(f"--out {out} is the source dataset; choose a new folder")
    index = scan_dataset(source)
    metadata = read_metadata(source) or {}
    if not index.task:
        raise ConfigError(f"{source}: its task is unknown (no dataset.json naming one): nothing to render with")
    missing = [e.path for e in index.episodes if "physics_state" not in e.keys]
    if missing:
        raise DatasetError(
            source,
            [Problem(p, "has no physics_state: it cannot be re-rendered") for p in missing],
            hint="only datasets written by lompo collect (or V-D4RL's with states) can be re-rendered",
        )
    record = (
        {
            "kind": distractions[0].kind,
            "severity": distractions[0].severity,
            "split": distractions[0].split,
            "dynamic": distractions[0].dynamic,
            "count": len(distractions),
            "specs": [d.as_dict() for d in distractions],
        }
        if distractions
        else None
    )
    camera = metadata.get("camera") if camera is None else camera
    origin = {
        "path": str(source.resolve()),
        "dataset_json_sha256": sha256_of(source / "dataset.json") if (source / "dataset.json").is_file() else None,
    }
    existing = read_metadata(out) if out.is_dir() else None
    if existing is not None and (
        existing.get("distraction") != record
        or existing.get("rerendered_from") != origin
        or existing.get("camera") != camera
    ):
        raise ConfigError(
            f"{out} already holds a dataset rendered from another source, distraction or camera; "
            "use another --out (nothing was changed)"
        )
    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob(".*.npz.*.tmp"):
        leftover.unlink(missing_ok=True)
    size = index.image_shape[0]
    env = make_env(
        index.task,
        size,
        action_repeat=metadata.get("action_repeat"),
        camera=camera,
        render_profile=metadata.get("render_profile", "standard"),
        distractions=distractions,
    )
    paths = [e.path for e in index.episodes]
    iterator = paths
    if progress:
        from tqdm import tqdm

        what = f"{distractions[0].kind}:{distractions[0].severity}" if distractions else f"camera {camera}"
        iterator = tqdm(paths, desc=f"re-render {what}", unit="ep")
    try:
        for i, path in enumerate(iterator):
            if (out / path.name).exists():
                continue  # written by an earlier run of this command
            episode = read_episode(path)
            episode["image"] = render_episode(env, episode, i, size)
            write_episode(out, episode, name=path.name)
    finally:
        env.close()
    files = episode_files(out)
    rewards = []
    for path in files:
        with np.load(path, allow_pickle=False) as stored:
            rewards.append(np.asarray(stored["reward"], np.float64))
    carried = {k: v for k, v in metadata.items() if k not in CARRIED_OVER}
    if camera is not None:
        carried["camera"] = camera
    if record is not None:
        carried["distraction"] = record
    write_metadata(
        out,
        {
            **carried,
            "task": index.task,
            "rerendered_from": origin,
            "statistics": return_statistics(
                np.array([r[1:].sum() for r in rewards]), sum(len(r) - 1 for r in rewards)
            ).as_dict(),
            "files": {p.name: sha256_of(p) for p in files},
        },
    )
    return out


__all__ = ["render_episode", "rerender"]
