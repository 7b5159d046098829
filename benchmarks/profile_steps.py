"""Where a training step's time goes: torch.profiler tables (by operator, and by module via record
functions around the world model's parts) for LOMPO's world-model step and agent update, Offline
DV2's world-model step and DrQ+BC's update, at the cpu preset.

    python benchmarks/profile_steps.py [--steps 5] [--threads 1] [--top 12]

Same data as bench_lompo.py (random cartpole-swingup, 64 px; DrQ+BC on it too). Tables go to
BENCHMARKS.md by hand, with the machine.
"""

from __future__ import annotations

import argparse

import torch
from common import BENCH_DATA, bench_store, machine
from torch.profiler import ProfilerActivity, profile, record_function

from lompo.algos.drq import PRESETS as DRQ_PRESETS
from lompo.algos.drq import DrQ, DrQConfig
from lompo.algos.lompo import PRESETS as LOMPO_PRESETS
from lompo.algos.lompo import Lompo, LompoConfig
from lompo.algos.offline_dv2 import PRESETS as DV2_PRESETS
from lompo.algos.offline_dv2 import OfflineDV2, OfflineDV2Config


def labelled(model: torch.nn.Module, names: tuple[str, ...]) -> None:
    """Wrap the named submodules' forward in record_function, so the table shows them as rows."""
    for name in names:
        module = getattr(model, name, None)
        if module is None:
            continue
        forward = module.forward

        def wrapped(*args, _forward=forward, _name=name, **kwargs):
            with record_function(f"module::{_name}"):
                return _forward(*args, **kwargs)

        module.forward = wrapped


def table(name: str, step, steps: int, top: int) -> None:
    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages) / 1e6
    print(f"\n### {name}: {total / steps:.3f} s per step (self CPU time, {steps} steps)\n")
    print("| operator or module | self CPU % | total CPU per step (s) | calls per step |")
    print("|---|---|---|---|")
    rows = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    modules = [e for e in averages if e.key.startswith("module::")]
    for e in rows + sorted(modules, key=lambda e: e.cpu_time_total, reverse=True):
        share = 100 * e.self_cpu_time_total / 1e6 / total
        print(f"| {e.key} | {share:.1f} | {e.cpu_time_total / 1e6 / steps:.3f} | {e.count / steps:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--data", default=str(BENCH_DATA))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    store = bench_store(args.data)
    print(f"machine: {machine()}; torch {torch.__version__}, {args.threads} thread(s)")
    parts = ("encoder", "decoder", "rssm", "reward_head", "proprio_head")
    lompo = Lompo(LompoConfig(**LOMPO_PRESETS["cpu"]), store, seed=0)
    labelled(lompo.model, parts)
    table("LOMPO world-model step (cpu preset, 16 x 32 frames)", lompo.model_step, args.steps, args.top)
    lompo.train_step("buffers", 0)
    counter = iter(range(1, 10**9))
    table(
        "LOMPO agent update (cpu preset)", lambda: lompo.train_step("agent", next(counter)), 20 * args.steps, args.top
    )
    dv2 = OfflineDV2(OfflineDV2Config(**DV2_PRESETS["cpu"]), store, seed=0)
    labelled(dv2.model, parts)
    table("Offline DV2 world-model step (cpu preset)", dv2.model_step, args.steps, args.top)
    drq = DrQ(DrQConfig(objective="drqbc", **DRQ_PRESETS["cpu"]), store, seed=0)
    steps = iter(range(10**9))
    table("DrQ+BC update (cpu preset, 64 px)", lambda: drq.train_step("agent", next(steps)), 4 * args.steps, args.top)


if __name__ == "__main__":
    main()
