import hashlib
from pathlib import Path

import numpy as np
import pytest


def make_episode(num_transitions: int = 10, size: int = 8, action_dim: int = 2, seed: int = 0,
                 episode_id: int = 0, terminal: bool = False) -> dict[str, np.ndarray]:
    """A small valid episode in the V-D4RL convention; ``step`` and ``episode_id`` keys help tests."""
    rng = np.random.default_rng(seed)
    n = num_transitions + 1
    action = rng.uniform(-1, 1, (n, action_dim)).astype(np.float32)
    action[0] = 0
    reward = rng.uniform(0, 1, n).astype(np.float32)
    reward[0] = 0
    discount = np.ones(n, np.float32)
    if terminal:
        discount[-1] = 0
    return {
        "image": rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
        "action": action,
        "reward": reward,
        "discount": discount,
        "is_first": np.arange(n) == 0,
        "is_last": np.arange(n) == n - 1,
        "is_terminal": (np.arange(n) == n - 1) & terminal,
        "step": np.arange(n, dtype=np.int64),
        "episode_id": np.full(n, episode_id, np.int64),
    }


def file_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test packs stores into its own cache folder."""
    monkeypatch.setenv("LOMPO_CACHE", str(tmp_path / "cache"))
