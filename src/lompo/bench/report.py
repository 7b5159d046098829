"""``lompo report RUN_OR_SWEEP``: one self-contained HTML page (no network needed to view it).

The page holds the results table (score mean ± std over seeds; for robot tasks also the success
rate and the normalized return), the learning curves, for V-D4RL's and LOMPO's task/dataset pairs
the published Table 1 scores next to ours, and per run: its scores,
policy video (GIF), model-sample strip (PNG) and resolved config. Images are embedded as
``data:`` URIs; there is no script and no external resource. The policy GIFs are most of the page's
weight (about 1.3 MB per run, base64), so ``videos=False`` (``lompo report --no-videos``) leaves them out for
large sweeps.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

from lompo.bench.published import ALGOS as PUBLISHED_ALGOS
from lompo.bench.published import LOMPO_ALGOS, lompo_table1, vd4rl_table1
from lompo.bench.results import (
    data_mean_label,
    dataset_meta,
    finished_values,
    generalization_grid,
    iqm_grid,
    mean_std,
    outcome_grids,
    plot_curves,
    score_grid,
    variant_split_grid,
    write_results,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.runs { display: flex; flex-wrap: wrap; gap: 1em; }
.run { border: 1px solid #ddd; padding: 0.5em; width: 360px; }
.run img { max-width: 100%; image-rendering: pixelated; }
.run.wide { width: 100%; }
.diagnostics img { image-rendering: auto; }
pre { font-size: 11px; max-height: 300px; overflow: auto; background: #f8f8f8; }
.muted { color: #777; font-size: 90%; }
"""


def data_uri(path: Path) -> str:
    kind = {"png": "image/png", "gif": "image/gif"}[path.suffix.lstrip(".").lower()]
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def scores_table(rows: list[dict]) -> str:
    """Mean ± std over seeds; below it the IQM with its bootstrap interval where >= 5 seeds finished."""
    header, body = score_grid(rows)
    iqm = iqm_grid(rows)
    generalization = generalization_grid(rows)
    splits = variant_split_grid(rows)
    outcomes = "".join(f"<h3>Final {html.escape(title)}</h3>" + _table(*grid) for title, grid in outcome_grids(rows))
    return (
        _table(header, body)
        + outcomes
        + ("" if iqm is None else _table(*iqm))
        + ("" if generalization is None else "<h3>Generalization</h3>" + _table(*generalization))
        + ("" if splits is None else "<h3>Body variants by split (V-D4RL Table 3)</h3>" + _table(*splits))
    )


def published_section(rows: list[dict]) -> str:
    """Ours next to V-D4RL Table 1 and LOMPO Table 1 for every dataset of the sweep that is one of
    theirs (by the task and recipe in its ``dataset.json``)."""
    vd4rl, lompo = [], []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == dataset]
        meta = dataset_meta(Path(mine[0]["run"]))
        task, recipe = meta.get("task", ""), meta.get("recipe", "")

        published = vd4rl_table1(task, recipe)
        if published is not None:
            body = []
            for algo in PUBLISHED_ALGOS:
                ours = finished_values(mine, algo)
                mean, std = published["scores"][algo]
                body.append([algo, f"{mean:.1f} ± {std:.1f}", mean_std(ours) if ours else "not run"])
            body.append(["dataset mean", f"{published['data_mean']:.1f}", data_mean_label(mine, scale=0.1)])
            vd4rl.append(f"<h3>{html.escape(dataset)}</h3>" + _table(["algorithm", "V-D4RL Table 1", "ours"], body))
        published = lompo_table1(task, recipe)
        if published is not None:
            body = []
            for algo in LOMPO_ALGOS:
                ours = finished_values(mine, algo, "score_d4rl")
                success = finished_values(mine, algo, "success_rate", 100.0)
                body.append([algo, f"{published[algo]:.1f}", mean_std(ours) if ours else "not run", mean_std(success)])
            lompo.append(
                f"<h3>{html.escape(dataset)}</h3>"
                + _table(["algorithm", "LOMPO Table 1", "ours (normalized)", "ours: success %"], body)
            )
    parts = []
    if vd4rl:
        parts.append(
            "<h2>Compared with V-D4RL Table 1</h2><p class=muted>Final score = return / 10, mean ± std over "
            "seeds. Published: Lu et al. 2022, Table 1 (their own datasets; ours are rebuilt with lompo "
            "collect, so the data can differ).</p>" + "".join(vd4rl)
        )
    if lompo:
        parts.append(
            "<h2>Compared with LOMPO Table 1</h2><p class=muted>Normalized return = 100 (R − R_random) / "
            "(R_expert − R_random) with the reference returns in the dataset's dataset.json, mean ± std over "
            "seeds. Published: Rafailov et al. 2021, Table 1 (one number per cell, on their own datasets "
            "and budget).</p>" + "".join(lompo)
        )
    return "".join(parts)


