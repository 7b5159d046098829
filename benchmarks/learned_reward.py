"""LOMPO on a success-classifier reward against LOMPO on the true reward, same data, same seeds.

The LOMPO real-robot protocol on a task where the truth is known: label frames of a cartpole-swingup
dataset "pole above the horizontal" (cos of the hinge angle > 0, from the stored ``physics_state``;
``--positives`` of them positive, as a labeller picking examples of success would), train the success
classifier (``lompo reward train``), relabel the dataset with its probability (``lompo reward apply``),
then train LOMPO on the relabelled copy (``lompo bench``; evaluation still uses the environment's
true reward). The true-reward runs are an existing sweep of the same preset on the same data
(``--reference``, e.g. the quality sweep's model-based folder). Rerunning continues where it stopped.

    python benchmarks/learned_reward.py [--data data/vd4rl/cartpole_swingup/random/64px]
        [--out runs/learned-reward] [--reference runs/quality-lompo/random-model_based]
        [--labels 200] [--positives 100] [--seeds 0,1,2] [--preset cpu]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from common import DATA, RUNS, machine

from lompo.data import read_episode
from lompo.data.dataset import episode_files


def pole_up(episode: dict) -> np.ndarray:
    return np.cos(episode["physics_state"][:, 1]) > 0


def write_labels(data: Path, path: Path, count: int, positives: int, seed: int) -> dict:
    """``count`` labelled frames drawn at random, ``positives`` of them with the pole up."""
    rows = [(p.name, t, int(up)) for p in episode_files(data) for t, up in enumerate(pole_up(read_episode(p)))]
    rng = np.random.default_rng(seed)
    by_label = {label: [r for r in rows if r[2] == label] for label in (0, 1)}
    take = {1: positives, 0: count - positives}
    chosen = []
    for label in (0, 1):
        chosen += [by_label[label][i] for i in rng.choice(len(by_label[label]), take[label], replace=False)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["episode", "step", "label"])
        writer.writerows(chosen)
    return {"frames": len(rows), "positive_fraction": round(sum(r[2] for r in rows) / len(rows), 4)}


def classifier_on_every_frame(data: Path, relabelled: Path) -> dict:
    """How the relabelled reward (the classifier's probability) compares with "pole up" on every frame."""
    up, probability = [], []
    for path in episode_files(data):
        up.append(pole_up(read_episode(path))[1:])
        probability.append(read_episode(relabelled / path.name)["reward"][1:])
    up_all, p_all = np.concatenate(up), np.concatenate(probability)
    return {
        "frames": int(len(up_all)),
        "accuracy_at_0.5": round(float(((p_all >= 0.5) == up_all).mean()), 4),
        "mean_reward_pole_up": round(float(p_all[up_all].mean()), 4),
        "mean_reward_pole_down": round(float(p_all[~up_all].mean()), 4),
        "mean_reward": round(float(p_all.mean()), 4),
        "positive_fraction": round(float(up_all.mean()), 4),
    }


def lompo(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "lompo"), *args], check=True)


def returns(sweep: Path, algo: str, seeds: list[int]) -> dict[int, float]:
    found = {}
    for seed in seeds:
        for final in sweep.glob(f"*/{algo}/seed{seed}/final.json"):
            found[seed] = round(json.loads(final.read_text())["return_mean"], 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA / "vd4rl/cartpole_swingup/random/64px"))
    parser.add_argument("--out", default=str(RUNS / "learned-reward"))
    parser.add_argument("--reference", default=str(RUNS / "quality-lompo/random-model_based"))
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--positives", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--workers", default="1")
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels, classifier, relabelled = out / "labels.csv", out / "classifier", out / "data"
    if not labels.exists():
        print(json.dumps(write_labels(data, labels, args.labels, args.positives, seed=0)), flush=True)
    if not classifier.exists():
        lompo("reward", "train", "--data", str(data), "--labels", str(labels), "--out", str(classifier))
    if not relabelled.exists():
        lompo("reward", "apply", str(classifier), "--data", str(data), "--out", str(relabelled))
    lompo(
        "bench", "--algos", "lompo", "--data", str(relabelled), "--seeds", args.seeds, "--preset", args.preset,
        "--workers", args.workers, "--set", "threads=1", "--set", "eval_every=2500", "--out", str(out / "sweep"),
    )  # fmt: skip
    seeds = [int(s) for s in args.seeds.split(",")]
    learned, true = returns(out / "sweep", "lompo", seeds), returns(Path(args.reference), "lompo", seeds)
    report = json.loads((classifier / "classifier.json").read_text())
    summary = {
        "machine": machine(),
        "classifier_validation_accuracy": report.get("validation_accuracy"),
        "classifier_on_every_frame": classifier_on_every_frame(data, relabelled),
        "learned_reward_returns": learned,
        "true_reward_returns": true,
    }
    for name, values in (("learned", learned), ("true", true)):
        if values:
            summary[f"{name}_mean"] = round(statistics.mean(values.values()), 1)
            summary[f"{name}_std"] = round(statistics.pstdev(values.values()), 1)
    print(json.dumps(summary, indent=1), flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
