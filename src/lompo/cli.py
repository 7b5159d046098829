"""The ``lompo`` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from lompo.errors import LompoError

RECIPE_NAMES = ("random", "medium", "expert", "medium_replay", "medium_expert")  # lompo.collect.RECIPES


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"image sizes must be integers like 64 or 64,84, got {text!r}") from None
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one image size")
    return sizes


def _progress(args) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def _distractions(args) -> list | None:
    """The distraction set the command's options name (None: none named)."""
    from lompo.envs.distractions import distraction_set, parse_distraction

    if not args.distraction:
        if args.backgrounds:
            raise LompoError("--backgrounds goes with --distraction background:SEVERITY")
        return None
    if args.distraction == "none":
        return []
    kind, severity, dynamic = parse_distraction(args.distraction)
    return distraction_set(
        kind, severity, args.distraction_count, args.distraction_split, dynamic=dynamic, backgrounds=args.backgrounds
    )


def _add_distraction_options(p, what: str) -> None:
    p.add_argument(
        "--distraction",
        default=None,
        metavar="KIND:SEVERITY[:dynamic]",
        help=f"{what}: colour, camera or background at easy, medium or hard (Distracting Control Suite)"
        + ("; none: without" if "evaluate" in what else ""),
    )
    p.add_argument("--distraction-count", type=int, default=1, help="how many fixed distractions in the set")
    p.add_argument("--distraction-split", choices=("train", "test"), default="train", help="disjoint seed sets")
    p.add_argument("--backgrounds", default=None, help="background: a folder of images/videos (default: noise)")


def cmd_collect(args) -> int:
    if args.source:
        return _collect_rerendered(args)
    if not args.task:
        raise LompoError("--task is required (or --from DATASET to re-render one)")
    if args.distraction or args.camera is not None:
        raise LompoError(
            "--distraction and --camera re-render an existing dataset: collect it with the task's camera, "
            "then give it with --from DATASET"
        )
    from lompo.collect import collect
    from lompo.collect.behaviour import behaviour_config
    from lompo.data import statistics_table
    from lompo.envs import get_task
    from lompo.runtime.config import parse_overrides

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    spec = get_task(args.task, action_repeat=args.action_repeat, episode_length=args.episode_length)
    config = None
    if args.scripted and (args.sac_frames or args.behaviour):
        raise LompoError("--scripted replaces the SAC behaviour agent: drop --sac-frames and --behaviour")
    if not args.scripted and (args.recipe != "random" or args.sac_frames or args.behaviour):
        config = behaviour_config(spec, args.seed, args.sac_frames, parse_overrides(args.behaviour or []))
    start = time.perf_counter()
    written = collect(
        args.task,
        args.recipe,
        args.out,
        size=args.size,
        episodes=args.episodes,
        image_sizes=args.image_size,
        render_profile=args.render,
        seed=args.seed,
        behaviour=config,
        medium_threshold=args.medium_threshold,
        action_repeat=args.action_repeat,
        episode_length=args.episode_length,
        protocol=args.protocol,
        scripted=args.scripted,
        expert_noise=args.expert_noise,
        progress=_progress(args),
    )
    folders = [folder for recipe_folders in written.values() for folder in recipe_folders]
    print(f"wrote {len(folders)} dataset folder(s) in {time.perf_counter() - start:.1f} s:")
    rows = []
    for folder in folders:
        print(f"  {folder}")
        rows.append((f"{folder.parent.name} {folder.name}", describe_dataset(folder)["statistics"]))
    print(statistics_table(rows))
    return 0


def _collect_rerendered(args) -> int:
    from lompo.collect.distracted import rerender
    from lompo.data import statistics_table

    distractions = _distractions(args)
    if not distractions and args.camera is None:
        raise LompoError(
            "--from re-renders a dataset under --distraction KIND:SEVERITY[:dynamic] and/or from --camera N"
        )
    start = time.perf_counter()
    out = rerender(args.source, args.out, distractions, camera=args.camera, progress=_progress(args))
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s (re-rendered from {args.source})")
    print(statistics_table([(out.name, describe_dataset(out)["statistics"])]))
    return 0


