"""Shared machinery of every algorithm: configs and presets, run directories, checkpoints,
the training loop with resume, evaluation."""

from lompo.runtime.algorithms import (
    ALGORITHMS,
    Algorithm,
    AlgorithmSpec,
    Policy,
    WorldModelAlgorithm,
    algorithm_spec,
    register_algorithm,
    registered_algorithms,
)
from lompo.runtime.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from lompo.runtime.config import RunSettings, build_configs, parse_overrides
from lompo.runtime.evaluate import evaluate, normalized_scores
from lompo.runtime.trainer import Run

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "AlgorithmSpec",
    "Policy",
    "Run",
    "RunSettings",
    "WorldModelAlgorithm",
    "algorithm_spec",
    "build_configs",
    "evaluate",
    "latest_checkpoint",
    "load_checkpoint",
    "normalized_scores",
    "parse_overrides",
    "register_algorithm",
    "registered_algorithms",
    "save_checkpoint",
]
