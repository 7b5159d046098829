"""Results of runs and sweeps: one row per run, mean +- std tables, learning curves.

Scores: ``score`` is V-D4RL's ``return / 10`` (0-100 on DMC); ``score_d4rl`` is
``100 (R - R_random) / (R_expert - R_random)`` where the dataset records reference returns (the
unit of LOMPO's Table 1); ``success_rate`` the fraction of evaluation episodes in which the task
succeeded at some step (robot tasks).
Learning curves put evaluations on "offline epochs" normalised to [0, 1] (the step within the
last phase over its length, V-D4RL Appendix C.6), the final evaluation at 1.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path

from lompo.bench.sweep import dataset_label
from lompo.envs.variants import PARAMETERS, SETTINGS, SPLITS
from lompo.errors import ConfigError
from lompo.files import read_jsonl
from lompo.runtime.trainer import UNINFORMED_R2

COLUMNS = (
    "algo",
    "dataset",
    "seed",
    "status",
    "score",
    "score_d4rl",
    "success_rate",
    "best_score",
    "return_mean",
    "return_std",
    "model_return",
    "episodes",
    "steps",
    "wall_time",
    "data_mean",
    "reference_random",
    "reference_expert",
    "model_reward_r2",
    "model_reward_r2_other_actions",
    "data_fingerprint",
    "lompo",
    "torch",
    "run",
)


def run_directories(root: Path) -> list[Path]:
    """Run directories under ``root`` (itself, if it is one), sorted."""
    root = Path(root)
    if (root / "config.json").is_file():
        return [root]
    return sorted(p.parent for p in root.rglob("config.json") if "checkpoints" not in p.parts)


def scored(final: dict) -> bool:
    """Whether a finished run was evaluated in an environment (not when its dataset names no task)."""
    return final.get("score_vd4rl") is not None


def run_row(run: Path) -> dict:
    """One results row; unfinished runs get ``status`` unfinished and their last evaluation, if any."""
    config = json.loads((run / "config.json").read_text())
    settings = config["run"]
    final_path = run / "final.json"
    final = json.loads(final_path.read_text()) if final_path.is_file() else None
    evaluations = [e for e in read_jsonl(run / "eval.jsonl") if e.get("phase") != "final"]
    scores = [e["score_vd4rl"] for e in evaluations] + ([final["score_vd4rl"]] if final and scored(final) else [])
    versions = (final or {}).get("versions", {})
    last = final or (evaluations[-1] if evaluations else {})
    return {
        "algo": settings["algo"],
        "dataset": dataset_label(settings["data"]),
        "seed": settings["seed"],
        "status": ("finished" if scored(final) else "finished, not evaluated") if final else "unfinished",
        "score": last.get("score_vd4rl"),
        "score_d4rl": last.get("score_d4rl"),
        "success_rate": last.get("success_rate"),
        "best_score": max(scores) if scores else None,
        "return_mean": last.get("return_mean"),
        "return_std": last.get("return_std"),
        # what the world model believed the policy earned along its real episodes (LatentPolicy)
        "model_return": last.get("model_return_mean"),
        "episodes": last.get("episodes"),
        "steps": json.dumps(final["steps"]) if final else "",
        "wall_time": final.get("wall_time") if final else None,
        # the statistics the run recorded: a dataset rebuilt at the same path since must not relabel it
        "data_mean": ((final or {}).get("data_statistics") or dataset_meta(run).get("statistics") or {}).get("mean"),
        # reward R² of the world model this run trained (lompo.runtime.trainer.world_model_record)
        "model_reward_r2": (final or {}).get("world_model_reward_r2"),
        # the same with other sequences' actions: low while the above is high, the reward is read from actions
        "model_reward_r2_other_actions": (final or {}).get("world_model_reward_r2_other_actions"),
        # the returns score_d4rl is normalized by (the dataset's reference_returns, else the registry's)
        "reference_random": last.get("reference_random"),
        "reference_expert": last.get("reference_expert"),
        "data_fingerprint": (final or {}).get("data_fingerprint", ""),
        "lompo": versions.get("lompo", ""),
        "torch": versions.get("torch", ""),
        "run": str(run),
        "evaluations": evaluation_scores(run),
    }


def evaluation_scores(run: Path) -> dict[str, float]:
    """Score of every saved evaluation condition of the run (``RUN/evaluations/<label>.json``)."""
    scores = {}
    for path in sorted((Path(run) / "evaluations").glob("*.json")):
        result = json.loads(path.read_text())
        if result.get("score_vd4rl") is not None:
            scores[path.stem] = float(result["score_vd4rl"])
    return scores


def learning_curve(run: Path) -> list[tuple[float, float]]:
    """``(offline epoch in [0, 1], score)`` of the run's evaluations, the final one at 1."""
    rows = read_jsonl(run / "eval.jsonl")
    final = next((r for r in rows if r.get("phase") == "final"), None)
    curve = []
    if final and scored(final):
        last_phase = list(final["steps"])[-1]
        length = final["steps"][last_phase]
        curve = [(r["step"] / length, r["score_vd4rl"]) for r in rows if r.get("phase") == last_phase]
        curve.append((1.0, final["score_vd4rl"]))
    return curve


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.pstdev(values):.1f}"


