"""State-based SAC behaviour agents for the V-D4RL recipes (V-D4RL section 4.1.1).

An agent learns on the flattened proprioceptive state with action repeat 2.
Every ``checkpoint_every`` frames (10,000 as V-D4RL) it is evaluated on
``eval_episodes`` episodes (mean action, fixed env seeds), its actor is saved
under ``policies/`` and the full training state under ``checkpoints/``.
Every step the agent sees is written, with the simulator's physics state, to
``replay/episode_{i}.npz`` in the episode-file convention minus the image, so
the ``medium_replay`` recipe can re-render the buffer later.

Folder (``agent.json`` marks it; dataset discovery skips it)::

    {out}/{domain_task}/behaviour/seed{S}/
        agent.json  evaluations.jsonl  policies/  replay/  checkpoints/

Policy levels (V-D4RL section 4.1.1): *medium* is the first checkpoint whose
evaluation return is **consistently** >= the task's threshold (500), where
consistently means: it and the ``medium_window - 1`` checkpoints after it
(3 evaluations in all by default, i.e. 30K frames) all reach the threshold.
*expert* is the final checkpoint. Training stops at the frame budget, or
earlier once converged: a medium checkpoint exists and the best evaluation has
not improved by more than ``converge_tolerance`` (relative) over the last
``converge_patience`` checkpoints.

Choices (the issue leaves them to us): actor and twin critic 2 x 256 ReLU MLPs,
one SAC update per agent step after 5,000 frames of uniform random actions,
replay buffer holding every transition (no eviction).
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from lompo.algos.sac import SAC, SACConfig, TanhGaussianActor
from lompo.data.dataset import AGENT_MARKER
from lompo.envs.dmc import DMCEnv, make_env
from lompo.envs.registry import TaskSpec, get_task
from lompo.errors import CheckpointError, ConfigError, EpisodeFileError
from lompo.files import atomic_write_bytes
from lompo.runtime.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from lompo.runtime.rng import restore_rng, rng_state, seed_everything
from lompo.runtime.trainer import EVAL_SEED  # evaluation episode i uses env seed EVAL_SEED + i

AGENT_FILE = AGENT_MARKER
REPLAY_KEYS = ("state", "action", "reward", "discount", "physics_state", "is_first", "is_last", "is_terminal")


@dataclass
class BehaviourConfig:
    """How a behaviour agent is trained. ``frames`` counts simulator frames (action repeat included)."""

    frames: int = 1_000_000
    seed_frames: int = 5_000  # uniform random actions before the first update
    checkpoint_every: int = 10_000  # V-D4RL section 4.1.1
    eval_episodes: int = 5
    updates_per_step: int = 1
    converge_patience: int = 5
    converge_tolerance: float = 0.02
    medium_window: int = 3
    seed: int = 0
    sac: SACConfig = field(default_factory=SACConfig)

    def trajectory_fields(self) -> dict:
        """Fields that change what the agent does; two runs agreeing on them are the same run
        (``frames`` may grow to continue training, and the level thresholds may change freely)."""
        fields = asdict(self)
        for key in ("frames", "medium_window"):
            fields.pop(key)
        return fields


def behaviour_config(
    task: TaskSpec, seed: int = 0, frames: int | None = None, overrides: dict[str, str] | None = None
) -> BehaviourConfig:
    """The task's default config with ``frames`` and ``key=value`` overrides (``sac.hidden=64`` for SAC fields)."""
    from lompo.runtime.config import parse_value

    top, sac = typing.get_type_hints(BehaviourConfig), typing.get_type_hints(SACConfig)
    values: dict = {"frames": task.behaviour_frames if frames is None else frames, "seed": seed}
    sac_values: dict = {}
    for key, text in (overrides or {}).items():
        if key.startswith("sac.") and key[4:] in sac:
            annotation = sac[key[4:]]
            if key[4:] == "target_entropy":
                annotation = float
            sac_values[key[4:]] = parse_value(text, annotation, key)
        elif key in top and key != "sac":
            values[key] = parse_value(text, top[key], key)
        else:
            known = [k for k in top if k != "sac"] + [f"sac.{k}" for k in sac]
            raise ConfigError(f"unknown behaviour setting {key!r}; known: {', '.join(known)}")
    return BehaviourConfig(**values, sac=SACConfig(**sac_values))


