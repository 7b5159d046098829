"""Quality benchmark (not CI): model-free baselines over datasets and seeds.

    python benchmarks/quality_baselines.py --data DATASET[,DATASET...] --algos bc,drqbc --seeds 0,1,2 \
        --preset cpu --out RUNS

Prints a Markdown table per dataset: return and D4RL-normalized score (mean ± std over seeds),
return / dataset mean return, and wall-clock per run, next to the dataset's mean return.
Re-running continues unfinished runs and skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from quality_lompo import mean_std, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="comma-separated dataset folders")
    parser.add_argument("--algos", default="bc,drqbc")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--set", action="append", default=[], help="overrides for every run")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    lines = []
    for data in args.data.split(","):
        meta = json.loads((Path(data) / "dataset.json").read_text())
        mean = meta["statistics"]["mean"]
        name = f"{meta['task']} {meta['recipe']} {meta['image_size']}px"
        lines += ["", f"Dataset `{data}` ({name}): {meta['statistics']['episodes']} episodes, mean return "
                      f"{mean:.1f}", "",
                  "| Algorithm | Return | Normalized score (D4RL) | Return / data mean | Seeds | Wall-clock per run (s) |",
                  "|---|---|---|---|---|---|"]
        for algo in args.algos.split(","):
            runs = [train(out / f"{meta['recipe']}-{meta['image_size']}px" / f"{algo}-s{seed}", algo, data, seed,
                          args.preset, args.set) for seed in map(int, args.seeds.split(","))]
            returns = [r["return_mean"] for r in runs]
            scores = [r["score_d4rl"] for r in runs if r.get("score_d4rl") is not None]
            lines.append(f"| {algo} | {mean_std(returns)} | {mean_std(scores) if scores else 'n/a'} | "
                         f"{statistics.mean(returns) / mean:.2f} | {len(runs)} | "
                         f"{statistics.mean(r['wall_time'] for r in runs):.0f} |")
    text = "\n".join(lines)
    print(text)
    (out / "table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
