"""Quality benchmark (not CI): LOMPO vs. its ablations LMBRL and Offline SLAC over seeds.

    python benchmarks/quality_lompo.py --data DATASET_FOLDER --seeds 0,1,2 --preset cpu --out RUNS

Per seed, LOMPO trains the world model once; LMBRL and Offline SLAC start from it
(``--world-model``), so the three differ only in the agent phase, as in the paper's
ablation. Prints a Markdown table: normalized score (return / 10) and return,
mean ± std over seeds, next to the dataset's mean return and the random level, and
the wall-clock per run. Re-running continues unfinished runs and skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def run_cli(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "lompo.cli", *args], check=True)


def train(
    out: Path, algo: str, data: str, seed: int, preset: str, extra: list[str], world_model: Path | None = None
) -> dict:
    if (out / "final.json").exists():
        return json.loads((out / "final.json").read_text())
    if (out / "config.json").exists():
        run_cli(["train", "--resume", str(out), "--no-progress"])
    else:
        cmd = [
            "train",
            "--algo",
            algo,
            "--data",
            data,
            "--seed",
            str(seed),
            "--preset",
            preset,
            "--out",
            str(out),
            "--no-progress",
        ]
        for item in extra:
            cmd += ["--set", item]
        if world_model is not None:
            cmd += ["--world-model", str(world_model)]
        run_cli(cmd)
    return json.loads((out / "final.json").read_text())


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.pstdev(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--algos", default="lompo,lmbrl,offline_slac")
    parser.add_argument("--set", action="append", default=[], help="overrides for every run")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    algos = args.algos.split(",")
    results: dict[str, list[dict]] = {a: [] for a in algos}
    for seed in seeds:
        lompo_dir = out / f"lompo-s{seed}"
        results.setdefault("lompo", [])
        first = train(lompo_dir, "lompo", args.data, seed, args.preset, args.set)
        if "lompo" in algos:
            results["lompo"].append(first)
        for algo in algos:
            if algo != "lompo":
                results[algo].append(
                    train(out / f"{algo}-s{seed}", algo, args.data, seed, args.preset, args.set, world_model=lompo_dir)
                )

    meta = json.loads((Path(args.data) / "dataset.json").read_text())
    stats = meta["statistics"]
    random_level = meta.get("reference_returns", {}).get("random")
    lines = [
        f"Dataset `{args.data}`: {stats.get('episodes')} episodes, mean return {stats.get('mean'):.1f} "
        f"(score {stats.get('mean') / 10:.1f})"
        + (f", random level {random_level:.1f}" if random_level is not None else ""),
        "",
        "| Algorithm | Score (return/10) | Return | Seeds | Wall-clock per run (s) |",
        "|---|---|---|---|---|",
    ]
    for algo in algos:
        runs = results[algo]
        if not runs:
            continue
        lines.append(
            f"| {algo} | {mean_std([r['score_vd4rl'] for r in runs])} | "
            f"{mean_std([r['return_mean'] for r in runs])} | {len(runs)} | "
            f"{mean_std([r['wall_time'] for r in runs])} |"
        )
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
