"""Does a world model read a sparse task's reward from what the frames show, or from when and where the
arm is? Its reward along the posterior of every episode of its dataset (teacher-forced on the real
frames and actions), split by whether the episode ends with reward (door-open: door still open) and
by the true reward of the step. A model that reads the door predicts about 0 where the real reward is
0 in both groups; one that reads the clock predicts the group's mean.

    python benchmarks/reward_by_outcome.py RUN [--from-step 40] [--json OUT]

The same numbers for the policy's own episodes are `lompo diagnose RUN`'s "policy in reality".
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from lompo.algos.world_model import batch_to_torch
from lompo.runtime import Run


def episode_rewards(run_path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(real, model)`` rewards of steps 1..T of every episode of the run's dataset."""
    run = Run(run_path)
    store = run.open_store()
    algo, _ = run.trained_algorithm(store)
    algo.model.eval()
    pairs = []
    for i in range(store.num_episodes):
        episode = store.episode(i)
        batch = batch_to_torch({key: np.array(episode[key][None]) for key in algo.sequence_keys}, algo.device)
        with torch.no_grad():
            post = algo.posterior_states(batch)
            model = algo.model.reward(torch.cat([post["deter"], post["stoch"]], -1))[0, 1:]
        pairs.append((np.asarray(episode["reward"][1:]), model.cpu().numpy()))
    return pairs


def by_outcome(pairs: list[tuple[np.ndarray, np.ndarray]], from_step: int) -> dict[str, dict]:
    groups = {
        "ends_with_reward": [p for p in pairs if p[0][-1] > 0],
        "ends_without": [p for p in pairs if p[0][-1] <= 0],
    }
    out = {}
    for name, group in groups.items():
        if not group:
            continue
        real = np.concatenate([r[from_step:] for r, _ in group])
        model = np.concatenate([m[from_step:] for _, m in group])
        zero = real <= 0
        out[name] = {
            "episodes": len(group),
            "real": float(real.mean()),
            "model": float(model.mean()),
            "model_where_real_zero": float(model[zero].mean()) if zero.any() else None,
            "steps_real_zero": int(zero.sum()),
            "model_where_real_positive": float(model[~zero].mean()) if (~zero).any() else None,
        }
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument(
        "--from-step", type=int, default=40, help="count steps from here (after the behaviour's first opening)"
    )
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the posterior samples its latents
    result = by_outcome(episode_rewards(args.run), args.from_step)
    for name, row in result.items():
        print(
            f"{name}: {row['episodes']} episodes, steps {args.from_step}+: real {row['real']:.3f}, "
            f"model {row['model']:.3f}; where the real reward is 0 the model says "
            f"{_fmt(row['model_where_real_zero'])} ({row['steps_real_zero']} steps), "
            f"where it is positive {_fmt(row['model_where_real_positive'])}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": args.run, "from_step": args.from_step, **result}, f, indent=1)


if __name__ == "__main__":
    main()