def write_results(root: Path) -> tuple[list[dict], str]:
    """Write ``results.csv`` and ``table.md`` under ``root``; return the rows and the Markdown table."""
    root = Path(root)
    rows = [run_row(run) for run in run_directories(root)]
    spec_path = root / "sweep.json"
    if spec_path.is_file():  # the sweep's own order of algorithms and datasets
        spec = json.loads(spec_path.read_text())
        algos = {a: i for i, a in enumerate(spec["algos"])}
        datasets = {dataset_label(d): i for i, d in enumerate(spec["datasets"])}
        rows.sort(
            key=lambda r: (datasets.get(r["dataset"], len(datasets)), algos.get(r["algo"], len(algos)), r["seed"])
        )
    labels = sorted({label for r in rows for label in r["evaluations"]})
    with open(root / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, [*COLUMNS, *(f"eval:{label}" for label in labels)])
        writer.writeheader()
        for row in rows:
            flat = {k: v for k, v in row.items() if k != "evaluations"}
            writer.writerow({**flat, **{f"eval:{label}": score for label, score in row["evaluations"].items()}})
    table = results_table(rows)
    (root / "table.md").write_text(table + "\n")
    return rows, table


def dataset_meta(run: Path) -> dict:
    """The ``dataset.json`` of the data a run trained on ({} when it cannot be read)."""
    try:
        data = json.loads((Path(run) / "config.json").read_text())["run"]["data"]
        return json.loads((Path(data) / "dataset.json").read_text())
    except (OSError, ValueError, KeyError):
        return {}


def data_mean_label(rows: list[dict], scale: float = 1.0) -> str:
    """The mean return of the data the finished ``rows`` trained on (all rows if none finished), scaled;
    several values joined by " / " when the runs trained on different builds of the dataset."""
    finished = [r for r in rows if r["status"] == "finished"] or rows
    means = list(dict.fromkeys(r["data_mean"] for r in finished if r["data_mean"] is not None))
    return " / ".join(f"{m * scale:.1f}" for m in means) if means else "?"


def finished_values(rows: list[dict], algo: str, key: str = "score", scale: float = 1.0) -> list[float]:
    """``scale * row[key]`` of the finished runs of ``algo`` in ``rows`` that have it."""
    return [
        scale * float(r[key])
        for r in rows
        if r["algo"] == algo and r["status"] == "finished" and r.get(key) is not None
    ]


