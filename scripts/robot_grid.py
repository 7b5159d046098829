"""docs/robots.png: the robot tasks at 64 and 128 px (fast profile), a few steps of random actions apart.

python scripts/robot_grid.py [--out docs/robots.png]
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from lompo.envs import make_env


def frames(task: str, size: int, count: int = 4, every: int = 8) -> list[np.ndarray]:
    env = make_env(task, size, render_profile="fast")
    try:
        obs, _ = env.reset(seed=0)
        rng = np.random.default_rng(0)
        shown = [obs]
        while len(shown) < count:
            for _ in range(every):
                obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
            shown.append(obs)
        return shown
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/robots.png")
    args = parser.parse_args()
    rows = []
    for task in ("door-open", "adroit-pen", "dclaw-screw"):
        big = np.concatenate(frames(task, 128), 1)
        small = np.concatenate([np.kron(f, np.ones((2, 2, 1), np.uint8)) for f in frames(task, 64)], 1)
        rows += [big, small]  # 64 px frames shown at twice their size
    Image.fromarray(np.concatenate(rows, 0)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
