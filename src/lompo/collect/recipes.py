"""V-D4RL dataset recipes (V-D4RL section 4.1 and Appendix A), and the LOMPO paper's (``protocol="lompo"``,
:data:`PROTOCOLS`).

* ``random``: uniform actions.
* ``medium`` / ``expert``: rollouts of the fixed medium / expert SAC checkpoint
  (:mod:`lompo.collect.behaviour`) with actions *sampled* from the stochastic actor.
* ``medium_replay`` ("mixed"): the medium agent's replay buffer, i.e. the episodes
  it played up to its medium checkpoint, re-rendered from the stored physics
  states. With ``size`` smaller than the buffer, the most recent episodes that
  fit (a FIFO buffer of that capacity).
* ``medium_expert``: the files of ``medium`` and ``expert`` together (hard links
  when the file system allows, else copies), so it is exactly their union.

Layout written (V-D4RL): ``{out}/{domain_task}/{recipe}/{size}px/`` with one
``.npz`` per episode and ``dataset.json``; every requested image size is
rendered in the same pass. Collection is resumable: episode ``i`` is generated
from seeds derived from ``(seed, i, recipe)`` and named with a UUID derived
from them, so a rerun skips complete episodes and finishes partial ones without
duplicating any.
"""

from __future__ import annotations

import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lompo.collect.behaviour import (
    BehaviourConfig,
    PolicyLevel,
    SampledActions,
    agent_folder,
    behaviour_summary,
    cached_references,
    load_actor,
    measured_references,
    policy_levels,
    read_evaluations,
    read_replay_episode,
    replay_path,
    train_behaviour,
)
from lompo.data.dataset import episode_files, read_metadata, write_metadata
from lompo.data.episodes import EpisodeBuilder, episode_filename, write_episode
from lompo.data.stats import return_statistics
from lompo.envs.dmc import DMCEnv, make_env
from lompo.envs.registry import TaskSpec, get_task
from lompo.errors import ConfigError
from lompo.files import lock_record, package_versions, sha256_of

_NAMESPACE = uuid.UUID("6f1d1c1e-8a35-4c47-9a53-2a4f0b7c4d10")
RECIPES = ("random", "medium", "expert", "medium_replay", "medium_expert")
DEFAULT_SIZE = 100_000  # transitions per dataset (V-D4RL Table 5); medium_replay: TaskSpec.medium_replay_size
# The recipes of each protocol. ``lompo`` (LOMPO appendix A): medium_replay is the replay buffer up to the
# medium checkpoint, medium_expert the replay buffer after it, expert the expert's sampled actions; medium
# is half-way (on the normalised scale) to the expert; sizes TaskSpec.lompo_size.
PROTOCOLS = {"vd4rl": RECIPES, "lompo": ("random", "medium_replay", "medium_expert", "expert")}
LOMPO_MEDIUM_FRACTION = 0.5  # "about half the expert level performance"
_SEED_SALT = {"medium": 1, "expert": 2}  # random keeps the unsalted seeds of earlier releases


def dataset_folder(out: Path | str, task: TaskSpec, recipe: str, image_size: int) -> Path:
    return Path(out) / task.folder_name / recipe / f"{image_size}px"


def default_size(task: TaskSpec, recipe: str, protocol: str = "vd4rl") -> int:
    if protocol == "lompo":
        return task.lompo_size
    return task.medium_replay_size if recipe == "medium_replay" else DEFAULT_SIZE


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

    def prepare(self, render_profile: str, source: str) -> None:
        """Refuse to add to a folder written with another render profile or behaviour policy
        (nothing is deleted), then remove our own half-written temp files left by a killed run."""
        for size in self.image_sizes:
            folder = self.folder(size)
            meta = read_metadata(folder) if folder.exists() else None
            if meta is not None:
                old = (meta.get("render_profile"), meta.get("behaviour", {}).get("source"))
                if old != (render_profile, source):
                    raise ConfigError(
                        f"{folder} already holds a {self.recipe} dataset from render profile {old[0]!r} and "
                        f"behaviour {old[1]!r}; this run would add episodes from {render_profile!r} and "
                        f"{source!r}. Use another --out (the existing files are left untouched)."
                    )
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
        when = datetime.now(UTC)
        for size, episode in episodes_by_size.items():
            write_episode(self.folder(size), episode, name=episode_filename(len(episode["reward"]), when, uid))

    def finalize(
        self, render_profile: str, behaviour: dict, references: dict | None = None, extra: dict | None = None
    ) -> list[Path]:
        """Write ``dataset.json`` (docs/datasets.md: per-file SHA-256, return statistics, references)."""
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
                "reference_returns": reference_returns_for(self.task, references),
                "behaviour": behaviour,
                "statistics": stats.as_dict(),
                "versions": package_versions(),
                "lock": lock_record(),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": {p.name: sha256_of(p) for p in files},
                **(extra or {}),
            }
            write_metadata(folder, metadata)
            folders.append(folder)
        return folders