def score_grid(rows: list[dict], key: str = "score", scale: float = 1.0) -> tuple[list[str], list[list[str]]]:
    """The scores table as cells: header ``[algorithm, datasets...]``, one row per algorithm with the
    final ``key`` (times ``scale``) mean ± std over the finished seeds that have it (finished/all); for
    ``score``, then the datasets' mean episode return / 10 (V-D4RL Table 1's "data mean")."""
    algos = list(dict.fromkeys(r["algo"] for r in rows))
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    body = []
    for algo in algos:
        cells = [algo]
        for dataset in datasets:
            mine = [r for r in rows if r["algo"] == algo and r["dataset"] == dataset]
            done = finished_values(mine, algo, key, scale)
            cells.append(f"{mean_std(done)} ({len(done)}/{len(mine)})" if mine else "")
        body.append(cells)
    if key == "score" and rows:
        data_means = ["dataset mean"]
        for dataset in datasets:
            data_means.append(data_mean_label([r for r in rows if r["dataset"] == dataset], scale=0.1))
        body.append(data_means)
    if key == "score_d4rl" and rows:
        body.append(["dataset mean", *(normalized_data_mean([r for r in rows if r["dataset"] == d]) for d in datasets)])
    return ["algorithm", *datasets], body


def normalized_data_mean(rows: list[dict]) -> str:
    """The dataset's mean return normalized by the references its runs were scored with ("?" if unknown)."""
    for r in rows:
        random, expert = r.get("reference_random"), r.get("reference_expert")
        if r.get("data_mean") is not None and random is not None and expert is not None and expert != random:
            return f"{100 * (r['data_mean'] - random) / (expert - random):.1f}"
    return "?"


def outcome_grids(rows: list[dict]) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    """For sweeps with success flags (robot tasks): ``[(title, grid)]`` of the success rate in % and the
    normalized return (LOMPO Table 1's unit); [] when no finished run reports a success rate."""
    if not any(r.get("success_rate") is not None and r["status"] == "finished" for r in rows):
        return []
    return [
        ("success rate (%)", score_grid(rows, "success_rate", 100.0)),
        ("normalized return (100 (R − R_random) / (R_expert − R_random))", score_grid(rows, "score_d4rl")),
    ]


IQM_MIN_SEEDS = 5


