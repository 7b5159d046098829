"""The training loop every algorithm shares: phases, logging, checkpoints, resume, evaluation.

Run directory::

    RUN/config.json       resolved settings (written once)
    RUN/metrics.jsonl     one line per log step: phase, step, wall time, resident memory, losses
    RUN/eval.jsonl        one line per evaluation
    RUN/checkpoints/      see lompo.runtime.checkpoint; ``latest`` names the newest
    RUN/videos/           policy GIF and model-sample strip (PNG) of the final evaluation
    RUN/final.json        the final evaluation; its presence marks the run finished

An algorithm has ``phases`` (e.g. model -> buffers -> agent), ``phase_length``,
``train_step(phase, step)``, ``policy()``, ``state_dict``/``load_state_dict``.
A checkpoint stores the algorithm state, the phase and step, the RNG states and
the sizes of the two log files, so a resumed run truncates the lines written
after the checkpoint and continues exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lompo.algos.spec import metric_values
from lompo.data.dataset import scan_dataset
from lompo.data.store import EpisodeStore, load_store, verified
from lompo.errors import CheckpointError, ConfigError, DivergenceError, LompoError
from lompo.files import append_jsonl, atomic_write_bytes, exclusive_lock, lock_record, package_versions, read_jsonl
from lompo.runtime.algorithms import Algorithm, AlgorithmSpec, WorldModelAlgorithm, algorithm_spec
from lompo.runtime.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from lompo.runtime.config import (
    RunSettings,
    build_configs,
    configs_from_file,
    configs_to_json,
    parse_overrides,
    with_added_settings,
)
from lompo.runtime.evaluate import (
    Condition,
    check_eval_env,
    dataset_metadata,
    dataset_task,
    evaluate,
    has_task,
    write_png,
)
from lompo.runtime.memory import keep_freed_memory, trim_freed_memory
from lompo.runtime.rng import restore_rng, rng_state, seed_everything

EVAL_SEED = 1_000_000  # evaluation episodes use env seeds EVAL_SEED + i for every run


def check_finite(metrics: dict[str, float], phase: str, step: int, last_checkpoint: Path | None) -> None:
    """A NaN/inf loss or gradient stops the run, naming the step, the phase and the loss."""
    for name, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            kept = f"the last good checkpoint is {last_checkpoint}" if last_checkpoint else "no checkpoint yet"
            raise DivergenceError(
                f"{name} = {value} at step {step} of phase {phase!r}; the run stopped and "
                f"{kept} (lower a learning rate, or resume to retry)"
            )


class FiniteWatch:
    """The NaN/inf guard of the steps whose metrics are not read on the host (between log, evaluation
    and checkpoint steps): each step's tensor metrics are checked where they are, the first bad step and
    its values kept there, and the host reads the verdict only where it reads metrics anyway. So a step
    costs no device-to-host copy, and on a GPU the next step is queued while this one runs; a divergence
    is still reported at its own step, and no checkpoint is written after it (every checkpoint step
    reads the verdict first)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.first_step: torch.Tensor | None = None  # -1 while every watched step was finite
        self.first_values: torch.Tensor | None = None

    def watch(self, metrics: dict, phase: str, step: int, last_checkpoint: Path | None) -> None:
        check_finite(
            {k: v for k, v in metrics.items() if not isinstance(v, torch.Tensor)}, phase, step, last_checkpoint
        )
        names = [k for k, v in metrics.items() if isinstance(v, torch.Tensor)]
        if names != self.names:  # another set of metrics: settle the watch of the earlier one
            self.check(phase, last_checkpoint)
            self.names = names
        if not names:
            return
        values = torch.stack([metrics[k].detach().float().reshape(()) for k in names])
        if self.first_step is None or self.first_values is None:
            self.first_step = torch.full((), -1, dtype=torch.long, device=values.device)
            self.first_values = torch.zeros_like(values)
        first = (~torch.isfinite(values)).any() & (self.first_step < 0)
        self.first_step = torch.where(first, step, self.first_step)
        self.first_values = torch.where(first, values, self.first_values)

    def check(self, phase: str, last_checkpoint: Path | None) -> None:
        """Raise :class:`DivergenceError` for the first non-finite watched step (one host copy)."""
        if self.first_step is None or self.first_values is None:
            return
        first_step, values = int(self.first_step), self.first_values.tolist()
        self.first_step = self.first_values = None
        if first_step >= 0:
            check_finite(dict(zip(self.names, values, strict=True)), phase, first_step, last_checkpoint)