def describe_dataset(folder: Path, skip_bad: bool = False, task: str | None = None) -> dict:
    """Validate a dataset folder and compute its V-D4RL Appendix A statistics."""
    from lompo.data import return_statistics, scan_dataset
    from lompo.data.store import verified

    index = verified(scan_dataset(folder, skip_bad=skip_bad, task=task), skip_bad, always=True)
    stats = return_statistics(index.returns, index.num_transitions)
    meta = index.metadata or {}
    return {
        "folder": str(folder),
        "task": index.task,
        "recipe": meta.get("recipe"),
        "image_shape": list(index.image_shape),
        "action_dim": index.action_dim,
        "render_profile": meta.get("render_profile", "unknown (no dataset.json)"),
        "action_repeat": meta.get("action_repeat"),
        "reference_returns": meta.get("reference_returns"),
        "statistics": stats,
        "skipped": [str(p) for p in index.skipped],
    }


def cmd_info(args) -> int:
    from lompo.data import find_dataset_folders, statistics_table

    root = Path(args.dataset)
    folders = find_dataset_folders(root) if root.is_dir() else []
    if not folders:
        folders = [root]  # scan_dataset explains what is wrong with it
    described = [describe_dataset(f, args.skip_bad, args.task) for f in folders]
    if args.json:
        for d in described:
            d["statistics"] = d["statistics"].as_dict()
        print(json.dumps(described, indent=2))
        return 0
    for d in described:
        print(f"dataset      {d['folder']}")
        print(f"task         {d['task'] or 'unknown'}   recipe {d['recipe'] or 'unknown'}")
        print(f"images       {'x'.join(map(str, d['image_shape']))} uint8   render profile {d['render_profile']}")
        print(f"actions      {d['action_dim']} dims   action repeat {d['action_repeat'] or 'unknown'}")
        if d["reference_returns"]:
            ref = d["reference_returns"]
            random, expert = (ref.get(k) if ref.get(k) is not None else "unknown" for k in ("random", "expert"))
            print(f"references   random {random}   expert {expert}")
        for skipped in d["skipped"]:
            print(f"skipped      {skipped}")
        print()

    def name(folder: str) -> str:
        path = Path(folder)
        return str(path.relative_to(root)) if path != root else path.name

    print(statistics_table([(name(d["folder"]), d["statistics"]) for d in described]))
    return 0


def cmd_import(args) -> int:
    from lompo.data import statistics_table
    from lompo.data.importers import import_episode_folder, import_lerobot, import_minari

    options = dict(size=args.size, task=args.task, skip_bad=args.skip_bad, progress=_progress(args))
    if args.format == "lerobot":
        result = import_lerobot(args.source, args.out, camera=args.camera, **options)
    elif args.format == "minari":
        result = import_minari(args.source, args.out, root=args.minari_root, camera=args.camera, **options)
    else:
        if args.camera:
            raise LompoError("--camera chooses a LeRobot dataset's video; an episode folder has one per episode")
        result = import_episode_folder(args.source, args.out, **options)
    print(f"imported {result.episodes} episode(s) into {result.folder}")
    for problem in result.skipped:
        print(f"skipped      {problem}")
    described = describe_dataset(result.folder)
    if not described["task"]:
        print("task         none named (--task): training will have no environment to evaluate in")
    print(statistics_table([(result.folder.name, described["statistics"])]))
    return 0


def _print_derived(folder: Path) -> None:
    from lompo.data import statistics_table
    from lompo.data.dataset import read_metadata

    derived = (read_metadata(folder) or {}).get("derived_from", {})
    kept = derived.get("kept") or f"{len(derived.get('episodes', {}))} episodes"
    print(f"wrote {folder}: {kept}")
    described = describe_dataset(folder)
    if not described["task"]:
        print("task         none (the sources' tasks differ; --task names one): training will not evaluate")
    print(statistics_table([(folder.name, described["statistics"])]))


def cmd_subsample(args) -> int:
    from lompo.data.derive import subsample_dataset

    out = subsample_dataset(
        args.dataset, args.out, fraction=args.fraction, seed=args.seed, unit=args.unit, window=args.window,
        complement=args.complement, skip_bad=args.skip_bad,
    )  # fmt: skip
    _print_derived(out)
    return 0