def reference_returns_for(task: TaskSpec, measured: dict | None) -> dict:
    """Normalisation references: the published V-D4RL ones when the task has them, else those measured
    with our behaviour agent (``measured``), else unknown."""
    if task.random_return is not None and task.expert_return is not None:
        refs = {"random": task.random_return, "expert": task.expert_return, "source": task.reference_source}
    elif measured is not None:
        refs = {"random": measured["random"], "expert": measured["expert"], "source": measured["source"]}
    else:
        refs = {"random": None, "expert": None, "source": "none published; train a behaviour agent to measure them"}
    if measured is not None:
        refs["measured"] = {"random": measured["random"], "expert": measured["expert"], "source": measured["source"]}
    return refs


def episode_seeds(seed: int, index: int, recipe: str) -> tuple[int, int]:
    """(env seed, action seed) of episode ``index`` of a recipe (``random`` keeps the seeds of earlier
    releases, so its datasets stay reproducible)."""
    key = [seed, index] + ([_SEED_SALT[recipe]] if recipe in _SEED_SALT else [])
    env_seed = int(np.random.SeedSequence(key).generate_state(1)[0])
    action_seed = int(np.random.SeedSequence(key + [1]).generate_state(1)[0])
    return env_seed, action_seed


def rollout(env: DMCEnv, policy, env_seed: int) -> dict[int, dict[str, np.ndarray]]:
    """Run one episode with ``policy(obs_image, info) -> action``; returns an episode per image size."""
    builders = {size: EpisodeBuilder(env.action_space.shape[0]) for size in env.image_sizes}
    obs, info = env.reset(seed=env_seed)

    def images(obs, info):
        return {size: (obs if size == env.image_size else info[f"image_{size}"]) for size in env.image_sizes}

    def extras(info):  # the robot tasks' proprioception is apart from their state (lompo.envs.robots)
        return {"state": info["state"], **({} if env.proprio_is_state else {"proprio": info["proprio"]}),
                "physics_state": info["physics_state"]}  # fmt: skip

    for size, image in images(obs, info).items():
        builders[size].add_first(image, **extras(info))
    terminated = truncated = False
    while not (terminated or truncated):
        action = policy(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        for size, image in images(obs, info).items():
            builders[size].add_step(action, reward, image, info["discount"], **extras(info))
    return {size: b.finish(terminated) for size, b in builders.items()}


def render_stored_episode(env: DMCEnv, stored: dict[str, np.ndarray]) -> dict[int, dict[str, np.ndarray]]:
    """Images for a stored behaviour episode, rendered from its physics states; one episode per size
    (robot tasks: with the robot's proprioception read from the same states)."""
    frames: dict[int, list[np.ndarray]] = {size: [] for size in env.image_sizes}
    proprio = []
    for physics_state in stored["physics_state"]:
        env.set_physics_state(physics_state)
        for size in env.image_sizes:
            frames[size].append(env.render_image(size))
        if not env.proprio_is_state:
            proprio.append(env.proprioception())
    extra = {} if env.proprio_is_state else {"proprio": np.stack(proprio)}
    return {size: {**stored, **extra, "image": np.stack(images)} for size, images in frames.items()}


def _bar(iterable, progress: bool, desc: str, total: int | None = None):
    if not progress:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit="ep", total=total)