def validation_split(store: EpisodeStore, fraction: float, seed: int) -> tuple[EpisodeStore, EpisodeStore | None]:
    """``(training episodes, held-out episodes)``: ``fraction`` of the episodes (at least one, if there are
    two or more and fraction > 0) drawn with ``seed``, the same on every resume."""
    count = store.num_episodes
    held = min(max(1, round(fraction * count)), count - 1) if fraction > 0 and count >= 2 else 0
    if not held:
        return store, None
    order = np.random.default_rng(seed).permutation(count)
    return store.subset(np.sort(order[held:])), store.subset(np.sort(order[:held]))


def task_defaults(data: Path, preset: str, spec: AlgorithmSpec) -> dict[str, Any]:
    """Settings the dataset's task chooses for a new run of ``spec``: ``proprio`` (robot tasks that have
    proprioception feed it to the models) and the preset's values for this task (``spec.task_presets``)."""
    from lompo.data.dataset import infer_task, read_metadata
    from lompo.envs import get_task

    try:
        name = (read_metadata(data) or {}).get("task") or infer_task(data)
        task = get_task(str(name)) if name else None
    except LompoError:  # unreadable metadata or an unknown task: the run reports it when it opens the data
        task = None
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    defaults: dict[str, Any] = {"proprio": bool(task and task.proprio)} if "proprio" in fields else {}
    if task is not None:
        defaults.update(spec.task_presets.get(preset, {}).get(task.name, {}))
    return defaults


UNINFORMED_R2 = 0.2  # below this reward R², a world model is reported as not having learned the frames


def world_model_record(metrics_path: Path, lines: int = 5) -> dict[str, Any]:
    """``world_model_reward_r2``: the mean ``model/reward_r2`` over the last ``lines`` logged world-model
    steps; ``world_model_reward_r2_other_actions``: the phase-end check of whether the reward is read
    from the frames or from the action history (``reward_fit`` of the algorithm); and
    ``world_model_warning`` when the first is below :data:`UNINFORMED_R2` or, the model having
    learned, the second is. Empty without such lines (a run that started from another run's model)."""
    logged = list(read_jsonl(metrics_path))
    values = [line["model/reward_r2"] for line in logged if "model/reward_r2" in line]
    if not values:
        return {}
    r2 = float(np.mean(values[-lines:]))
    record: dict[str, Any] = {"world_model_reward_r2": round(r2, 4)}
    fits = [line["model/fit_reward_r2_other_actions"] for line in logged if "model/fit_reward_r2_other_actions" in line]
    if fits:
        record["world_model_reward_r2_other_actions"] = round(float(fits[-1]), 4)
    if r2 < UNINFORMED_R2:
        record["world_model_warning"] = (
            f"warning: the world model predicts the reward little better than its mean (reward R² {r2:.2f} "
            "over the last logged steps): its latent state carries little information about the frames, and "
            "a policy trained in it acts on that; train the model longer (model_steps) before trusting returns"
        )
    elif fits and fits[-1] < UNINFORMED_R2:
        record["world_model_warning"] = (
            f"warning: the world model reads the reward from the action history more than from the frames "
            f"(reward R² {r2:.2f}, {fits[-1]:.2f} when the same frames are filtered with other sequences' "
            "actions): a policy trained in it can earn model reward by choosing actions, not states; "
            "check `lompo diagnose` (the policy in reality) before trusting returns"
        )
    return record


NO_TASK = "the dataset names no task (dataset.json has none; import with --task if it came from one)"