def cmd_merge(args) -> int:
    from lompo.data.derive import merge_datasets

    _print_derived(merge_datasets(args.datasets, args.out, task=args.task, skip_bad=args.skip_bad))
    return 0


def cmd_quickstart(args) -> int:
    """The built-in default job: a random dataset of a cheap task, LOMPO trained on it, the score table."""
    from lompo.collect import collect_random
    from lompo.data import statistics_table
    from lompo.runtime import Run
    from lompo.runtime.trainer import UNINFORMED_R2

    out = Path(args.out)
    total = time.perf_counter()
    print(f"[1/3] collecting {args.episodes} random episodes of {args.task} (64 px, fast render) into {out}")
    start = time.perf_counter()
    (folder,) = collect_random(
        args.task,
        out / "data",
        episodes=args.episodes,
        image_sizes=(64,),
        render_profile="fast",
        seed=args.seed,
        progress=_progress(args),
    )
    described = describe_dataset(folder)
    print(f"      done in {time.perf_counter() - start:.1f} s")
    print(statistics_table([(f"{args.task} random", described["statistics"])]))
    run_dir = out / f"lompo-{args.preset}-s{args.seed}"
    print(f"[2/3] training LOMPO (preset {args.preset}) in {run_dir}")
    start = time.perf_counter()
    if (run_dir / "config.json").exists():
        run = Run(run_dir)
    else:
        run = Run.new(run_dir, "lompo", folder, preset=args.preset, seed=args.seed, overrides=args.set or [])
    result = run.train(progress=_progress(args))
    print(f"      done in {time.perf_counter() - start:.1f} s")
    print(f"[3/3] scores ({result['episodes']} evaluation episodes; score = return / 10, V-D4RL convention)")
    data_mean = described["statistics"].mean
    print("| | return | score |\n|---|---|---|")
    print(f"| dataset (random actions) | {data_mean:.1f} | {data_mean / 10:.1f} |")
    print(f"| LOMPO | {result['return_mean']:.1f} ± {result['return_std']:.1f} | {result['score_vd4rl']:.1f} |")
    if "world_model_reward_r2" in result:
        print(f"world model: reward R² {result['world_model_reward_r2']:.2f} (1 = knows the reward, 0 = its mean)")
    if "world_model_reward_r2_other_actions" in result:
        other = result["world_model_reward_r2_other_actions"]
        shortcut = other < UNINFORMED_R2 <= result["world_model_reward_r2"]
        print(
            f"             {other:.2f} when its frames are filtered with other actions"
            + (" (far lower: it reads the reward from the actions)" if shortcut else "")
        )
    if "model_return_mean" in result:
        print(f"world model's belief: the LOMPO policy earned {result['model_return_mean']:.1f} (real return above)")
    print(
        f"run directory {run_dir} (config.json, metrics.jsonl, eval.jsonl, videos/); "
        f"total {time.perf_counter() - total:.0f} s"
    )
    return 0


def _print_scores(result: dict, label: str) -> None:
    if "evaluation" in result:  # trained without an environment
        losses = {phase: {k: v for k, v in m.items() if "loss" in k} for phase, m in result["last_metrics"].items()}
        print(f"{label}: evaluation {result['evaluation']}; last losses {json.dumps(losses)}")
        return
    d4rl = result.get("score_d4rl")
    print(
        f"{label}: return {result['return_mean']:.1f} ± {result['return_std']:.1f} over {result['episodes']} "
        f"episodes   score (return/10) {result['score_vd4rl']:.1f}"
        + (f"   D4RL-normalized {d4rl:.1f}" if d4rl is not None else "")
        + (f"   model's belief {result['model_return_mean']:.1f}" if "model_return_mean" in result else "")
    )


