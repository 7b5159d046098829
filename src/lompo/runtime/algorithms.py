"""The algorithms the runtime can train, by name (``--algo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lompo.errors import ConfigError


@dataclass(frozen=True)
class AlgorithmSpec:
    """How to configure and build one algorithm (or one variant of it)."""

    name: str
    config_cls: type
    presets: dict[str, dict]
    variants: dict[str, dict]
    build: Callable[..., Any]  # build(config, store, seed, device) -> algorithm
    world_model_fields: tuple[str, ...] = ()  # fields two runs must share to reuse a world model
    world_model_phase: str | None = None  # the phase that trains the world model


def _lompo(name: str) -> AlgorithmSpec:
    from lompo.algos import lompo

    return AlgorithmSpec(name, lompo.LompoConfig, lompo.PRESETS, lompo.VARIANTS, lompo.Lompo,
                         lompo.WORLD_MODEL_FIELDS, "model")


def _offline_dv2(name: str) -> AlgorithmSpec:
    from lompo.algos import offline_dv2

    return AlgorithmSpec(name, offline_dv2.OfflineDV2Config, offline_dv2.PRESETS, offline_dv2.VARIANTS,
                         offline_dv2.OfflineDV2, offline_dv2.WORLD_MODEL_FIELDS, "model")


def _drq(name: str) -> AlgorithmSpec:
    from lompo.algos import drq

    return AlgorithmSpec(name, drq.DrQConfig, drq.PRESETS, drq.VARIANTS, drq.DrQAgent)


ALGORITHMS: dict[str, Callable[[str], AlgorithmSpec]] = {
    "lompo": _lompo,
    "lmbrl": _lompo,
    "offline_slac": _lompo,
    "offline_dv2": _offline_dv2,
    "drqbc": _drq,
    "cql": _drq,
    "bc": _drq,
}


def algorithm_spec(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {name!r}; choose one of {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name](name)
