"""Our DrQ+BC gradient update against conglu1997/v-d4rl's ``drqbc`` agent at V-D4RL's sizes: 84 px,
3 stacked frames, batch 256, actor/critic MLPs of 1024 units, feature 50, random shifts (pad 4).

    python benchmarks/peers/drqbc_update.py --peer PATH/TO/v-d4rl [--precisions fp32,bf16] [--threads 2] [--rounds 3]

Ours is ``DrQ.train_step`` with ``objective=drqbc`` on random cartpole-swingup frames (sampling from
the store and augmenting included). The peer is ``DrQV2Agent.update(offline=True)``, fed by an
iterator that hands it the same preallocated numpy batch (the cheapest possible loader, so its
sampling cost is not counted). Both count FLOPs with torch.utils.flop_counter. The peer checkout
runs in place; its module imports need dm_control and h5py (ours has both), ``hydra`` is stubbed
when absent (the agent does not use it) and its ``dmc`` module is stubbed (only environments use it).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
from side_by_side import side_by_side_main

BATCH, IMAGE, FRAMES, HIDDEN, ACTIONS = 256, 84, 3, 1024, 1


def ours_update(precision: str):
    from common import bench_store

    from lompo.algos.drq import DrQ, DrQConfig

    agent = DrQ(
        DrQConfig(objective="drqbc", batch_size=BATCH, hidden=HIDDEN, precision=precision),
        bench_store(image_size=IMAGE),
        seed=0,
    )
    step = [0]

    def update():
        agent.train_step("agent", step[0])
        step[0] += 1

    return update


def peer_update(peer: Path):
    for name in ("hydra", "dmc"):  # imported at module level by the peer's agent/utils, unused by an update
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    sys.path[:0] = [str(peer / "drqbc"), str(peer)]
    import drqv2  # the peer's

    agent = drqv2.DrQV2Agent(
        obs_shape=(3 * FRAMES, IMAGE, IMAGE), action_shape=(ACTIONS,), device="cpu", lr=1e-4, feature_dim=50,
        hidden_dim=HIDDEN, critic_target_tau=0.01, num_expl_steps=0, update_every_steps=1,
        stddev_schedule="linear(1.0,0.1,500000)", stddev_clip=0.3, use_tb=False, offline=True, bc_weight=2.5,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, (BATCH, 3 * FRAMES, IMAGE, IMAGE), dtype=np.uint8)
    batch = (
        obs,
        rng.uniform(-1, 1, (BATCH, ACTIONS)).astype(np.float32),
        rng.uniform(0, 1, (BATCH, 1)).astype(np.float32),
        np.full((BATCH, 1), 0.99**3, np.float32),
        obs.copy(),
    )

    def batches():
        while True:
            yield batch

    replay = batches()
    step = [0]

    def update():
        agent.update(replay, step[0])
        step[0] += 1

    return update


if __name__ == "__main__":
    side_by_side_main(
        __file__,
        "a checkout of github.com/conglu1997/v-d4rl",
        ours_update,
        peer_update,
        1,
        10,
        "updates_per_s",
        "gflop_per_update",
    )