def cmd_train(args) -> int:
    from lompo.runtime import Run

    if args.resume:
        if args.data or args.out or args.set or args.world_model or args.skip_bad:
            raise LompoError("--resume continues a run with its own config.json; give no other options")
        run = Run(args.resume)
    else:
        if not args.data or not args.out:
            raise LompoError("a new run needs --data DATASET and --out RUN_DIR (or --resume RUN_DIR)")
        run = Run.new(
            args.out,
            args.algo,
            Path(args.data),
            preset=args.preset,
            seed=args.seed,
            overrides=args.set or [],
            world_model=args.world_model,
            skip_bad=args.skip_bad,
        )
    print(
        f"run {run.path}: {run.settings.algo}, preset {run.settings.preset}, seed {run.settings.seed}, "
        f"data {run.settings.data}"
    )
    result = run.train(progress=_progress(args))
    _print_scores(result, "final")
    print(f"wrote {run.final_path}")
    return 0


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def cmd_bench(args) -> int:
    from lompo.bench.results import plot_curves, write_results
    from lompo.bench.sweep import SweepSpec, run_local, run_ray
    from lompo.runtime.evaluate import Condition

    try:
        seeds = [int(s) for s in _csv(args.seeds)]
    except ValueError:
        raise LompoError(f"--seeds must be integers like 0,1,2, got {args.seeds!r}") from None
    conditions = []
    if args.eval_distractions or args.eval_tasks:
        conditions.append(Condition(distraction="none"))
    for text in _csv(args.eval_distractions or ""):
        for split in ("train", "test"):
            conditions.append(Condition(text, split, args.eval_distraction_count, backgrounds=args.backgrounds))
    conditions += [Condition(task=task) for task in _csv(args.eval_tasks or "")]
    spec = SweepSpec(
        _csv(args.algos),
        [str(Path(d).resolve()) for d in _csv(args.data)],
        seeds,
        args.preset,
        args.set or [],
        [c.text() for c in conditions],
    )
    try:
        if args.backend == "ray":
            run_ray(
                spec,
                Path(args.out),
                address=args.address,
                cpus_per_trial=args.cpus_per_trial,
                gpus_per_trial=args.gpus_per_trial,
            )
        else:
            run_local(spec, Path(args.out), workers=args.workers)
    finally:
        if Path(args.out).is_dir():
            rows, table = write_results(Path(args.out))
            if rows:
                plot_curves(Path(args.out), rows)
                print(table)
                print(f"wrote {Path(args.out) / 'results.csv'} and {Path(args.out) / 'table.md'}")
    return 0


def cmd_results(args) -> int:
    from lompo.bench.results import plot_curves, write_results

    rows, table = write_results(Path(args.root))
    if not rows:
        raise LompoError(f"{args.root}: no run directories (config.json) found")
    plot_curves(Path(args.root), rows)
    print(table)
    return 0


def cmd_diagnose(args) -> int:
    from lompo.bench.diagnose import diagnose

    path = diagnose(
        Path(args.run),
        Path(args.data) if args.data else None,
        sequences=args.sequences,
        context=args.context,
        horizon=args.horizon,
        seed=args.seed,
        checkpoint=args.checkpoint,
        policy_episodes=args.policy_episodes,
    )
    result = json.loads(path.read_text())
    print(
        f"{result['algo']} world model ({result['checkpoint']}) on {result['dataset']}, "
        f"{result['one_step']['transitions']} transitions"
    )
    fit = result["fit"]
    print(
        f"reward R² teacher-forced {fit['reward_r2']:.2f} (filtered with another sequence's actions "
        f"{fit['reward_r2_other_actions']:.2f}); one step ahead with the dataset's actions "
        f"{fit['one_step_reward_r2_dataset_actions']:.2f}, with another sequence's "
        f"{fit['one_step_reward_r2_other_actions']:.2f}"
    )
    ensemble = result["open_loop"]["ensemble"]
    print(
        "open-loop latent KL at h = 1, 5, H: "
        + ", ".join(
            f"{ensemble['latent_kl'][h - 1]:.2f}" for h in sorted({1, min(5, result["horizon"]), result["horizon"]})
        )
    )
    print(f"{'penalty':<20}{'rho 1-step':>12}{'rho H-step':>12}")
    for name, entry in result["one_step"]["penalties"].items():
        rho_h = result["h_step"]["penalties"][name]["spearman"]
        print(f"{name:<20}{_fmt(entry['spearman']):>12}{_fmt(rho_h):>12}")
    sensitivity = result["action_sensitivity"]
    print(
        "action sensitivity (std across actions / across states): "
        + ", ".join(f"{name} {_fmt(entry['ratio'])}" for name, entry in sensitivity.items())
    )
    reality = result.get("policy")
    if reality:
        print(
            f"the policy in reality ({reality['episodes']} episodes), reward per step: "
            f"real {reality['real_reward']:.3f}, "
            f"the model's on the same frames {reality['model_reward']:.3f}; H-step rollouts from there "
            f"{reality['imagined_reward']:.3f} (real {reality['real_reward_ahead']:.3f}), penalty u "
            f"{reality['penalty']:.3f} -> penalised {reality['penalized_imagined_reward']:.3f}"
        )
        reference = reality.get("image_mse_dataset")
        print(
            f"decoded frames' pixel error on the policy's frames {reality['image_mse']:.4f}"
            + (f", on the dataset's {reference:.4f}" if reference is not None else "")
        )
    print(f"wrote {path} and its plots")
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def cmd_report(args) -> int:
    from lompo.bench.report import write_report

    path = write_report(Path(args.root), Path(args.out) if args.out else None, videos=not args.no_videos)
    print(f"wrote {path}")
    return 0