def _num_episodes(task: TaskSpec, recipe: str, size: int | None, episodes: int | None) -> int:
    if size is not None and episodes is not None:
        raise ConfigError("give at most one of size (transitions) and episodes")
    if episodes is None:
        episodes = math.ceil((default_size(task, recipe) if size is None else size) / task.agent_steps)
    if episodes < 1:
        raise ConfigError(f"the dataset needs at least one episode, got size={size}, episodes={episodes}")
    return episodes


def _write_episodes(writer: DatasetWriter, indices: list[int], make_episode, progress: bool) -> dict:
    """Write the episodes ``indices`` that are missing at some size; ``make_episode(index)`` returns
    one episode per image size. Returns collection figures for ``dataset.json``."""
    start, frames = time.perf_counter(), 0
    for index in _bar(indices, progress, f"render {writer.task.name} {writer.recipe}"):
        missing = writer.missing_sizes(index)
        if not missing:
            continue
        by_size = make_episode(index)
        frames += len(by_size[writer.image_sizes[0]]["reward"])
        writer.write(index, {s: by_size[s] for s in missing})
    return {
        "episodes": len(indices),
        "seconds_this_run": round(time.perf_counter() - start, 2),
        "frames_rendered_this_run": frames,
    }


def _write_rollouts(writer: DatasetWriter, env: DMCEnv, num_episodes: int, make_policy, progress: bool) -> dict:
    """Roll out episodes ``0..num_episodes-1``; ``make_policy(index, action_seed)`` gives
    ``policy(obs, info) -> action``."""

    def make_episode(index):
        env_seed, action_seed = episode_seeds(writer.seed, index, writer.recipe)
        return rollout(env, make_policy(index, action_seed), env_seed)

    return _write_episodes(writer, list(range(num_episodes)), make_episode, progress)


def _render_env(task: TaskSpec, image_sizes: tuple[int, ...], render_profile: str) -> DMCEnv:
    return make_env(task, image_sizes[0], extra_image_sizes=tuple(image_sizes[1:]), render_profile=render_profile)


def _write_state_rollouts(
    writer: DatasetWriter, render_profile: str, num_episodes: int, make_state_policy, progress: bool
) -> dict:
    """Roll out and render episodes ``0..num_episodes-1`` of a policy that acts on the state:
    ``make_state_policy(index, action_seed, action_space)`` gives ``policy(state) -> action``."""
    env = _render_env(writer.task, writer.image_sizes, render_profile)

    def make_policy(index, action_seed):
        act = make_state_policy(index, action_seed, env.action_space)
        return lambda obs, info: act(info["state"])

    try:
        return _write_rollouts(writer, env, num_episodes, make_policy, progress)
    finally:
        env.close()


def collect_random(task: str | TaskSpec, out: Path | str, *, size: int | None = None,
                   episodes: int | None = None, image_sizes: tuple[int, ...] = (64,),
                   render_profile: str = "standard", seed: int = 0, action_repeat: int | None = None,
                   episode_length: int | None = None, references: dict | None = None,
                   extra: dict | None = None, progress: bool = True) -> list[Path]:  # fmt: skip
    """Write a ``random`` dataset (uniform actions). ``size`` counts transitions, rounded up to episodes.

    ``episode_length`` (simulator steps, default 1000) is recorded in ``dataset.json``; evaluation uses it.
    """
    spec = (
        task
        if isinstance(task, TaskSpec)
        else get_task(task, action_repeat=action_repeat, episode_length=episode_length)
    )
    num_episodes = _num_episodes(spec, "random", size, episodes)
    writer = DatasetWriter(Path(out), spec, "random", tuple(image_sizes), seed)
    source = "uniform random actions"
    writer.prepare(render_profile, source)
    env = _render_env(spec, writer.image_sizes, render_profile)
    low, high = env.action_space.low, env.action_space.high

    def make_policy(index, action_seed):
        rng = np.random.default_rng([seed, index, 1])
        return lambda obs, info: rng.uniform(low, high).astype(np.float32)

    try:
        collection = _write_rollouts(writer, env, num_episodes, make_policy, progress)
    finally:
        env.close()
    behaviour = {"source": source, "policy": source}
    return writer.finalize(render_profile, behaviour, references, extra={"collection": collection, **(extra or {})})


