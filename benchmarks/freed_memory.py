"""Training steps with glibc's default ``malloc`` against :func:`lompo.runtime.memory.keep_freed_memory`:
wall and CPU seconds per step, minor page faults per step, peak RSS. Each measurement is a fresh
process (the setting is per process), the two modes alternating ``--rounds`` times.

    python benchmarks/freed_memory.py [--parts lompo_model,dv2_model,drq] [--steps 6] [--rounds 2] [--threads 1]

Same data as bench_lompo.py (random cartpole-swingup, 64 px), `cpu` presets. Figures go to
BENCHMARKS.md by hand, with the machine and what else was running.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from common import BENCH_DATA, bench_store

PARTS = ("lompo_model", "dv2_model", "drq", "lompo_agent")
MODES = ("default", "keep")


def step_function(part: str, store):
    """One training step of ``part`` at its `cpu` preset."""
    if part in ("lompo_model", "lompo_agent"):
        from lompo.algos.lompo import PRESETS, Lompo, LompoConfig

        algo = Lompo(LompoConfig(**PRESETS["cpu"]), store, seed=0)
        if part == "lompo_model":
            return algo.model_step
        algo.train_step("buffers", 1)
        return lambda: algo.train_step("agent", 2)
    if part == "dv2_model":
        from lompo.algos.offline_dv2 import PRESETS, OfflineDV2, OfflineDV2Config

        return OfflineDV2(OfflineDV2Config(**PRESETS["cpu"]), store, seed=0).model_step
    from lompo.algos.drq import PRESETS, DrQ, DrQConfig

    agent = DrQ(DrQConfig(**PRESETS["cpu"]), store, seed=0)
    return lambda: agent.train_step("agent", 1)


def measure(part: str, mode: str, steps: int, threads: int, data: str) -> dict:
    """In this process: ``steps`` steps after two warm-up steps."""
    from lompo.runtime.memory import keep_freed_memory

    torch.set_num_threads(threads)
    if mode == "keep":
        assert keep_freed_memory(), "not glibc"
    step = step_function(part, bench_store(data))
    for _ in range(2):
        step()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(steps):
        step()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return {
        "part": part,
        "mode": mode,
        "wall_s": wall / steps,
        "user_s": (after.ru_utime - before.ru_utime) / steps,
        "sys_s": (after.ru_stime - before.ru_stime) / steps,
        "minor_faults": (after.ru_minflt - before.ru_minflt) / steps,
        "peak_rss_mib": after.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="lompo_model,dv2_model,drq")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default=str(BENCH_DATA))
    parser.add_argument("--one", nargs=2, metavar=("PART", "MODE"), help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.one:
        part, mode = args.one
        print(json.dumps(measure(part, mode, args.steps, args.threads, args.data)))
        return
    bench_store(args.data)  # collect once, before the timed processes
    rows: dict[tuple[str, str], list[dict]] = {}
    for part in args.parts.split(","):
        if part not in PARTS:
            parser.error(f"unknown part {part!r}; choose from {PARTS}")
        for _ in range(args.rounds):
            for mode in MODES:
                command = [sys.executable, __file__, "--one", part, mode, "--steps", str(args.steps),
                           "--threads", str(args.threads), "--data", args.data]  # fmt: skip
                out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                rows.setdefault((part, mode), []).append(json.loads(out.strip().splitlines()[-1]))
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.steps} steps per process, {args.rounds} rounds")
    print("| step | malloc | s per step (per round) | user s | sys s | minor faults per step | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for (part, mode), runs in rows.items():
        walls = ", ".join(f"{r['wall_s']:.3f}" for r in runs)
        median = {k: statistics.median(r[k] for r in runs) for k in ("user_s", "sys_s", "minor_faults", "peak_rss_mib")}
        print(f"| {part} | {mode} | {walls} | {median['user_s']:.3f} | {median['sys_s']:.3f} | "
              f"{median['minor_faults']:,.0f} | {median['peak_rss_mib']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