def cmd_evaluate(args) -> int:
    from lompo.runtime import Run
    from lompo.runtime.evaluate import Condition

    run = Run(args.run)
    condition = Condition(args.distraction, args.distraction_split, args.distraction_count, args.task, args.backgrounds)
    if args.save:
        path = run.evaluate_condition(condition, episodes=args.episodes, progress=_progress(args))
        result = json.loads(path.read_text())
        print(f"wrote {path}")
    else:
        result = run.evaluate(
            episodes=args.episodes,
            video=args.video,
            progress=_progress(args),
            latent=args.latent,
            distractions=condition.distractions(),
            task=condition.task,
        )
    if result.get("task"):
        print(f"task {result['task']}")
    if result.get("distraction"):
        print(f"distraction {result['distraction']}")
    _print_scores(result, Path(result["checkpoint"]).name)
    if result.get("video"):
        print(f"video {result['video']}")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def cmd_export_data(args) -> int:
    from lompo.data.importers import export_minari

    path = export_minari(args.dataset, args.id, root=args.minari_root)
    print(f"wrote Minari dataset {args.id} in {path} (images lossless)")
    return 0


def cmd_export(args) -> int:
    from lompo.runtime import Run
    from lompo.runtime.export import export_policy

    path = export_policy(Run(args.run), args.out, checkpoint=args.checkpoint, latent=args.latent)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    usage = json.loads(path.with_suffix(".json").read_text())["usage"]
    print(f"load with torch only: {usage}")
    return 0