def iqm_interval(scores: list[float], reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Interquartile mean of per-seed scores with a 95 % stratified bootstrap interval (``rliable``,
    Agarwal et al. 2021): ``(iqm, low, high)``."""
    try:
        from rliable import library as rly
        from rliable import metrics
    except ImportError:
        raise ConfigError("the interquartile mean needs rliable: pip install 'lompo[stats]'") from None
    import numpy as np

    matrix = {"algo": np.asarray(scores, np.float64).reshape(-1, 1)}  # (seeds, one task)
    state = np.random.get_state()
    np.random.seed(seed)  # rliable's bootstrap draws from numpy's global generator
    try:
        point, interval = rly.get_interval_estimates(matrix, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps)
    finally:
        np.random.set_state(state)
    return float(point["algo"][0]), float(interval["algo"][0, 0]), float(interval["algo"][1, 0])


def iqm_grid(rows: list[dict]) -> tuple[list[str], list[list[str]]] | None:
    """Like :func:`score_grid`, with the IQM [95 % CI] of every cell with >= 5 finished seeds; ``None``
    when no cell has that many."""
    algos = list(dict.fromkeys(r["algo"] for r in rows))
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    body, any_cell = [], False
    for algo in algos:
        cells = [algo]
        for dataset in datasets:
            done = finished_values([r for r in rows if r["dataset"] == dataset], algo)
            if len(done) >= IQM_MIN_SEEDS:
                iqm, low, high = iqm_interval(done)
                cells.append(f"{iqm:.1f} [{low:.1f}, {high:.1f}] ({len(done)})")
                any_cell = True
            else:
                cells.append("-")
        body.append(cells)
    return (["algorithm (IQM [95 % CI])", *datasets], body) if any_cell else None


UNDISTRACTED = "none"


def generalization_grid(rows: list[dict]) -> tuple[list[str], list[list[str]]] | None:
    """Scores under the saved evaluation conditions (V-D4RL section 5): one row per algorithm and
    dataset, one column per condition; with an undistracted evaluation (``none``) every seed's score is
    divided by its own undistracted score, in %, as V-D4RL's Figure 3 normalizes. ``None`` when no run
    has saved evaluations."""
    labels = sorted({label for r in rows for label in r["evaluations"]}, key=lambda x: (x != UNDISTRACTED, x))
    if not labels:
        return None
    normalized = UNDISTRACTED in labels
    pairs = list(dict.fromkeys((r["algo"], r["dataset"]) for r in rows if r["evaluations"]))
    body = []
    for algo, dataset in pairs:
        mine = [r["evaluations"] for r in rows if (r["algo"], r["dataset"]) == (algo, dataset) and r["evaluations"]]
        cells = [algo, dataset]
        for label in labels:
            if normalized and label != UNDISTRACTED:
                values = [100 * e[label] / e[UNDISTRACTED] for e in mine if label in e and e.get(UNDISTRACTED)]
            else:
                values = [e[label] for e in mine if label in e]
            cells.append(f"{mean_std(values)} ({len(values)})" if values else "-")
        body.append(cells)
    header = ["algorithm", "dataset", *(f"{label} (% of none)" if normalized and label != UNDISTRACTED else label
                                        for label in labels)]  # fmt: skip
    return header, body


VARIANT_PARAMETERS = sorted({name for domain in PARAMETERS.values() for name in domain})
VARIANT_LABEL = re.compile(r"-(?:" + "|".join(VARIANT_PARAMETERS) + r")(\d+(?:\.\d+)?)$")
SPLIT_OF_SETTING = {letter: split for split, letters in SPLITS.items() for letter in letters}


def variant_setting(label: str) -> str | None:
    """The setting letter (``A``..``H``) of a body variant's evaluation label (``cheetah-run-torso0.6``
    -> ``A``), ``None`` for other labels."""
    match = VARIANT_LABEL.search(label)
    if match is None:
        return None
    scale = float(match.group(1))
    return next((letter for letter, value in SETTINGS.items() if abs(value - scale) < 1e-9), None)


def variant_split_grid(rows: list[dict]) -> tuple[list[str], list[list[str]]] | None:
    """V-D4RL Table 3's shape: per algorithm and dataset, the score averaged over the body variants of
    each split (train B, C, F, G; interpolation D, E; extrapolation A, H), mean ± std over seeds; the
    test splits also in % of each seed's train-split score. ``None`` when no run was evaluated on
    setting variants."""
    pairs = list(dict.fromkeys((r["algo"], r["dataset"]) for r in rows if r["evaluations"]))
    body = []
    for algo, dataset in pairs:
        per_seed: list[dict[str, float]] = []
        for r in rows:
            if (r["algo"], r["dataset"]) != (algo, dataset):
                continue
            by_split: dict[str, list[float]] = {split: [] for split in SPLITS}
            for label, score in r["evaluations"].items():
                split = SPLIT_OF_SETTING.get(variant_setting(label) or "")
                if split is not None:
                    by_split[split].append(score)
            if any(by_split.values()):
                per_seed.append({split: statistics.mean(v) for split, v in by_split.items() if v})
        if not per_seed:
            continue
        cells = [algo, dataset]
        for split in SPLITS:
            cells.append(mean_std([s[split] for s in per_seed if split in s]))
        for split in list(SPLITS)[1:]:
            ratios = [100 * s[split] / s["train"] for s in per_seed if split in s and s.get("train")]
            cells.append(mean_std(ratios))
        body.append(cells + [str(len(per_seed))])
    if not body:
        return None
    split_names = [f"{split} ({', '.join(SPLITS[split])})" for split in SPLITS]
    ratio_names = [f"{split} (% of train)" for split in list(SPLITS)[1:]]
    return ["algorithm", "dataset", *split_names, *ratio_names, "seeds"], body


def _markdown(header: list[str], body: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|---|" + "---|" * (len(header) - 1),
        *("| " + " | ".join(row) + " |" for row in body),
    ]


OVERESTIMATE = 0.5  # model return − real return, as a fraction of the dataset's mean return


def overestimated(rows: list[dict]) -> list[dict]:
    """Finished rows whose world model believed the policy earned far more than it did (``model_return``)."""
    return [
        r
        for r in rows
        if r.get("model_return") is not None
        and r.get("return_mean") is not None
        and r.get("data_mean")
        and r["model_return"] - r["return_mean"] > OVERESTIMATE * abs(r["data_mean"])
    ]


def results_table(rows: list[dict]) -> str:
    """Algorithms as rows, datasets as columns (:func:`score_grid`), in Markdown; below it the
    interquartile means (:func:`iqm_grid`) where a cell has at least five finished seeds."""
    lines = _markdown(*score_grid(rows))
    for title, grid in outcome_grids(rows):
        lines += ["", f"Final {title}, mean ± std over finished seeds (finished/all):", "", *_markdown(*grid)]
    iqm = iqm_grid(rows)
    if iqm is not None:
        lines += [
            "",
            f"Interquartile mean of the per-seed scores, 95 % stratified bootstrap interval "
            f"(rliable, 2000 resamples); cells with >= {IQM_MIN_SEEDS} finished seeds:",
            "",
            *_markdown(*iqm),
        ]
    unlearned = [r for r in rows if r.get("model_reward_r2") is not None and r["model_reward_r2"] < UNINFORMED_R2]
    if unlearned:
        names = ", ".join(
            f"{r['algo']} {r['dataset']} seed {r['seed']} ({r['model_reward_r2']:.2f})" for r in unlearned
        )
        lines += [
            "",
            f"World models that did not learn the frames (reward R² below {UNINFORMED_R2}; their policies acted on "
            f"uninformative latents, and the ablations that reuse them too): {names}.",
        ]
    exploited = overestimated(rows)
    if exploited:
        names = ", ".join(
            f"{r['algo']} {r['dataset']} seed {r['seed']} ({r['model_return']:.0f} vs {r['return_mean']:.0f})"
            for r in exploited
        )
        lines += [
            "",
            f"Policies whose world model believed they earned far more than they did (model return above the real "
            f"one by more than {OVERESTIMATE:.0%} of the dataset's mean return: the policy exploits an error of "
            f"the model; `lompo diagnose` shows where): {names}.",
        ]
    generalization = generalization_grid(rows)
    if generalization is not None:
        lines += [
            "",
            "Scores under other evaluation conditions (`lompo evaluate --save`; `none` = undistracted, the "
            "other columns in % of each seed's undistracted score), mean ± std (seeds):",
            "",
            *_markdown(*generalization),
        ]
    splits = variant_split_grid(rows)
    if splits is not None:
        lines += [
            "",
            "Scores averaged over the body variants of each split (V-D4RL Table 3), mean ± std over seeds:",
            "",
            *_markdown(*splits),
        ]
    return "\n".join(lines)


def plot_curves(root: Path, rows: list[dict]) -> list[Path]:
    """One PNG per dataset: mean score over seeds against offline epochs, band = min..max over seeds
    (runs evaluated only at the end show as one point with its range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    algos = list(dict.fromkeys(r["algo"] for r in rows))
    colours = {algo: f"C{i % 10}" for i, algo in enumerate(algos)}  # one colour per algorithm in every plot
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for algo in algos:
            curves = [
                learning_curve(Path(r["run"]))
                for r in rows
                if r["algo"] == algo and r["dataset"] == dataset and r["status"] == "finished"
            ]
            curves = [c for c in curves if c]
            if not curves:
                continue
            start = max(c[0][0] for c in curves)  # only where every seed has evaluations
            grid = np.union1d([x for c in curves for x, _ in c if x >= start], [start])
            values = np.array([np.interp(grid, [x for x, _ in c], [y for _, y in c]) for c in curves])
            label = f"{algo} ({len(curves)} seeds)"
            if len(grid) == 1:  # final evaluations only: a point with its min..max range
                mean = values.mean()
                ax.errorbar(
                    grid,
                    [mean],
                    yerr=[[mean - values.min()], [values.max() - mean]],
                    fmt="o",
                    capsize=4,
                    label=label,
                    color=colours[algo],
                )
            else:
                ax.plot(grid, values.mean(0), marker=".", label=label, color=colours[algo])
                ax.fill_between(grid, values.min(0), values.max(0), alpha=0.2, color=colours[algo])
        ax.set_xlim(-0.02, 1.05)
        ax.set_xlabel("offline epochs (normalised)")
        ax.set_ylabel("score (return / 10)")
        ax.set_title(dataset)
        if ax.get_legend_handles_labels()[0]:  # (runs trained without an environment have no curve)
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = Path(root) / f"curves-{dataset}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
