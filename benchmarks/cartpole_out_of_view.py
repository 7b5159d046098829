"""Where cartpole's cart leaves the camera's view, in a dataset and in trained policies' evaluations.

The pixel camera of cartpole-swingup sees the rail up to |cart position| of about 1.8 of its 2.0; beyond,
the frame holds no cart and at most a sliver of the pole, so the pole's angle (and the reward) cannot be
read from the frame. This script measures, from the dataset's stored physics states and frames, how many
steps are out of view and what they earned, and, from each run's evaluation video (``videos/policy.gif``),
the fraction of steps in which the policy kept the cart out of view; for LOMPO-family runs, with
``--model``, what the run's world model makes of the dataset's frames on either side of the view's edge:
reward error of the posterior's reward, the penalty ``u`` of the dataset's next action (eq. 9) and the
model reward and ``u`` of the trained actor's H-step latent rollouts from there.

    python benchmarks/cartpole_out_of_view.py DATASET [RUN ...] [--model] [--json OUT]

At 64 px the cart is a block of 4 rows (30-33) of cart-coloured pixels (orange: red > 150, blue < 120,
red - blue > 60), the pole a line 2 pixels wide: a frame shows the cart when some column is orange over
all 4 rows. On the medium_replay dataset this splits the frames exactly at |cart position| = 1.77 (the
script prints the physics on both sides of the split, so a change of camera or colours shows).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image, ImageSequence

CART_ROWS = slice(30, 34)  # at 64 px


def cart_visible(images: np.ndarray) -> np.ndarray:
    """Per frame of ``(T, 64, 64, 3)`` uint8 images: does some column show the cart's 4 rows in orange?"""
    if images.shape[1:3] != (64, 64):
        raise ValueError(f"frames of {images.shape[1:3]} pixels: the cart's rows are known at 64 px only")
    im = images[:, CART_ROWS, :, :3].astype(np.int16)
    red, blue = im[..., 0], im[..., 2]
    orange: np.ndarray = (red > 150) & (blue < 120) & (red - blue > 60)
    return np.any(np.all(orange, axis=1), axis=1)


def dataset_figures(folder: Path) -> dict:
    rewards, hidden, positions = [], [], []
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as episode:
            rewards.append(episode["reward"])
            hidden.append(~cart_visible(episode["image"]))
            positions.append(np.abs(episode["physics_state"][:, 0]))
    reward, out, position = np.concatenate(rewards), np.concatenate(hidden), np.concatenate(positions)
    return {
        "steps": int(reward.size),
        "out_of_view_fraction": round(float(out.mean()), 4),
        "cart_position_min_out_of_view": round(float(position[out].min()), 3) if out.any() else None,
        "cart_position_max_in_view": round(float(position[~out].max()), 3),
        "reward_per_step_out_of_view": round(float(reward[out].mean()), 3) if out.any() else None,
        "reward_per_step_in_view": round(float(reward[~out].mean()), 3),
        "reward_histogram_out_of_view": {
            "edges": [0, 0.1, 0.5, 1.0, 1.5, 2.0],
            "counts": np.histogram(reward[out], bins=[0, 0.1, 0.5, 1.0, 1.5, 2.0 + 1e-6])[0].tolist(),
        },
        "out_of_view_fraction_per_episode": [round(float(h.mean()), 3) for h in hidden],
    }