def cmd_reward(args) -> int:
    from lompo.rewards import ClassifierConfig, apply_classifier, read_labels, train_classifier

    if args.reward_command == "train":
        config = ClassifierConfig(image_size=args.size, steps=args.steps, seed=args.seed)
        frames, labels = read_labels(Path(args.labels), Path(args.data) if args.data else None, args.size)
        report = train_classifier(frames, labels, config, args.out)
        print(
            f"classifier {args.out}: {report['labels']['positive']} positive / {report['labels']['negative']} "
            f"negative labels; validation accuracy {report['validation_accuracy']:.3f} "
            f"on {report['validation_frames']} held-out frames"
        )
    else:
        out = apply_classifier(args.classifier, args.data, args.out, threshold=args.threshold)
        print(f"wrote {out} (rewards from {args.classifier})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from lompo import __version__

    parser = argparse.ArgumentParser(prog="lompo", description="Offline RL from images: LOMPO and V-D4RL.")
    parser.add_argument("--version", action="version", version=f"lompo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "collect", help="build an image dataset for a DMC task, or re-render one with distractions or another camera"
    )
    p.add_argument("--task", default=None, help="e.g. cartpole-swingup, walker-walk")
    p.add_argument(
        "--from", dest="source", default=None, help="re-render this dataset's physics states (--distraction)"
    )
    _add_distraction_options(p, "with --from, render under")
    p.add_argument(
        "--camera",
        type=int,
        default=None,
        help="with --from, render from this camera of the task (e.g. 1: cartpole's lookatcart) instead of the source's",
    )
    p.add_argument(
        "--recipe",
        default="random",
        choices=(*RECIPE_NAMES, "all"),
        help="recipe of the protocol; all but random train (once) a state-based SAC behaviour agent",
    )
    p.add_argument(
        "--protocol",
        choices=("vd4rl", "lompo"),
        default="vd4rl",
        help="vd4rl (default): V-D4RL's recipes and sizes; lompo: the LOMPO paper's (medium_replay, "
        "medium_expert = the replay after the medium checkpoint, expert; medium = half-way to the expert; "
        "sizes door-open 50K, dclaw-screw 180K, adroit-pen 1M, else 100K)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--size",
        type=int,
        help="transitions per dataset (rounded up to whole episodes); default "
        "100000, medium_replay: the task's V-D4RL size (cheetah 200000, humanoid 600000)",
    )
    group.add_argument("--episodes", type=int, help="number of episodes instead of --size")
    p.add_argument("--image-size", type=_sizes, default=(64,), help="one or more sizes, e.g. 64,84")
    p.add_argument("--render", choices=("standard", "fast"), default="standard", help="render profile")
    p.add_argument("--action-repeat", type=int, default=None, help="override the task's action repeat")
    p.add_argument(
        "--episode-length", type=int, default=None, help="simulator steps per episode (default 1000, as in V-D4RL)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the behaviour agent and of the episodes")
    p.add_argument(
        "--sac-frames",
        type=int,
        default=None,
        help="SAC budget in frames (default: the task's, e.g. 1M walker, 300K cartpole-swingup)",
    )
    p.add_argument(
        "--scripted",
        action="store_true",
        help="behaviour from the task's scripted policy with action noise instead of a SAC agent "
        "(door-open; docs/datasets.md)",
    )
    p.add_argument(
        "--expert-noise",
        type=float,
        default=0.1,
        help="with --scripted: the std of the Gaussian noise on the expert's actions (default 0.1)",
    )
    p.add_argument(
        "--medium-threshold",
        type=float,
        default=None,
        help="evaluation return a medium checkpoint must reach consistently (default: 500; "
        "with --protocol lompo half-way from random actions to the expert)",
    )
    p.add_argument(
        "--behaviour",
        action="append",
        metavar="KEY=VALUE",
        help="behaviour-agent setting, e.g. seed_frames=1000 or sac.hidden=64; repeatable",
    )
    p.add_argument(
        "--out", required=True, help="root folder; writes {out}/{task}/{recipe}/{size}px/ (with --from: the folder)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads of the behaviour agent (0: torch's default; use 1 when other jobs run)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("info", help="validate a dataset and print its statistics")
    p.add_argument("dataset", help="a dataset folder, or a folder of datasets")
    p.add_argument("--skip-bad", action="store_true", help="leave out bad files and list them")
    p.add_argument("--task", default=None, help="task of a folder without dataset.json")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "import", help="make a dataset of episodes recorded elsewhere: frames or a video + action files per episode"
    )
    p.add_argument("source", help="one folder (frames or a video, actions.csv|npy|json, ...) or video per episode")
    p.add_argument("--out", required=True, help="new dataset folder")
    p.add_argument("--format", choices=("folder", "lerobot", "minari"), default="folder", help="the source's layout")
    p.add_argument(
        "--camera", default=None, help="lerobot: the video feature; minari: the image key of dict observations"
    )
    p.add_argument("--minari-root", default=None, help="minari: the datasets folder (default: Minari's own)")
    p.add_argument("--size", type=int, default=64, help="image size in pixels (centre square crop, area filter)")
    p.add_argument("--task", default=None, help="the registry task the data comes from, if any")
    p.add_argument("--skip-bad", action="store_true", help="import the good episodes and list the bad ones")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("subsample", help="a random fraction of a dataset's episodes or windows (LOMPO's x5, x25)")
    p.add_argument("dataset")
    p.add_argument("--fraction", type=float, required=True, help="kept share: 0.2 for x5, 0.04 for x25")
    p.add_argument("--seed", type=int, default=0, help="one seed gives nested subsets across fractions")
    p.add_argument("--unit", choices=("episodes", "windows"), default="episodes", help="what is kept whole")
    p.add_argument("--window", type=int, default=50, help="windows: transitions per window")
    p.add_argument("--complement", action="store_true", help="keep exactly what the same command leaves out")
    p.add_argument("--out", required=True, help="new dataset folder")
    p.add_argument("--skip-bad", action="store_true", help="leave out bad files of the source and list them")
    p.set_defaults(func=cmd_subsample)

    p = sub.add_parser("merge", help="one dataset of the episodes of several (mixtures, multitask data)")
    p.add_argument("datasets", nargs="+")
    p.add_argument("--out", required=True, help="new dataset folder")
    p.add_argument("--task", default=None, help="the task to evaluate on when the sources' tasks differ")
    p.add_argument("--skip-bad", action="store_true", help="leave out bad files of the sources and list them")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("train", help="train an algorithm on a dataset (or --resume a run)")
    p.add_argument("--algo", default="lompo", help="lompo, lmbrl, offline_slac, offline_dv2, drqbc, cql or bc")
    p.add_argument("--data", help="dataset folder (e.g. .../cartpole_swingup/random/64px)")
    p.add_argument("--preset", default="cpu", help="paper, cpu or tiny")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="run directory to create")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override any setting; repeatable")
    p.add_argument("--world-model", metavar="RUN", help="start from the trained world model of another run")
    p.add_argument("--skip-bad", action="store_true", help="train on the good episode files, listing the bad ones")
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted run from its latest checkpoint")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate the latest checkpoint of a run")
    p.add_argument("run")
    p.add_argument("--episodes", type=int, default=None, help="default: the run's eval_episodes")
    p.add_argument("--video", action="store_true", help="write a GIF of the first episode")
    p.add_argument(
        "--latent",
        choices=("sample", "mean"),
        default=None,
        help="latent-model policies: sample the posterior state as in training, or use its mean "
        "(default: the run's eval_latent, normally sample)",
    )
    _add_distraction_options(p, "evaluate under (default: the dataset's own)")
    p.add_argument("--task", default=None, help="evaluate in another task, e.g. a held-out variant walker-walk@A")
    p.add_argument("--save", action="store_true", help="keep the result as RUN/evaluations/<condition>.json")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="a trained policy as one TorchScript file (torch only to run)")
    p.add_argument("run")
    p.add_argument("--out", required=True, help="folder for policy.pt and policy.json")
    p.add_argument("--checkpoint", default=None, help="checkpoint name (default: the latest)")
    p.add_argument(
        "--latent", choices=("mean", "sample"), default="mean", help="posterior mean (deterministic) or sample"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-data", help="write a dataset in another format (Minari)")
    p.add_argument("dataset")
    p.add_argument("--format", choices=("minari",), default="minari")
    p.add_argument("--id", required=True, help="the Minari dataset id, e.g. lompo/cartpole-random-v0")
    p.add_argument("--minari-root", default=None, help="the Minari datasets folder (default: Minari's own)")
    p.set_defaults(func=cmd_export_data)

    p = sub.add_parser("reward", help="success-classifier rewards: train on labelled frames, relabel a dataset")
    reward = p.add_subparsers(dest="reward_command", required=True)
    q = reward.add_parser("train", help="train a success classifier on labelled frames")
    q.add_argument("--labels", required=True, help="CSV of episode,step,label (with --data) or a folder with 0/ and 1/")
    q.add_argument("--data", default=None, help="the dataset the CSV's episodes belong to")
    q.add_argument("--out", required=True, help="classifier folder")
    q.add_argument("--size", type=int, default=64, help="image size (the dataset's)")
    q.add_argument("--steps", type=int, default=500)
    q.add_argument("--seed", type=int, default=0)
    q = reward.add_parser("apply", help="write a copy of a dataset whose rewards are the classifier's")
    q.add_argument("classifier")
    q.add_argument("--data", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--threshold", type=float, default=None, help="1/0 rewards at this probability (default: p)")
    p.set_defaults(func=cmd_reward)

    p = sub.add_parser("bench", help="sweep algorithms x datasets x seeds; results.csv, table, curves")
    p.add_argument("--algos", required=True, help="comma-separated, e.g. lompo,bc")
    p.add_argument("--data", required=True, help="comma-separated dataset folders")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--preset", default="cpu")
    p.add_argument(
        "--set",
        action="append",
        metavar="[ALGO:]KEY=VALUE",
        help="override a setting of every run (or of one algorithm's runs); repeatable",
    )
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local processes, or Ray Tune trials (pip install 'lompo[ray]')",
    )
    p.add_argument("--workers", type=int, default=None, help="local: concurrent runs (default: one per 2 cores)")
    p.add_argument("--address", default=None, help="ray: cluster address (default: start a local Ray)")
    p.add_argument("--cpus-per-trial", type=float, default=1, help="ray: CPUs per run (also its torch threads)")
    p.add_argument("--gpus-per-trial", type=float, default=0, help="ray: GPUs per run; fractions share a GPU")
    p.add_argument(
        "--eval-distractions",
        default=None,
        metavar="KIND:SEVERITY[:dynamic],...",
        help="after training, evaluate each run undistracted and under the train and test sets of these",
    )
    p.add_argument("--eval-distraction-count", type=int, default=4, help="distractions per evaluation set")
    p.add_argument("--backgrounds", default=None, help="background distractions: a folder of images/videos")
    p.add_argument("--eval-tasks", default=None, help="after training, evaluate in these tasks too (walker-walk@A,...)")
    p.add_argument("--out", required=True, help="sweep folder; rerun the same command to continue it")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("results", help="results.csv, table and curves of a sweep or run folder")
    p.add_argument("root")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser(
        "diagnose", help="does the ensemble's penalty measure model error? JSON + plots in RUN/diagnostics"
    )
    p.add_argument("run")
    p.add_argument("--data", help="dataset folder to measure on (default: the run's own dataset)")
    p.add_argument("--sequences", type=int, default=32, help="dataset windows to measure on")
    p.add_argument("--context", type=int, default=5, help="frames filtered before the open-loop prediction")
    p.add_argument("--horizon", type=int, default=15, help="open-loop steps (and the H of the H-step error)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", help="a checkpoint folder name under RUN/checkpoints (default: the latest)")
    p.add_argument(
        "--policy-episodes",
        type=int,
        default=2,
        help="episodes the policy plays in the environment, the first of its evaluation (0: none)",
    )
    p.set_defaults(func=cmd_diagnose)

    p = sub.add_parser("report", help="one self-contained HTML page of a sweep or run folder")
    p.add_argument("root")
    p.add_argument("--out", help="default: ROOT/report.html")
    p.add_argument(
        "--no-videos", action="store_true", help="leave out the policy GIFs (most of the page's size on large sweeps)"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("quickstart", help="the built-in default job: random data, LOMPO, scores (minutes on 2 cores)")
    p.add_argument("--task", default="cartpole-swingup")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--preset", default="cpu")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a LOMPO setting")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/quickstart")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_quickstart)
    return parser


class Terminated(BaseException):
    """SIGTERM (what Slurm and Kubernetes send before killing a job), raised where the process is."""


def _on_sigterm(signum, frame):
    raise Terminated


def _how_to_continue(args) -> str:
    """What to run after an interruption: a training run continues from its latest checkpoint."""
    if args.command == "train" and (args.resume or args.out):
        from lompo.runtime import latest_checkpoint

        run = Path(args.resume or args.out)
        latest = latest_checkpoint(run / "checkpoints")
        since = f"from checkpoint {latest.name}" if latest else "from the start (no checkpoint yet)"
        return f"continue {since} with: lompo train --resume {run}"
    return "rerun the same command to continue"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return args.func(args)
    except LompoError as err:
        print(f"lompo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `lompo info | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # disk full, permissions, a file vanished: the system's message, not a traceback
        where = f" ({err.filename})" if err.filename else ""
        print(f"lompo {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lompo {args.command}: interrupted; {_how_to_continue(args)}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"lompo {args.command}: terminated (SIGTERM); {_how_to_continue(args)}", file=sys.stderr)
        return 143
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
