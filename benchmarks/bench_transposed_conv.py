"""Ways to run a stride-2 transposed convolution, forward + backward, at the world model's
decoder sizes: the layer itself (oneDNN; contiguous and channels-last), matmul + ``F.fold``
(col2im), four sub-pixel convolutions + ``pixel_shuffle``, and the decoder's last-layer form
(``lompo.nets.conv.LastLayerByParity``: the sub-pixel forward, channels-last, with the layer's own
backward). Prints the largest output difference
to the layer and the best of three timings of each (forward + backward, and forward alone), alternated
in one process.

    python benchmarks/bench_transposed_conv.py [--threads 1]
"""

from __future__ import annotations

import argparse
import functools
import time
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from lompo.nets.conv import LastLayerByParity, transposed_conv_by_parity

# (in channels, out channels, kernel, input side, images): LOMPO cpu (depth 16) and Offline DV2 paper (depth 48)
SIZES = [(64, 32, 5, 5, 512), (32, 16, 6, 13, 512), (16, 3, 6, 30, 512),
         (192, 96, 5, 5, 512), (96, 48, 6, 13, 512), (48, 3, 6, 30, 512)]  # fmt: skip


def as_fold(layer: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    channels, out, kh, kw = layer.weight.shape
    _, _, h, w = x.shape
    cols = x.flatten(2).transpose(1, 2) @ layer.weight.reshape(channels, out * kh * kw)
    size = ((h - 1) * layer.stride[0] + kh, (w - 1) * layer.stride[1] + kw)
    return F.fold(cols.transpose(1, 2), size, (kh, kw), stride=layer.stride) + cast(torch.Tensor, layer.bias).view(
        1, out, 1, 1
    )


def as_subpixel(layer: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """The sub-pixel form with autograd through it (forward and backward)."""
    return transposed_conv_by_parity(x, layer.weight, cast(torch.Tensor, layer.bias))


def by_parity(layer: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    return LastLayerByParity.apply(x, layer.weight, layer.bias)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for c, o, k, h, n in SIZES:
        layer = nn.ConvTranspose2d(c, o, k, stride=2)
        channels_last = nn.ConvTranspose2d(c, o, k, stride=2).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        channels_last.load_state_dict(layer.state_dict())
        x = torch.randn(n, c, h, h)
        x_last = x.to(memory_format=torch.channels_last)
        reference = layer(x)
        grad = torch.randn_like(reference)
        ways = {"layer": (layer, x), "layer channels-last": (channels_last, x_last),
                "matmul + fold": (functools.partial(as_fold, layer), x),
                "sub-pixel convs": (functools.partial(as_subpixel, layer), x),
                "parity forward, layer backward": (functools.partial(by_parity, channels_last), x_last)}  # fmt: skip
        errors = {name: float((fn(t) - reference).abs().max().detach()) for name, (fn, t) in ways.items()}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for _ in range(3):
            for name, (fn, t) in ways.items():
                t = t.detach().requires_grad_()
                start = time.perf_counter()
                out = fn(t)
                forward = time.perf_counter() - start
                out.backward(grad)
                times[name].append((time.perf_counter() - start, forward))
        best = {name: (min(t for t, _ in runs), min(f for _, f in runs)) for name, runs in times.items()}
        cells = ", ".join(f"{n} {t:.3f} s, forward {f:.3f} s (err {errors[n]:.1e})" for n, (t, f) in best.items())
        print(f"{c}->{o} k{k} on {n} x {h}x{h}: {cells}", flush=True)


if __name__ == "__main__":
    main()
