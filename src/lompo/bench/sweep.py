"""Sweeps: algorithms x datasets x seeds as ordinary training runs, and their results.

Layout (DESIGN.md 9)::

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
import subprocess
import sys
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lompo.errors import ConfigError

SHARES_LOMPO_MODEL = ("lmbrl", "offline_slac")


@dataclass
class SweepSpec:
    algos: list[str]
    datasets: list[str]
    seeds: list[int]
    preset: str = "cpu"
    overrides: list[str] = field(default_factory=list)  # KEY=VALUE for every run, ALGO:KEY=VALUE for one

    def validate(self) -> None:
        from lompo.runtime.algorithms import ALGORITHMS

        for name, values in (("algorithm", self.algos), ("dataset", self.datasets), ("seed", self.seeds)):
            if not values:
                raise ConfigError(f"a sweep needs at least one {name}")
        unknown = [a for a in self.algos if a not in ALGORITHMS]
        if unknown:
            raise ConfigError(f"unknown algorithm(s) {unknown}; choose from {', '.join(sorted(ALGORITHMS))}")
        for item in self.overrides:
            if "=" not in item:
                raise ConfigError(f"override {item!r} is not KEY=VALUE (or ALGO:KEY=VALUE)")

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


def dataset_label(folder: str) -> str:
    """``task-recipe-SIZEpx`` from ``dataset.json``, else the last three folder names."""
    meta_path = Path(folder) / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text())
        return f"{meta['task'].replace('-', '_')}-{meta['recipe']}-{meta['image_size']}px"
    except (OSError, ValueError, KeyError, AttributeError):
        return "-".join(Path(folder).resolve().parts[-3:])


def plan(spec: SweepSpec, out: Path) -> list[Job]:
    """Every run of the grid, ablations after the LOMPO run whose world model they reuse."""
    jobs = []
    labels = [dataset_label(d) for d in spec.datasets]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"two datasets of the sweep have the same name: {labels}")
    for data, label in zip(spec.datasets, labels):
        for seed in spec.seeds:
            for algo in spec.algos:
                after = None
                if algo in SHARES_LOMPO_MODEL and "lompo" in spec.algos:
                    after = out / label / "lompo" / f"seed{seed}"
                jobs.append(Job(algo, data, seed, out / label / algo / f"seed{seed}", after))
    return jobs


def job_command(job: Job, spec: SweepSpec, threads: int) -> list[str]:
    cli = [sys.executable, "-m", "lompo.cli", "train"]
    if (job.path / "config.json").exists():
        return [*cli, "--resume", str(job.path), "--no-progress"]
    command = [*cli, "--algo", job.algo, "--data", job.data, "--seed", str(job.seed), "--preset", spec.preset,
               "--out", str(job.path), "--no-progress", "--set", f"threads={threads}"]
    for item in spec.overrides_for(job.algo):
        command += ["--set", item]
    if job.after is not None:
        command += ["--world-model", str(job.after)]
    return command


def finished(path: Path) -> bool:
    return (path / "final.json").is_file()


def write_spec(spec: SweepSpec, out: Path) -> None:
    """Record the grid; a second command on the same folder must ask for the same grid."""
    path = out / "sweep.json"
    text = json.dumps(asdict(spec), indent=2)
    if path.exists() and json.loads(path.read_text()) != json.loads(text):
        raise ConfigError(f"{out} holds another sweep (see {path}); choose a new --out or repeat its command")
    out.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text + "\n")


def run_local(spec: SweepSpec, out: Path, workers: int | None = None, log=print) -> list[Job]:
    """Run the grid as ``workers`` concurrent processes (default: one per 2 cores)."""
    spec.validate()
    out = Path(out)
    write_spec(spec, out)
    cores = os.cpu_count() or 1
    workers = max(1, workers or cores // 2)
    threads = max(1, cores // workers)
    jobs = plan(spec, out)
    pending = [job for job in jobs if not finished(job.path)]
    log(f"sweep {out}: {len(jobs)} runs, {len(jobs) - len(pending)} already finished; "
        f"{workers} worker(s) x {threads} thread(s)")
    failed: dict[Path, str] = {}
    running: dict = {}
    with ThreadPoolExecutor(workers) as pool:
        while pending or running:
            ready = [j for j in pending if j.after is None or finished(j.after) or j.after in failed]
            for job in ready[: workers - len(running)]:
                pending.remove(job)
                if job.after is not None and job.after in failed:
                    failed[job.path] = f"its world-model run {job.after} failed"
                    continue
                log(f"start {job.path}")
                running[pool.submit(_run, job_command(job, spec, threads), job.path)] = job
            if not running:
                if pending:  # waiting on runs that can never finish
                    for job in pending:
                        failed[job.path] = f"waits for {job.after}, which is not in this sweep"
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                code, tail = future.result()
                if code == 0 and finished(job.path):
                    log(f"done  {job.path}")
                else:
                    failed[job.path] = tail
                    log(f"FAILED {job.path} (exit {code}): {tail.strip().splitlines()[-1] if tail.strip() else ''}")
    if failed:
        lines = "\n".join(f"  {path}: {why.strip().splitlines()[-1] if why.strip() else why}"
                          for path, why in failed.items())
        raise ConfigError(f"{len(failed)} run(s) of the sweep failed (rerun the command to retry them):\n{lines}")
    return jobs


def _run(command: list[str], path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.log", "a") as log_file:
        process = subprocess.run(command, stdout=log_file, stderr=subprocess.PIPE, text=True)
        log_file.write(process.stderr)
    return process.returncode, process.stderr[-2000:]
