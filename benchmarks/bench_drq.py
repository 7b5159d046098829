"""DrQ+BC / CQL / BC throughput: gradient updates/s at batch 256 on 84 px, 3 stacked frames,
and the transition sampler's cost per batch (sampling + augmentation are inside an update).

    python benchmarks/bench_drq.py --data DATASET_84PX [--seconds 20] [--batch 256]
    python benchmarks/bench_drq.py --data DATASET_84PX --preset cpu     # the cpu preset's networks and batch
    python benchmarks/bench_drq.py --data DATASET_84PX --device cuda [--resident]   # frames in GPU memory
    python benchmarks/bench_drq.py --data DATASET_84PX --precision bf16   # conv networks in bfloat16

Figures go to BENCHMARKS.md by hand, with the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
from typing import Any

import torch
from common import calls_per_second, machine

from lompo.algos.drq import PRESETS, DrQ, DrQConfig
from lompo.data import load_store
from lompo.runtime.memory import keep_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="an 84 px dataset folder")
    parser.add_argument("--algos", default="drqbc,cql,bc")
    parser.add_argument("--preset", default=None, help="use a preset's sizes (e.g. cpu) instead of --batch/--hidden")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=1024, help="actor/critic MLP units (paper 1024)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (each update then waits for the GPU)")
    parser.add_argument("--precision", default="fp32", help="fp32 or bf16 (lompo.nets.precision)")
    parser.add_argument("--resident", action="store_true", help="frames copied into device memory (resident_frames)")
    args = parser.parse_args()
    keep_freed_memory()  # as every training run does (BENCHMARKS.md, "Freed memory")
    torch.set_num_threads(args.threads)
    store = load_store(args.data)
    print(machine(), f"torch {torch.__version__}, {args.threads} threads, images {store.image_shape}")
    results: dict[str, Any] = {}
    for algo in args.algos.split(","):
        sizes = dict(PRESETS[args.preset]) if args.preset else {"batch_size": args.batch, "hidden": args.hidden}
        sizes["precision"] = args.precision
        sizes["resident_frames"] = args.resident
        agent = DrQ(DrQConfig(objective=algo, **sizes), store, seed=0, device=args.device)
        step = [0]
        sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

        def update(agent=agent, step=step, sync=sync):
            agent.train_step("agent", step[0])
            sync()
            step[0] += 1

        results[algo] = {"updates_per_s": calls_per_second(update, args.seconds)}
        print(f"{algo}: {results[algo]['updates_per_s']:.2f} updates/s (batch {agent.config.batch_size})")
    half = args.seconds / 2
    results["sampler_ms_per_batch"] = 1000 / calls_per_second(lambda: (agent.sampler.sample(), sync()), half)
    results["sample_and_augment_ms_per_batch"] = 1000 / calls_per_second(lambda: (agent.batch(), sync()), half)
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
