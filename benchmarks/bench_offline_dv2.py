"""Offline DV2 throughput on this machine, next to LOMPO's (benchmarks/bench_lompo.py): world-model
steps/s and images/s, agent updates/s and imagined transitions/s (each update imagines H steps from
every posterior state of a batch and backpropagates through them), peak RSS — per preset.

    python benchmarks/bench_offline_dv2.py --presets cpu,paper [--precision bf16] [--threads N]

Same data as bench_lompo.py (random cartpole-swingup, 64 px). Figures go to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import resource

import torch
from common import BENCH_DATA, bench_store, seconds_per_call

from lompo.algos.offline_dv2 import PRESETS, OfflineDV2, OfflineDV2Config
from lompo.runtime.memory import keep_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", default="cpu,paper")
    parser.add_argument("--data", default=str(BENCH_DATA), help="benchmark data folder (collected on first use)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", help="fp32 or bf16 (the conv networks; lompo.nets.precision)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    keep_freed_memory()  # as every training run does (BENCHMARKS.md, "Freed memory")
    if args.threads:
        torch.set_num_threads(args.threads)
    store = bench_store(args.data)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    results = {}
    for preset in args.presets.split(","):
        config = OfflineDV2Config(**PRESETS[preset], precision=args.precision)
        algo = OfflineDV2(config, store, seed=0, device=args.device)

        def model_step(algo=algo):
            algo.model_step()
            sync()

        def agent_step(algo=algo):
            algo.agent_step(0)
            sync()

        t_model = seconds_per_call(model_step, args.repeats)
        t_agent = seconds_per_call(agent_step, args.repeats)
        images = config.batch_size * config.sequence_length
        starts = config.imagine_batch_size * config.sequence_length
        results[preset] = {
            "model_steps_per_s": round(1 / t_model, 3),
            "images_per_s": round(images / t_model, 1),
            "agent_updates_per_s": round(1 / t_agent, 2),
            "imagined_transitions_per_s": round(starts * config.horizon / t_agent, 1),
            "batch": f"{config.batch_size}x{config.sequence_length}",
            "imagination_starts": starts,
        }
        print(preset, json.dumps(results[preset]), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"threads": torch.get_num_threads(), "peak_rss_mib": round(peak, 1), "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
