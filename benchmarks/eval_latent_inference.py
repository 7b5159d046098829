"""Evaluation with sampled vs mean posterior latents, on the same checkpoints.

For every latent-model run below the given folders (LOMPO family, Offline DV2), evaluates the latest
checkpoint twice with the same environment seeds: ``--latent sample`` (as training infers, the
default) and ``--latent mean``. Prints a Markdown table (per run and mean over runs) and writes
``eval_latent.json`` into ``--out``.

    python benchmarks/eval_latent_inference.py runs/quality-lompo --episodes 10 --out benchmarks/results/x
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from lompo.bench.results import run_directories
from lompo.runtime import Run

LATENT_ALGOS = ("lompo", "lmbrl", "offline_slac", "offline_dv2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for root in args.roots:
        for path in run_directories(root):
            run = Run(path)
            if run.settings.algo not in LATENT_ALGOS or not run.finished:
                continue
            returns = {
                latent: run.evaluate(args.episodes, latent=latent)["return_mean"] for latent in ("sample", "mean")
            }
            rows.append({"run": str(path), "algo": run.settings.algo, "seed": run.settings.seed, **returns})
            print(f"{path}: sample {returns['sample']:.1f}, mean {returns['mean']:.1f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval_latent.json").write_text(json.dumps(rows, indent=2))
    print("\n| run | sampled latent (default) | posterior-mean latent |\n|---|---|---|")
    for row in rows:
        print(f"| {row['run']} | {row['sample']:.1f} | {row['mean']:.1f} |")
    if rows:
        sample, mean = [r["sample"] for r in rows], [r["mean"] for r in rows]
        wins = sum(m > s for s, m in zip(sample, mean))
        print(
            f"| mean over {len(rows)} runs | {statistics.mean(sample):.1f} | {statistics.mean(mean):.1f} "
            f"(higher on {wins} of {len(rows)}) |"
        )


if __name__ == "__main__":
    main()
