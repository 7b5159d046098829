"""Run settings, named presets and ``key=value`` overrides.

A run is configured by two dataclasses: :class:`RunSettings` (what every
algorithm shares: data, seed, evaluation, checkpoint cadence) and the
algorithm's own config. A preset is a dict of field overrides for both; the
algorithm name may select a *variant* (e.g. ``lmbrl``) whose fields are fixed.
Precedence: dataclass defaults < preset < variant < ``--set`` overrides; a
``--set`` that contradicts the variant is an error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lompo.errors import ConfigError

PRESET_NAMES = ("paper", "cpu", "tiny")


@dataclass
class RunSettings:
    algo: str = "lompo"
    data: str = ""  # dataset folder
    skip_bad: bool = False  # leave out bad episode files (each named in the log) instead of stopping
    seed: int = 0
    preset: str = "cpu"
    device: str = "cpu"
    eval_episodes: int = 10  # E, episodes per evaluation
    eval_every: int = 0  # agent updates between evaluations; 0: only at the end
    # Latent-model policies (LOMPO, Offline DV2): "sample" infers z_t as training does (the authors'
    # codes); "mean" uses the posterior mean. Model-free algorithms have no latent: "sample" only.
    eval_latent: str = "sample"
    checkpoint_every: int = 1000  # steps within a phase between checkpoints (and at every phase end)
    keep_checkpoints: int = 2
    log_every: int = 100
    video: bool = True  # policy video and model-sample strip at the final evaluation
    world_model: str = ""  # run directory whose trained world model this run starts from
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    tensorboard: bool = False  # mirror metrics.jsonl scalars and the model-sample strip into RUN/tb/
    # Datasets without a task (no environment to evaluate in): this share of the episodes is held out of
    # training, and final.json reports the algorithm's losses on them (validation_metrics).
    validation_fraction: float = 0.1

    def validate(self) -> None:
        """Every setting's range, checked once when a run is configured."""
        for name in ("eval_episodes", "checkpoint_every", "keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("seed", "eval_every", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.validation_fraction <= 0.5:
            raise ConfigError(f"validation_fraction must be in [0, 0.5], got {self.validation_fraction}")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ConfigError(f"device must be cpu or cuda[:N], got {self.device!r}")


RUN_PRESETS: dict[str, dict] = {
    "paper": dict(eval_every=10_000, checkpoint_every=5_000, log_every=500),
    "cpu": dict(eval_every=0, checkpoint_every=1_000, log_every=100),
    "tiny": dict(eval_episodes=1, eval_every=4, checkpoint_every=3, log_every=1, video=True),
}


def parse_value(text: str, annotation: Any, name: str) -> Any:
    """Parse ``text`` as the type of a dataclass field."""
    if annotation is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    try:
        if annotation is int:
            return int(float(text)) if "e" in text.lower() else int(text)
        if annotation is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a {annotation.__name__}, got {text!r}") from None
    return text


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"overrides look like key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build_configs(
    algo: str,
    algo_config_cls,
    presets: dict[str, dict],
    variants: dict[str, dict],
    preset: str,
    overrides: dict[str, Any],
    base: dict[str, Any] | None = None,
):
    """Resolve ``(RunSettings, algo config)`` from a preset, the algorithm's variant and overrides.

    ``overrides`` values may be strings (from the command line) or already typed.
    """
    if preset not in PRESET_NAMES:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESET_NAMES)}")
    run_fields, algo_fields = _hints(RunSettings), _hints(algo_config_cls)
    values_run: dict[str, Any] = {**RUN_PRESETS[preset], "algo": algo, "preset": preset, **(base or {})}
    values_algo: dict[str, Any] = {**presets[preset], **variants.get(algo, {})}
    for key, value in overrides.items():
        if key in variants.get(algo, {}) and str(value) != str(variants[algo][key]):
            raise ConfigError(f"{algo} fixes {key}={variants[algo][key]}; use --algo lompo to change {key}")
        if key in run_fields:
            values_run[key] = parse_value(value, run_fields[key], key) if isinstance(value, str) else value
        elif key in algo_fields:
            values_algo[key] = parse_value(value, algo_fields[key], key) if isinstance(value, str) else value
        else:
            known = sorted(set(run_fields) | set(algo_fields))
            raise ConfigError(f"unknown setting {key!r}; known settings: {', '.join(known)}")
    settings, config = RunSettings(**values_run), algo_config_cls(**values_algo)
    settings.validate()
    check_numbers(config)
    return settings, config