def diagnostics_section(run: Path) -> list[str]:
    """``lompo diagnose`` results of a run: penalty-vs-error correlations per dataset, and the plots."""
    parts = []
    for json_path in sorted((run / "diagnostics").glob("*.json")):
        try:
            result = json.loads(json_path.read_text())
            rows = [
                [name, _rho(entry["spearman"]), _rho(result["h_step"]["penalties"][name]["spearman"])]
                for name, entry in result["one_step"]["penalties"].items()
            ]
        except (OSError, ValueError, KeyError, TypeError) as err:
            parts.append(
                f"<p class=muted>{html.escape(json_path.name)}: unreadable diagnostics ({html.escape(str(err))})</p>"
            )
            continue
        parts.append(
            f"<details open class=diagnostics><summary>diagnostics on {html.escape(str(result.get('dataset')))} "
            f"(Spearman ρ of penalty vs true error)</summary>"
        )
        parts.append(_table(["penalty", "ρ one step", f"ρ {result.get('horizon')} steps"], rows))
        for png in sorted(run.glob(f"diagnostics/{json_path.stem}-*.png")):
            parts.append(
                f'<figure><img src="{data_uri(png)}" alt="{html.escape(png.stem)}">'
                f"<figcaption class=muted>{html.escape(png.stem)}</figcaption></figure>"
            )
        parts.append("</details>")
    return parts


def _rho(value) -> str:
    return "n/a" if value is None else f"{float(value):.2f}"


def run_card(row: dict, *, videos: bool = True) -> str:
    run = Path(row["run"])
    diagnostics = diagnostics_section(run)
    card = "run wide" if diagnostics else "run"  # the diagnostics plots need the page's width
    lines = [
        f'<div class="{card}"><b>{html.escape(row["algo"])}</b> seed {html.escape(str(row["seed"]))} '
        f"<span class=muted>{html.escape(row['dataset'])}</span><br>"
    ]
    if row["status"] == "finished":
        d4rl = f", D4RL-normalized {float(row['score_d4rl']):.1f}" if row.get("score_d4rl") not in (None, "") else ""
        success = (
            f", success {100 * float(row['success_rate']):.0f} %" if row.get("success_rate") not in (None, "") else ""
        )
        lines.append(
            f"score {float(row['score']):.1f} (return {float(row['return_mean']):.1f} ± "
            f"{float(row['return_std']):.1f}{d4rl}{success}), {float(row['wall_time']):.0f} s<br>"
        )
    elif row["status"] == "finished, not evaluated":
        lines.append("<i>finished; not evaluated (its dataset names no task)</i><br>")
    else:
        lines.append("<i>unfinished</i><br>")
    figures = [("model_strip.png", "ground truth / posterior / open-loop prior")]
    if videos:
        figures.insert(0, ("policy.gif", "policy (first evaluation episode)"))
    for name, caption in figures:
        path = run / "videos" / name
        if path.is_file():
            lines.append(
                f'<figure><img src="{data_uri(path)}" alt="{html.escape(caption)}">'
                f"<figcaption class=muted>{html.escape(caption)}</figcaption></figure>"
            )
    lines.extend(diagnostics)
    config_path = run / "config.json"
    if config_path.is_file():
        lines.append(f"<details><summary>config</summary><pre>{html.escape(config_path.read_text())}</pre></details>")
    lines.append("</div>")
    return "".join(lines)


def write_report(root: Path, out: Path | None = None, *, videos: bool = True) -> Path:
    root = Path(root)
    rows, _ = write_results(root)
    if not rows:
        from lompo.errors import LompoError

        raise LompoError(f"{root}: no run directories (config.json) found")
    curves = plot_curves(root, rows)
    out = Path(out) if out else root / "report.html"
    sweep = root / "sweep.json"
    command = ""
    if sweep.is_file():
        command = f"<details><summary>sweep</summary><pre>{html.escape(sweep.read_text())}</pre></details>"
    page = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>lompo report: {html.escape(root.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>lompo report: {html.escape(str(root))}</h1>",
        f"<p class=muted>{len(rows)} runs; written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>{command}",
        "<h2>Final scores</h2><p class=muted>score = return / 10, mean ± std over finished seeds (finished/total)</p>",
        scores_table(rows),
        published_section(rows),
        "<h2>Learning curves</h2>",
        "".join(f'<img src="{data_uri(p)}" alt="learning curves {html.escape(p.stem)}">' for p in curves),
        "<h2>Runs</h2><div class=runs>",
        "".join(run_card(r, videos=videos) for r in rows),
        "</div></body></html>",
    ]
    out.write_text("\n".join(page))
    return out
