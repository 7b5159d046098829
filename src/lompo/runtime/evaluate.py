"""Evaluation: run a :class:`Policy` in the dataset's own environment; scores, videos, strips.

Scores: the V-D4RL convention ``return / 10`` (DMC returns are in
[0, 1000], so 0–100), and, where the dataset or the task registry records
reference returns, the D4RL convention ``100 (R − R_random) / (R_expert − R_random)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lompo.data.store import EpisodeStore
from lompo.envs import DMCEnv, get_task, make_env
from lompo.envs.distractions import Distraction, distraction_set, parse_distraction, set_label
from lompo.errors import ConfigError
from lompo.runtime.algorithms import ModelPolicy, Policy


def dataset_metadata(store: EpisodeStore) -> dict:
    return dict(store.info.get("metadata") or {})


def has_task(store: EpisodeStore) -> bool:
    """Whether the dataset names the registry task it was recorded in (imported robot data need not:
    such a run trains without evaluations in an environment)."""
    return bool(store.info.get("task") or dataset_metadata(store).get("task"))


def dataset_task(store: EpisodeStore) -> str:
    task = store.info.get("task") or dataset_metadata(store).get("task")
    if not task:
        raise ConfigError(
            f"cannot tell which task the dataset {store.info.get('source')} belongs to; "
            "evaluation needs it (write a dataset.json or name the folder like V-D4RL)"
        )
    return task


@dataclass(frozen=True)
class Condition:
    """Where a trained policy is evaluated besides its dataset's own environment (V-D4RL section 5):
    under a distraction set (``distraction="none"``: undistracted) and/or in another task (a body
    variant). Written ``distraction=colour:medium,split=test,count=4`` or ``task=walker-walk@A``."""

    distraction: str | None = None
    split: str = "train"
    count: int = 1
    task: str | None = None
    backgrounds: str | None = None

    @classmethod
    def parse(cls, text: str) -> Condition:
        fields: dict[str, Any] = {}
        for part in text.split(","):
            key, _, value = part.strip().partition("=")
            if key not in cls.__dataclass_fields__ or not value:
                raise ConfigError(
                    f"evaluation condition {text!r}: expected KEY=VALUE with keys {list(cls.__dataclass_fields__)}"
                )
            fields[key] = int(value) if key == "count" and value.isdigit() else value
        condition = cls(**fields)
        condition.distractions()  # checks the names
        return condition

    def text(self) -> str:
        defaults = Condition()
        return ",".join(f"{k}={v}" for k, v in asdict(self).items() if v is not None and v != getattr(defaults, k))

    def distractions(self) -> list[Distraction] | None:
        if self.distraction is None:
            return None
        if self.distraction == "none":
            return []
        kind, severity, dynamic = parse_distraction(self.distraction)
        return distraction_set(kind, severity, self.count, self.split, dynamic=dynamic, backgrounds=self.backgrounds)

    @property
    def label(self) -> str:
        """A file-name word: ``colour-medium-test-x4``, ``none``, ``walker-walk-legs0.6``."""
        parts = []
        if self.task:
            parts.append(get_task(self.task).folder_name.replace("_", "-"))
        if self.distraction == "none":
            parts.append("none")
        elif self.distraction:
            parts.append(f"{self.distraction.replace(':', '-')}-{self.split}-x{self.count}")
        return "-".join(parts) or "own"


def dataset_distractions(store: EpisodeStore) -> list[Distraction]:
    """The distractions a re-rendered dataset was rendered with (none for others)."""
    specs = (dataset_metadata(store).get("distraction") or {}).get("specs") or []
    return [Distraction.from_dict(spec) for spec in specs]


def make_eval_env(
    store: EpisodeStore,
    seed: int = 0,
    distractions: list[Distraction] | None = None,
    task: str | None = None,
    observation: str = "image",
) -> DMCEnv:
    """The environment the dataset was recorded in: task, image size, action repeat, camera, render profile,
    and the dataset's own distractions unless ``distractions`` is given (``[]``: none). ``task`` evaluates
    in another task of the same action space instead (e.g. a held-out body variant, ``walker-walk@A``)."""
    meta = dataset_metadata(store)
    overrides = {k: meta[k] for k in ("action_repeat", "camera", "episode_length") if meta.get(k) is not None}
    spec = get_task(task or dataset_task(store), **overrides)
    env = make_env(
        spec,
        int(store.image_shape[0]),
        render_profile=meta.get("render_profile", "standard"),
        seed=seed,
        distractions=dataset_distractions(store) if distractions is None else distractions,
        observation=observation,
    )
    if task and int(env.action_space.shape[0]) != store.action_dim:
        env.close()
        raise ConfigError(
            f"task {spec.name} takes {env.action_space.shape[0]} action dimensions, the data {store.action_dim}"
        )
    return env


def check_eval_env(store: EpisodeStore) -> None:
    """Build the evaluation environment once and compare it with the data: a wrong task, camera or
    action dimension stops a run before its first update, not at its first evaluation hours later."""
    source = store.info.get("source")
    try:
        env = make_eval_env(store)
        try:
            obs, _ = env.reset(seed=0)
            env_dim = int(env.action_space.shape[0])
        finally:
            env.close()
    except (ValueError, IndexError, KeyError, RuntimeError) as err:
        raise ConfigError(f"{source}: cannot build the evaluation environment dataset.json describes ({err})") from None
    if env_dim != store.action_dim:
        raise ConfigError(
            f"{source}: the data's actions have {store.action_dim} dimensions, the task {dataset_task(store)!r} "
            f"takes {env_dim}: is dataset.json's task right?"
        )
    if tuple(obs.shape) != tuple(store.image_shape):
        raise ConfigError(
            f"{source}: the environment renders {tuple(obs.shape)} images, the data holds {tuple(store.image_shape)}"
        )


def reference_returns(store: EpisodeStore) -> tuple[float | None, float | None]:
    """``(random, expert)`` returns for D4RL-style normalisation: the dataset's, else the registry's."""
    refs = dataset_metadata(store).get("reference_returns") or {}
    random, expert = refs.get("random"), refs.get("expert")
    if random is None or expert is None:
        spec = get_task(dataset_task(store))
        random, expert = spec.random_return, spec.expert_return
    return random, expert


def normalized_scores(mean_return: float, random: float | None, expert: float | None) -> dict[str, float | None]:
    d4rl = None
    if random is not None and expert is not None and expert != random:
        d4rl = 100.0 * (mean_return - random) / (expert - random)
    return {"score_vd4rl": mean_return / 10.0, "score_d4rl": d4rl}


@dataclass
class Episodes:
    """What :func:`run_episodes` measured: per-episode returns and rewards per step, the recorded frames,
    success flags (robot tasks) and, for a policy acting through a world model, the return the model
    believed each earned."""

    returns: np.ndarray
    step_rewards: list[list[float]]
    frames: list[np.ndarray]
    successes: list[bool]
    model_returns: list[float]


def run_episodes(
    policy: Policy,
    env: DMCEnv,
    episodes: int,
    seed: int,
    record_episodes: int = 0,
    progress: bool = False,
    on_episode_end: Callable[[Policy], None] | None = None,
) -> Episodes:
    """Run ``episodes`` episodes (env seeds ``seed + i``, mean actions), recording the frames of the
    first ``record_episodes``; ``on_episode_end(policy)`` after each (e.g. to read its latent states).
    Torch's RNG (latent sampling) is seeded with ``seed`` inside a fork, so training streams are untouched."""
    step_rewards: list[list[float]] = []
    frames, successes, model_returns = [], [], []
    iterator = range(episodes)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="evaluate", unit="ep", leave=False)
    with torch.random.fork_rng():  # evaluation never shifts the training RNG streams
        torch.manual_seed(seed)  # sampled latents: the same checkpoint gives the same evaluation
        for i in iterator:
            obs, info = env.reset(seed=seed + i)
            policy.reset()
            rewards, done = [], False
            while not done:
                if i < record_episodes:
                    frames.append(np.asarray(obs["image"] if isinstance(obs, dict) else obs))
                obs, reward, terminated, truncated, info = env.step(policy.act(obs, deterministic=True))
                rewards.append(float(reward))
                done = terminated or truncated
            step_rewards.append(rewards)
            if isinstance(policy, ModelPolicy):
                policy.observe(obs)  # the last transition's reward, as the model sees it
                model_returns.append(policy.model_return)
            if "success" in info:
                successes.append(bool(info["success"]))
            if on_episode_end is not None:
                on_episode_end(policy)
    returns = np.asarray([sum(rewards) for rewards in step_rewards])
    return Episodes(returns, step_rewards, frames, successes, model_returns)


