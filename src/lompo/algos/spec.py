"""How an algorithm module declares itself to the runtime (docs/design.md, "Adding an algorithm").

An algorithm module defines ``algorithm_spec(name) -> AlgorithmSpec`` for each name it answers to
(variants such as ``lmbrl`` share LOMPO's module), and one line in
:data:`lompo.runtime.algorithms.ALGORITHMS` (or :func:`~lompo.runtime.algorithms.register_algorithm`)
maps the name to the module. The object ``build`` returns follows
:class:`lompo.runtime.algorithms.Algorithm`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lompo.errors import ConfigError

# What a training step reports: numbers, or 0-dim tensors left on the device so that a step costs
# one device-to-host copy at most (metric_values) instead of one per metric.
Metrics = dict[str, Any]


def metric_values(metrics: Metrics) -> dict[str, float]:
    """The metrics as Python numbers; every tensor crosses to the host in one stacked copy."""
    import torch

    names = [k for k, v in metrics.items() if isinstance(v, torch.Tensor)]
    values = dict(metrics)
    if names:
        stacked = torch.stack([metrics[k].detach().float().reshape(()) for k in names]).tolist()
        values.update(zip(names, stacked, strict=True))
    return values


@dataclass(frozen=True)
class AlgorithmSpec:
    """How to configure and build one algorithm (or one variant of it)."""

    name: str
    config_cls: type  # a dataclass of the algorithm's settings
    presets: dict[str, dict]  # preset name ("paper", "cpu", "tiny") -> field overrides
    variants: dict[str, dict]  # algorithm name -> fields it fixes (e.g. lmbrl: penalty_scale = 0)
    build: Callable[..., Any]  # build(config, store, seed=..., device=...) -> algorithm
    world_model_fields: tuple[str, ...] = ()  # fields two runs must share to reuse a world model
    world_model_phase: str | None = None  # the phase that trains the world model
    # A sweep runs this algorithm after the named algorithm's run of the same seed and dataset and
    # starts from that run's world model (LOMPO's ablations differ from LOMPO only after its model phase).
    reuses_world_model_of: str | None = None
    # Preset values that differ for one task: preset -> task name -> field overrides (LOMPO's ``paper``
    # preset gives the Adroit pen a 512-unit RSSM); a new run's explicit settings win.
    task_presets: dict[str, dict[str, dict]] = field(default_factory=dict)


def check_positive(config: Any, names: str) -> None:
    """Raise :class:`ConfigError` naming the first of the space-separated settings ``names`` below 1."""
    for name in names.split():
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(config, name)}")


def check_choice(config: Any, name: str, choices: Any) -> None:
    """Raise :class:`ConfigError` unless setting ``name`` is one of ``choices`` (named in the message)."""
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(sorted(choices))}, got {value!r}")
