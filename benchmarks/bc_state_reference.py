"""Reference for pixel BC (not CI): behavioural cloning from the *state* stored next to the images.

    python benchmarks/bc_state_reference.py --data DATASET [--steps 20000] [--evaluate-at 3000,6000,10000,20000]

lompo's recipes store the proprioceptive ``state`` of every step. An MLP (2 x 256, tanh output)
regressed on ``(state[t], action[t+1])`` with Adam 3e-4, batch 256, and evaluated with the dataset's
task in the state environment (10 episodes, evaluation seeds of the runtime) tells how many
samples BC needs on this data when perception is free: pixel BC cannot do better with fewer.
Prints loss, the action-noise floor (MSE of the data actions to the best state predictor is at
least the noise of the behaviour policy) and returns at each evaluation step.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lompo.collect.behaviour import run_state_episode
from lompo.data import scan_dataset
from lompo.envs import DMCEnv, get_task
from lompo.runtime.trainer import EVAL_SEED


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--evaluate-at", default="3000,6000,10000,20000")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    index = scan_dataset(args.data)
    states, actions = [], []
    for summary in index.episodes:  # validated by the scan; read only the two small keys
        if "state" not in summary.keys:
            raise SystemExit(f"{summary.path} has no 'state' key (only lompo-collected datasets store it)")
        with np.load(summary.path, allow_pickle=False) as episode:
            states.append(episode["state"][:-1])
            actions.append(episode["action"][1:])
    s = torch.as_tensor(np.concatenate(states), dtype=torch.float32)
    a = torch.as_tensor(np.concatenate(actions), dtype=torch.float32)
    net = nn.Sequential(
        nn.Linear(s.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, a.shape[1]), nn.Tanh()
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-4)
    if index.task is None:
        raise SystemExit(f"{args.data}: cannot tell the dataset's task (no dataset.json)")
    env = DMCEnv(get_task(index.task), observation="state")
    checkpoints = {int(x) for x in args.evaluate_at.split(",")}
    generator = torch.Generator().manual_seed(args.seed)
    for step in range(1, args.steps + 1):
        pick = torch.randint(0, len(s), (256,), generator=generator)
        loss = ((net(s[pick]) - a[pick]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step in checkpoints:
            with torch.no_grad():
                full = float(((net(s) - a) ** 2).mean())
                returns = [
                    run_state_episode(
                        env, lambda x: net(torch.as_tensor(x, dtype=torch.float32)).numpy(), EVAL_SEED + i
                    )[0]
                    for i in range(args.episodes)
                ]
            print(
                json.dumps(
                    {
                        "step": step,
                        "samples": step * 256,
                        "mse_all_data": round(full, 4),
                        "return_mean": round(float(np.mean(returns)), 1),
                        "return_std": round(float(np.std(returns)), 1),
                        "returns": [round(r, 1) for r in returns],
                    }
                ),
                flush=True,
            )
    print(json.dumps({"data": str(Path(args.data)), "transitions": len(s)}))


if __name__ == "__main__":
    main()
