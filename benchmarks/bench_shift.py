"""DrQ's random-shift crops: one slice per image (``crop_each``, used on CPUs) against one gather
(``crop_gathered``, used on GPUs), ms per batch of 84 px, 3-frame stacks.

    python benchmarks/bench_shift.py [--device cpu] [--threads 1] [--repeats 20]

Figures go to BENCHMARKS.md by hand, with the machine.
"""

from __future__ import annotations

import argparse
import time

import torch

from lompo.algos.drq import crop_each, crop_gathered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    for batch in (64, 256):
        padded = torch.randint(0, 256, (batch, 9, 92, 92), dtype=torch.uint8, device=args.device)
        offsets = torch.randint(0, 9, (batch, 2), generator=torch.Generator().manual_seed(0))
        for crop in (crop_each, crop_gathered):
            given = offsets if crop is crop_each else offsets.to(args.device)
            crop(padded, given, 84, 84)
            sync()
            start = time.perf_counter()
            for _ in range(args.repeats):
                crop(padded, given, 84, 84)
            sync()
            print(f"batch {batch}: {crop.__name__} {(time.perf_counter() - start) / args.repeats * 1000:.2f} ms")


if __name__ == "__main__":
    main()
