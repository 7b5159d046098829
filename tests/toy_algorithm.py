"""A toy algorithm outside the package: uniform random actions. Registered by
tests/test_algorithm_registry.py to show what adding an algorithm takes (this file plus one line)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lompo.algos.spec import AlgorithmSpec


@dataclass
class RandomPolicyConfig:
    steps: int = 4  # "training" steps: each draws one action, so the checkpointed RNG state moves


class UniformPolicy:
    def __init__(self, action_dim: int, rng: np.random.Generator):
        self.action_dim, self.rng = action_dim, rng

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, self.action_dim).astype(np.float32)


class RandomPolicy:
    phases = ("agent",)

    def __init__(self, config: RandomPolicyConfig, store, seed: int = 0, device: str = "cpu"):
        self.config, self.action_dim = config, store.action_dim
        self.rng = np.random.default_rng(seed)

    def phase_length(self, phase: str) -> int:
        return self.config.steps

    def train_step(self, phase: str, step: int) -> dict[str, float]:
        return {"agent/action_mean": float(self.rng.uniform(-1.0, 1.0, self.action_dim).mean())}

    def policy(self) -> UniformPolicy:
        return UniformPolicy(self.action_dim, np.random.default_rng(0))

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


def algorithm_spec(name: str) -> AlgorithmSpec:
    presets = {"paper": {}, "cpu": {}, "tiny": {"steps": 4}}
    return AlgorithmSpec(name, RandomPolicyConfig, presets, {name: {}}, RandomPolicy)
