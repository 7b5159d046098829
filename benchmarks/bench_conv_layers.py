"""Each convolution of the world model's encoder and decoder alone, forward + backward, at the
training batch: milliseconds per call, GFLOP per call (torch.utils.flop_counter) and GFLOP/s beside
the float32 matmul peak measured in the same process, and the sum over the layers, the floor a
world-model step cannot go below at this arithmetic rate. Layers are built as ``ConvEncoder`` and
``ConvDecoder`` build them (64 px), channels-last as training runs them; the decoder's first layer
runs as a matmul in training and is left out.

    python benchmarks/bench_conv_layers.py [--depth 16] [--frames 512] [--threads 2] [--repeats 10]
"""

from __future__ import annotations

import argparse

import torch
from common import flops_per_call, machine, matmul_peak_gflops, seconds_per_call
from torch import nn

from lompo.nets import ConvDecoder, ConvEncoder
from lompo.runtime.memory import keep_freed_memory


def layers(depth: int) -> list[tuple[str, nn.Module, tuple[int, int, int], bool]]:
    """(name, layer, input shape, whether the input needs a gradient) for every timed layer."""
    encoder, decoder = ConvEncoder(64, depth), ConvDecoder(8, 64, depth)
    out: list[tuple[str, nn.Module, tuple[int, int, int], bool]] = []
    channels, side = 3, 64
    for i, conv in enumerate(m for m in encoder.net if isinstance(m, nn.Conv2d)):
        name = f"encoder conv {i + 1}: {conv.in_channels}->{conv.out_channels}"
        out.append((name, conv, (channels, side, side), i > 0))
        channels, side = conv.out_channels, (side - 4) // 2 + 1
    convs = [m for m in decoder.net if isinstance(m, nn.ConvTranspose2d)]
    side = convs[0].kernel_size[0]  # the first layer's output on a 1 x 1 input
    for i, layer in enumerate(convs[1:], start=2):
        kernel = layer.kernel_size[0]
        name = f"decoder transposed conv {i}: {layer.in_channels}->{layer.out_channels} k{kernel}"
        out.append((name, layer, (layer.in_channels, side, side), True))
        side = (side - 1) * 2 + kernel
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=16, help="conv depth (cpu preset 16, paper 32/48)")
    parser.add_argument("--frames", type=int, default=512, help="images per call (cpu preset: 16 x 32)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    torch.manual_seed(0)
    print(f"machine: {machine()}; torch {torch.__version__}, {args.threads} thread(s)")
    peak = matmul_peak_gflops()
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s\n")
    print("| layer (forward + backward) | ms per call | GFLOP per call | GFLOP/s | of the peak |")
    print("|---|---|---|---|---|")
    total_seconds = total_flops = 0.0
    for name, layer, shape, needs_grad in layers(args.depth):
        layer = layer.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x = torch.randn(args.frames, *shape).to(memory_format=torch.channels_last).requires_grad_(needs_grad)

        def step(layer=layer, x=x) -> None:
            layer(x).sum().backward()

        flops = flops_per_call(step)
        seconds = seconds_per_call(step, args.repeats)
        total_seconds, total_flops = total_seconds + seconds, total_flops + flops
        rate = flops / seconds / 1e9
        print(f"| {name} | {1e3 * seconds:.1f} | {flops / 1e9:.2f} | {rate:.0f} | {rate / peak:.0%} |")
    rate = total_flops / total_seconds / 1e9
    print(f"| all | {1e3 * total_seconds:.1f} | {total_flops / 1e9:.2f} | {rate:.0f} | {rate / peak:.0%} |")


if __name__ == "__main__":
    main()
