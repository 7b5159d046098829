"""Success-classifier accuracy against the number of labelled frames, on a task whose success is
known from the simulator state: cartpole-swingup "pole above the horizontal" (cos of the hinge angle
> 0, from the stored ``physics_state``). Labels are drawn from the dataset's first episodes, accuracy
is measured on every frame of the other episodes (never labelled), with the true label from the state.

    python benchmarks/reward_classifier.py [--data data/vd4rl/cartpole_swingup/medium_replay/64px]
        [--labels 25,50,100,200] [--steps 500] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import DATA, machine

from lompo.data import read_episode
from lompo.data.dataset import episode_files
from lompo.rewards import ClassifierConfig, load_classifier, train_classifier


def pole_up(episode: dict) -> np.ndarray:
    return np.cos(episode["physics_state"][:, 1]) > 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA / "vd4rl/cartpole_swingup/medium_replay/64px"))
    parser.add_argument("--labels", default="25,50,100,200")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    episodes = [read_episode(p) for p in episode_files(Path(args.data))]
    half = len(episodes) // 2
    pool_images = np.concatenate([e["image"] for e in episodes[:half]])
    pool_labels = np.concatenate([pole_up(e) for e in episodes[:half]]).astype(np.float32)
    test_images = torch.as_tensor(np.concatenate([e["image"] for e in episodes[half:]]))
    test_labels = np.concatenate([pole_up(e) for e in episodes[half:]])
    size = int(pool_images.shape[1])
    print(
        f"machine: {machine()}; {len(pool_labels)} labelling pool frames ({pool_labels.mean():.2f} positive), "
        f"{len(test_labels)} test frames ({test_labels.mean():.2f} positive)",
        flush=True,
    )
    for n in map(int, args.labels.split(",")):
        rows = []
        for seed in map(int, args.seeds.split(",")):
            chosen = np.random.default_rng(seed).choice(len(pool_labels), n, replace=False)
            config = ClassifierConfig(image_size=size, steps=args.steps, seed=seed)
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                report = train_classifier(pool_images[chosen], pool_labels[chosen], config, folder)
                model, _ = load_classifier(folder)
                with torch.no_grad():
                    logits = torch.cat([model(test_images[i : i + 512]) for i in range(0, len(test_images), 512)])
            accuracy = float(((logits > 0).numpy() == test_labels).mean())
            rows.append((accuracy, report["validation_accuracy"], time.perf_counter() - start))
        accuracies = [r[0] for r in rows]
        print(json.dumps({
            "labels": n,
            "test_accuracy_per_seed": [round(a, 3) for a in accuracies],
            "test_accuracy_mean": round(statistics.mean(accuracies), 3),
            "test_accuracy_std": round(statistics.pstdev(accuracies), 3),
            "validation_accuracy_per_seed": [r[1] for r in rows],
            "seconds_per_classifier": round(statistics.mean(r[2] for r in rows), 1),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
