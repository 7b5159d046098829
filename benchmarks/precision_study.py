"""Does bf16 change what a run learns? Compares runs that differ only in ``precision`` (same data, seed,
preset and batches; ``benchmarks/precision_study.sh`` makes them): for every algorithm and seed found
under both the fp32 and the bf16 sweep folders,

- the world model (algorithms with a ``model`` phase): image NLL, KL and reward R² on the training
  batch at step ``--early`` and at the end of the phase, the reward R² of the final record (teacher-forced,
  and with another sequence's actions), and the phase's wall clock;
- the policy: the evaluations and the final return, and the run's wall clock;

then per algorithm and precision the mean ± std of the final score over the paired seeds, the paired
differences (bf16 - fp32), and with >= 5 paired seeds the IQM with its 95 % bootstrap interval.

    python benchmarks/precision_study.py --fp32 SWEEP [SWEEP ...] --bf16 SWEEP [SWEEP ...] [--early 200]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from lompo.bench.results import IQM_MIN_SEEDS, iqm_interval, mean_std, run_directories, run_row
from lompo.files import read_jsonl

WORLD_MODEL_KEYS = ("model/image_nll", "model/kl", "model/reward_r2")


def world_model_record(run: Path, early: int) -> dict | None:
    """The logged world-model metrics at step ``early`` and at the end of the model phase; ``None`` if the
    run trained no world model (an agent phase on a loaded one, or a model-free algorithm)."""
    rows = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("phase") == "model"]
    if not rows:
        return None
    at_early = next((r for r in rows if r["step"] >= early), rows[0])
    last = rows[-1]
    return {
        "early_step": at_early["step"],
        "early": {k: at_early.get(k) for k in WORLD_MODEL_KEYS},
        "end_step": last["step"],
        "end": {k: last.get(k) for k in WORLD_MODEL_KEYS},
        "phase_seconds": last["wall_time"],
    }


def runs_by_key(folders: list[Path], precision: str, early: int) -> dict[tuple[str, str, int], dict]:
    """``(algo, dataset, seed) -> record`` of the runs under ``folders`` trained at ``precision``."""
    found: dict[tuple[str, str, int], dict] = {}
    for folder in folders:
        for run in run_directories(folder):
            config = json.loads((run / "config.json").read_text())
            if config["algo"].get("precision", "fp32") != precision:
                continue
            row = run_row(run)
            row["world_model"] = world_model_record(run, early)
            row["evaluation_returns"] = [
                e["return_mean"] for e in read_jsonl(run / "eval.jsonl") if e.get("phase") != "final"
            ]
            key = (row["algo"], row["dataset"], row["seed"])
            if key in found:
                raise SystemExit(f"two {precision} runs of {key}: {found[key]['run']} and {run}")
            found[key] = row
    return found


def fmt(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def world_model_table(pairs: list[tuple[tuple, dict, dict]], early: int) -> list[str]:
    lines = [
        f"| run | precision | image NLL at {early} / end | KL at {early} / end | reward R² at {early} / end | "
        "final record R² (other actions) | model phase s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (algo, dataset, seed), *rows in pairs:
        for precision, row in zip(("fp32", "bf16"), rows):
            wm = row["world_model"]
            if wm is None:
                continue
            e, z = wm["early"], wm["end"]
            lines.append(
                f"| {algo} {dataset} seed {seed} | {precision} | {fmt(e['model/image_nll'])} / "
                f"{fmt(z['model/image_nll'])} | {fmt(e['model/kl'])} / {fmt(z['model/kl'])} | "
                f"{fmt(e['model/reward_r2'])} / {fmt(z['model/reward_r2'])} | {fmt(row['model_reward_r2'])} "
                f"({fmt(row['model_reward_r2_other_actions'])}) | {fmt(wm['phase_seconds'], 0)} |"
            )
    return lines


def policy_table(pairs: list[tuple[tuple, dict, dict]]) -> list[str]:
    lines = ["| run | fp32: evaluations / final return | bf16: evaluations / final return | run s fp32 / bf16 |",
             "|---|---|---|---|"]  # fmt: skip
    for (algo, dataset, seed), fp32, bf16 in pairs:
        cells = []
        for row in (fp32, bf16):
            evaluations = ", ".join(f"{r:.1f}" for r in row["evaluation_returns"])
            final = "unfinished" if row["status"] == "unfinished" else f"**{fmt(row['return_mean'], 1)}**"
            cells.append(f"{evaluations} / {final}")
        lines.append(
            f"| {algo} {dataset} seed {seed} | {cells[0]} | {cells[1]} | "
            f"{fmt(fp32['wall_time'], 0)} / {fmt(bf16['wall_time'], 0)} |"
        )
    return lines


def summary(pairs: list[tuple[tuple, dict, dict]]) -> tuple[list[str], dict]:
    """Per algorithm and dataset: scores of the finished pairs, mean ± std, paired differences, IQM."""
    groups: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for (algo, dataset, seed), fp32_run, bf16_run in pairs:
        if fp32_run["status"] == "finished" and bf16_run["status"] == "finished":
            groups.setdefault((algo, dataset), []).append((seed, fp32_run["score"], bf16_run["score"]))
    lines = ["| algorithm, dataset | seeds | fp32 score | bf16 score | bf16 - fp32 per seed | IQM fp32 / bf16 |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    out: dict[str, dict] = {}
    for (algo, dataset), items in sorted(groups.items()):
        seeds = [s for s, _, _ in items]
        fp32, bf16 = [a for _, a, _ in items], [b for _, _, b in items]
        differences = [b - a for a, b in zip(fp32, bf16)]
        iqm = "-"
        if len(items) >= IQM_MIN_SEEDS:
            parts = []
            for scores in (fp32, bf16):
                point, low, high = iqm_interval(scores)
                parts.append(f"{point:.1f} [{low:.1f}, {high:.1f}]")
            iqm = " / ".join(parts)
        lines.append(
            f"| {algo}, {dataset} | {','.join(map(str, seeds))} | {mean_std(fp32)} | {mean_std(bf16)} | "
            f"{', '.join(f'{d:+.1f}' for d in differences)} (mean {statistics.mean(differences):+.1f}) | {iqm} |"
        )
        out[f"{algo}/{dataset}"] = {"seeds": seeds, "fp32": fp32, "bf16": bf16}
    return lines, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fp32", nargs="+", type=Path, required=True, help="sweep folders of the fp32 runs")
    parser.add_argument("--bf16", nargs="+", type=Path, required=True, help="sweep folders of the bf16 runs")
    parser.add_argument("--early", type=int, default=200, help="the early world-model step reported")
    parser.add_argument("--json", type=Path, help="also write the paired records here")
    args = parser.parse_args()
    fp32, bf16 = runs_by_key(args.fp32, "fp32", args.early), runs_by_key(args.bf16, "bf16", args.early)
    pairs = [(key, fp32[key], bf16[key]) for key in sorted(fp32.keys() & bf16.keys())]
    if not pairs:
        raise SystemExit("no algorithm, dataset and seed has both an fp32 and a bf16 run under the folders given")
    summary_lines, scores = summary(pairs)
    print("\n".join(world_model_table(pairs, args.early) + [""] + policy_table(pairs) + [""] + summary_lines))
    if args.json:
        records = [{"algo": k[0], "dataset": k[1], "seed": k[2], "fp32": a, "bf16": b} for k, a, b in pairs]
        args.json.write_text(json.dumps({"pairs": records, "scores": scores}, indent=1, default=str))


if __name__ == "__main__":
    main()