def evaluate(
    policy: Policy,
    store: EpisodeStore,
    episodes: int,
    seed: int,
    video_path: Path | None = None,
    progress: bool = False,
    distractions: list[Distraction] | None = None,
    task: str | None = None,
) -> dict:
    """Evaluate ``policy`` for ``episodes`` episodes; writes a GIF of the first one to ``video_path``.
    Episode ``i`` shows distraction ``i % K`` of ``distractions`` (default: the dataset's own, if any)."""
    if episodes < 1:
        raise ConfigError(f"evaluation needs at least one episode, got {episodes}")
    observation = getattr(policy, "observation", "image")  # "dict": the policy reads proprioception too
    env = make_eval_env(store, seed=seed, distractions=distractions, task=task, observation=observation)
    try:
        played = run_episodes(policy, env, episodes, seed, 1 if video_path else 0, progress)
    finally:
        env.close()
    random, expert = (
        reference_returns(store) if task is None else (env.spec_task.random_return, env.spec_task.expert_return)
    )
    returns = played.returns
    result: dict[str, Any] = {
        "episodes": episodes,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "returns": [round(float(r), 3) for r in returns],
        **normalized_scores(float(returns.mean()), random, expert),
        "reference_random": random,
        "reference_expert": expert,
    }
    if played.model_returns:  # what the world model believed the policy earned (LatentPolicy)
        result["model_return_mean"] = float(np.mean(played.model_returns))
        result["model_returns"] = [round(r, 3) for r in played.model_returns]
    if played.successes:
        result["success_rate"] = float(np.mean(played.successes))
    if task is not None:
        result["task"] = env.spec_task.name
    if env.distractions:
        result["distraction"] = set_label(list(env.distractions))
        result["distractions"] = [d.as_dict() for d in env.distractions]
    if video_path is not None and played.frames:
        write_gif(video_path, played.frames)
        return {**result, "video": str(video_path)}
    return result


def write_gif(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    import imageio.v3 as iio

    from lompo.files import atomic_write_bytes

    data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=1000 / fps, loop=0)
    atomic_write_bytes(Path(path), lambda f: f.write(data))


def write_png(path: Path, image: np.ndarray) -> None:
    import imageio.v3 as iio

    from lompo.files import atomic_write_bytes

    data = iio.imwrite("<bytes>", image, extension=".png")
    atomic_write_bytes(Path(path), lambda f: f.write(data))
