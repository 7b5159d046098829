"""Sweeps: algorithms x datasets x seeds as ordinary training runs, and their results.

Layout::

    SWEEP/sweep.json                         the grid (algorithms, datasets, seeds, preset, overrides)
    SWEEP/<dataset>/<algo>/seed<S>/          one run directory each (config.json, checkpoints, final.json)
    SWEEP/results.csv                        one row per run
    SWEEP/table.md                           mean +- std over seeds per algorithm x dataset
    SWEEP/curves-<dataset>.png               evaluation return against offline epochs, band over seeds

Every run is ``lompo train`` in its own process, so a sweep killed at any moment is continued by
running the same command again: finished runs are skipped, unfinished ones resumed from their
checkpoints. LOMPO's ablations (``lmbrl``, ``offline_slac``) start from the world model of the
``lompo`` run of the same dataset and seed when both are in the grid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lompo.errors import ConfigError, LompoError
from lompo.files import atomic_write_text
from lompo.runtime.evaluate import Condition


@dataclass
class SweepSpec:
    algos: list[str]
    datasets: list[str]
    seeds: list[int]
    preset: str = "cpu"
    overrides: list[str] = field(default_factory=list)  # KEY=VALUE for every run, ALGO:KEY=VALUE for one
    evaluations: list[str] = field(default_factory=list)  # conditions evaluated after training (Condition.text())

    def validate(self) -> None:
        from lompo.runtime.algorithms import registered_algorithms

        known = registered_algorithms()
        for name, values in (("algorithm", self.algos), ("dataset", self.datasets), ("seed", self.seeds)):
            if not values:
                raise ConfigError(f"a sweep needs at least one {name}")
        unknown = [a for a in self.algos if a not in known]
        if unknown:
            raise ConfigError(f"unknown algorithm(s) {unknown}; choose from {', '.join(sorted(known))}")
        for item in self.overrides:
            if "=" not in item:
                raise ConfigError(f"override {item!r} is not KEY=VALUE (or ALGO:KEY=VALUE)")
        for text in self.evaluations:
            Condition.parse(text)

    def overrides_for(self, algo: str) -> list[str]:
        chosen = []
        for item in self.overrides:
            key = item.split("=", 1)[0]
            if ":" in key:
                scope, rest = item.split(":", 1)
                if scope == algo:
                    chosen.append(rest)
            else:
                chosen.append(item)
        return chosen


@dataclass(frozen=True)
class Job:
    algo: str
    data: str
    seed: int
    path: Path
    after: Path | None = None  # a run whose world model this one starts from (and waits for)


DERIVED_KEYS = ("derived_from", "rerendered_from")  # dataset.json of lompo subsample / merge / collect --from


def dataset_label(folder: str) -> str:
    """``task-recipe-SIZEpx`` from ``dataset.json``, else the last three folder names. A dataset made from
    another (subsampled, merged, re-rendered) keeps its source's task and recipe, so its own folder's
    name stands in the recipe's place (``.../random-x5/64px`` -> ``cartpole_swingup-random-x5-64px``)."""
    meta_path = Path(folder) / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text())
        variant = meta["recipe"]
        if any(key in meta for key in DERIVED_KEYS):
            variant = Path(folder).resolve().parent.name if Path(folder).name.endswith("px") else Path(folder).name
        return f"{meta['task'].replace('-', '_')}-{variant}-{meta['image_size']}px"
    except (OSError, ValueError, KeyError, AttributeError):
        return "-".join(Path(folder).resolve().parts[-3:])


