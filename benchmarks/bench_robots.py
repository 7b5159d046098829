"""Robot tasks: physics steps/s (state only, no rendering) and steps/s with images at 64 and 128 px
under both render profiles; one process, one thread, the tasks one after the other.

    python benchmarks/bench_robots.py [--tasks door-open,adroit-pen] [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from common import machine

from lompo.envs import make_env


def steps_per_second(task: str, steps: int, **options) -> float:
    env = make_env(task, options.pop("size", 64), **options)
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        actions = rng.uniform(-1, 1, (steps, env.action_space.shape[0])).astype(np.float32)
        start = time.perf_counter()
        for action in actions:
            *_, truncated, _ = env.step(action)
            if truncated:
                env.reset(seed=1)
        return steps / (time.perf_counter() - start)
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="door-open,adroit-pen")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    for task in args.tasks.split(","):
        physics = steps_per_second(task, args.steps, observation="state")
        row = {"task": task, "physics (agent steps/s)": round(physics, 1)}
        for profile in ("standard", "fast"):
            for size in (64, 128):
                rate = steps_per_second(task, args.steps, size=size, render_profile=profile)
                row[f"{profile} {size} px"] = round(rate, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