def check_numbers(config) -> None:
    """Fields every algorithm shares a rule for: floats finite, step counts not negative (each
    algorithm's ``validate`` checks the rest when it is built)."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{field.name} must be a finite number, got {value}")
        if isinstance(value, int) and not isinstance(value, bool) and field.name.endswith("steps") and value < 0:
            raise ConfigError(f"{field.name} must be >= 0, got {value}")


def configs_to_json(settings: RunSettings, algo_config) -> str:
    return json.dumps({"run": dataclasses.asdict(settings), "algo": dataclasses.asdict(algo_config)}, indent=2)


# Algorithm settings renamed since runs were first written: old name -> new name(s). Run directories
# written under the old names still load (resume, evaluate, results).
RENAMED_SETTINGS: dict[str, tuple[str, ...]] = {
    "agent_updates": ("agent_steps",),  # LOMPO
    "steps": ("agent_steps",),  # DrQ+BC, CQL, BC
    "grad_clip": ("model_grad_clip", "agent_grad_clip"),  # Offline DV2
}


# Settings added after runs were written whose value for those older runs is not the new default: a run
# directory (config.json, checkpoints) without the field behaves as it did when it was made.
ADDED_SETTINGS: dict[str, Any] = {
    "validation_fraction": 0.0,  # older runs on data without a task trained on every episode
    "init": "torch",  # older world models started from PyTorch's layer defaults (LOMPO, Offline DV2)
}


def with_added_settings(values: dict[str, Any], cls: Any = RunSettings) -> dict[str, Any]:
    """``values`` (a section of dataclass ``cls`` read from a file) with :data:`ADDED_SETTINGS` filled in
    where absent."""
    return {**{k: v for k, v in ADDED_SETTINGS.items() if k in cls.__dataclass_fields__}, **values}


def upgrade_algo_fields(values: dict[str, Any], config_cls) -> dict[str, Any]:
    """``values`` with renamed settings under their current names (:data:`RENAMED_SETTINGS`)."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    out = dict(values)
    for old, new_names in RENAMED_SETTINGS.items():
        if old in out and old not in fields and all(n in fields for n in new_names):
            value = out.pop(old)
            for new in new_names:
                out.setdefault(new, value)
    return out


def typed_fields(cls, values: Any, part: str) -> dict[str, Any]:
    """``values`` (a JSON object) checked against the field types of dataclass ``cls``: a hand-edited
    ``config.json`` with ``"seed": "abc"`` is named here, not deep inside training. Ints are accepted
    for floats; ``part`` names the section in messages."""
    if not isinstance(values, dict):
        raise ConfigError(f"section {part!r} must be a JSON object, got {type(values).__name__}")
    hints = _hints(cls)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown} in section {part!r}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        wanted = hints[key]
        options = typing.get_args(wanted) if typing.get_origin(wanted) in (typing.Union, types.UnionType) else (wanted,)
        if value is None and type(None) in options:
            out[key] = value
        elif float in options and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
        elif any(isinstance(value, t) and (t is bool or not isinstance(value, bool)) for t in options):
            out[key] = value
        else:
            names = " or ".join("null" if t is type(None) else t.__name__ for t in options)
            raise ConfigError(f"{part}.{key} must be {names}, got {json.dumps(value)}")
    return out


def configs_from_file(path: Path, algo_config_for) -> tuple[RunSettings, Any]:
    """Read ``config.json``; ``algo_config_for(name)`` gives the algorithm's config class. Types and
    ranges are checked as for a new run, so an edited file is refused with the field named."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist: not a run directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ConfigError(f"{path}: unreadable run config ({err})") from None
    try:
        if not isinstance(raw, dict) or not {"run", "algo"} <= set(raw):
            raise ConfigError('expected a JSON object with sections "run" and "algo"')
        run_values = with_added_settings(raw["run"]) if isinstance(raw["run"], dict) else raw["run"]
        settings = RunSettings(**typed_fields(RunSettings, run_values, "run"))
        config_cls = algo_config_for(settings.algo)
        algo_values = raw["algo"]
        if isinstance(algo_values, dict):
            algo_values = with_added_settings(upgrade_algo_fields(algo_values, config_cls), config_cls)
        config = config_cls(**typed_fields(config_cls, algo_values, "algo"))
        settings.validate()
        check_numbers(config)
        return settings, config
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