def plan(spec: SweepSpec, out: Path) -> list[Job]:
    """Every run of the grid; an algorithm that reuses another's world model (LOMPO's ablations) runs
    after that algorithm's run of the same dataset and seed, when the sweep has it."""
    from lompo.runtime.algorithms import algorithm_spec

    sources = {algo: algorithm_spec(algo).reuses_world_model_of for algo in spec.algos}
    jobs = []
    labels = [dataset_label(d) for d in spec.datasets]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"two datasets of the sweep have the same name: {labels}")
    for data, label in zip(spec.datasets, labels):
        for seed in spec.seeds:
            for algo in spec.algos:
                after = None
                source = sources[algo]
                if source is not None and source in spec.algos:
                    after = out / label / source / f"seed{seed}"
                jobs.append(Job(algo, data, seed, out / label / algo / f"seed{seed}", after))
    return jobs


def job_command(job: Job) -> list[str]:
    """The job's process: ``lompo train --resume`` of its run directory (created by :func:`open_run`)."""
    return [sys.executable, "-m", "lompo.cli", "train", "--resume", str(job.path), "--no-progress"]


def evaluation_commands(job: Job, spec: SweepSpec) -> list[list[str]]:
    """``lompo evaluate --save`` for every condition of the sweep the run has not been evaluated under."""
    commands = []
    for text in spec.evaluations:
        condition = Condition.parse(text)
        if (job.path / "evaluations" / f"{condition.label}.json").is_file():
            continue
        options = [f"--task={condition.task}"] if condition.task else []
        if condition.distraction:
            options += [f"--distraction={condition.distraction}", f"--distraction-split={condition.split}",
                        f"--distraction-count={condition.count}"]  # fmt: skip
        if condition.backgrounds:
            options.append(f"--backgrounds={condition.backgrounds}")
        commands.append([sys.executable, "-m", "lompo.cli", "evaluate", str(job.path), "--save", *options,
                         "--no-progress"])  # fmt: skip
    return commands


def finished(path: Path) -> bool:
    return (path / "final.json").is_file()


def evaluated(path: Path, spec: SweepSpec) -> bool:
    """Trained, and evaluated under every condition of the sweep."""
    return finished(path) and all(
        (path / "evaluations" / f"{Condition.parse(text).label}.json").is_file() for text in spec.evaluations
    )


def write_spec(spec: SweepSpec, out: Path) -> None:
    """Record the grid; a second command on the same folder must ask for the same grid."""
    path = out / "sweep.json"
    text = json.dumps(asdict(spec), indent=2)
    recorded = {"evaluations": [], **json.loads(path.read_text())} if path.exists() else None  # older sweep.json
    if recorded is not None and recorded != json.loads(text):
        raise ConfigError(f"{out} holds another sweep (see {path}); choose a new --out or repeat its command")
    if not path.exists():
        atomic_write_text(path, text + "\n")


