"""When does a world model start to learn the frames? Trains only the world model (LOMPO eq. 8, or
Offline DV2's with ``--algo offline_dv2``) of a preset on a dataset for ``--steps`` steps and prints,
per window of 50 steps, the mean image loss, the posterior KL and the reward R², next to the image
loss of the data's mean image (what a model that ignores the frame gets). ``--autoencoder`` trains
LOMPO's conv encoder and decoder alone instead (a linear 64-unit bottleneck, no RSSM, no noise):
whether the nets themselves are slow to learn.

  python benchmarks/world_model_start.py DATA [--algo lompo|offline_dv2] [--preset cpu] [--steps 400]
      [--seed 0] [--set conv_activation=elu --set init=torch ...] [--autoencoder] [--threads 1] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from lompo.algos import lompo, offline_dv2
from lompo.algos.lompo import CONV_ACTIVATIONS, Lompo, LompoConfig
from lompo.algos.offline_dv2 import OfflineDV2, OfflineDV2Config
from lompo.data.store import load_store
from lompo.nets.conv import ConvDecoder, ConvEncoder, preprocess
from lompo.nets.init import glorot_init
from lompo.runtime.config import build_configs

WINDOW = 50


def mean_image_loss(store, frames: int = 20_000, seed: int = 0) -> float:
    """``0.5 * sum (x - mean image)^2`` per frame, on up to ``frames`` random frames of ``store``."""
    images = store.arrays["image"]
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(images), min(frames, len(images)), replace=False))
    x = preprocess(torch.from_numpy(np.asarray(images[index])))
    return float(0.5 * (x - x.mean(0)).pow(2).sum((-3, -2, -1)).mean())


def autoencoder_steps(store, config: LompoConfig, steps: int, seed: int):
    """The world model's conv encoder and decoder as a deterministic autoencoder, ``B x T`` frames per step."""
    act = CONV_ACTIVATIONS[config.conv_activation]
    size = int(store.image_shape[0])
    encoder, decoder = ConvEncoder(size, config.depth, act=act), ConvDecoder(64, size, config.depth, act=act)
    nets = torch.nn.ModuleList([encoder, torch.nn.Linear(encoder.embed_dim, 64), decoder])
    if config.init == "glorot":
        glorot_init(nets)
    opt = torch.optim.Adam(nets.parameters(), lr=config.model_lr)
    images, rng = store.arrays["image"], np.random.default_rng(seed)
    frames = config.batch_size * config.sequence_length
    for _ in range(steps):
        x = torch.from_numpy(np.asarray(images[np.sort(rng.integers(0, len(images), frames))]))
        loss = 0.5 * (decoder(nets[1](encoder(x))) - preprocess(x)).pow(2).sum((-3, -2, -1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        yield {"model/image_nll": loss.detach()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data")
    parser.add_argument("--algo", choices=("lompo", "offline_dv2"), default="lompo")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--autoencoder", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.autoencoder and args.algo != "lompo":
        parser.error("--autoencoder takes LOMPO's encoder and decoder (--algo lompo)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    overrides = dict(item.split("=", 1) for item in args.set)
    algos = {"lompo": (lompo, LompoConfig, Lompo), "offline_dv2": (offline_dv2, OfflineDV2Config, OfflineDV2)}
    module, cls, algo_cls = algos[args.algo]
    _, config = build_configs(args.algo, cls, module.PRESETS, module.VARIANTS, args.preset, overrides)
    store = load_store(args.data)
    baseline = mean_image_loss(store)
    print(f"mean image's loss {baseline:.2f}; {'autoencoder' if args.autoencoder else 'world model'} {overrides}")
    if args.autoencoder:
        steps = autoencoder_steps(store, config, args.steps, args.seed)
    else:
        algo = algo_cls(config, store, seed=args.seed)
        steps = (algo.model_step() for _ in range(args.steps))
    windows: list[dict] = []
    window: dict[str, list[float]] = {}
    start = time.perf_counter()
    for step, metrics in enumerate(steps, 1):
        for key in ("model/image_nll", "model/kl", "model/reward_r2"):
            if key in metrics:
                window.setdefault(key.split("/")[1], []).append(float(metrics[key]))
        if step % WINDOW == 0:
            row = {"step": step, **{k: float(np.mean(v)) for k, v in window.items()}}
            windows.append(row)
            print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
            window = {}
    below = next((w["step"] for w in windows if w["image_nll"] < 0.9 * baseline), None)
    print(f"first window with an image loss below 90 % of the mean image's: {below}")
    if args.json:
        summary = {"algo": args.algo, "overrides": overrides, "preset": args.preset, "seed": args.seed,
                   "autoencoder": args.autoencoder, "mean_image_loss": baseline, "first_below_90pct": below,
                   "windows": windows}  # fmt: skip
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
