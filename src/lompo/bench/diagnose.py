"""``lompo diagnose RUN``: does the ensemble's penalty measure where the world model is wrong?

For a trained LOMPO world model (``lompo``, ``lmbrl``, ``offline_slac``) and sequences of a dataset
(the run's own, or another one: e.g. expert data for a model trained on random data):

0. **Fit**: the reward head's R² on the posterior (teacher-forced) and one prior step ahead with the
   dataset's and with another sequence's actions: a model near 0 has not learned the frames, one
   whose two one-step values agree ignores the actions.
1. **Open-loop error per horizon step** ``h = 1..H``: from the posterior state at the end of a context,
   the model predicts with the dataset's actions, once per prior head ``k`` (that head at every step,
   its mean) and once as the latent MDP does (a random head per step, sampled). Against the real
   frames' posterior: ``KL(q(z_{t+h} | x) ‖ p(z_{t+h} | d̂_{t+h}))``, the reward error
   ``|r̂ − r|`` and the decoded image's mean squared error per pixel (pixels in [−0.5, 0.5]).
2. **Penalty against true error**, for every penalty type of eq. 9 (:data:`~lompo.algos.lompo.PENALTIES`):
   ``u(s_t, a_t)`` against the one-step error (mean over heads of ``KL(q(z_{t+1}|x) ‖ p_k)``), and the
   sum of ``u`` along an ``H``-step open-loop rollout against the error at step ``H``. Spearman rank
   correlation and a calibration curve (mean error in ten quantile bins of ``u``).
3. **Penalty by action source** from the same posterior states: the dataset's actions, uniform random
   actions and the trained policy's actions (all penalty types); and **action sensitivity**: how much
   each penalty and the reward head change with the action from one state, against how much they
   change across states (:meth:`Diagnosis.action_sensitivity`).
4. **Per-head training statistics** from the run's ``metrics.jsonl`` (gradient norms and KL per head).
5. **The policy in reality** (:func:`policy_in_reality`; needs the dataset's environment): the trained
   policy plays the first episodes of the run's own evaluation (same environment seeds and latent
   draws, so their returns are the first of ``final.json``'s); along its real frames, the real reward
   per step against the model's reward on the posterior of the same frames (what the model believes
   happened) and against the reward of the ``H``-step policy rollouts the agent phase would start from
   those states (what the critic is trained on), with the penalty there. A model reward far above the
   real one is the exploitation the penalty was meant to prevent; the penalty beside it says whether it
   saw it. The decoded posterior's pixel error on the policy's frames against the same error on the
   dataset's windows says whether the policy went where the encoder has never been: there a wrong
   model reward can come with a penalty as low as on the data (the encoder maps the frame onto a seen
   latent, where the heads agree).

Writes ``RUN/diagnostics/<dataset>.json`` and PNG plots beside it; ``lompo report`` shows them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lompo.algos.lompo import PENALTIES, Lompo
from lompo.algos.world_model import batch_to_torch, filtered_reward_r2, reward_r2
from lompo.data.samplers import SequenceSampler
from lompo.data.store import EpisodeStore, load_store
from lompo.errors import ConfigError
from lompo.files import atomic_write_bytes, read_jsonl
from lompo.nets import LatentState
from lompo.nets.conv import preprocess
from lompo.nets.rssm import gaussian_kl
from lompo.runtime.evaluate import has_task, make_eval_env, run_episodes
from lompo.runtime.trainer import EVAL_SEED

BINS = 10


# ---------------------------------------------------------------------------- statistics
def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def calibration(penalty: np.ndarray, error: np.ndarray, bins: int = BINS) -> dict[str, list[float]]:
    """Mean penalty and mean error in ``bins`` quantile bins of the penalty (equal counts)."""
    order = np.argsort(penalty, kind="stable")
    groups = [g for g in np.array_split(order, bins) if len(g)]
    return {"penalty": [float(penalty[g].mean()) for g in groups], "error": [float(error[g].mean()) for g in groups]}


def agreement(penalties: dict[str, np.ndarray], error: np.ndarray) -> dict[str, dict]:
    """For each penalty type: Spearman correlation with ``error`` and its calibration curve."""
    return {
        name: {"spearman": spearman(u, error), "calibration": calibration(u, error)} for name, u in penalties.items()
    }


def summary(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, np.float64)
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "p10": float(p10),
        "median": float(p50),
        "p90": float(p90),
    }


def all_penalties(next_stoch: torch.Tensor, means: torch.Tensor, stds: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every penalty type of eq. 9 for ``N`` transitions: ``{name: (N,)}``."""
    return {name: fn(next_stoch, means, stds) for name, fn in PENALTIES.items()}