def collect_policy(task: TaskSpec, out: Path | str, recipe: str, agent: Path, level: PolicyLevel, *,
                   size: int | None = None, episodes: int | None = None, image_sizes: tuple[int, ...] = (64,),
                   render_profile: str = "standard", seed: int = 0, references: dict | None = None,
                   extra: dict | None = None, progress: bool = True) -> list[Path]:  # fmt: skip
    """``medium`` or ``expert``: episodes of one SAC checkpoint, actions sampled from its actor."""
    num_episodes = _num_episodes(task, recipe, size, episodes)
    writer = DatasetWriter(Path(out), task, recipe, tuple(image_sizes), seed)
    source = f"{agent.name}/frame_{level.frame:08d}"
    writer.prepare(render_profile, source)
    actor = load_actor(agent, level.frame)
    make_state_policy = lambda index, action_seed, space: SampledActions(actor, action_seed)  # noqa: E731
    collection = _write_state_rollouts(writer, render_profile, num_episodes, make_state_policy, progress)
    behaviour = {
        "source": source,
        "policy": f"SAC {recipe} checkpoint, actions sampled from the actor",
        "level": level.as_dict(),
        **behaviour_summary(agent),
    }
    return writer.finalize(render_profile, behaviour, references, extra={"collection": collection, **(extra or {})})


