"""Where a training step's time goes: torch.profiler tables (by operator, and by module via record
functions around the world model's parts) for LOMPO's world-model step and agent update, Offline
DV2's world-model step and DrQ+BC's update, at a preset (cpu by default).

    python benchmarks/profile_steps.py [--steps 5] [--threads 1] [--top 12]
    python benchmarks/profile_steps.py --parts dv2_model --preset paper --batch 16x50 --precision bf16

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

PARTS = ("lompo_model", "lompo_agent", "dv2_model", "drq")


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
    parser.add_argument("--parts", default=",".join(PARTS), help=f"some of {','.join(PARTS)}")
    parser.add_argument("--preset", default="cpu", help="every algorithm's preset (cpu, paper)")
    parser.add_argument("--batch", default="", help="world-model batch as SEQUENCESxLENGTH, e.g. 16x50")
    parser.add_argument("--precision", default="fp32", help="fp32 or bf16 (lompo.nets.precision)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    store = bench_store(args.data)
    print(f"machine: {machine()}; torch {torch.__version__}, {args.threads} thread(s), precision {args.precision}")
    parts = ("encoder", "decoder", "rssm", "reward_head", "proprio_head")
    chosen = args.parts.split(",")
    batch = {}
    if args.batch:
        sequences, length = (int(x) for x in args.batch.split("x"))
        batch = {"batch_size": sequences, "sequence_length": length}
    shape = args.batch or "preset batch"
    common = {"precision": args.precision}
    if {"lompo_model", "lompo_agent"} & set(chosen):
        lompo = Lompo(LompoConfig(**{**LOMPO_PRESETS[args.preset], **batch, **common}), store, seed=0)
        labelled(lompo.model, parts)
        if "lompo_model" in chosen:
            table(f"LOMPO world-model step ({args.preset}, {shape})", lompo.model_step, args.steps, args.top)
        if "lompo_agent" in chosen:
            lompo.train_step("buffers", 0)
            counter = iter(range(1, 10**9))
            update = lambda: lompo.train_step("agent", next(counter))  # noqa: E731
            table(f"LOMPO agent update ({args.preset})", update, 20 * args.steps, args.top)
    if "dv2_model" in chosen:
        dv2 = OfflineDV2(OfflineDV2Config(**{**DV2_PRESETS[args.preset], **batch, **common}), store, seed=0)
        labelled(dv2.model, parts)
        table(f"Offline DV2 world-model step ({args.preset}, {shape})", dv2.model_step, args.steps, args.top)
    if "drq" in chosen:
        drq = DrQ(DrQConfig(objective="drqbc", **{**DRQ_PRESETS.get(args.preset, {}), **common}), store, seed=0)
        steps = iter(range(10**9))
        update = lambda: drq.train_step("agent", next(steps))  # noqa: E731
        table(f"DrQ+BC update ({args.preset}, 64 px)", update, 4 * args.steps, args.top)


if __name__ == "__main__":
    main()
