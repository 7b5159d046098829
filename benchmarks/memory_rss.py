"""Memory over time: resident set size of long training runs, per phase.

    # train LOMPO (64 px data) and DrQ+BC (84 px data) with the cpu preset, then report
    python benchmarks/memory_rss.py --lompo-data D64 --drq-data D84 --out runs/rss [--set threads=1]
    # or report on finished runs (any algorithm)
    python benchmarks/memory_rss.py --runs RUN[,RUN...] --out runs/rss

Every run logs ``rss_mib`` (the process's current RSS) and ``rss_anon_mib`` (without file-backed
pages: the memory-mapped dataset counts in RSS while its pages are touched, but the kernel can drop
them) in each ``metrics.jsonl`` line. For each phase and both columns this prints the value after
warm-up (the first ``--warmup`` fraction of the phase's steps),
the last value, the maximum and the growth after warm-up per 1,000 steps, and plots RSS against
steps (``rss.png``). Flat means: no growth after warm-up beyond allocator noise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from quality_lompo import train


def phases(run: Path, column: str) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        if column in row:
            curves.setdefault(row["phase"], []).append((row["step"], row[column]))
    return curves  # empty: a run from before the column was logged


def summary_rows(name: str, column: str, curves: dict[str, list[tuple[int, float]]], warmup: float) -> list[str]:
    rows = []
    for phase, points in curves.items():
        last_step = points[-1][0]
        settled = [(s, r) for s, r in points if s >= warmup * last_step] or points[-1:]
        start_step, start_rss = settled[0]
        growth = settled[-1][1] - start_rss
        per_k = 1000 * growth / (settled[-1][0] - start_step) if settled[-1][0] > start_step else 0.0
        rows.append(
            f"| {name} | {column} | {phase} | {last_step} | {len(points)} | {points[0][1]:.0f} "
            f"| {start_rss:.0f} | {max(r for _, r in settled):.0f} | {settled[-1][1]:.0f} | {growth:+.1f} "
            f"| {per_k:+.2f} |"
        )
    return rows


def plot(curves_by_run: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves_by_run), figsize=(6 * len(curves_by_run), 3.5), squeeze=False)
    for ax, (name, by_column) in zip(axes[0], curves_by_run.items()):
        for column, curves in by_column.items():
            offset = 0
            for phase, points in curves.items():
                ax.plot([offset + s for s, _ in points], [r for _, r in points], label=f"{column} {phase}")
                offset += points[-1][0]
        ax.set_title(name)
        ax.set_xlabel("step (phases one after another)")
        ax.set_ylabel("MiB")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default="", help="comma-separated finished run directories to report on")
    parser.add_argument("--lompo-data", help="train LOMPO on this dataset (64 px)")
    parser.add_argument(
        "--lompo-world-model",
        help="a LOMPO run on --lompo-data whose world model to start from "
        "(then only the buffers and the agent phase run)",
    )
    parser.add_argument("--drq-data", help="train DrQ+BC on this dataset (84 px)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--set", action="append", default=[], help="overrides for the runs trained here")
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of each phase counted as warm-up")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [Path(r) for r in args.runs.split(",") if r]
    extra = ["log_every=20", *args.set]
    for algo, data in (("lompo", args.lompo_data), ("drqbc", args.drq_data)):
        if data:
            world_model = Path(args.lompo_world_model) if algo == "lompo" and args.lompo_world_model else None
            train(out / algo, algo, data, 0, args.preset, extra, world_model=world_model)
            runs.append(out / algo)
    columns = ("rss_mib", "rss_anon_mib")
    curves_by_run = {
        f"{run.parent.name}/{run.name}": {c: curves for c in columns if (curves := phases(run, c))} for run in runs
    }
    missing = [name for name, by_column in curves_by_run.items() if not by_column]
    if missing:
        raise SystemExit(f"no memory columns in the metrics of {missing} (runs from before they were logged)")
    lines = [
        "| run | memory | phase | steps | points | first (MiB) | after warm-up | max after warm-up | last "
        "| growth after warm-up (MiB) | per 1,000 steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_column in curves_by_run.items():
        for column, curves in by_column.items():
            lines += summary_rows(name, column, curves, args.warmup)
    table = "\n".join(lines)
    print(table)
    (out / "rss.md").write_text(table + "\n")
    plot(curves_by_run, out / "rss.png")
    print(f"wrote {out / 'rss.md'} and {out / 'rss.png'}")


if __name__ == "__main__":
    main()