@torch.no_grad()
def model_figures(run_path: Path, sequences: int = 256, length: int = 32, seed: int = 0) -> dict:
    """The run's world model on ``sequences`` dataset windows, split by whether frame t+1 shows the cart."""
    from lompo.algos.lompo import LatentState
    from lompo.algos.world_model import batch_to_torch
    from lompo.bench.diagnose import all_penalties
    from lompo.data import SequenceSampler
    from lompo.runtime import Run

    run = Run(run_path)
    store = run.open_store()
    algo, _ = run.trained_algorithm(store)
    algo.model.eval()
    torch.manual_seed(seed)
    batch = batch_to_torch(SequenceSampler(store, sequences, length, seed=seed, keys=algo.sequence_keys).sample(),
                           algo.device)  # fmt: skip
    post = algo.posterior_states(batch)
    valid = (batch["mask"][:, 1:] & ~batch["is_first"][:, 1:]).reshape(-1)
    flat = lambda x: x[:, :-1].reshape(-1, x.shape[-1])[valid]  # noqa: E731  (state t)
    start = LatentState(flat(post["deter"]), flat(post["stoch"]))
    next_features = torch.cat([post["deter"], post["stoch"]], -1)[:, 1:].reshape(-1, start.features.shape[-1])[valid]
    reward_error = (algo.model.reward(next_features) - batch["reward"][:, 1:].reshape(-1)[valid]).abs()
    action = batch["action"][:, 1:].reshape(-1, batch["action"].shape[-1])[valid]
    penalty = algo.penalized_step(start, action)[3]
    deter, means, stds, samples = algo.model.rssm.imagine_all_members(start, action)
    member = torch.randint(0, samples.shape[0], (samples.shape[1],))
    by_type = all_penalties(samples[member, torch.arange(samples.shape[1])], means, stds)
    member_rewards = algo.model.reward(torch.cat([deter.expand(samples.shape[0], -1, -1), samples], -1))
    reward_spread = member_rewards.std(0, unbiased=False).reshape(-1)  # over the heads' samples of z'
    state, imagined, imagined_u = start, [], []
    for _ in range(algo.config.horizon):  # the agent phase's rollouts (Lompo.latent_rollouts)
        state, _, reward, u = algo.penalized_step(state, algo.sac.actor.sample(state.features)[0])
        imagined.append(reward)
        imagined_u.append(u)
    imagined_reward, imagined_penalty = torch.stack(imagined, 1).mean(1), torch.stack(imagined_u, 1).mean(1)
    frames = batch["image"][:, 1:].reshape(-1, *batch["image"].shape[2:])[valid].cpu().numpy()
    out = torch.as_tensor(~cart_visible(frames))
    split = {}
    for name, mask in (("in_view", ~out), ("out_of_view", out)):
        split[name] = {
            "transitions": int(mask.sum()),
            "reward_error": round(float(reward_error[mask].mean()), 3),
            "penalty_dataset_action": round(float(penalty[mask].mean()), 3),
            "reward_spread_dataset_action": round(float(reward_spread[mask].mean()), 3),
            "every_penalty_dataset_action": {k: round(float(v[mask].mean()), 3) for k, v in by_type.items()},
            "actor_rollout_model_reward": round(float(imagined_reward[mask].mean()), 3),
            "actor_rollout_penalty": round(float(imagined_penalty[mask].mean()), 3),
        }
    return {"penalty": algo.config.penalty, "penalty_scale": algo.config.penalty_scale, **split}


def gif_steps(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, steps each)`` of an evaluation GIF: the writer merges identical consecutive frames
    into one longer frame, so each frame stands for ``duration / shortest duration`` steps."""
    frames = iio.imread(path)
    with Image.open(path) as gif:
        durations = np.array([frame.info.get("duration", 0) for frame in ImageSequence.Iterator(gif)], dtype=float)
    if len(durations) != len(frames) or durations.min() <= 0:
        raise ValueError(f"{path}: no per-frame durations")
    return frames, np.rint(durations / durations.min()).astype(int)


def run_figures(run: Path, model: bool) -> dict:
    frames, steps = gif_steps(run / "videos" / "policy.gif")
    out = np.repeat(~cart_visible(frames), steps)
    final = json.loads((run / "final.json").read_text())
    return {
        "run": str(run),
        "steps": int(len(out)),
        "out_of_view_fraction": round(float(out.mean()), 3),
        "first_out_of_view_step": int(np.argmax(out)) if out.any() else None,
        "return_mean": round(final["return_mean"], 1),
        "model_return_mean": round(final.get("model_return_mean", float("nan")), 1),
        "model": model_figures(run) if model else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("runs", type=Path, nargs="*")
    parser.add_argument("--model", action="store_true", help="measure each run's world model too")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    d = dataset_figures(args.dataset)
    runs = [run_figures(r, args.model) for r in args.runs]
    print(
        f"dataset: {d['steps']} steps, {100 * d['out_of_view_fraction']:.1f} % with the cart out of view "
        f"(|x| >= {d['cart_position_min_out_of_view']}); reward/step there {d['reward_per_step_out_of_view']}, "
        f"in view {d['reward_per_step_in_view']}; histogram {d['reward_histogram_out_of_view']['counts']}"
    )
    for r in runs:
        share = f"{100 * r['out_of_view_fraction']:.0f} % of {r['steps']} steps out of view (first evaluation episode)"
        print(
            f"{r['run']}: {share} (from step {r['first_out_of_view_step']}); "
            f"return {r['return_mean']}, belief {r['model_return_mean']}"
        )
        if r["model"]:
            for side in ("in_view", "out_of_view"):
                print(f"    {side}: {r['model'][side]}")
    if args.json:
        args.json.write_text(json.dumps({"dataset": d, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
