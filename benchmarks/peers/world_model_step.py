"""Our world-model training step against NM512/dreamerv3-torch's ``WorldModel._train`` at the
closest sizes: a DreamerV2-size discrete RSSM (deter 200, 32 × 32 classes, heads of 4 × 400 ELU,
conv depth 48) on batches of 16 × 50 frames of 64 px.

    python benchmarks/peers/world_model_step.py --peer PATH/TO/dreamerv3-torch [--precisions fp32,bf16] \
        [--threads 2] [--rounds 3]

Ours is Offline DV2's ``paper`` preset world model (``OfflineDV2.model_step``: sampling a batch from
the store, loss, backward, Adam). The peer is its ``defaults`` config with those sizes, ELU and no
layer norm (DreamerV2), a scalar symlog-MSE reward head, ``compile`` off; its step includes turning
the numpy batch into tensors. Differences that stay: its convs pad ("same", 4 × 4 minimum resolution)
and so cost more FLOPs per image; it trains a continuation head (ours a discount head), it has one
prior where ours has 7 heads (one trained per step). Hence images/s *and* achieved GFLOP/s (FLOPs
counted by torch.utils.flop_counter: matmuls and convolutions) beside the measured matmul peak.
The peer checkout is run in place, never copied; it needs numpy and torch (``torch.utils.tensorboard``
is stubbed when absent: the step does not log).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
from side_by_side import side_by_side_main

BATCH, LENGTH, IMAGE, ACTIONS = 16, 50, 64, 1


def ours_step(precision: str):
    from common import bench_store

    from lompo.algos.offline_dv2 import OfflineDV2, OfflineDV2Config

    algo = OfflineDV2(
        OfflineDV2Config(batch_size=BATCH, sequence_length=LENGTH, precision=precision), bench_store(), seed=0
    )
    return algo.model_step


def peer_config(peer: Path) -> types.SimpleNamespace:
    import yaml

    defaults = yaml.safe_load((peer / "configs.yaml").read_text())["defaults"]

    def number(value):  # PyYAML reads "1e-4" as a string
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value

    config = {k: number(v) for k, v in defaults.items()}
    conv = dict(act="ELU", norm=False, cnn_depth=48)
    config.update(
        dyn_deter=200, dyn_hidden=200, dyn_stoch=32, dyn_discrete=32, units=400, act="ELU", norm=False,
        encoder={**config["encoder"], **conv}, decoder={**config["decoder"], **conv},
        reward_head={**config["reward_head"], "layers": 4, "dist": "symlog_mse"},
        cont_head={**config["cont_head"], "layers": 4}, batch_size=BATCH, batch_length=LENGTH,
        device="cpu", compile=False, precision=32, num_actions=ACTIONS,
    )  # fmt: skip
    return types.SimpleNamespace(**config)


def peer_step(peer: Path):
    if "torch.utils.tensorboard" not in sys.modules:
        try:
            import torch.utils.tensorboard  # noqa: F401
        except ImportError:  # the peer's tools import SummaryWriter at module level; the step never logs
            sys.modules["torch.utils.tensorboard"] = types.SimpleNamespace(SummaryWriter=None)  # type: ignore[assignment]
    sys.path.insert(0, str(peer))
    import models  # the peer's

    config = peer_config(peer)
    spaces = {"image": types.SimpleNamespace(shape=(IMAGE, IMAGE, 3))}
    model = models.WorldModel(types.SimpleNamespace(spaces=spaces), None, 0, config)
    rng = np.random.default_rng(0)
    batch: dict[str, np.ndarray] = {
        "image": rng.integers(0, 256, (BATCH, LENGTH, IMAGE, IMAGE, 3), dtype=np.uint8),
        "action": rng.uniform(-1, 1, (BATCH, LENGTH, ACTIONS)).astype(np.float32),
        "reward": rng.uniform(0, 1, (BATCH, LENGTH, 1)).astype(np.float32),  # the peer keeps a trailing axis
        "discount": np.ones((BATCH, LENGTH), np.float32),
        "is_first": np.zeros((BATCH, LENGTH), bool),
        "is_terminal": np.zeros((BATCH, LENGTH), bool),
    }
    batch["is_first"][:, 0] = True
    return lambda: model._train(batch)


if __name__ == "__main__":
    side_by_side_main(
        __file__,
        "a checkout of github.com/NM512/dreamerv3-torch",
        ours_step,
        peer_step,
        BATCH * LENGTH,
        5,
        "images_per_s",
        "gflop_per_step",
    )
