"""LOMPO throughput on this machine: world-model steps/s and images/s, latent rollout
transitions/s, actor-critic updates/s, peak RSS — per preset.

    python benchmarks/bench_lompo.py --presets cpu,paper [--channels-last] [--compile] [--compile-filter MODE]
        [--precision bf16] [--threads N] [--flops]

``--compile-filter MODE``: ``torch.compile`` (that mode: default, reduce-overhead for CUDA graphs,
max-autotune-no-cudagraphs, ...) of the RSSM's per-time-step filter (GRU + posterior), the loop that
holds a GPU world-model step (BENCHMARKS.md, "GPU"). Its noise then comes from the compiled graph's own
generator: a throughput figure, not a run to compare with eager numerics.

``--flops``: FLOPs of one world-model step and one actor-critic update (torch.utils.flop_counter), the
achieved GFLOP/s and their fraction of this machine's float32 matmul peak (measured in the same process).

Data: a random cartpole-swingup dataset of 64 px (built once under $LOMPO_BENCH_DATA or
data/bench). Figures go to BENCHMARKS.md by hand, with the machine.
"""

from __future__ import annotations

import argparse
import json
import resource

import torch
from common import BENCH_DATA, bench_store, flops_per_call, matmul_peak_gflops, seconds_per_call

from lompo.algos.lompo import PRESETS, Lompo, LompoConfig
from lompo.algos.world_model import batch_to_torch
from lompo.nets import LatentState
from lompo.runtime.memory import keep_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", default="cpu,paper")
    parser.add_argument("--data", default=str(BENCH_DATA), help="benchmark data folder (collected on first use)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoder and decoder")
    parser.add_argument("--compile-filter", default="", metavar="MODE", help="torch.compile the RSSM's filter step")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", help="fp32 or bf16 (the conv networks; lompo.nets.precision)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--flops", action="store_true", help="count FLOPs; GFLOP/s against the matmul peak")
    args = parser.parse_args()
    keep_freed_memory()  # as every training run does (BENCHMARKS.md, "Freed memory")
    if args.threads:
        torch.set_num_threads(args.threads)
    store = bench_store(args.data)
    results = {}
    for preset in args.presets.split(","):
        config = LompoConfig(**PRESETS[preset], channels_last=args.channels_last, precision=args.precision)
        algo = Lompo(config, store, seed=0, device=args.device)
        model = algo.model
        if args.compile:
            model.encoder = torch.compile(model.encoder)
            model.decoder = torch.compile(model.decoder)
        if args.compile_filter:
            model.rssm.observe_step = torch.compile(model.rssm.observe_step, mode=args.compile_filter, dynamic=False)
        sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

        def model_step(algo=algo, sync=sync):
            algo.model_step()
            sync()

        t_model = seconds_per_call(model_step, args.repeats)
        images = config.batch_size * config.sequence_length
        batch = batch_to_torch(algo.refresh_sampler.sample(), algo.device)
        post = algo.posterior_states(batch)
        start = LatentState(post["deter"].flatten(0, 1), post["stoch"].flatten(0, 1))

        def rollout(algo=algo, start=start, sync=sync):
            algo.latent_rollouts(start, random_actions=False)
            sync()

        t_rollout = seconds_per_call(rollout, args.repeats)
        algo.fill_buffers()

        def update(algo=algo, sync=sync):
            algo.agent_step(1)
            sync()

        t_update = seconds_per_call(update, args.repeats * 10)
        flop_figures: dict[str, float] = {}
        if args.flops:
            peak = matmul_peak_gflops() if args.device == "cpu" else float("nan")
            for name, fn, seconds in (("model_step", model_step, t_model), ("actor_critic_update", update, t_update)):
                gflop = flops_per_call(fn) / 1e9
                flop_figures[f"{name}_gflop"] = round(gflop, 3)
                flop_figures[f"{name}_gflops"] = round(gflop / seconds, 1)
                flop_figures[f"{name}_fraction_of_peak"] = round(gflop / seconds / peak, 3)
            flop_figures["float32_matmul_peak_gflops"] = round(peak, 1)
        results[preset] = {
            "model_steps_per_s": round(1 / t_model, 3),
            "images_per_s": round(images / t_model, 1),
            "rollout_transitions_per_s": round(start.deter.shape[0] * config.horizon / t_rollout, 1),
            "actor_critic_updates_per_s": round(1 / t_update, 1),
            "batch": f"{config.batch_size}x{config.sequence_length}",
            **flop_figures,
        }
        print(preset, json.dumps(results[preset]), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "channels_last": args.channels_last,
                "compile": args.compile,
                "compile_filter": args.compile_filter,
                "threads": torch.get_num_threads(),
                "peak_rss_mib": round(peak, 1),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
