"""Collection throughput: SAC behaviour-agent updates/s, state env steps/s, rendered frames/s.

Run: .venv/bin/python benchmarks/bench_collect.py [--tasks cartpole-swingup,walker-walk,cheetah-run]
     [--seconds 10] [--json out.json]

* SAC updates/s: one update of the behaviour agent (batch 256, actor and twin
  critic 2 x 256) on random state-sized batches.
* state env steps/s: agent steps (action repeat 2) without rendering, as the
  behaviour agent trains.
* rendered frames/s: per profile and image size(s), (a) a policy rollout as in
  the medium/expert recipes (physics + rendering, uniform actions) and (b)
  re-rendering stored physics states as in medium_replay (no physics step).
  "64+84" renders both sizes of every step in one pass; frames/s counts steps.
  Episode writing (npz compression) is not included.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import torch
from common import calls_per_second, machine


def bench_sac(task: str, seconds: float) -> float:
    from lompo.algos.sac import SAC
    from lompo.envs import DMCEnv

    env = DMCEnv(task, observation="state")
    obs_dim, action_dim = int(np.prod(env.observation_space.shape or (0,))), env.action_space.shape[0]
    env.close()
    agent = SAC(obs_dim, action_dim)
    batch = {
        "obs": torch.randn(256, obs_dim),
        "action": torch.rand(256, action_dim) * 2 - 1,
        "reward": torch.rand(256),
        "discount": torch.ones(256),
        "next_obs": torch.randn(256, obs_dim),
    }
    return calls_per_second(lambda: agent.update(batch), seconds)


def bench_state_env(task: str, seconds: float) -> float:
    from lompo.envs import DMCEnv

    env = DMCEnv(task, observation="state")
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def step():
        _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        if terminated or truncated:
            env.reset()

    rate = calls_per_second(step, seconds)
    env.close()
    return rate


def bench_render(task: str, sizes: tuple[int, ...], profile: str, seconds: float) -> tuple[float, float]:
    from lompo.envs import DMCEnv

    env = DMCEnv(task, sizes[0], extra_image_sizes=sizes[1:], render_profile=profile)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    states = []

    def step():
        _, _, terminated, truncated, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        states.append(info["physics_state"])
        if terminated or truncated:
            env.reset()

    rollout_rate = calls_per_second(step, seconds)
    cursor = iter(states * 100)

    def rerender():
        env.set_physics_state(next(cursor))
        for size in sizes:
            env.render_image(size)

    rerender_rate = calls_per_second(rerender, seconds)
    env.close()
    return rollout_rate, rerender_rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="cartpole-swingup,walker-walk,cheetah-run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {"machine": machine(), "torch": torch.__version__, "threads": args.threads, "tasks": {}}
    print(results["machine"])
    for task in args.tasks.split(","):
        row: dict[str, Any] = {
            "sac_updates_per_s": bench_sac(task, args.seconds),
            "state_env_steps_per_s": bench_state_env(task, args.seconds),
            "render": {},
        }
        print(
            f"{task}: SAC {row['sac_updates_per_s']:.1f} updates/s, state env "
            f"{row['state_env_steps_per_s']:.0f} steps/s"
        )
        for profile in ("standard", "fast"):
            for sizes in ((64,), (84,), (64, 84)):
                label = "+".join(map(str, sizes))
                rollout_rate, rerender_rate = bench_render(task, sizes, profile, args.seconds)
                row["render"][f"{profile}/{label}"] = {
                    "rollout_steps_per_s": rollout_rate,
                    "rerender_steps_per_s": rerender_rate,
                }
                print(
                    f"  {profile:8s} {label:6s} rollout {rollout_rate:7.1f} steps/s   "
                    f"re-render {rerender_rate:7.1f} steps/s"
                )
        results["tasks"][task] = row
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
