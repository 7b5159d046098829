"""The algorithms the runtime can train, by name (``--algo``), and the contract they follow.

Each name maps to the module that declares it (``algorithm_spec(name)``, :mod:`lompo.algos.spec`).
Adding an algorithm is one module plus one line in :data:`ALGORITHMS`; code outside the package
registers its own with :func:`register_algorithm` (inherited by the processes a sweep starts) or an
entry point in the group ``lompo.algorithms`` (``name = "package.module"``).
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import numpy as np

from lompo.algos.spec import AlgorithmSpec, Metrics
from lompo.errors import ConfigError

ALGORITHMS: dict[str, str] = {
    "lompo": "lompo.algos.lompo",
    "lmbrl": "lompo.algos.lompo",
    "offline_slac": "lompo.algos.lompo",
    "offline_dv2": "lompo.algos.offline_dv2",
    "drqbc": "lompo.algos.drq",
    "cql": "lompo.algos.drq",
    "bc": "lompo.algos.drq",
}
REGISTRY_ENV = "LOMPO_ALGORITHMS"  # "name=package.module,..." registered outside the package
ENTRY_POINT_GROUP = "lompo.algorithms"


class Policy(Protocol):
    """What evaluation runs: reset at each episode start, then one action per observation."""

    def reset(self) -> None: ...

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray: ...


@runtime_checkable
class ModelPolicy(Policy, Protocol):
    """A policy acting through a world model's latent state: :meth:`observe` takes the episode's last
    frame (which :meth:`act` never sees) and ``model_return`` is the return the model believes the
    episode earned (its reward head along the real frames)."""

    model_return: float

    def observe(self, obs: np.ndarray) -> None: ...


@runtime_checkable
class Algorithm(Protocol):
    """What :class:`~lompo.runtime.trainer.Run` trains, checkpoints and evaluates. Training is a
    sequence of ``phases``, each ``phase_length(phase)`` calls of ``train_step``; ``state_dict`` holds
    everything an exact resume needs (weights, optimisers, sampler RNG states, buffers)."""

    phases: tuple[str, ...]

    def phase_length(self, phase: str) -> int: ...

    def train_step(self, phase: str, step: int) -> Metrics: ...

    def policy(self) -> Policy: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


@runtime_checkable
class WorldModelAlgorithm(Algorithm, Protocol):
    """The extension for algorithms with a latent world model (LOMPO, Offline DV2): the policy infers
    its latent as ``latent`` says (``sample`` or ``mean``), another run may start from the trained world
    model, and the final evaluation writes a model sample strip."""

    def policy(self, latent: str = "sample") -> Policy: ...

    def load_world_model_state(self, state: dict) -> None: ...

    def model_strip(self, context: int = 5, length: int | None = None, seed: int = 0) -> np.ndarray: ...


def register_algorithm(name: str, module: str) -> None:
    """Make ``--algo name`` build from ``module`` (which defines ``algorithm_spec(name)``); processes
    started from this one (a local sweep's runs) see the registration too."""
    ALGORITHMS[name] = module
    extra = dict(_env_registrations())
    extra[name] = module
    os.environ[REGISTRY_ENV] = ",".join(f"{n}={m}" for n, m in extra.items())


def _env_registrations() -> list[tuple[str, str]]:
    pairs = []
    for item in os.environ.get(REGISTRY_ENV, "").split(","):
        name, sep, module = item.partition("=")
        if sep and name.strip() and module.strip():
            pairs.append((name.strip(), module.strip()))
    return pairs


def registered_algorithms() -> dict[str, str]:
    """Every algorithm name and its module: the package's, entry points', then ``LOMPO_ALGORITHMS``."""
    names = dict(ALGORITHMS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(point.name, point.value)
    names.update(_env_registrations())
    return names


def algorithm_spec(name: str) -> AlgorithmSpec:
    names = registered_algorithms()
    if name not in names:
        raise ConfigError(f"unknown algorithm {name!r}; choose one of {', '.join(sorted(names))}")
    try:
        module = importlib.import_module(names[name])
    except ImportError as err:
        raise ConfigError(
            f"algorithm {name!r} is registered as module {names[name]!r}, which does not import ({err})"
        ) from None
    spec = module.algorithm_spec(name)
    if not isinstance(spec, AlgorithmSpec):
        raise ConfigError(f"{names[name]}.algorithm_spec({name!r}) must return an AlgorithmSpec")
    return spec