def replay_selection(
    available: range, size: int | None, episodes: int | None, task: TaskSpec, recipe: str = "medium_replay"
) -> list[int]:
    """Indices of the ``available`` replay episodes a replay recipe keeps: the most recent that fit in
    ``size`` transitions (default: the recipe's size), or the last ``episodes`` (a FIFO buffer)."""
    if not available:
        raise ConfigError(f"{recipe}: the behaviour agent's replay holds no episode in that range")
    if episodes is not None:
        return list(available)[-episodes:]
    capacity = default_size(task, recipe) if size is None else size
    keep = max(1, min(len(available), capacity // task.agent_steps))
    return list(available)[-keep:]


def collect_replay(task: TaskSpec, out: Path | str, agent: Path, level: PolicyLevel, *,
                   recipe: str = "medium_replay", after: PolicyLevel | None = None, size: int | None = None,
                   episodes: int | None = None, image_sizes: tuple[int, ...] = (64,),
                   render_profile: str = "standard", seed: int = 0, references: dict | None = None,
                   extra: dict | None = None, progress: bool = True) -> list[Path]:  # fmt: skip
    """Replay recipes, re-rendered from stored physics states: the episodes the agent played up to the
    checkpoint ``level`` (``medium_replay``), or with ``after`` from that checkpoint up to ``level``
    (the LOMPO protocol's ``medium_expert``: "the replay buffer after the agent reaches medium level")."""
    if size is not None and episodes is not None:
        raise ConfigError("give at most one of size (transitions) and episodes")
    first = after.episodes if after is not None else 0
    selected = replay_selection(range(first, level.episodes), size, episodes, task, recipe)
    writer = DatasetWriter(Path(out), task, recipe, tuple(image_sizes), seed)
    if after is None:
        source = f"{agent.name}/replay_before_frame_{level.frame:08d}"
        policy = f"SAC training episodes up to the {level.name} checkpoint (replay buffer)"
    else:
        source = f"{agent.name}/replay_from_frame_{after.frame:08d}_to_{level.frame:08d}"
        policy = f"SAC training episodes from the {after.name} to the {level.name} checkpoint (replay buffer)"
    writer.prepare(render_profile, source)
    env = _render_env(task, writer.image_sizes, render_profile)
    try:
        collection = _write_episodes(
            writer,
            selected,
            lambda index: render_stored_episode(env, read_replay_episode(replay_path(agent, index))),
            progress,
        )
    finally:
        env.close()
    behaviour = {
        "source": source,
        "policy": policy,
        "level": level.as_dict(),
        **({"after": after.as_dict()} if after is not None else {}),
        "replay_episodes": [selected[0], selected[-1] + 1],
        **behaviour_summary(agent),
    }
    collection["rendered_from"] = "stored physics states"
    return writer.finalize(render_profile, behaviour, references, extra={"collection": collection, **(extra or {})})


def combine_medium_expert(
    task: TaskSpec,
    out: Path | str,
    *,
    image_sizes: tuple[int, ...],
    render_profile: str,
    seed: int = 0,
    references: dict | None = None,
) -> list[Path]:
    """``medium_expert``: every file of ``medium`` and ``expert`` (hard-linked, else copied)."""
    writer = DatasetWriter(Path(out), task, "medium_expert", tuple(image_sizes), seed)
    parts = {}
    for part in ("medium", "expert"):
        meta = read_metadata(dataset_folder(out, task, part, image_sizes[0]))
        if meta is None:
            raise ConfigError(
                f"medium_expert needs the {part} dataset first "
                f"({dataset_folder(out, task, part, image_sizes[0])} has no dataset.json)"
            )
        parts[part] = meta["behaviour"]
    source = " + ".join(parts[p]["source"] for p in ("medium", "expert"))
    writer.prepare(render_profile, source)
    for size in image_sizes:
        target = writer.folder(size)
        target.mkdir(parents=True, exist_ok=True)
        wanted = {}
        for part in ("medium", "expert"):
            folder = dataset_folder(out, task, part, size)
            meta = read_metadata(folder)
            if meta is None or meta.get("render_profile") != render_profile:
                raise ConfigError(f"{folder}: the {part} dataset is missing or was rendered with another profile")
            wanted.update({p.name: p for p in episode_files(folder)})
        strays = [p.name for p in episode_files(target) if p.name not in wanted]
        if strays:
            raise ConfigError(
                f"{target} holds {len(strays)} episode(s) that are in neither medium nor expert "
                f"(e.g. {strays[0]}); use another --out (nothing was deleted)"
            )
        for name, source_path in wanted.items():
            destination = target / name
            if destination.exists():
                continue
            try:
                os.link(source_path, destination)
            except OSError:
                shutil.copy2(source_path, destination)
    behaviour = {"source": source, "policy": "medium and expert datasets concatenated", "parts": parts}
    return writer.finalize(render_profile, behaviour, references)


def collect(
    task: str,
    recipe: str,
    out: Path | str,
    *,
    size: int | None = None,
    episodes: int | None = None,
    image_sizes: tuple[int, ...] = (64,),
    render_profile: str = "standard",
    seed: int = 0,
    behaviour: BehaviourConfig | None = None,
    medium_threshold: float | None = None,
    action_repeat: int | None = None,
    episode_length: int | None = None,
    protocol: str = "vd4rl",
    scripted: bool = False,
    expert_noise: float = 0.1,
    progress: bool = True,
    log=print,
) -> dict[str, list[Path]]:
    """Build one recipe, or ``all`` of them, of ``protocol`` (:data:`PROTOCOLS`) for ``task``; returns the
    folders written per recipe.

    The SAC behaviour agent is trained once per (task, seed) under ``{out}/{domain_task}/behaviour/``
    and reused by every recipe that needs it; an interrupted training resumes from its checkpoint.
    ``scripted``: the task's scripted policy with action noise instead (:mod:`lompo.collect.scripted`;
    ``expert_noise`` is the expert's).
    """
    spec = get_task(task, action_repeat=action_repeat, episode_length=episode_length)
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    known = PROTOCOLS[protocol]
    if recipe not in (*known, "all"):
        choices = ", ".join((*known, "all"))
        raise ConfigError(f"the {protocol} protocol has no recipe {recipe!r}; choose one of {choices}")
    recipes = known if recipe == "all" else (recipe,)
    if protocol == "lompo" and size is None and episodes is None:
        size = default_size(spec, recipe, protocol)  # one size for every recipe of this protocol
    image_sizes = tuple(dict.fromkeys(image_sizes))
    common: dict[str, Any] = dict(image_sizes=image_sizes, render_profile=render_profile, seed=seed, progress=progress)
    if protocol != "vd4rl":
        common["extra"] = {"protocol": protocol}
    written: dict[str, list[Path]] = {}
    agent: Path | None = None
    levels: dict[str, Any] = {}
    references = None
    if scripted:
        if behaviour is not None or medium_threshold is not None:
            raise ConfigError("--scripted replaces the SAC behaviour agent: drop its settings")
        return _collect_scripted(spec, out, recipes, protocol, expert_noise, size, episodes, common, log)
    if recipes != ("random",):
        config = behaviour or BehaviourConfig(frames=spec.behaviour_frames, seed=seed)
        fraction = LOMPO_MEDIUM_FRACTION if protocol == "lompo" and medium_threshold is None else None
        start = time.perf_counter()
        log(
            f"behaviour agent: SAC on {spec.name} state, up to {config.frames:,} frames "
            f"in {agent_folder(out, spec, config.seed)}"
        )
        agent = train_behaviour(
            spec, out, config, medium_threshold=medium_threshold, medium_fraction=fraction, progress=progress
        )
        references = measured_references(agent, read_evaluations(agent)[-1]["frame"])
        levels = policy_levels(agent, medium_threshold, fraction=fraction, random_return=references["random"])
        log(
            f"  {time.perf_counter() - start:.0f} s; medium = frame {levels['medium'].frame:,} "
            f"(eval return {levels['medium'].return_mean:.1f}), expert = frame {levels['expert'].frame:,} "
            f"(eval return {levels['expert'].return_mean:.1f})"
        )
    else:  # random alone: use the references an agent of this task measured earlier, if there is one
        references = cached_references(agent_folder(out, spec, seed))
    for name in recipes:
        start = time.perf_counter()
        sized = dict(size=size, episodes=episodes, references=references, **common)
        if name == "random":
            written[name] = collect_random(spec, out, **sized)
            log(f"{name}: {time.perf_counter() - start:.0f} s")
            continue
        assert agent is not None  # every recipe but random trained the agent above
        if name in ("medium", "expert"):
            written[name] = collect_policy(spec, out, name, agent, levels[name], **sized)
        elif name == "medium_replay":
            written[name] = collect_replay(spec, out, agent, levels["medium"], **sized)
        elif protocol == "lompo":  # medium_expert: the replay buffer after the medium checkpoint
            written[name] = collect_replay(
                spec, out, agent, levels["expert"], recipe=name, after=levels["medium"], **sized
            )
        else:
            for part in ("medium", "expert"):
                if part not in written:
                    written[part] = collect_policy(spec, out, part, agent, levels[part], **sized)
            written[name] = combine_medium_expert(
                spec, out, image_sizes=image_sizes, render_profile=render_profile, seed=seed, references=references
            )
        log(f"{name}: {time.perf_counter() - start:.0f} s")
    return written


def _collect_scripted(
    spec: TaskSpec, out, recipes, protocol: str, expert_noise: float, size, episodes, common: dict, log
) -> dict[str, list[Path]]:
    """:func:`collect` with the task's scripted policy as the behaviour (:mod:`lompo.collect.scripted`)."""
    from lompo.collect.scripted import collect_scripted, noise_levels, scripted_references

    start = time.perf_counter()
    levels = noise_levels(spec, expert_noise, seed=common["seed"])
    log(
        f"scripted behaviour {levels.policy}: expert noise {levels.expert_noise:g} (return "
        f"{levels.expert_return:.1f}), medium noise {levels.medium_noise:g}, random return "
        f"{levels.random_return:.1f}; {time.perf_counter() - start:.0f} s"
    )
    references = scripted_references(levels)
    written: dict[str, list[Path]] = {}
    for name in recipes:
        start = time.perf_counter()
        sized = dict(size=size, episodes=episodes, references=references, **common)
        if name == "random":
            written[name] = collect_random(spec, out, **sized)
        elif name == "medium_expert" and protocol == "vd4rl":
            for part in ("medium", "expert"):
                if part not in written:
                    written[part] = collect_scripted(spec, out, part, levels, protocol=protocol, **sized)
            written[name] = combine_medium_expert(
                spec, out, image_sizes=common["image_sizes"], render_profile=common["render_profile"],
                seed=common["seed"], references=references,
            )  # fmt: skip
        else:
            written[name] = collect_scripted(spec, out, name, levels, protocol=protocol, **sized)
        log(f"{name}: {time.perf_counter() - start:.0f} s")
    return written
