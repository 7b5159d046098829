"""Scripted behaviour: a task's own scripted policy with Gaussian action noise in place of the SAC
behaviour agent (``lompo collect --scripted``), for tasks where state-based SAC does not reach an expert
within a CPU budget. The LOMPO paper made its door-open data with SAC from the state (appendix A); this is
the documented alternative, and ``dataset.json`` says which one a dataset came from
(``behaviour.source`` starts with ``scripted:``).

Noise levels stand in for the agent's checkpoints:

* ``expert``: the scripted policy with noise ``expert_noise`` (a stochastic expert, as the paper's expert
  samples its actor);
* ``medium``: the noise at which the mean return is half-way from random to expert on the normalised
  scale (LOMPO's "about half the expert level performance"), interpolated on returns measured over a grid of
  noise levels on the state env (no rendering; :func:`noise_levels`);
* ``medium_replay``: noise falling linearly over the episodes from :data:`MAX_NOISE` to the medium noise,
  as an improving agent's replay buffer up to medium;
* ``medium_expert``: the LOMPO protocol's replay after medium, noise falling from the medium noise to the
  expert's; the V-D4RL protocol's ``medium_expert`` concatenates ``medium`` and ``expert`` as for SAC data.

Actions are clipped to the action bounds after the noise is added.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lompo.envs.registry import TaskSpec
from lompo.errors import ConfigError

# Task -> its scripted policy (a class of ``metaworld.policies``, which reads Meta-World's state vector).
SCRIPTED_POLICIES = {"door-open": "SawyerDoorOpenV3Policy"}
NOISE_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
MAX_NOISE = NOISE_GRID[-1]  # the noisiest behaviour, where medium_replay starts
CALIBRATION_SEED = 2_000_000  # env seeds of the calibration episodes, apart from every dataset's


def scripted_policy(task: TaskSpec):
    """``policy(state) -> action`` of ``task``'s scripted policy; a clear error for tasks without one."""
    name = SCRIPTED_POLICIES.get(task.name)
    if name is None:
        known = ", ".join(sorted(SCRIPTED_POLICIES))
        raise ConfigError(f"task {task.name} has no scripted policy (tasks with one: {known}); drop --scripted")
    from lompo.envs.rendering import choose_gl_backend

    choose_gl_backend()  # before metaworld imports MuJoCo, or no renderer can be made in this process
    try:
        import metaworld.policies as policies
    except ImportError:
        raise ConfigError("the scripted policies need metaworld: pip install 'lompo[metaworld]'") from None
    policy = getattr(policies, name)()

    def act(state: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # "Constant(s) may be too high": the env clips, and so do we (noisy)
            warnings.simplefilter("ignore", UserWarning)
            return np.asarray(policy.get_action(state), np.float32)

    return act


def noisy(policy, noise: float, low: np.ndarray, high: np.ndarray, rng: np.random.Generator):
    """``policy`` with ``N(0, noise²)`` added to every action dimension, clipped to ``[low, high]``."""
    return lambda state: np.clip(policy(state) + noise * rng.standard_normal(low.shape), low, high).astype(np.float32)


@dataclass(frozen=True)
class NoiseLevels:
    """The scripted behaviour's levels (module docstring) and the returns they were derived from."""

    policy: str
    expert_noise: float
    medium_noise: float
    random_return: float
    expert_return: float
    returns: dict[str, float]  # mean return per noise level of the grid ("0.25": ...)
    episodes: int

    def schedule(self, recipe: str, protocol: str) -> tuple[float, float]:
        """(first, last) noise of a recipe's episodes, linear in between."""
        if recipe == "expert":
            return self.expert_noise, self.expert_noise
        if recipe == "medium":
            return self.medium_noise, self.medium_noise
        if recipe == "medium_replay":
            return MAX_NOISE, self.medium_noise
        if recipe == "medium_expert" and protocol == "lompo":
            return self.medium_noise, self.expert_noise
        raise ConfigError(f"no scripted noise schedule for recipe {recipe!r} of the {protocol} protocol")

    def as_dict(self) -> dict:
        return {
            "policy": self.policy,
            "expert_noise": self.expert_noise,
            "medium_noise": self.medium_noise,
            "max_noise": MAX_NOISE,
            "random_return": self.random_return,
            "expert_return": self.expert_return,
            "returns_by_noise": self.returns,
            "episodes_per_level": self.episodes,
        }


def episode_noise(first: float, last: float, index: int, count: int) -> float:
    """Noise of episode ``index`` of ``count``: ``first`` to ``last``, linearly."""
    return first + (last - first) * index / max(count - 1, 1)


def medium_noise(returns: dict[float, float], random_return: float, expert_return: float) -> float:
    """The noise of the grid's returns (``{noise: mean return}``) at which the return falls to half-way from
    random to expert, interpolated linearly between the two grid levels around it (the largest level if the
    return never falls that far)."""
    target = random_return + 0.5 * (expert_return - random_return)
    levels = sorted(returns)
    for low, high in zip(levels, levels[1:], strict=False):
        above, below = returns[low], returns[high]
        if above >= target >= below and above > below:
            return low + (high - low) * (above - target) / (above - below)
    return levels[-1] if returns[levels[-1]] > target else levels[0]


def noise_levels(task: TaskSpec, expert_noise: float = 0.1, episodes: int = 10, seed: int = 0) -> NoiseLevels:
    """Measure the scripted policy's mean return on the state env for uniform random actions, the expert
    noise and every level of :data:`NOISE_GRID` (``episodes`` each, the same env seeds for all), and derive
    the medium noise from them (:func:`medium_noise`)."""
    from lompo.collect.behaviour import run_state_episode
    from lompo.envs.dmc import make_env

    if not expert_noise >= 0:
        raise ConfigError(f"the expert noise must be >= 0, got {expert_noise}")
    policy = scripted_policy(task)
    env = make_env(task, observation="state")
    low, high = env.action_space.low, env.action_space.high

    def mean_return(make_policy) -> float:
        total = 0.0
        for i in range(episodes):
            rng = np.random.default_rng([seed, i])
            total += run_state_episode(env, make_policy(rng), CALIBRATION_SEED + i)[0]
        return total / episodes

    try:
        random_return = mean_return(lambda rng: lambda state: rng.uniform(low, high).astype(np.float32))
        returns = {noise: mean_return(lambda rng, n=noise: noisy(policy, n, low, high, rng)) for noise in NOISE_GRID}
        expert_return = returns.get(expert_noise)
        if expert_return is None:
            expert_return = mean_return(lambda rng: noisy(policy, expert_noise, low, high, rng))
    finally:
        env.close()
    medium = medium_noise(returns, random_return, expert_return)
    return NoiseLevels(
        policy=SCRIPTED_POLICIES[task.name],
        expert_noise=float(expert_noise),
        medium_noise=round(float(medium), 4),
        random_return=float(random_return),
        expert_return=float(expert_return),
        returns={f"{k:g}": float(v) for k, v in returns.items()},
        episodes=episodes,
    )


def collect_scripted(task: TaskSpec, out: Path | str, recipe: str, levels: NoiseLevels, *, protocol: str,
                     size: int | None = None, episodes: int | None = None, image_sizes: tuple[int, ...] = (64,),
                     render_profile: str = "standard", seed: int = 0, references: dict | None = None,
                     extra: dict | None = None, progress: bool = True) -> list[Path]:  # fmt: skip
    """One recipe's episodes of the noisy scripted policy (:meth:`NoiseLevels.schedule`), rendered."""
    from lompo.collect.recipes import DatasetWriter, _num_episodes, _write_state_rollouts

    first, last = levels.schedule(recipe, protocol)
    count = _num_episodes(task, recipe, size, episodes)
    writer = DatasetWriter(Path(out), task, recipe, tuple(image_sizes), seed)
    source = f"scripted:{levels.policy}, noise {first:.4g} to {last:.4g}"
    writer.prepare(render_profile, source)
    policy = scripted_policy(task)

    def make_state_policy(index, action_seed, space):
        noise = episode_noise(first, last, index, count)
        return noisy(policy, noise, space.low, space.high, np.random.default_rng(action_seed))

    collection = _write_state_rollouts(writer, render_profile, count, make_state_policy, progress)
    behaviour = {
        "source": source,
        "policy": f"{levels.policy} (metaworld.policies) with Gaussian action noise, clipped; the noise falls "
        "linearly over the episodes from the first to the last value",
        "noise": {"first": first, "last": last},
        "levels": levels.as_dict(),
    }
    return writer.finalize(render_profile, behaviour, references, extra={"collection": collection, **(extra or {})})


def scripted_references(levels: NoiseLevels) -> dict:
    """Normalisation references measured with the scripted policy (``dataset.json``)."""
    return {
        "random": levels.random_return,
        "expert": levels.expert_return,
        "source": f"measured by lompo: {levels.episodes} state episodes of uniform random actions and of the "
        f"scripted policy with noise {levels.expert_noise:g}",
    }
