"""Can Offline DV2's penalty steer the actor? For a trained Offline DV2 run: from posterior start states
of its data, ``--actions`` uniform random actions per state, ``--horizon`` imagined steps; per step, the
std of the predicted reward and of the penalty ``u`` (V-D4RL eq. 1) across the actions of one state
(averaged over states) beside their std across states. Then ``u`` and the reward one step ahead under
the policy's, uniform random and zero actions. A penalty whose spread across actions is a small
fraction of the reward's is an offset: it cannot make the actor prefer one action over another.
(Beyond the first step the spread across actions also includes the sampled latents.)

  python benchmarks/dv2_action_sensitivity.py RUN [--states 64] [--actions 16] [--horizon 5] [--seed 0] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from lompo.algos.offline_dv2 import OfflineDV2, probability_disagreement
from lompo.algos.world_model import batch_to_torch
from lompo.nets import LatentState
from lompo.runtime import Run


@torch.no_grad()
def measure(algo: OfflineDV2, states: int, actions: int, horizon: int) -> dict:
    model, rssm = algo.model, algo.model.rssm
    start = algo.posterior_starts(batch_to_torch(algo.start_sampler.sample(), algo.device))
    start = LatentState(start.deter[:states], start.stoch[:states])
    n = start.deter.shape[0]
    state = LatentState(start.deter.repeat(actions, 1), start.stoch.repeat(actions, 1))
    by_step = []
    for h in range(1, horizon + 1):
        state, member_probs = rssm.imagine_step(state, torch.rand(n * actions, algo.action_dim) * 2 - 1)
        reward = model.reward(state.features).squeeze(-1).view(actions, n)
        u = probability_disagreement(member_probs).view(actions, n)
        by_step.append(
            {
                "step": h,
                "reward_std_across_actions": float(reward.std(0).mean()),
                "reward_std_across_states": float(reward.mean(0).std()),
                "penalty_mean": float(u.mean()),
                "penalty_std_across_actions": float(u.std(0).mean()),
                "penalty_std_across_states": float(u.mean(0).std()),
            }
        )
    sources = {
        "policy": algo.actor.sample(start.features)[0],
        "random": torch.rand(n, algo.action_dim) * 2 - 1,
        "zero": torch.zeros(n, algo.action_dim),
    }
    one_step = {}
    for name, action in sources.items():
        following, member_probs = rssm.imagine_step(start, action)
        one_step[name] = {
            "reward": float(model.reward(following.features).mean()),
            "penalty": float(probability_disagreement(member_probs).mean()),
        }
    return {"states": n, "actions": actions, "by_step": by_step, "one_step_by_action_source": one_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--states", type=int, default=64)
    parser.add_argument("--actions", type=int, default=16)
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run = Run(args.run)
    if run.settings.algo != "offline_dv2":
        parser.error(f"{args.run} is a {run.settings.algo!r} run; this measures Offline DV2 (LOMPO: lompo diagnose)")
    algo, checkpoint = run.trained_algorithm(run.open_store())
    algo.model.eval()
    measured = measure(algo, args.states, args.actions, args.horizon)
    result = {"run": str(args.run), "checkpoint": checkpoint.name, **measured}
    for row in result["by_step"]:
        print(
            f"step {row['step']}: reward std across actions {row['reward_std_across_actions']:.4f}, across states"
            f" {row['reward_std_across_states']:.4f} | penalty mean {row['penalty_mean']:.4f}, std across actions"
            f" {row['penalty_std_across_actions']:.5f}, across states {row['penalty_std_across_states']:.5f}"
        )
    for name, row in result["one_step_by_action_source"].items():
        print(f"one step, {name} actions: reward {row['reward']:.4f}, penalty {row['penalty']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
