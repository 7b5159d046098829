"""The world-model decoder's first layer, a transposed convolution on a 1 x 1 input, run as a
convolution (the plain path) and as one matrix product (what ``ConvDecoder`` does): seconds per
forward + backward of the whole decoder, both paths alternated in one process so they share the
machine's conditions, for the LOMPO and Offline DV2 sizes of the ``cpu`` and ``paper`` presets.

    python benchmarks/bench_decoder.py [--threads 1] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch
from common import machine, seconds_per_call
from torch import nn

from lompo.nets import ConvDecoder

# name -> (feature dim, depth, activation, images per world-model batch)
SIZES = {
    "lompo cpu": (160, 16, nn.ReLU, 16 * 32),
    "lompo paper": (320, 32, nn.ReLU, 64 * 50),
    "offline_dv2 cpu": (384, 16, nn.ELU, 16 * 32),
    "offline_dv2 paper": (1224, 48, nn.ELU, 64 * 50),
}


def measure(name: str, rounds: int) -> dict:
    """Median seconds of a decoder forward + backward at size ``name``, both ways, alternated."""
    feature_dim, depth, act, images = SIZES[name]
    torch.manual_seed(0)
    decoder = ConvDecoder(feature_dim, 64, depth, act=act)
    decoder.net[1:].to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # as the algorithms do
    features = torch.randn(images, feature_dim)
    target = torch.rand(images, 3, 64, 64) - 0.5

    def step(as_matmul: bool) -> None:
        decoder.zero_grad(set_to_none=True)
        if as_matmul:
            image = decoder(features)
        else:
            image = decoder.net(decoder.linear(features).reshape(images, -1, 1, 1))
        ((image - target) ** 2).mean().backward()

    times: dict[str, list[float]] = {"convolution": [], "matmul": []}
    for _ in range(rounds):
        times["convolution"].append(seconds_per_call(lambda: step(False), 2, warmup=1))
        times["matmul"].append(seconds_per_call(lambda: step(True), 2, warmup=1))
    median = {k: statistics.median(v) for k, v in times.items()}
    return {
        "size": name,
        "images": images,
        "convolution_s": round(median["convolution"], 4),
        "matmul_s": round(median["matmul"], 4),
        "speedup": round(median["convolution"] / median["matmul"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two paths")
    parser.add_argument("--sizes", default=",".join(SIZES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}; torch {torch.__version__}, {args.threads} thread(s)")
    for name in args.sizes.split(","):
        print(json.dumps(measure(name, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
