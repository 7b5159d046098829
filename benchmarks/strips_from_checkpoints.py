"""Model-sample strips (LOMPO figure 5: ground truth / posterior / open-loop prior) from saved checkpoints
of a LOMPO or Offline DV2 run, to see what the world model has learnt at each point of training.

    python benchmarks/strips_from_checkpoints.py RUN CHECKPOINT [CHECKPOINT ...] --out FOLDER

A run keeps only its last `keep_checkpoints`; copy the checkpoint folders elsewhere while it trains to
keep earlier ones. Writes FOLDER/<checkpoint name>.png, the same sequence (seed 0) for every checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from lompo.runtime.checkpoint import load_checkpoint
from lompo.runtime.evaluate import write_png
from lompo.runtime.trainer import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run directory (its config and data)")
    parser.add_argument("checkpoints", type=Path, nargs="+", help="checkpoint folders of that run")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = Run(args.run)
    algo = run.build(run.open_store())
    if not hasattr(algo, "model_strip"):
        raise SystemExit(f"{args.run}: algorithm {run.settings.algo!r} has no world model to draw")
    args.out.mkdir(parents=True, exist_ok=True)
    for checkpoint in args.checkpoints:
        algo.load_state_dict(load_checkpoint(checkpoint)["algo"])
        path = args.out / f"{checkpoint.name}.png"
        write_png(path, algo.model_strip(seed=0))
        print(path)


if __name__ == "__main__":
    main()
