"""Dataset recipes. This module has ``random`` (uniform actions, V-D4RL section 4.1);
the SAC-based recipes (medium, expert, medium_replay, medium_expert) build on the
same :class:`DatasetWriter`.

Layout written (V-D4RL): ``{out}/{domain_task}/{recipe}/{size}px/`` with one
``.npz`` per episode and ``dataset.json``. Collection is resumable: episode
``i`` is generated from seeds derived from ``(seed, i)`` and named with a UUID
derived from them, so a rerun skips complete episodes and finishes partial ones
without duplicating any.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lompo.data.dataset import episode_files, package_versions, sha256_of, write_metadata
from lompo.data.episodes import EpisodeBuilder, episode_filename, write_episode
from lompo.data.stats import return_statistics
from lompo.envs.dmc import DMCEnv
from lompo.envs.registry import TaskSpec, get_task
from lompo.errors import ConfigError

_NAMESPACE = uuid.UUID("6f1d1c1e-8a35-4c47-9a53-2a4f0b7c4d10")


def dataset_folder(out: Path, task: TaskSpec, recipe: str, image_size: int) -> Path:
    return Path(out) / f"{task.domain}_{task.task}" / recipe / f"{image_size}px"


@dataclass
class DatasetWriter:
    """Writes episodes of one recipe at several image sizes, resumably."""

    out: Path
    task: TaskSpec
    recipe: str
    image_sizes: tuple[int, ...]
    seed: int

    def folder(self, size: int) -> Path:
        return dataset_folder(self.out, self.task, self.recipe, size)

    def remove_stale_temp_files(self) -> None:
        """Delete our own half-written ``.{name}.*.tmp`` files left by a killed run."""
        for size in self.image_sizes:
            folder = self.folder(size)
            if folder.exists():
                for path in folder.glob(".*.npz.*.tmp"):
                    path.unlink(missing_ok=True)

    def episode_uid(self, index: int) -> str:
        return uuid.uuid5(_NAMESPACE, f"{self.task.name}/{self.recipe}/{self.seed}/{index}").hex

    def missing_sizes(self, index: int) -> list[int]:
        """Image sizes for which episode ``index`` has not been written yet."""
        uid = self.episode_uid(index)
        missing = []
        for size in self.image_sizes:
            folder = self.folder(size)
            if not folder.exists() or not any(f"-{uid}-" in p.name for p in episode_files(folder)):
                missing.append(size)
        return missing

    def write(self, index: int, episodes_by_size: dict[int, dict[str, np.ndarray]]) -> None:
        uid = self.episode_uid(index)
        when = datetime.now(timezone.utc)
        for size, episode in episodes_by_size.items():
            write_episode(self.folder(size), episode, name=episode_filename(len(episode["reward"]), when, uid))

    def finalize(self, render_profile: str, extra: dict | None = None) -> list[Path]:
        """Write ``dataset.json`` (with per-file SHA-256 and return statistics) in every size folder."""
        folders = []
        for size in self.image_sizes:
            folder = self.folder(size)
            files = episode_files(folder)
            rewards = []
            for path in files:
                with np.load(path, allow_pickle=False) as data:
                    rewards.append(np.asarray(data["reward"], np.float64))
            returns = np.array([r[1:].sum() for r in rewards])
            stats = return_statistics(returns, sum(len(r) - 1 for r in rewards))
            metadata = {
                "format": "lompo-episodes/1",
                "task": self.task.name,
                "recipe": self.recipe,
                "seed": self.seed,
                "image_size": size,
                "action_repeat": self.task.action_repeat,
                "camera": self.task.camera,
                "episode_length": self.task.episode_length,
                "render_profile": render_profile,
                "action_bounds": [-1.0, 1.0],
                "reference_returns": {"random": self.task.random_return, "expert": self.task.expert_return,
                                      "source": self.task.reference_source},
                "statistics": stats.as_dict(),
                "versions": package_versions(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "files": {p.name: sha256_of(p) for p in files},
                **(extra or {}),
            }
            write_metadata(folder, metadata)
            folders.append(folder)
        return folders


def _episode_rngs(seed: int, index: int) -> tuple[int, np.random.Generator]:
    env_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
    return env_seed, np.random.default_rng([seed, index, 1])


def rollout(env: DMCEnv, policy, env_seed: int) -> dict[int, dict[str, np.ndarray]]:
    """Run one episode with ``policy(obs_image, info) -> action``; returns an episode per image size."""
    builders = {size: EpisodeBuilder(env.action_space.shape[0]) for size in env.image_sizes}
    obs, info = env.reset(seed=env_seed)

    def images(obs, info):
        return {size: (obs if size == env.image_size else info[f"image_{size}"]) for size in env.image_sizes}

    for size, image in images(obs, info).items():
        builders[size].add_first(image, state=info["proprio"], physics_state=info["physics_state"])
    terminated = truncated = False
    while not (terminated or truncated):
        action = policy(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        for size, image in images(obs, info).items():
            builders[size].add_step(action, reward, image, info["discount"], state=info["proprio"],
                                    physics_state=info["physics_state"])
    return {size: b.finish(terminated) for size, b in builders.items()}


def collect_random(task: str, out: Path | str, *, size: int | None = None, episodes: int | None = None,
                   image_sizes: tuple[int, ...] = (64,), render_profile: str = "standard", seed: int = 0,
                   action_repeat: int | None = None, episode_length: int | None = None,
                   progress: bool = True) -> list[Path]:
    """Write a ``random`` dataset (uniform actions). ``size`` counts transitions, rounded up to episodes.

    ``episode_length`` (simulator steps, default 1000) is recorded in ``dataset.json``; evaluation uses it.
    """
    spec = get_task(task, action_repeat=action_repeat, episode_length=episode_length)
    if (size is None) == (episodes is None):
        raise ConfigError("give exactly one of size (transitions) and episodes")
    num_episodes = episodes if episodes is not None else math.ceil(size / spec.agent_steps)
    if num_episodes < 1:
        raise ConfigError(f"the dataset needs at least one episode, got size={size}, episodes={episodes}")
    writer = DatasetWriter(Path(out), spec, "random", tuple(image_sizes), seed)
    writer.remove_stale_temp_files()
    env = DMCEnv(spec, image_sizes[0], extra_image_sizes=tuple(image_sizes[1:]), render_profile=render_profile)
    iterator = range(num_episodes)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=f"collect {spec.name} random", unit="ep")
    start = time.perf_counter()
    frames = 0
    try:
        for index in iterator:
            missing = writer.missing_sizes(index)
            if not missing:
                continue
            env_seed, rng = _episode_rngs(seed, index)
            low, high = env.action_space.low, env.action_space.high
            by_size = rollout(env, lambda obs, info: rng.uniform(low, high).astype(np.float32), env_seed)
            frames += len(by_size[image_sizes[0]]["reward"])
            writer.write(index, {s: by_size[s] for s in missing})
    finally:
        env.close()
    elapsed = time.perf_counter() - start
    return writer.finalize(render_profile, extra={
        "behaviour": {"policy": "uniform random actions"},
        "collection": {"episodes": num_episodes, "seconds_this_run": round(elapsed, 2),
                       "frames_rendered_this_run": frames},
    })