def agent_folder(out: Path | str, task: TaskSpec, seed: int) -> Path:
    return Path(out) / task.folder_name / "behaviour" / f"seed{seed}"


def _task_fields(task: TaskSpec) -> dict:
    return {"task": task.name, "action_repeat": task.action_repeat, "episode_length": task.episode_length}


# --------------------------------------------------------------------------- replay
class StateReplay:
    """Every transition the agent has seen, as flat float32 arrays; uniform sampling."""

    def __init__(self, capacity: int, obs_dim: int, action_dim: int):
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.action = np.zeros((capacity, action_dim), np.float32)
        self.reward = np.zeros(capacity, np.float32)
        self.discount = np.zeros(capacity, np.float32)
        self.size = 0

    def add_episode(self, episode: dict[str, np.ndarray]) -> None:
        """Add the transitions of one episode in file convention (step 0 = reset, zero action)."""
        n = len(episode["reward"]) - 1
        if self.size + n > len(self.reward):
            raise ConfigError(f"replay buffer of {len(self.reward)} transitions is full")
        s = slice(self.size, self.size + n)
        self.obs[s] = episode["state"][:-1]
        self.next_obs[s] = episode["state"][1:]
        self.action[s] = episode["action"][1:]
        self.reward[s] = episode["reward"][1:]
        self.discount[s] = episode["discount"][1:]
        self.size += n

    def add(self, obs, action, reward, discount, next_obs) -> None:
        i = self.size
        self.obs[i], self.action[i], self.reward[i], self.discount[i], self.next_obs[i] = (
            obs,
            action,
            reward,
            discount,
            next_obs,
        )
        self.size += 1

    def sample(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        idx = np.random.randint(0, self.size, size=batch_size)
        return {
            k: torch.as_tensor(getattr(self, k)[idx], device=device)
            for k in ("obs", "action", "reward", "discount", "next_obs")
        }


def replay_path(folder: Path, index: int) -> Path:
    return folder / "replay" / f"episode_{index:06d}.npz"


def write_replay_episode(path: Path, episode: dict[str, np.ndarray]) -> None:
    atomic_write_bytes(path, lambda f: np.savez(f, **episode))  # type: ignore[arg-type]


def read_replay_episode(path: Path) -> dict[str, np.ndarray]:
    """A stored behaviour episode (no image); refuses pickles and names the file on any problem."""
    try:
        with np.load(path, allow_pickle=False) as data:
            episode = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as err:
        raise EpisodeFileError(path, [f"unreadable behaviour episode: {err}"]) from None
    problems = [f"missing key {k!r}" for k in REPLAY_KEYS if k not in episode]
    lengths = {len(v) for v in episode.values()}
    if len(lengths) > 1:
        problems.append(f"arrays have different lengths {sorted(lengths)}")
    if problems:
        raise EpisodeFileError(path, problems)
    return episode


# --------------------------------------------------------------------------- policies
def load_actor(folder: Path, frame: int) -> TanhGaussianActor:
    """The actor saved at checkpoint ``frame`` (safetensors, never unpickled)."""
    meta = read_agent_file(folder)
    path = folder / "policies" / f"frame_{frame:08d}.safetensors"
    if not path.is_file():
        raise CheckpointError(path, "policy weights missing")
    sac = SACConfig(**meta["config"]["sac"])
    actor = TanhGaussianActor(meta["obs_dim"], meta["action_dim"], sac.hidden, sac.layers)
    try:
        actor.load_state_dict(load_file(str(path)))
    except Exception as err:  # safetensors / shape errors
        raise CheckpointError(path, f"cannot load the policy weights: {err}") from None
    return actor.eval()


class SampledActions:
    """Actions *sampled* from the stochastic actor (V-D4RL collects this way), with a
    per-episode generator so an episode's actions do not depend on what ran before."""

    def __init__(self, actor: TanhGaussianActor, seed: int):
        self.actor = actor
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def __call__(self, state: np.ndarray) -> np.ndarray:
        mean, log_std = self.actor(torch.as_tensor(state, dtype=torch.float32).unsqueeze(0))
        noise = torch.randn(mean.shape, generator=self.generator)
        return torch.tanh(mean + log_std.exp() * noise).squeeze(0).numpy()


@torch.no_grad()
def mean_action(actor: TanhGaussianActor, state: np.ndarray) -> np.ndarray:
    return torch.tanh(actor(torch.as_tensor(state, dtype=torch.float32).unsqueeze(0))[0]).squeeze(0).numpy()


def run_state_episode(env: DMCEnv, policy, env_seed: int, record: bool = False):
    """One episode on the state observation; returns (return, episode arrays or None)."""
    obs, info = env.reset(seed=env_seed)
    steps = [(obs, np.zeros(env.action_space.shape, np.float32), 0.0, 1.0, info["physics_state"])]
    total, done, terminated = 0.0, False, False
    while not done:
        action = np.asarray(policy(obs), np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        done = terminated or truncated
        if record:
            steps.append((obs, action, reward, info["discount"], info["physics_state"]))
    return total, (episode_arrays(steps, terminated) if record else None)


def episode_arrays(steps: list[tuple], terminated: bool) -> dict[str, np.ndarray]:
    """Stack ``(state, action, reward, discount, physics_state)`` steps in the episode-file convention."""
    n = len(steps)
    episode = {
        "state": np.stack([s[0] for s in steps]).astype(np.float32),
        "action": np.stack([s[1] for s in steps]).astype(np.float32),
        "reward": np.array([s[2] for s in steps], np.float32),
        "discount": np.array([s[3] for s in steps], np.float32),
        "physics_state": np.stack([s[4] for s in steps]).astype(np.float64),
        "is_first": np.arange(n) == 0,
        "is_last": np.arange(n) == n - 1,
    }
    episode["is_terminal"] = episode["is_last"] & bool(terminated)
    return episode


def evaluate_actor(actor: TanhGaussianActor, env: DMCEnv, episodes: int) -> list[float]:
    """Returns of ``episodes`` mean-action episodes on env seeds ``EVAL_SEED + i``."""
    return [run_state_episode(env, lambda s: mean_action(actor, s), EVAL_SEED + i)[0] for i in range(episodes)]


# --------------------------------------------------------------------------- agent folder
def read_agent_file(folder: Path) -> dict:
    path = Path(folder) / AGENT_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(path, "no behaviour agent here (agent.json missing)") from None
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(path, f"unreadable: {err}") from None
    for key in ("task", "config", "obs_dim", "action_dim"):
        if key not in meta:
            raise CheckpointError(path, f"missing key {key!r}")
    return meta


def read_evaluations(folder: Path) -> list[dict]:
    path = Path(folder) / "evaluations.jsonl"
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise CheckpointError(path, f"line {number} is not JSON ({err})") from None
    return rows


def _write_evaluations(folder: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    atomic_write_bytes(folder / "evaluations.jsonl", lambda f: f.write(text.encode()))


def _prepare_folder(
    folder: Path, task: TaskSpec, config: BehaviourConfig, obs_dim: int, action_dim: int, shaped: str | None
) -> None:
    """Create ``agent.json``, or check that an existing agent is the same training run."""
    meta = {
        **_task_fields(task),
        "config": asdict(config),
        "obs_dim": obs_dim,
        "action_dim": action_dim,
        "training_reward": shaped or "the task's reward",
    }
    path = folder / AGENT_FILE
    if path.exists():
        old = read_agent_file(folder)
        old_config = BehaviourConfig(**{**old["config"], "sac": SACConfig(**old["config"]["sac"])})
        differences = [k for k in _task_fields(task) if old.get(k) != meta[k]]
        differences += [k for k, v in config.trajectory_fields().items() if old_config.trajectory_fields()[k] != v]
        if differences:
            raise ConfigError(
                f"{folder} holds a behaviour agent trained with different settings ({', '.join(differences)}); "
                "use another --out or --seed (the existing agent is left untouched)"
            )
        meta["config"]["frames"] = max(config.frames, old_config.frames)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, lambda f: f.write((json.dumps(meta, indent=2) + "\n").encode()))


def converged(evaluations: list[dict], config: BehaviourConfig, threshold: float) -> bool:
    """A medium checkpoint exists and the best return has not improved by more than
    ``converge_tolerance`` (relative) over the last ``converge_patience`` evaluations."""
    p = config.converge_patience
    if len(evaluations) <= p or medium_index(evaluations, threshold, config.medium_window) is None:
        return False
    returns = [e["return_mean"] for e in evaluations]
    before, recent = max(returns[:-p]), max(returns[-p:])
    return recent <= before + config.converge_tolerance * abs(before)


def medium_index(evaluations: list[dict], threshold: float, window: int) -> int | None:
    """First checkpoint that, with the ``window - 1`` after it, evaluates >= ``threshold``."""
    returns = [e["return_mean"] for e in evaluations]
    for i in range(len(returns) - window + 1):
        if all(r >= threshold for r in returns[i : i + window]):
            return i
    return None


def train_behaviour(
    task: str | TaskSpec,
    out: Path | str,
    config: BehaviourConfig | None = None,
    *,
    medium_threshold: float | None = None,
    medium_fraction: float | None = None,
    progress: bool = True,
) -> Path:
    """Train (or resume, or reuse) the SAC behaviour agent of ``task``; returns its folder.

    Convergence needs a medium checkpoint: one reaching ``medium_threshold`` (default: the task's), or
    with ``medium_fraction`` that fraction of the way from the first evaluation to the best so far (the
    LOMPO protocol)."""
    spec = task if isinstance(task, TaskSpec) else get_task(task)
    config = config or BehaviourConfig(frames=spec.behaviour_frames)
    threshold = spec.medium_threshold if medium_threshold is None else medium_threshold
    if config.checkpoint_every < 1 or config.frames < config.checkpoint_every:
        raise ConfigError(
            f"the SAC budget ({config.frames} frames) must cover at least one checkpoint "
            f"({config.checkpoint_every} frames)"
        )
    env = make_env(spec, observation="state")
    eval_env = make_env(spec, observation="state")
    obs_dim, action_dim = int(np.prod(env.observation_space.shape or (0,))), env.action_space.shape[0]
    folder = agent_folder(out, spec, config.seed)
    _prepare_folder(folder, spec, config, obs_dim, action_dim, getattr(env, "shaped_reward", None))

    seed_everything(config.seed)  # before the networks are made; a checkpoint restores the streams below
    agent = SAC(obs_dim, action_dim, config.sac)
    capacity = math.ceil(config.frames / spec.action_repeat) + spec.agent_steps
    replay = StateReplay(capacity, obs_dim, action_dim)
    frames = episodes = 0
    stopped = None
    evaluations = read_evaluations(folder)
    checkpoint = latest_checkpoint(folder / "checkpoints")
    state = load_checkpoint(checkpoint) if checkpoint is not None else None
    if state is not None:
        frames, episodes, stopped = state["frames"], state["episodes"], state.get("stopped")
    # Anything written after the checkpoint is regenerated identically: drop it.
    evaluations = [e for e in evaluations if e["frame"] <= frames]
    _write_evaluations(folder, evaluations)
    for stale in (folder / "replay").glob("episode_*.npz"):
        if int(stale.stem.split("_")[1]) >= episodes:
            stale.unlink()
    if stopped == "converged" or frames >= config.frames:
        env.close()
        eval_env.close()
        return folder  # a trained agent is reused as it is: no replay to read, no networks to load
    if state is not None:
        agent.load_state_dict(state["agent"])
        for i in range(episodes):
            replay.add_episode(read_replay_episode(replay_path(folder, i)))
        restore_rng(state["rng"])

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.frames, initial=frames, desc=f"SAC {spec.name}", unit="frame", unit_scale=True)
    low, high = env.action_space.low, env.action_space.high
    try:
        while frames < config.frames:
            env_seed = int(np.random.SeedSequence([config.seed, episodes, 2]).generate_state(1)[0])
            obs, info = env.reset(seed=env_seed)
            steps = [(obs, np.zeros(action_dim, np.float32), 0.0, 1.0, info["physics_state"])]
            done = terminated = False
            while not done:
                if frames < config.seed_frames:
                    action = np.random.uniform(low, high).astype(np.float32)
                else:
                    action = agent.act(obs)
                next_obs, reward, terminated, truncated, info = env.step(action)
                # SAC learns from the suite's shaped reward where the task's own is sparse (door-open);
                # the replay files keep the task's reward
                replay.add(obs, action, info.get("shaped_reward", reward), info["discount"], next_obs)
                steps.append((next_obs, action, reward, info["discount"], info["physics_state"]))
                obs, done = next_obs, terminated or truncated
                frames += spec.action_repeat
                if frames >= config.seed_frames:
                    for _ in range(config.updates_per_step):
                        agent.update(replay.sample(config.sac.batch_size, agent.device))
            write_replay_episode(replay_path(folder, episodes), episode_arrays(steps, terminated))
            episodes += 1
            if bar is not None:
                bar.update(frames - bar.n)
            last = evaluations[-1]["frame"] if evaluations else 0
            if frames // config.checkpoint_every > last // config.checkpoint_every or frames >= config.frames:
                returns = evaluate_actor(agent.actor, eval_env, config.eval_episodes)
                row = {
                    "frame": frames,
                    "episodes": episodes,
                    "transitions": replay.size,
                    "return_mean": float(np.mean(returns)),
                    "return_std": float(np.std(returns)),
                    "returns": [float(r) for r in returns],
                }
                evaluations.append(row)
                policy_path = folder / "policies" / f"frame_{frames:08d}.safetensors"
                policy_path.parent.mkdir(exist_ok=True)
                weights = {k: v.detach().clone().contiguous() for k, v in agent.actor.state_dict().items()}
                atomic_write_bytes(policy_path, save(weights))
                if medium_fraction is not None:  # of the way from the first evaluation to the best so far
                    first, best = evaluations[0]["return_mean"], max(e["return_mean"] for e in evaluations)
                    threshold = first + medium_fraction * (best - first)
                if converged(evaluations, config, threshold):
                    stopped = "converged"
                elif frames >= config.frames:
                    stopped = "budget"
                _write_evaluations(folder, evaluations)
                save_checkpoint(
                    folder / "checkpoints",
                    f"frame_{frames:08d}",
                    {
                        "agent": agent.state_dict(),
                        "frames": frames,
                        "episodes": episodes,
                        "stopped": stopped,
                        "rng": rng_state(),
                    },
                )
                if bar is not None:
                    bar.set_postfix(eval_return=f"{row['return_mean']:.0f}")
                if stopped == "converged":
                    break
    finally:
        if bar is not None:
            bar.close()
        env.close()
        eval_env.close()
    return folder


# --------------------------------------------------------------------------- levels
@dataclass
class PolicyLevel:
    name: str
    frame: int
    episodes: int  # training episodes played up to this checkpoint (the replay buffer's content)
    return_mean: float
    return_std: float

    def as_dict(self) -> dict:
        return asdict(self)


def policy_levels(
    folder: Path | str,
    threshold: float | None = None,
    window: int | None = None,
    fraction: float | None = None,
    random_return: float = 0.0,
) -> dict:
    """The medium and expert checkpoints of a trained agent (V-D4RL section 4.1.1). *expert* is the final
    checkpoint; *medium* the first that reaches ``threshold`` (default: the task's) in ``window``
    consecutive evaluations, or with ``fraction`` that fraction of the way from ``random_return`` to the
    expert's return (the LOMPO protocol's "about half the expert level performance", read on the
    normalised scale so that tasks with negative returns work too).

    Raises :class:`ConfigError` with the evaluation history when no checkpoint qualifies.
    """
    folder = Path(folder)
    meta = read_agent_file(folder)
    spec = get_task(meta["task"])
    window = meta["config"]["medium_window"] if window is None else window
    evaluations = read_evaluations(folder)
    if not evaluations:
        raise ConfigError(f"{folder}: the behaviour agent has no evaluated checkpoint yet")
    history = ", ".join(f"{e['frame']:,}: {e['return_mean']:.1f}" for e in evaluations)
    if fraction is not None and threshold is None:
        expert = evaluations[-1]["return_mean"]
        if expert <= random_return:
            raise ConfigError(
                f"{folder}: the final checkpoint ({expert:.1f}) does not beat uniform random actions "
                f"({random_return:.1f}), so there is no medium level (returns per checkpoint: {history}); "
                "train longer (--sac-frames) or give --medium-threshold"
            )
        threshold = random_return + fraction * (expert - random_return)
    else:
        threshold, fraction = (spec.medium_threshold if threshold is None else threshold), None
    index = medium_index(evaluations, threshold, window)
    if index is None:
        raise ConfigError(
            f"{folder}: no checkpoint reached an evaluation return of {threshold:g} in {window} consecutive "
            f"evaluations (returns per checkpoint: {history}); train longer (--sac-frames) or lower "
            "--medium-threshold"
        )
    if index == len(evaluations) - 1:
        raise ConfigError(
            f"{folder}: the medium checkpoint would be the final (expert) one; returns per "
            f"checkpoint: {history}; raise --medium-threshold or train longer"
        )

    def level(name: str, e: dict) -> PolicyLevel:
        return PolicyLevel(name, e["frame"], e["episodes"], e["return_mean"], e["return_std"])

    return {
        "medium": level("medium", evaluations[index]),
        "expert": level("expert", evaluations[-1]),
        "criteria": {
            "medium_threshold": threshold,
            **({"medium_fraction": fraction, "random_return": random_return} if fraction is not None else {}),
            "medium_window": window,
            "expert": "final checkpoint",
            "eval_episodes": len(evaluations[-1]["returns"]),
            "eval_actions": "mean of the actor",
        },
    }


def cached_references(folder: Path | str) -> dict | None:
    """The references an agent measured earlier (``references.json``), if any."""
    path = Path(folder) / "references.json"
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(path, f"unreadable: {err}") from None


def measured_references(folder: Path | str, expert_frame: int, episodes: int = 10) -> dict:
    """Reference returns measured on the state env: uniform random actions and the expert's sampled
    actions, ``episodes`` each (V-D4RL normalises by its random and expert datasets' mean returns)."""
    folder = Path(folder)
    cache = folder / "references.json"
    cached = cached_references(folder)
    if cached and cached.get("expert_frame") == expert_frame and cached.get("episodes") == episodes:
        return cached
    meta = read_agent_file(folder)
    spec = get_task(meta["task"], action_repeat=meta["action_repeat"], episode_length=meta["episode_length"])
    env = make_env(spec, observation="state")
    try:
        rng = np.random.default_rng(7)
        low, high = env.action_space.low, env.action_space.high
        random = [run_state_episode(env, lambda s: rng.uniform(low, high), EVAL_SEED + i)[0] for i in range(episodes)]
        actor = load_actor(folder, expert_frame)
        expert = [run_state_episode(env, SampledActions(actor, i), EVAL_SEED + i)[0] for i in range(episodes)]
    finally:
        env.close()
    result = {
        "random": float(np.mean(random)),
        "expert": float(np.mean(expert)),
        "expert_frame": expert_frame,
        "episodes": episodes,
        "source": f"measured by lompo: {episodes} state episodes of uniform random actions and of the "
        "expert's sampled actions",
    }
    atomic_write_bytes(cache, lambda f: f.write((json.dumps(result, indent=2) + "\n").encode()))
    return result


def behaviour_summary(folder: Path | str) -> dict:
    """Agent settings and evaluation history, for ``dataset.json`` (``agent`` relative to the output root)."""
    folder = Path(folder)
    meta = read_agent_file(folder)
    return {
        "agent": "/".join(folder.parts[-3:]),
        "algorithm": "SAC on proprioceptive state",
        "training_reward": meta.get("training_reward", "the task's reward"),
        "config": meta["config"],
        "evaluations": [{"frame": e["frame"], "return_mean": e["return_mean"]} for e in read_evaluations(folder)],
    }


__all__ = [
    "BehaviourConfig",
    "PolicyLevel",
    "SampledActions",
    "StateReplay",
    "agent_folder",
    "behaviour_config",
    "behaviour_summary",
    "cached_references",
    "evaluate_actor",
    "load_actor",
    "measured_references",
    "policy_levels",
    "read_replay_episode",
    "replay_path",
    "train_behaviour",
]