def check_parts(checkpoint: Path, state: Any, parts: tuple[str, ...]) -> None:
    """Refuse a checkpoint whose state lacks a part this run reads (a hand-edited ``state.json``)."""
    missing = [part for part in parts if not isinstance(state, dict) or part not in state]
    if missing:
        raise CheckpointError(checkpoint, f"state.json lacks {missing}: edited, or not written by lompo")


@contextlib.contextmanager
def unfitting_contents(checkpoint: Path):
    """Turn what loading a checkpoint's contents raises (a tensor of another shape, a missing key,
    garbage RNG state) into a :class:`CheckpointError` naming the checkpoint."""
    try:
        yield
    except LompoError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as err:
        detail = " ".join(str(err).split())  # load_state_dict lists its mismatches on several lines
        raise CheckpointError(
            checkpoint,
            f"its contents do not fit this run ({type(err).__name__}: {detail[:300]}); it was edited or "
            "written by another version of lompo (resume from an earlier checkpoint or start a new run)",
        ) from None


def metadata_digest(metadata: dict) -> str:
    """SHA-256 of a dataset's ``dataset.json`` content as the run read it (key order aside)."""
    return hashlib.sha256(json.dumps(metadata, sort_keys=True, default=str).encode()).hexdigest()


def nonfinite_entries(tree, path: str = "state"):
    """Paths of floating-point tensors/arrays in a nested state that hold NaN or inf."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from nonfinite_entries(value, f"{path}.{key}")
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from nonfinite_entries(value, f"{path}[{i}]")
    elif _has_nonfinite(tree):
        yield path


def _has_nonfinite(value) -> bool:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return not bool(torch.isfinite(value).all())
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return not bool(np.isfinite(value).all())
    return False


def resident_memory_mib() -> dict[str, float]:
    """Current resident memory of this process in MiB: ``rss_mib`` in all and, on Linux,
    ``rss_anon_mib`` without file-backed pages (the memory-mapped dataset's pages count in RSS
    while touched, but the kernel can drop them; leaks show in the anonymous part)."""
    try:
        fields = {}
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "RssAnon:")):
                    name, value = line.split(":")
                    fields[name] = int(value.split()[0]) / 1024  # kB
        return {"rss_mib": round(fields["VmRSS"], 1), "rss_anon_mib": round(fields["RssAnon"], 1)}
    except (OSError, KeyError, ValueError):
        import resource  # not on Windows; /proc covers Linux

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"rss_mib": round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)}


def _truncate(path: Path, size: int) -> None:
    """Drop log lines written after the checkpoint being resumed."""
    if path.exists() and path.stat().st_size > size:
        with open(path, "r+b") as f:
            f.truncate(size)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


class Run:
    """A run directory and the algorithm trained in it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.metrics_path = self.path / "metrics.jsonl"
        self.eval_path = self.path / "eval.jsonl"
        self.checkpoints = self.path / "checkpoints"
        self.videos = self.path / "videos"
        self.final_path = self.path / "final.json"
        self.evaluations = self.path / "evaluations"  # one JSON per evaluation condition (lompo evaluate --save)
        self.settings, self.config = configs_from_file(self.config_path, lambda n: algorithm_spec(n).config_cls)
        self.spec: AlgorithmSpec = algorithm_spec(self.settings.algo)

    @classmethod
    def new(
        cls,
        path: Path | str,
        algo: str,
        data: Path | str,
        *,
        preset: str = "cpu",
        seed: int = 0,
        overrides: dict[str, Any] | list[str] | None = None,
        world_model: Path | str | None = None,
        skip_bad: bool = False,
    ) -> Run:
        """Create a run directory: ``algo`` at ``preset`` on ``data``, with ``--set`` style ``overrides``
        (``["key=value", ...]`` or a dict). The one way the CLI, sweeps and tests create runs."""
        spec = algorithm_spec(algo)
        if isinstance(overrides, list):
            overrides = parse_overrides(overrides)
        overrides = dict(overrides or {})
        # the task's defaults, written to config.json; explicit settings win
        overrides = {**task_defaults(Path(data), preset, spec), **overrides}
        # absolute paths: `--resume` and `lompo evaluate` work from any directory
        world = str(Path(world_model).resolve()) if world_model else ""
        base = {"data": str(Path(data).resolve()), "seed": seed, "world_model": world, "skip_bad": skip_bad}
        settings, config = build_configs(
            algo, spec.config_cls, spec.presets, spec.variants, preset, overrides or {}, base=base
        )
        return cls.create(path, settings, config)

    @classmethod
    def create(cls, path: Path | str, settings: RunSettings, config) -> Run:
        """Create a run directory from resolved settings (``config.json``); see :meth:`new`."""
        path = Path(path)
        if (path / "config.json").exists():
            raise ConfigError(
                f"{path} already holds a run; continue it with `lompo train --resume {path}` or choose another --out"
            )
        if any((path / "checkpoints").glob("*/manifest.json")):
            raise ConfigError(
                f"{path} holds checkpoints but no config.json: not a run this command can start over; "
                "choose another --out (or move the folder away)"
            )
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path} is a file, not a run directory; choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path / "config.json", lambda f: f.write(configs_to_json(settings, config).encode()))
        return cls(path)

    @property
    def finished(self) -> bool:
        return self.final_path.exists()

    def final(self) -> dict:
        return json.loads(self.final_path.read_text())

    # ------------------------------------------------------------------ building
    def open_store(self, progress: bool = False, log=print) -> EpisodeStore:
        if not self.settings.skip_bad:
            return load_store(self.settings.data, progress=progress)
        index = verified(scan_dataset(self.settings.data, skip_bad=True), skip_bad=True)
        for problem in index.skipped:
            log(f"skipped {problem}")
        return EpisodeStore.from_index(index, progress=progress)

    def build(self, store: EpisodeStore) -> Algorithm:
        algo = self.spec.build(self.config, store, seed=self.settings.seed, device=self.settings.device)
        if not isinstance(algo, Algorithm):
            raise ConfigError(
                f"{self.settings.algo}: {type(algo).__name__} lacks a method of the Algorithm "
                "protocol (lompo.runtime.algorithms)"
            )
        return algo

    def restore(self, algo, store: EpisodeStore) -> dict:
        """Load the latest checkpoint into ``algo``; returns the progress record (phase, step, offsets)."""
        checkpoint = latest_checkpoint(self.checkpoints)
        if checkpoint is None:
            # (.tmp-* folders are writes a crash interrupted; the next save removes them)
            if any(not m.parent.name.startswith(".") for m in self.checkpoints.glob("*/manifest.json")):
                raise CheckpointError(
                    self.checkpoints,
                    "no checkpoint passes its manifest check; refusing to "
                    "start over on top of them (move the folder away first)",
                )
            return {"phase_index": 0, "step": 0, "metrics_bytes": 0, "eval_bytes": 0, "wall_time": 0.0}
        state = load_checkpoint(checkpoint)
        check_parts(checkpoint, state, ("algo", "rng", "progress", "data_fingerprint"))
        if state["data_fingerprint"] != store.directory.name:
            raise CheckpointError(
                checkpoint, f"was trained on other data than {self.settings.data} (the dataset's files changed since)"
            )
        with unfitting_contents(checkpoint):
            self.check_same_config(checkpoint, state)
            algo.load_state_dict(state["algo"])
            restore_rng(state["rng"])
            progress = dict(state["progress"], checkpoint=str(checkpoint))
            for key in ("phase_index", "step", "metrics_bytes", "eval_bytes"):
                if not isinstance(progress[key], int) or progress[key] < 0:
                    raise ValueError(f"progress.{key} is {progress[key]!r}, not a count")
        return progress

    def check_same_config(self, checkpoint: Path, state: dict) -> None:
        """Refuse to resume a checkpoint under another algorithm or other settings than it was trained
        with (an edited config.json): everything but the cadence of logs, checkpoints and evaluations."""
        if state.get("algo_name", self.settings.algo) != self.settings.algo:
            raise CheckpointError(
                checkpoint, f"holds a {state['algo_name']} run; config.json now says {self.settings.algo}"
            )
        saved = state.get("config")
        if saved is None:  # checkpoints written before configs were stored in them
            return
        now = json.loads(configs_to_json(self.settings, self.config))
        free = {
            "eval_every",
            "eval_episodes",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
            "video",
            "threads",
            "tensorboard",
            "device",
            "data",
        }  # the data's content is checked by its fingerprint
        # a field the checkpoint predates had its default then (or its ADDED_SETTINGS value)
        then = {
            "run": {**asdict(RunSettings()), **with_added_settings(saved["run"])},
            "algo": {**asdict(type(self.config)()), **with_added_settings(saved["algo"], type(self.config))},
        }
        differ = [
            f"{part}.{key}: {then[part].get(key)!r} then, {value!r} now"
            for part in ("run", "algo")
            for key, value in now[part].items()
            if key not in free and then[part].get(key) != value
        ]
        if differ:
            raise CheckpointError(
                checkpoint, "was trained with other settings than config.json now holds (" + "; ".join(differ) + ")"
            )

    def save(
        self,
        algo,
        store: EpisodeStore,
        progress: dict,
        phase: str = "",
        step: int = 0,
        last_checkpoint: Path | None = None,
    ) -> Path:
        """Write a checkpoint, unless a weight or optimiser value went NaN/inf (e.g. a NaN gradient
        under a finite loss): then stop without overwriting the last good checkpoint."""
        name = f"{progress['phase_index']}-{progress['step']:09d}"
        algo_state = algo.state_dict()
        bad = next(nonfinite_entries(algo_state), None)
        if bad is not None:
            kept = f"the last good checkpoint is {last_checkpoint}" if last_checkpoint else "no checkpoint yet"
            raise DivergenceError(
                f"{bad} holds NaN/inf at step {step} of phase {phase!r}; the run stopped "
                f"without saving it and {kept} (lower a learning rate, or resume to retry)"
            )
        state = {
            "algo": algo_state,
            "rng": rng_state(),
            "progress": progress,
            "data_fingerprint": store.directory.name,
            "config": json.loads(configs_to_json(self.settings, self.config)),
            "algo_name": self.settings.algo,
        }
        return save_checkpoint(self.checkpoints, name, state, keep=self.settings.keep_checkpoints)

    def start_from_world_model(self, algo, store: EpisodeStore) -> dict:
        """``--world-model RUN``: load another run's trained world model and skip the model phase."""
        source = Run(self.settings.world_model)
        spec = self.spec
        if spec.world_model_phase is None or not isinstance(algo, WorldModelAlgorithm):
            raise ConfigError(f"{self.settings.algo} has no world model to reuse")
        if source.spec.config_cls is not spec.config_cls:
            raise ConfigError(
                f"{source.path} trained {source.settings.algo}, whose world model {self.settings.algo} cannot use"
            )
        differ = [
            f"{f}: {getattr(source.config, f)} there, {getattr(self.config, f)} here"
            for f in spec.world_model_fields
            if getattr(source.config, f) != getattr(self.config, f)
        ]
        if differ:
            raise ConfigError(f"the world model of {source.path} has another shape ({'; '.join(differ)})")
        checkpoint = latest_checkpoint(source.checkpoints)
        if checkpoint is None:
            raise ConfigError(f"{source.path} has no checkpoint yet")
        state = load_checkpoint(checkpoint)
        check_parts(checkpoint, state, ("algo", "progress", "data_fingerprint"))
        if state["data_fingerprint"] != store.directory.name:
            raise ConfigError(f"{source.path} was trained on other data than {self.settings.data}")
        model_index = algo.phases.index(spec.world_model_phase)
        with unfitting_contents(checkpoint):
            if state["progress"]["phase_index"] <= model_index:
                raise ConfigError(
                    f"{source.path} has not finished training its world model yet (latest checkpoint {checkpoint.name})"
                )
            algo.load_world_model_state(state["algo"])
        return {
            "phase_index": model_index + 1,
            "step": 0,
            "metrics_bytes": 0,
            "eval_bytes": 0,
            "wall_time": 0.0,
            "world_model_from": str(checkpoint),
        }

    # ------------------------------------------------------------------ training
    def train(self, progress: bool = False, log=print, on_checkpoint=None) -> dict:
        """Train (or continue) to the end and run the final evaluation; returns ``final.json``'s content.
        ``on_checkpoint(path, metrics)`` is called after every checkpoint (sweeps report through it)."""
        if self.finished:
            log(f"{self.path} is finished; final evaluation in {self.final_path}")
            return self.final()
        with exclusive_lock(self.path / ".lock", f"{self.path} is being trained by another process"):
            return self._train(progress, log, on_checkpoint)

    def _train(self, progress: bool, log, on_checkpoint) -> dict:
        if self.finished:  # finished by the process that held the lock
            return self.final()
        s = self.settings
        if s.threads:
            torch.set_num_threads(s.threads)
        keep_freed_memory()
        seed_everything(s.seed)
        store = self.open_store(progress, log)
        evaluated = has_task(store)
        if evaluated:
            check_eval_env(store)  # evaluation needs the task and its env: fail now, not after hours of training
        else:
            log(f"{NO_TASK}: no evaluation in an environment; final.json holds the last training metrics")
        train_store, held_out = (store, None) if evaluated else validation_split(store, s.validation_fraction, s.seed)
        algo = self.build(train_store)
        self._latent_model(algo, s.eval_latent)  # a wrong eval_latent fails now, not at the first evaluation
        state = self.restore(algo, store)
        if "checkpoint" in state:
            log(f"resuming from {state.pop('checkpoint')}")
        elif s.world_model:
            state = self.start_from_world_model(algo, store)
            log(f"world model from {state['world_model_from']}; skipping its training")
        _truncate(self.metrics_path, state["metrics_bytes"])
        _truncate(self.eval_path, state["eval_bytes"])
        last_checkpoint = latest_checkpoint(self.checkpoints)
        started = time.perf_counter() - state["wall_time"]
        phases = algo.phases
        offsets = dict(zip(phases, np.cumsum([0] + [algo.phase_length(p) for p in phases]).tolist()))
        # events after the checkpoint's step are dropped, as the metrics lines after it are
        resumed_at = offsets[phases[state["phase_index"]]] + state["step"] if state["phase_index"] < len(phases) else 0
        board = self.tensorboard(purge_step=resumed_at + 1 if resumed_at else None)
        for phase_index in range(state["phase_index"], len(phases)):
            phase = phases[phase_index]
            total = algo.phase_length(phase)
            step = state["step"] if phase_index == state["phase_index"] else 0
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, initial=step, desc=f"{s.algo} {phase}", unit="step", leave=False)
            watch = FiniteWatch()
            while step < total:
                step_metrics = algo.train_step(phase, step)
                step += 1
                if bar is not None:
                    bar.update(1)
                logged = step % s.log_every == 0 or step == total
                evaluating = (
                    evaluated and phase == phases[-1] and s.eval_every and step % s.eval_every == 0 and step < total
                )
                saving = step % s.checkpoint_every == 0 or step == total
                if not (logged or evaluating or saving):
                    watch.watch(step_metrics, phase, step, last_checkpoint)  # no device-to-host copy
                    continue
                watch.check(phase, last_checkpoint)
                metrics = metric_values(step_metrics)  # one device-to-host copy
                if phase == self.spec.world_model_phase and step == total and hasattr(algo, "reward_fit"):
                    metrics.update(algo.reward_fit())  # logged with the phase's last line, before its checkpoint
                check_finite(metrics, phase, step, last_checkpoint)
                wall = time.perf_counter() - started
                if logged:
                    line = {
                        "phase": phase,
                        "step": step,
                        "wall_time": round(wall, 3),
                        **resident_memory_mib(),
                        **metrics,
                    }
                    append_jsonl(self.metrics_path, line)
                    if board is not None:  # one step axis across phases: the phase's offset plus its step
                        for key, value in line.items():
                            if key not in ("phase", "step") and isinstance(value, (int, float)):
                                board.add_scalar(key, value, offsets[phase] + step)
                if evaluating:
                    result = evaluate(self.policy(algo), store, s.eval_episodes, EVAL_SEED)
                    append_jsonl(self.eval_path, {"phase": phase, "step": step, "wall_time": round(wall, 3), **result})
                if saving:
                    at_end = step == total
                    record = {
                        "phase_index": phase_index + 1 if at_end else phase_index,
                        "step": 0 if at_end else step,
                        "metrics_bytes": _size(self.metrics_path),
                        "eval_bytes": _size(self.eval_path),
                        "wall_time": time.perf_counter() - started,
                    }
                    last_checkpoint = self.save(algo, store, record, phase, step, last_checkpoint)
                    if on_checkpoint is not None:
                        on_checkpoint(last_checkpoint, {"phase": phase, "step": step, **metrics})
            if bar is not None:
                bar.close()
            trim_freed_memory()  # the next phase allocates differently (lompo.runtime.memory)
            if phase == self.spec.world_model_phase and step == total:
                warning = world_model_record(self.metrics_path).get("world_model_warning")
                if warning:
                    log(warning)
        result = self.final_evaluation(algo, store, time.perf_counter() - started, progress, held_out)
        if board is not None:
            total = offsets[phases[-1]] + algo.phase_length(phases[-1])
            for key in ("return_mean", "score_vd4rl"):
                if isinstance(result.get(key), (int, float)):
                    board.add_scalar(f"final/{key}", result[key], total)
            if result.get("model_strip"):
                import imageio.v3 as iio

                board.add_image("model_strip", iio.imread(result["model_strip"]), total, dataformats="HWC")
            board.close()
        return result

    def tensorboard(self, purge_step: int | None):
        """A TensorBoard writer on ``RUN/tb`` when the ``tensorboard`` setting is on; a resumed run
        purges the events written after its checkpoint (as it truncates metrics.jsonl)."""
        if not self.settings.tensorboard:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "tensorboard=true needs the tensorboard package: pip install 'lompo[tensorboard]'"
            ) from None
        return SummaryWriter(str(self.path / "tb"), purge_step=purge_step)

    def final_evaluation(
        self, algo, store: EpisodeStore, wall_time: float, progress: bool = False, held_out: EpisodeStore | None = None
    ) -> dict:
        s = self.settings
        video = self.videos / "policy.gif" if s.video else None
        task = dataset_task(store) if has_task(store) else None
        if task is not None:
            result = evaluate(self.policy(algo), store, s.eval_episodes, EVAL_SEED, video_path=video, progress=progress)
        else:  # no environment: what the run can say offline is its losses, on training and held-out data
            result = {"evaluation": f"skipped: {NO_TASK}", "episodes": 0, "last_metrics": self.last_metrics()}
            if held_out is not None and hasattr(algo, "validation_metrics"):
                result["validation"] = metric_values(algo.validation_metrics(held_out))
                result["validation_episodes"] = held_out.num_episodes
        if isinstance(algo, WorldModelAlgorithm):
            result.update(world_model_record(self.metrics_path))
        if s.video and isinstance(algo, WorldModelAlgorithm):
            strip_path = self.videos / "model_strip.png"
            write_png(strip_path, algo.model_strip(seed=s.seed))
            result["model_strip"] = str(strip_path)
        # What the run trained on, as it was then: a rebuilt dataset at the same path (another behaviour
        # agent, another mean return) must not relabel this result (lompo.bench.results reads these).
        result.update(
            algo=s.algo,
            seed=s.seed,
            data=s.data,
            data_fingerprint=store.directory.name,
            data_statistics=dataset_metadata(store).get("statistics"),
            data_task=task,
            data_metadata_sha256=metadata_digest(dataset_metadata(store)),
            wall_time=round(wall_time, 2),
            steps={p: algo.phase_length(p) for p in algo.phases},
            versions=package_versions(),
            lock=lock_record(),
        )
        append_jsonl(self.eval_path, {"phase": "final", **result})
        atomic_write_bytes(self.final_path, lambda f: f.write(json.dumps(result, indent=2).encode()))
        return result

    def last_metrics(self) -> dict[str, dict]:
        """The last ``metrics.jsonl`` line of every phase (losses, penalties, rollout statistics)."""
        last: dict[str, dict] = {}
        for line in read_jsonl(self.metrics_path):
            last[line["phase"]] = {k: v for k, v in line.items() if k != "phase"}
        return last

    def trained_algorithm(self, store: EpisodeStore, checkpoint: str | None = None):
        """``(algorithm, checkpoint path)``: the run's algorithm with its latest checkpoint (or the one
        named ``checkpoint``) loaded."""
        algo = self.build(store)
        if checkpoint is None:
            path = latest_checkpoint(self.checkpoints)
            if path is None:
                raise CheckpointError(self.checkpoints, "no complete checkpoint to load")
        else:
            path = self.checkpoints / checkpoint
            if not (path / "manifest.json").is_file():
                kept = sorted(p.parent.name for p in self.checkpoints.glob("*/manifest.json"))
                raise CheckpointError(path, f"no such checkpoint; this run keeps {', '.join(kept) or 'none'}")
        state = load_checkpoint(path)
        check_parts(path, state, ("algo",))
        with unfitting_contents(path):
            algo.load_state_dict(state["algo"])
        return algo, path

    def policy(self, algo, latent: str | None = None):
        """The policy to evaluate; latent-model algorithms infer their latent as ``latent`` says
        (default: the run's ``eval_latent``)."""
        latent = latent or self.settings.eval_latent
        return algo.policy(latent) if self._latent_model(algo, latent) else algo.policy()

    def _latent_model(self, algo, latent: str) -> bool:
        """Whether ``algo`` infers a latent; raises when ``latent`` is no inference it can do."""
        if latent not in ("sample", "mean"):
            raise ConfigError(f"eval_latent must be sample or mean, got {latent!r}")
        has_latent = isinstance(algo, WorldModelAlgorithm)
        if not has_latent and latent != "sample":
            raise ConfigError(f"{self.settings.algo} has no latent model; eval_latent={latent} does not apply")
        return has_latent

    def evaluate(
        self,
        episodes: int | None = None,
        video: bool = False,
        progress: bool = False,
        latent: str | None = None,
        distractions: list | None = None,
        task: str | None = None,
    ) -> dict:
        """``lompo evaluate RUN``: the latest checkpoint's policy, E episodes; returned, not appended to eval.jsonl.
        ``latent`` overrides the run's ``eval_latent`` for latent-model policies; ``distractions`` the
        dataset's own (``[]``: none); ``task`` evaluates in another task (a held-out body variant)."""
        store = self.open_store()
        algo, checkpoint = self.trained_algorithm(store)
        video_path = self.videos / f"evaluate-{checkpoint.name}.gif" if video else None
        result = evaluate(
            self.policy(algo, latent),
            store,
            episodes or self.settings.eval_episodes,
            EVAL_SEED,
            video_path=video_path,
            progress=progress,
            distractions=distractions,
            task=task,
        )
        return {"checkpoint": str(checkpoint), "latent": latent or self.settings.eval_latent, **result}

    def evaluate_condition(self, condition: Condition, episodes: int | None = None, progress: bool = False) -> Path:
        """Evaluate under ``condition`` and keep the result as ``evaluations/<label>.json``."""
        result = self.evaluate(
            episodes=episodes, progress=progress, distractions=condition.distractions(), task=condition.task
        )
        self.evaluations.mkdir(exist_ok=True)
        path = self.evaluations / f"{condition.label}.json"
        text = json.dumps({"condition": condition.text(), **result}, indent=2) + "\n"
        atomic_write_bytes(path, lambda f: f.write(text.encode()))
        return path
