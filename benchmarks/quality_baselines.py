"""Quality benchmark (not CI) of the model-free baselines: the V-D4RL Table 1 bar "BC on expert data
reaches at least 80 % of the data's mean return", read from a finished (or partly finished) sweep.

Run the grid with the ordinary sweep command, then read it:

    lompo bench --algos bc,drqbc --data EXPERT_84PX,MEDIUM_EXPERT_84PX --seeds 0,1,2 --preset cpu \
        --workers 2 --set eval_every=2500 --out SWEEP
    python benchmarks/quality_baselines.py SWEEP

Prints one Markdown row per algorithm x dataset: final return mean ± std over finished seeds, the
returns per seed, the V-D4RL score (return / 10), the return as a fraction of the dataset's mean
return, and the wall clock per run. Like `lompo results`, it (re)writes the sweep's results.csv,
table.md and curves.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from lompo.bench.results import data_mean_label, mean_std, write_results


def baseline_table(sweep: Path) -> str:
    """One row per algorithm x dataset. Each run is measured against the mean return of the data it
    trained on (recorded in its final.json; a rebuilt dataset has another), so "return / data mean" is
    the mean over seeds of each seed's own ratio; the dataset column lists every build's mean."""
    rows, _ = write_results(sweep)
    lines = [
        "| algorithm | dataset (mean return) | return | per seed | score (return / 10) | "
        "return / data mean | finished | wall clock per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for algo in dict.fromkeys(r["algo"] for r in rows):
        for dataset in dict.fromkeys(r["dataset"] for r in rows):
            mine = [r for r in rows if r["algo"] == algo and r["dataset"] == dataset]
            done = [r for r in mine if r["status"] == "finished"]
            if not done:
                continue
            unknown = [r["run"] for r in done if r["data_mean"] is None]
            if unknown:
                raise SystemExit(f"{unknown[0]}: no recorded data statistics and its dataset.json is missing")
            returns = [float(r["return_mean"]) for r in done]
            ratios = [float(r["return_mean"]) / float(r["data_mean"]) for r in done]
            seeds = ", ".join(f"{value:.1f}" for value in returns)
            wall = statistics.mean(float(r["wall_time"]) for r in done)
            lines.append(
                f"| {algo} | {dataset} ({data_mean_label(done)}) | {mean_std(returns)} | {seeds} | "
                f"{mean_std([x / 10 for x in returns])} | {statistics.mean(ratios):.0%} | "
                f"{len(done)}/{len(mine)} | {wall:.0f} s |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Baselines' final returns against their data's mean return")
    parser.add_argument("sweep", type=Path, help="a `lompo bench` output folder")
    args = parser.parse_args()
    print(baseline_table(args.sweep))


if __name__ == "__main__":
    main()