def run_local(spec: SweepSpec, out: Path, workers: int | None = None, log=print) -> list[Job]:
    """Run the grid as ``workers`` concurrent processes (default: one per 2 cores)."""
    spec.validate()
    out = Path(out)
    write_spec(spec, out)
    cores = os.cpu_count() or 1
    workers = max(1, workers or cores // 2)
    threads = max(1, cores // workers)
    chosen = [item.split("=", 1)[1] for item in spec.overrides if item.split("=", 1)[0] == "threads"]
    jobs = plan(spec, out)
    pending = [job for job in jobs if not evaluated(job.path, spec)]
    log(
        f"sweep {out}: {len(jobs)} runs, {len(jobs) - len(pending)} already finished; "
        f"{workers} worker(s) x {chosen[-1] if chosen else threads} thread(s)"
    )
    failed: dict[Path, str] = {}
    running: dict = {}
    _stopping.clear()
    with ThreadPoolExecutor(workers) as pool:
        try:
            while pending or running:
                ready = [j for j in pending if j.after is None or finished(j.after) or j.after in failed]
                for job in ready[: workers - len(running)]:
                    pending.remove(job)
                    if job.after is not None and job.after in failed:
                        failed[job.path] = f"its world-model run {job.after} failed"
                        continue
                    try:
                        open_run(job, spec, threads)
                    except LompoError as err:
                        failed[job.path] = str(err)
                        log(f"FAILED {job.path}: {err}")
                        continue
                    log(f"start {job.path}")
                    running[pool.submit(_run_all, [job_command(job), *evaluation_commands(job, spec)], job.path)] = job
                if not running:
                    if pending:  # waiting on runs that can never finish
                        for job in pending:
                            failed[job.path] = f"waits for {job.after}, which is not in this sweep"
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    code, tail = future.result()
                    if code == 0 and evaluated(job.path, spec):
                        log(f"done  {job.path}")
                    else:
                        failed[job.path] = tail
                        log(f"FAILED {job.path} (exit {code}): {tail.strip().splitlines()[-1] if tail.strip() else ''}")
        except BaseException:  # Ctrl-C or SIGTERM: stop the runs too, or they would go on unattended
            _stop_processes()
            raise

    if failed:
        lines = "\n".join(
            f"  {path}: {why.strip().splitlines()[-1] if why.strip() else why}" for path, why in failed.items()
        )
        raise ConfigError(f"{len(failed)} run(s) of the sweep failed (rerun the command to retry them):\n{lines}")
    return jobs


def _run_all(commands: list[list[str]], path: Path) -> tuple[int, str]:
    """Run the commands one after the other while they succeed."""
    code, tail = 0, ""
    for command in commands:
        code, tail = _run(command, path)
        if code != 0:
            break
    return code, tail


_processes: set[subprocess.Popen] = set()  # the runs this sweep is waiting on
_processes_lock = threading.Lock()
_stopping = threading.Event()  # set by Ctrl-C or SIGTERM: no further process starts


def _run(command: list[str], path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.log", "a") as log_file:
        with _processes_lock:
            if _stopping.is_set():
                return 143, "the sweep was stopped"
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.PIPE, text=True)
            _processes.add(process)
        try:
            _, stderr = process.communicate()
        finally:
            with _processes_lock:
                _processes.discard(process)
        log_file.write(stderr)
    return process.returncode, stderr[-2000:]


def _stop_processes() -> None:
    """SIGTERM to every run still going: each stops as ``lompo train`` does on SIGTERM and resumes from its
    latest checkpoint when the sweep is run again."""
    with _processes_lock:
        _stopping.set()
        for process in _processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)


# ---------------------------------------------------------------------------- Ray Tune backend
def open_run(job: Job, spec: SweepSpec, threads: int):
    """The job's run directory: continued if it exists, else created from the sweep's settings."""
    from lompo.runtime import Run

    if (job.path / "config.json").exists():
        return Run(job.path)
    return Run.new(
        job.path,
        job.algo,
        job.data,
        preset=spec.preset,
        seed=job.seed,
        overrides=[f"threads={threads}", *spec.overrides_for(job.algo)],
        world_model=job.after,
    )


def _restore_from_tune(run, checkpoint) -> None:
    """After a worker failure on another machine, the run directory may lack the checkpoint Tune kept:
    copy it in (under its own name) unless the run already holds it or a newer one."""
    import shutil

    from lompo.runtime.checkpoint import latest_checkpoint, verify_checkpoint, write_pointer

    with checkpoint.as_directory() as folder:
        name = json.loads((Path(folder) / "tune.json").read_text())["name"]
        target = run.checkpoints / name
        current = latest_checkpoint(run.checkpoints)
        if current is not None and current.name >= name:
            return
        run.checkpoints.mkdir(parents=True, exist_ok=True)
        staging = run.checkpoints / f".tmp-tune-{name}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder, staging, ignore=shutil.ignore_patterns("tune.json"))
        if verify_checkpoint(staging) is not None:
            shutil.rmtree(staging)
            return
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        write_pointer(run.checkpoints, name)


def _tune_trial(config: dict) -> None:
    """One Tune trial = one training run; reports metrics and the run's checkpoints to Tune."""
    import shutil
    import tempfile

    from ray import tune

    config = config["trial"]
    spec = SweepSpec(**config["spec"])
    job = Job(
        config["algo"],
        config["data"],
        config["seed"],
        Path(config["path"]),
        Path(config["after"]) if config["after"] else None,
    )
    run = open_run(job, spec, config["threads"])
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None and not run.finished:
        _restore_from_tune(run, checkpoint)

    def report(path: Path, metrics: dict) -> None:
        with tempfile.TemporaryDirectory() as folder:
            shutil.copytree(path, Path(folder) / "checkpoint")
            (Path(folder) / "checkpoint" / "tune.json").write_text(json.dumps({"name": path.name}))
            numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
            tune.report(
                {**numbers, "phase": metrics["phase"], "finished": False},
                checkpoint=tune.Checkpoint.from_directory(Path(folder) / "checkpoint"),
            )

    result = run.train(log=lambda *a: None, on_checkpoint=report)
    for text in spec.evaluations:
        run.evaluate_condition(Condition.parse(text))
    tune.report({"finished": True, "score": result.get("score_vd4rl"), "return_mean": result.get("return_mean")})


def run_ray(
    spec: SweepSpec,
    out: Path,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_failures: int = 3,
    log=print,
) -> list[Job]:
    """Run the grid as Ray Tune trials (``pip install lompo[ray]``). Every trial trains one run
    directory under ``out`` (on a cluster, ``out`` must be on storage every node sees); a trial whose
    worker dies is restarted by Tune up to ``max_failures`` times and resumes from its last checkpoint.
    LOMPO's ablations run in a second wave, after the LOMPO runs whose world models they reuse."""
    try:
        import ray
        from ray import tune
    except ImportError:
        raise ConfigError("the Ray backend needs Ray: pip install 'lompo[ray]'") from None
    spec.validate()
    out = Path(out).resolve()
    spec = SweepSpec(
        spec.algos,
        [str(Path(d).resolve()) for d in spec.datasets],
        spec.seeds,
        spec.preset,
        spec.overrides,
        spec.evaluations,
    )
    write_spec(spec, out)
    jobs = plan(spec, out)
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    threads = max(1, int(cpus_per_trial))
    resources = {"cpu": cpus_per_trial, "gpu": gpus_per_trial}
    log(
        f"sweep {out}: {len(jobs)} runs on Ray ({sum(evaluated(j.path, spec) for j in jobs)} already finished); "
        f"{cpus_per_trial} CPU and {gpus_per_trial} GPU per trial"
    )
    failed = []
    for wave_name, wave in (
        ("runs", [j for j in jobs if j.after is None]),
        ("ablations", [j for j in jobs if j.after is not None]),
    ):
        todo = [j for j in wave if not evaluated(j.path, spec) and not (j.after and j.after in failed)]
        failed += [j.path for j in wave if j.after and j.after in failed]
        if not todo:
            continue
        space = [
            {
                "algo": j.algo,
                "data": j.data,
                "seed": j.seed,
                "path": str(j.path),
                "after": str(j.after) if j.after else "",
                "threads": threads,
                "spec": asdict(spec),
            }
            for j in todo
        ]
        tuner = tune.Tuner(
            tune.with_resources(_tune_trial, resources),
            param_space={"trial": tune.grid_search(space)},
            run_config=tune.RunConfig(
                name=f"{wave_name}-{time.strftime('%Y%m%d-%H%M%S')}",
                storage_path=str(out / "ray"),
                failure_config=tune.FailureConfig(max_failures=max_failures),
                verbose=0,
            ),
        )
        results = tuner.fit()
        trials = [results[i] for i in range(len(results))]
        errors = {(r.config or {})["trial"]["path"]: r.error for r in trials}
        for job in todo:
            if errors.get(str(job.path)) is not None or not evaluated(job.path, spec):
                failed.append(job.path)
                log(f"FAILED {job.path}: {errors.get(str(job.path))}")
    if failed:
        raise ConfigError(
            f"{len(failed)} run(s) of the sweep failed (rerun the command to retry them): "
            + ", ".join(map(str, failed))
        )
    return jobs
