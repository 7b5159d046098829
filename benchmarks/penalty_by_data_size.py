"""Does LOMPO's penalty grow where a world model has seen less data? For every ``lompo`` run of a
sweep over a dataset and its subsamples (``benchmarks/size_study.sh``), ``lompo diagnose`` (no policy
episodes) on each dataset given: the penalty ``u`` of eq. 9 at the dataset's actions from the
posterior states of its windows (every penalty type), the one-step model error it should track (mean
over heads of ``KL(q(z_{t+1}|x) ‖ p_k)``), their rank correlation, and the reward head's R²
(teacher-forced). Each run is measured on its own dataset first, then on the others (a model
trained on a ×25 subsample saw 4 % of the full dataset's episodes, none of another recipe's or of a
`lompo subsample --complement` of its own subsample).

    python benchmarks/penalty_by_data_size.py SWEEP [--data DATASET ...] [--sequences 128]
        [--json OUT]

Prints one markdown row per run and dataset.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lompo.bench.diagnose import diagnose
from lompo.runtime import Run, latest_checkpoint


def measure(run: Path, data: str | None, sequences: int, seed: int) -> dict:
    """``lompo diagnose`` of ``run`` on ``data`` (``None``: the run's own dataset), the figures of one row."""
    path = diagnose(run, data, sequences=sequences, seed=seed, plots=False, policy_episodes=0)
    result = json.loads(path.read_text())
    dataset_actions = result["penalty_by_action_source"]["dataset"]
    return {
        "run": str(run),
        "data": result["dataset"],
        "own_data": result["own_data"],
        "transitions": result["one_step"]["transitions"],
        "one_step_error": result["one_step"]["error"]["mean"],
        "penalty": {name: stats["mean"] for name, stats in dataset_actions.items()},
        "spearman": {name: v["spearman"] for name, v in result["one_step"]["penalties"].items()},
        "reward_r2": result["fit"]["reward_r2"],
        "preset_penalty": result["config"]["penalty"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--sequences", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = [Run(p.parent) for p in sorted(args.sweep.glob("*/lompo/seed*/final.json"))]
    for run in [run for run in runs if latest_checkpoint(run.checkpoints) is None]:
        print(f"skipped {run.path}: no checkpoint to load")
        runs.remove(run)
    if not runs:
        raise SystemExit(f"{args.sweep}: no finished lompo run with a checkpoint (DATASET/lompo/seedS)")
    rows = []
    columns = ["world model", "seed", "measured on", "own data", "one-step KL", "u (preset)", "ρ(u, KL)"]
    columns += ["mean_disagreement", "reward R²"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for run in runs:
        others = [d for d in args.data if Path(d).resolve() != Path(run.settings.data).resolve()]
        for data in [None, *others]:
            row = measure(run.path, data, args.sequences, args.seed)
            rows.append(row)
            preset = row["preset_penalty"]
            print(
                f"| {run.path.parent.parent.name} | {run.path.name[4:]} | {row['data']} "
                f"| {'yes' if row['own_data'] else 'no'} "
                f"| {row['one_step_error']:.2f} | {row['penalty'][preset]:.3f} | {row['spearman'][preset]:.2f} "
                f"| {row['penalty']['mean_disagreement']:.3f} | {row['reward_r2']:.2f} |",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
