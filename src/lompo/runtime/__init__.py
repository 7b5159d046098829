"""Shared machinery of every algorithm: configs and presets, run directories, checkpoints,
the training loop with resume, evaluation."""

from lompo.runtime.algorithms import ALGORITHMS, AlgorithmSpec, algorithm_spec
from lompo.runtime.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from lompo.runtime.config import RunSettings, build_configs, parse_overrides
from lompo.runtime.evaluate import Policy, evaluate, normalized_scores
from lompo.runtime.trainer import Run

__all__ = ["ALGORITHMS", "AlgorithmSpec", "algorithm_spec", "latest_checkpoint", "load_checkpoint",
           "save_checkpoint", "RunSettings", "build_configs", "parse_overrides", "Policy", "evaluate",
           "normalized_scores", "Run"]