# ---------------------------------------------------------------------------- model measurements
class Diagnosis:
    """The measurements of one world model on one batch of dataset sequences."""

    def __init__(self, algo: Lompo, batch: dict[str, torch.Tensor], context: int, horizon: int):
        self.algo, self.model, self.rssm = algo, algo.model, algo.model.rssm
        self.batch, self.context, self.horizon = batch, context, horizon
        self.ensemble = algo.config.ensemble
        self.embed = self.model.encoder(batch["image"], batch.get("proprio"))
        self._posterior_noise = torch.get_rng_state()  # fit() filters again with other actions, same draws
        post = self.rssm.observe(self.embed, batch["action"], batch["is_first"])
        self.post = post  # the real frames' posterior: the reference every prediction is measured against

    def _target(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.post["post_mean"][:, t], self.post["post_std"][:, t]

    def _state(self, t: int) -> LatentState:
        return LatentState(self.post["deter"][:, t], self.post["stoch"][:, t])

    def _errors(
        self, deter: torch.Tensor, stoch: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, t: int
    ) -> dict[str, torch.Tensor]:
        """Per-sequence errors of a predicted state for frame ``t``: latent KL, reward, image."""
        features = torch.cat([deter, stoch], -1)
        image = preprocess(self.batch["image"][:, t])
        return {
            "latent_kl": gaussian_kl(*self._target(t), mean, std),
            "reward_error": (self.model.reward(features) - self.batch["reward"][:, t]).abs(),
            "image_mse": (self.model.decode(features) - image).pow(2).mean((-3, -2, -1)),
        }

    def fit(self) -> dict[str, float]:
        """How much the model knows about the frames: the reward head's R² on the posterior, teacher-forced
        (:func:`~lompo.algos.world_model.reward_r2`; near 0 means the latent carries little information),
        and one prior step ahead with the dataset's actions and with another sequence's (equal values: the
        prior ignores the actions). ``reward_r2_other_actions`` filters the same frames with another
        sequence's actions: a model that reads the frames keeps its R² (the posterior sees them), one that
        predicts the reward from the action history loses it: a shortcut a policy can exploit by choosing
        the actions the model associates with reward."""
        valid = self.batch["mask"]
        features = torch.cat([self.post["deter"], self.post["stoch"]], -1)
        reward = self.batch["reward"]
        out = {"reward_r2": float(reward_r2(self.model.reward(features), reward, valid))}
        with torch.random.fork_rng():
            torch.set_rng_state(self._posterior_noise)
            other = self.batch["action"].roll(1, 0)
            out["reward_r2_other_actions"] = filtered_reward_r2(self.model, self.batch, self.embed, other)
        for name, actions in (("dataset", self.batch["action"]), ("other", self.batch["action"].roll(1, 0))):
            predictions = []
            for t in range(reward.shape[1] - 1):
                deter = self.rssm.deterministic_step(self._state(t), actions[:, t + 1])
                means, _ = self.rssm.prior(deter)
                predictions.append(self.model.reward(torch.cat([deter, means.mean(0)], -1)))
            step_valid = valid[:, 1:] & ~self.batch["is_first"][:, 1:]
            out[f"one_step_reward_r2_{name}_actions"] = float(
                reward_r2(torch.stack(predictions, 1), reward[:, 1:], step_valid)
            )
        return out

    def reconstruction_error(self) -> float:
        """Mean squared error per pixel of the posterior's decoded frames on the dataset's windows: the
        reference for the same error on the policy's frames (:func:`policy_in_reality`)."""
        features = torch.cat([self.post["deter"], self.post["stoch"]], -1)
        error = (self.model.decode(features) - preprocess(self.batch["image"])).pow(2).mean((-3, -2, -1))
        return float(error[self.batch["mask"]].mean())

    def open_loop(self) -> dict[str, dict[str, list[float]]]:
        """Errors per horizon step for each head (its mean at every step) and the ensemble (random head
        per step, sampled, as in the latent MDP). ``{source: {metric: [h=1..H]}}``.

        ``ensemble_other_actions`` predicts the same frames with the actions of another sequence of the
        batch (rolled by one): if its errors are no larger than ``ensemble``'s, the prior ignores the
        actions and model rollouts cannot tell a policy's actions apart."""
        start = self.context - 1
        out: dict[str, dict[str, list[float]]] = {}
        sources = [f"member{k}" for k in range(self.ensemble)] + ["ensemble", "ensemble_other_actions"]
        for source in sources:
            actions = self.batch["action"].roll(1, 0) if source == "ensemble_other_actions" else self.batch["action"]
            state = self._state(start)
            curves: dict[str, list[float]] = {}
            draws = torch.Generator(device=state.deter.device).manual_seed(0)  # the same heads and noise per source
            for h in range(1, self.horizon + 1):
                deter = self.rssm.deterministic_step(state, actions[:, start + h])
                means, stds = self.rssm.prior(deter)
                if source.startswith("ensemble"):
                    k = int(torch.randint(0, self.ensemble, (), generator=draws, device=draws.device))
                    noise = torch.randn(stds[k].shape, generator=draws, device=draws.device)
                    stoch = means[k] + stds[k] * noise
                else:
                    k = int(source[len("member") :])
                    stoch = means[k]
                errors = self._errors(deter, stoch, means[k], stds[k], start + h)
                valid = self.batch["mask"][:, start + h]
                for name, value in errors.items():
                    curves.setdefault(name, []).append(float(value[valid].mean()))
                state = LatentState(deter, stoch)
            out[source] = curves
        return out

    def one_step(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``u(s_t, a_{t+1})`` of every penalty type and the true one-step error (mean over heads of the
        KL to the next frame's posterior) for every ``t`` of every sequence."""
        length = self.batch["image"].shape[1]
        penalties: dict[str, list] = {name: [] for name in PENALTIES}
        errors = []
        for t in range(length - 1):
            valid = ~self.batch["is_first"][:, t + 1] & self.batch["mask"][:, t + 1]
            deter = self.rssm.deterministic_step(self._state(t), self.batch["action"][:, t + 1])
            means, stds = self.rssm.prior(deter)
            stoch = self._sampled_member(means, stds)
            for name, u in all_penalties(stoch, means, stds).items():
                penalties[name].append(u[valid])
            mean_q, std_q = self._target(t + 1)
            errors.append(gaussian_kl(mean_q.unsqueeze(0), std_q.unsqueeze(0), means, stds).mean(0)[valid])
        return {k: torch.cat(v).cpu().numpy() for k, v in penalties.items()}, torch.cat(errors).cpu().numpy()

    def h_step(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Penalty summed along an ``H``-step open-loop rollout (dataset actions, a random head per step)
        from every start ``t`` with ``t + H`` inside the sequence, and the latent KL at step ``H``."""
        length = self.batch["image"].shape[1]
        penalties: dict[str, list] = {name: [] for name in PENALTIES}
        errors = []
        for t in range(length - self.horizon):
            frames = slice(t + 1, t + self.horizon + 1)
            valid = self.batch["mask"][:, frames].all(1) & ~self.batch["is_first"][:, frames].any(1)
            state = self._state(t)
            total: dict[str, Any] = {name: 0.0 for name in PENALTIES}  # tensors after the first step
            for h in range(1, self.horizon + 1):
                deter = self.rssm.deterministic_step(state, self.batch["action"][:, t + h])
                means, stds = self.rssm.prior(deter)
                stoch = self._sampled_member(means, stds)
                for name, u in all_penalties(stoch, means, stds).items():
                    total[name] = total[name] + u
                state = LatentState(deter, stoch)
            for name in PENALTIES:
                penalties[name].append(total[name][valid])
            mean_q, std_q = self._target(t + self.horizon)
            errors.append(gaussian_kl(mean_q.unsqueeze(0), std_q.unsqueeze(0), means, stds).mean(0)[valid])
        return {k: torch.cat(v).cpu().numpy() for k, v in penalties.items()}, torch.cat(errors).cpu().numpy()

    def by_action_source(self, actions_per_state: int = 4) -> dict[str, dict[str, dict[str, float]]]:
        """Penalty distributions from the posterior states for the dataset's, uniform random and the
        policy's actions: ``{source: {penalty: summary}}``."""
        valid = (self.batch["mask"][:, 1:] & ~self.batch["is_first"][:, 1:]).reshape(-1)
        flat = LatentState(
            self.post["deter"][:, :-1].reshape(-1, self.rssm.deter_dim)[valid],
            self.post["stoch"][:, :-1].reshape(-1, self.rssm.stoch_dim)[valid],
        )
        dataset_actions = self.batch["action"][:, 1:].reshape(-1, self.algo.action_dim)[valid]
        n = flat.deter.shape[0]
        repeat = LatentState(flat.deter.repeat(actions_per_state, 1), flat.stoch.repeat(actions_per_state, 1))
        sources = {
            "dataset": (flat, dataset_actions),
            "random": (repeat, torch.rand(n * actions_per_state, self.algo.action_dim) * 2 - 1),
            "policy": (repeat, self.algo.rollout_action(repeat.features)),
        }
        out = {}
        for source, (state, action) in sources.items():
            deter = self.rssm.deterministic_step(state, action)
            means, stds = self.rssm.prior(deter)
            u = all_penalties(self._sampled_member(means, stds), means, stds)
            out[source] = {name: summary(value.cpu().numpy()) for name, value in u.items()}
        return out

    def action_sensitivity(self, actions_per_state: int = 16, states: int = 128) -> dict[str, dict[str, float]]:
        """How much each penalty type and the reward head depend on the action: from each of ``states``
        posterior states, ``actions_per_state`` uniform random actions; the std across actions (mean
        over states) next to the std across states (of the per-state mean). Penalties are evaluated at
        the ensemble's mean prediction, so the sampling noise of the logprob penalties is left out:
        this is the signal a policy could follow. A ratio near 0 means the penalty (or reward) is a
        function of the state only and cannot steer the policy."""
        valid = (self.batch["mask"] & ~self.batch["is_first"]).reshape(-1)
        deter = self.post["deter"].reshape(-1, self.rssm.deter_dim)[valid][:states]
        stoch = self.post["stoch"].reshape(-1, self.rssm.stoch_dim)[valid][:states]
        n, repeat = deter.shape[0], actions_per_state
        state = LatentState(deter.repeat(repeat, 1), stoch.repeat(repeat, 1))
        action = torch.rand(n * repeat, self.algo.action_dim) * 2 - 1
        next_deter = self.rssm.deterministic_step(state, action)
        means, stds = self.rssm.prior(next_deter)
        values = all_penalties(means.mean(0), means, stds)
        values["reward"] = self.model.reward(torch.cat([next_deter.expand(self.ensemble, -1, -1), means], -1)).mean(0)
        out = {}
        for name, value in values.items():
            grid = value.view(repeat, n)
            across_actions, across_states = float(grid.std(0).mean()), float(grid.mean(0).std())
            out[name] = {
                "std_across_actions": across_actions,
                "std_across_states": across_states,
                "ratio": across_actions / across_states if across_states > 0 else float("nan"),
            }
        return out

    def _sampled_member(self, means: torch.Tensor, stds: torch.Tensor) -> torch.Tensor:
        """The latent MDP's next state: a sample of a random head per transition (eq. 9)."""
        n = means.shape[1]
        member = torch.randint(0, self.ensemble, (n,))
        index = torch.arange(n)
        return means[member, index] + stds[member, index] * torch.randn_like(stds[member, index])


def head_statistics(metrics_path: Path) -> dict:
    """Gradient norm and KL of every prior head over the model phase's logged steps (``metrics.jsonl``);
    ``{"logged": False}`` for runs from before these metrics existed."""
    lines = [record for record in read_jsonl(metrics_path) if record.get("phase") == "model"]
    keys = sorted(
        {k for line in lines for k in line if k.startswith(("model/prior_grad_norm_member", "model/kl_member"))}
    )
    if not keys:
        return {"logged": False, "model_log_steps": len(lines)}
    out: dict = {"logged": True, "model_log_steps": len(lines), "steps": [line["step"] for line in lines]}
    for key in keys:
        values = np.array([line[key] for line in lines if key in line], np.float64)
        out[key.removeprefix("model/")] = {
            "first": float(values[0]),
            "last": float(values[-1]),
            "mean": float(values.mean()),
            "zero_fraction": float((values == 0).mean()),
        }
    return out


@torch.no_grad()
def policy_in_reality(algo: Lompo, store: EpisodeStore, episodes: int, seed: int) -> dict:
    """Section 5 of the module docstring. The policy plays as :func:`lompo.runtime.evaluate.evaluate` with
    ``seed`` (environment seeds ``seed + i``, latents sampled from a torch RNG seeded with ``seed``, mean
    actions), so the returns are that evaluation's; then the agent phase's rollouts
    (:meth:`Lompo.penalized_step`, actions sampled from the actor) start from every state it passed.
    Per-step means over all episodes; ``series`` holds the first episode step by step (for the plot)."""
    horizon = algo.config.horizon
    policy = algo.policy()
    env = make_eval_env(store, seed=seed, observation=getattr(policy, "observation", "image"))  # as evaluate()
    policy.keep_states = True
    paths: list[LatentState] = []

    def keep_path(played_policy) -> None:
        visited = played_policy.visited
        paths.append(LatentState(torch.cat([s.deter for s in visited]), torch.cat([s.stoch for s in visited])))

    try:
        episodes_played = run_episodes(policy, env, episodes, seed, record_episodes=episodes, on_episode_end=keep_path)
    finally:
        env.close()
    played = list(zip(episodes_played.step_rewards, paths))
    real, believed, imagined, penalty, real_ahead, image_error = [], [], [], [], [], []
    series: dict[str, list[float]] = {}
    start = 0
    for i, (rewards, visited) in enumerate(played):
        model_reward = algo.model.reward(visited.features)[1:].cpu().numpy()  # r̂ of s_{t+1}: reward of step t
        frames = np.stack(episodes_played.frames[start : start + len(rewards)])  # x_0..x_{T-1}: seen before acting
        start += len(rewards)
        decoded = algo.model.decode(visited.features[: len(rewards)])  # s_t was inferred from x_t
        image = preprocess(torch.as_tensor(frames, device=decoded.device))
        image_error.append((decoded - image).pow(2).mean((-3, -2, -1)).cpu().numpy())
        raw, u = _policy_rollouts(algo, LatentState(visited.deter[:-1], visited.stoch[:-1]), horizon)
        full = len(rewards) - horizon + 1  # starts whose next H real rewards all exist
        real.append(np.asarray(rewards))
        believed.append(model_reward)
        imagined.append(raw[:full])
        penalty.append(u[:full])
        real_ahead.append(np.array([np.mean(rewards[t : t + horizon]) for t in range(full)]))
        if i == 0:
            series = {"real": rewards, "model": model_reward.tolist(), "imagined": raw.tolist()}
    imagined_mean = float(np.concatenate(imagined).mean())
    penalty_mean = float(np.concatenate(penalty).mean())
    return {
        "episodes": episodes,
        "rollout_horizon": horizon,
        "return": [sum(rewards) for rewards, _ in played],
        "model_return": [float(b.sum()) for b in believed],
        "real_reward": float(np.concatenate(real).mean()),
        "model_reward": float(np.concatenate(believed).mean()),
        "imagined_reward": imagined_mean,
        "real_reward_ahead": float(np.concatenate(real_ahead).mean()),
        "penalty": penalty_mean,
        "penalized_imagined_reward": imagined_mean - algo.config.penalty_scale * penalty_mean,
        "image_mse": float(np.concatenate(image_error).mean()),
        "series": series,
    }


def _policy_rollouts(algo: Lompo, start: LatentState, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Per start state: mean model reward before the penalty and mean penalty ``u`` over an ``H``-step
    rollout of the actor in the latent MDP (as :meth:`Lompo.latent_rollouts` makes them)."""
    state, raw, u = start, [], []
    for _ in range(horizon):
        action = algo.rollout_action(state.features)
        state, _, reward, uncertainty = algo.penalized_step(state, action)
        raw.append(reward)
        u.append(uncertainty)
    return torch.stack(raw, 1).mean(1).cpu().numpy(), torch.stack(u, 1).mean(1).cpu().numpy()


# ---------------------------------------------------------------------------- the command
def diagnose(
    run_path: Path | str,
    data: Path | str | None = None,
    sequences: int = 32,
    context: int = 5,
    horizon: int = 15,
    seed: int = 0,
    plots: bool = True,
    checkpoint: str | None = None,
    policy_episodes: int = 2,
) -> Path:
    """Measure the run's world model (latest checkpoint, or the one named) on ``sequences`` windows of
    ``data`` (default: its own dataset); returns the path of the JSON written into ``RUN/diagnostics/``
    (``<dataset>.json``, or ``<dataset>@<checkpoint>.json`` for a named checkpoint)."""
    from lompo.bench.sweep import dataset_label
    from lompo.runtime import Run

    run = Run(run_path)
    if run.settings.algo not in ("lompo", "lmbrl", "offline_slac"):
        raise ConfigError(
            f"{run.path}: lompo diagnose measures LOMPO's Gaussian ensemble; this run is {run.settings.algo!r}"
        )
    own_store = run.open_store()
    store = own_store if data is None else load_store(data)
    _check_compatible(run.path, own_store, store, data)
    if context < 1 or horizon < 1:
        raise ConfigError(f"context and horizon must be >= 1, got {context} and {horizon}")
    algo, checkpoint_path = run.trained_algorithm(own_store, checkpoint)
    algo.model.eval()
    length = context + horizon
    longest = int(store.episode_lengths.max())
    if longest < length:
        raise ConfigError(
            f"{data or run.settings.data}: episodes of at most {longest} steps are shorter "
            f"than context + horizon = {length}"
        )
    sampler = SequenceSampler(store, sequences, length, seed=seed, keys=algo.sequence_keys)
    batch = batch_to_torch(sampler.sample(), algo.device)
    label = dataset_label(str(data if data is not None else run.settings.data))
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        diagnosis = Diagnosis(algo, batch, context, horizon)
        open_loop = diagnosis.open_loop()
        one_penalties, one_error = diagnosis.one_step()
        h_penalties, h_error = diagnosis.h_step()
        by_source = diagnosis.by_action_source()
        sensitivity = diagnosis.action_sensitivity()
        fit = diagnosis.fit()
        reality = None
        if policy_episodes > 0 and has_task(own_store):  # the policy plays in its dataset's environment
            # the run's own evaluation episodes, so the returns are the first ones of its final.json
            reality = policy_in_reality(algo, own_store, policy_episodes, EVAL_SEED)
            reality["image_mse_dataset"] = diagnosis.reconstruction_error() if data is None else None
    result = {
        "run": str(run.path),
        "algo": run.settings.algo,
        "checkpoint": checkpoint_path.name,
        "data": str(data if data is not None else run.settings.data),
        "dataset": label,
        "own_data": data is None,
        "sequences": sequences,
        "context": context,
        "horizon": horizon,
        "seed": seed,
        "config": {
            "penalty": algo.config.penalty,
            "penalty_scale": algo.config.penalty_scale,
            "rollout_horizon": algo.config.horizon,
            "ensemble": algo.config.ensemble,
            "free_nats": algo.config.free_nats,
        },
        "fit": fit,
        "open_loop": open_loop,
        "one_step": {
            "transitions": int(len(one_error)),
            "error": summary(one_error),
            "penalties": agreement(one_penalties, one_error),
        },
        "h_step": {
            "transitions": int(len(h_error)),
            "error": summary(h_error),
            "penalties": agreement(h_penalties, h_error),
        },
        "penalty_by_action_source": by_source,
        "action_sensitivity": sensitivity,
        "heads": head_statistics(run.metrics_path),
        "policy": reality,
    }
    out_dir = run.path / "diagnostics"
    out_dir.mkdir(exist_ok=True)
    stem = label if checkpoint is None else f"{label}@{checkpoint}"
    json_path = out_dir / f"{stem}.json"
    text = json.dumps(_finite_or_none(result), indent=2).encode()
    atomic_write_bytes(json_path, lambda f: f.write(text))
    if plots:
        write_plots(result, out_dir / stem)
    return json_path


def _check_compatible(run_path: Path, own: EpisodeStore, other: EpisodeStore, data) -> None:
    if tuple(other.image_shape) != tuple(own.image_shape) or other.action_dim != own.action_dim:
        raise ConfigError(
            f"{data}: images {tuple(other.image_shape)} and {other.action_dim}-dim actions, but "
            f"the world model of {run_path} was trained on {tuple(own.image_shape)} and "
            f"{own.action_dim}-dim actions"
        )


def _finite_or_none(tree):
    """JSON has no NaN: undefined statistics (e.g. a constant penalty's correlation) become null."""
    if isinstance(tree, dict):
        return {k: _finite_or_none(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_finite_or_none(v) for v in tree]
    if isinstance(tree, float) and not math.isfinite(tree):
        return None
    return tree


# ---------------------------------------------------------------------------- plots
def write_plots(result: dict, prefix: Path) -> list[Path]:
    """``<prefix>-open_loop.png`` (errors per horizon step), ``<prefix>-penalty.png`` (calibration per
    penalty type, one and H steps), ``<prefix>-actions.png`` (penalty by action source) and, when the
    policy played, ``<prefix>-policy.png`` (real, believed and imagined reward along its first episode)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    metrics = ("latent_kl", "reward_error", "image_mse")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    steps = np.arange(1, result["horizon"] + 1)
    for ax, metric in zip(axes, metrics):
        for source, curves in result["open_loop"].items():
            style: dict[str, Any] = dict(alpha=0.55, linewidth=1)
            if source == "ensemble":
                style = dict(color="black", linewidth=2.2)
            elif source == "ensemble_other_actions":
                style = dict(color="black", linewidth=1.6, linestyle="--")
            ax.plot(steps, curves[metric], label=source, **style)
        ax.set_xlabel("open-loop step h")
        ax.set_title(metric.replace("_", " "))
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{result['algo']} on {result['dataset']}: open-loop prediction error", fontsize=10)
    fig.tight_layout()
    paths.append(_save(fig, prefix, "open_loop"))

    names = list(PENALTIES)
    fig, axes = plt.subplots(2, len(names), figsize=(3.3 * len(names), 6.2))
    for row, key in enumerate(("one_step", "h_step")):
        for ax, name in zip(axes[row], names):
            entry = result[key]["penalties"][name]
            ax.plot(entry["calibration"]["penalty"], entry["calibration"]["error"], "o-")
            rho = entry["spearman"]
            ax.set_title(f"{name}: ρ = {'n/a' if rho is None or not math.isfinite(rho) else f'{rho:.2f}'}", fontsize=9)
            ax.set_xlabel("penalty u" if key == "one_step" else f"Σ u over {result['horizon']} steps", fontsize=8)
            ax.set_ylabel("one-step KL" if key == "one_step" else f"KL at step {result['horizon']}", fontsize=8)
    fig.suptitle("penalty against true error (decile bins; Spearman ρ)", fontsize=10)
    fig.tight_layout()
    paths.append(_save(fig, prefix, "penalty"))

    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.2))
    sources = list(result["penalty_by_action_source"])
    for ax, name in zip(axes, names):
        stats = [result["penalty_by_action_source"][s][name] for s in sources]
        x = np.arange(len(sources))
        ax.bar(x, [s["median"] for s in stats], color="#8fb3d9")
        ax.errorbar(
            x,
            [s["median"] for s in stats],
            yerr=[[s["median"] - s["p10"] for s in stats], [s["p90"] - s["median"] for s in stats]],
            fmt="none",
            color="black",
            capsize=3,
        )
        ax.set_xticks(x, sources)
        ax.set_title(name, fontsize=9)
    fig.suptitle("penalty by action source (median, P10-P90)", fontsize=10)
    fig.tight_layout()
    paths.append(_save(fig, prefix, "actions"))

    if result.get("policy"):
        reality = result["policy"]
        fig, ax = plt.subplots(figsize=(9, 3.2))
        lines: tuple[tuple[str, dict[str, Any]], ...] = (
            ("real", dict(color="black", linewidth=1.4, label="real reward")),
            ("model", dict(color="#d95f02", linewidth=1.2, label="model's reward on the real frames")),
            (
                "imagined",
                dict(color="#1b9e77", linewidth=1, alpha=0.8, label="imagined: H-step policy rollouts from here"),
            ),
        )
        for name, style in lines:
            ax.plot(reality["series"][name], **style)
        ax.set_xlabel("environment step of the policy's first episode")
        ax.set_ylabel("reward per step")
        ax.legend(fontsize=7)
        pixels = f"; pixel error on its frames {reality['image_mse']:.4f}"
        if reality.get("image_mse_dataset") is not None:
            pixels += f" (dataset {reality['image_mse_dataset']:.4f})"
        ax.set_title(
            f"the policy in reality: return {reality['return'][0]:.0f}, "
            f"the model believes {reality['model_return'][0]:.0f}{pixels}",
            fontsize=10,
        )
        fig.tight_layout()
        paths.append(_save(fig, prefix, "policy"))
    plt.close("all")
    return paths


def _save(fig, prefix: Path, name: str) -> Path:
    path = prefix.parent / f"{prefix.name}-{name}.png"
    fig.savefig(path, dpi=80)
    return path
