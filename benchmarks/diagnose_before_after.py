"""LOMPO world models before and after the prior heads learned: gradients and penalty quality.

For each ``LABEL=RUN`` (a finished ``lompo`` run, trained with any version of the code):

* the gradient norm every prior head gets from one model batch of the run's data under two KL
  terms: the per-element clamp ``max(KL, free_nats)`` (the old loss, which stopped the heads while
  the KL sat below the floor) and ``split_kl`` (the current loss: the floor on the posterior side only);
* ``lompo diagnose`` on the run's own data and on every ``--other`` dataset: Spearman correlation of
  each penalty type with the true one-step and H-step error, and the open-loop latent KL.

Prints a Markdown table and writes ``before_after.json`` under ``--out``.

    python benchmarks/diagnose_before_after.py before-random=runs/before/random-lompo-s0 \\
        after-random=runs/sweep/cartpole_swingup-random-64px/lompo/seed0 \\
        --other data/vd4rl/cartpole_swingup/medium_replay/64px --out benchmarks/results/diagnose-cartpole
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from lompo.algos.kl import masked_mean, split_kl
from lompo.algos.world_model import batch_to_torch, sample_prior_members
from lompo.bench.diagnose import diagnose
from lompo.nets.rssm import gaussian_kl
from lompo.runtime import Run


def head_gradients(run_path: Path, checkpoint: str | None = None, seed: int = 0) -> dict[str, list[float]]:
    """Per-head gradient norms of the KL term on one model batch, old clamp vs split_kl."""
    run = Run(run_path)
    store = run.open_store()
    algo, _ = run.trained_algorithm(store, checkpoint)
    model, config = algo.model, algo.config
    torch.manual_seed(seed)
    batch = batch_to_torch(algo.model_sampler.sample(), algo.device)
    out = {}
    for loss_name in ("clamp_per_element", "split_kl"):
        torch.manual_seed(seed + 1)
        post = model.rssm.observe(model.encoder(batch["image"]), batch["action"], batch["is_first"])
        members = sample_prior_members(batch["image"].shape[1], config.ensemble)
        mean, std = (x.transpose(0, 1) for x in model.rssm.prior(post["deter"].transpose(0, 1), members))
        if loss_name == "clamp_per_element":
            kl = gaussian_kl(post["post_mean"], post["post_std"], mean, std)
            loss = masked_mean(torch.clamp(kl, min=config.free_nats), batch["mask"])
        else:
            prior_side = gaussian_kl(post["post_mean"].detach(), post["post_std"].detach(), mean, std)
            posterior_side = gaussian_kl(post["post_mean"], post["post_std"], mean.detach(), std.detach())
            loss = split_kl(prior_side, posterior_side, 1.0, 1.0, config.free_nats, batch["mask"])
        model.zero_grad(set_to_none=True)
        loss.backward()
        out[loss_name] = [round(float(v), 5) for v in model.rssm.prior_net.member_grad_norms()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="LABEL=RUN or LABEL=RUN@CHECKPOINT")
    parser.add_argument("--other", action="append", default=[], help="another dataset to diagnose on")
    parser.add_argument("--horizon", type=int, default=15)
    parser.add_argument("--sequences", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for item in args.runs:
        label, _, target = item.partition("=")
        run, _, checkpoint = target.partition("@")
        entry = {
            "run": run,
            "checkpoint": checkpoint or "latest",
            "head_gradients": head_gradients(Path(run), checkpoint or None),
            "diagnostics": {},
        }
        for data in [None, *args.other]:
            path = diagnose(run, data, sequences=args.sequences, horizon=args.horizon, checkpoint=checkpoint or None)
            diag = json.loads(path.read_text())
            entry["diagnostics"][diag["dataset"]] = {
                "own_data": diag["own_data"],
                "one_step": {k: v["spearman"] for k, v in diag["one_step"]["penalties"].items()},
                "h_step": {k: v["spearman"] for k, v in diag["h_step"]["penalties"].items()},
                "one_step_error_mean": diag["one_step"]["error"]["mean"],
                "open_loop_kl": diag["open_loop"]["ensemble"]["latent_kl"],
                "penalty_by_action_source": {
                    s: v[diag["config"]["penalty"]]["mean"] for s, v in diag["penalty_by_action_source"].items()
                },
                "action_sensitivity": {k: v["ratio"] for k, v in diag["action_sensitivity"].items()},
            }
            for png in path.parent.glob(f"{path.stem}-*.png"):  # keep the plots with the table
                shutil.copy(png, args.out / f"{label}-{png.name}")
        results[label] = entry
    (args.out / "before_after.json").write_text(json.dumps(results, indent=2))
    print(markdown(results, args.horizon))


def _rho(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(results: dict, horizon: int) -> str:
    lines = ["| model | prior-head grad norm, old clamp (min-max) | same, split_kl (min-max) |", "|---|---|---|"]
    for label, entry in results.items():
        old, new = entry["head_gradients"]["clamp_per_element"], entry["head_gradients"]["split_kl"]
        lines.append(f"| {label} | {min(old):.4f}-{max(old):.4f} | {min(new):.4f}-{max(new):.4f} |")
    lines += [
        "",
        "| model | measured on | Spearman ρ one step: logprob_var / logprob_std / mean_disagreement / max_std "
        f"| ρ {horizon} steps (same order) | one-step KL | open-loop KL h=1 / 5 / {horizon} "
        "| penalty (run's type) dataset / random / policy actions |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, entry in results.items():
        for dataset, d in entry["diagnostics"].items():
            one = " / ".join(
                _rho(d["one_step"][k]) for k in ("logprob_var", "logprob_std", "mean_disagreement", "max_std")
            )
            many = " / ".join(
                _rho(d["h_step"][k]) for k in ("logprob_var", "logprob_std", "mean_disagreement", "max_std")
            )
            kl = d["open_loop_kl"]
            by = d["penalty_by_action_source"]
            lines.append(
                f"| {label} | {dataset}{' (own)' if d['own_data'] else ''} | {one} | {many} | "
                f"{d['one_step_error_mean']:.2f} | {kl[0]:.2f} / {kl[min(4, len(kl) - 1)]:.2f} / {kl[-1]:.2f} | "
                f"{by['dataset']:.2f} / {by['random']:.2f} / {by['policy']:.2f} |"
            )
    lines += [
        "",
        "| model | measured on | action sensitivity (std across actions / across states): "
        "logprob_var / logprob_std / mean_disagreement / max_std / reward |",
        "|---|---|---|",
    ]
    for label, entry in results.items():
        for dataset, d in entry["diagnostics"].items():
            ratios = " / ".join(
                _rho(d["action_sensitivity"][k])
                for k in ("logprob_var", "logprob_std", "mean_disagreement", "max_std", "reward")
            )
            lines.append(f"| {label} | {dataset}{' (own)' if d['own_data'] else ''} | {ratios} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
