"""The images of docs/datasets.md: every distraction kind at every severity (one row per task and kind,
two draws of the train split per severity), and the walker and cheetah body variants A-H.

    python scripts/distraction_grid.py [--out docs] [--size 96]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lompo.envs import make_env
from lompo.envs.distractions import KINDS, SEVERITY_SCALE, distraction_set
from lompo.envs.variants import SETTINGS


def frame(task: str, size: int, distractions=(), steps: int = 10, episode: int = 0) -> np.ndarray:
    env = make_env(task, size, render_profile="fast", distractions=distractions)
    try:
        obs, _ = env.reset(seed=0, options={"episode": episode})
        for _ in range(steps):
            obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
        return obs
    finally:
        env.close()


def labelled(rows: list[tuple[str, list[np.ndarray]]], header: list[str], size: int) -> Image.Image:
    margin = 150
    grid = Image.new("RGB", (margin + size * len(rows[0][1]), 20 + size * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for j, text in enumerate(header):
        draw.text((margin + j * size + 4, 4), text, fill="black")
    for i, (name, images) in enumerate(rows):
        draw.text((4, 20 + i * size + size // 2 - 6), name, fill="black")
        for j, image in enumerate(images):
            grid.paste(Image.fromarray(image), (margin + j * size, 20 + i * size))
    return grid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs")
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args()
    out = Path(args.out)
    rows = []
    for task in ("cartpole-swingup", "walker-walk", "cheetah-run"):
        rows.append((f"{task} none", [frame(task, args.size)] * (2 * len(SEVERITY_SCALE))))
        for kind in KINDS:
            images = []
            for severity in SEVERITY_SCALE:
                draws = distraction_set(kind, severity, 2)
                images += [frame(task, args.size, draws, episode=e) for e in range(2)]
            rows.append((f"{task} {kind}", images))
    header = [f"{s} #{d}" for s in SEVERITY_SCALE for d in range(2)]
    labelled(rows, header, args.size).save(out / "distractions.png")
    rows = [
        (task, [frame(f"{task}@{letter}", args.size, steps=0) for letter in SETTINGS])
        for task in ("walker-walk", "cheetah-run")
    ]
    header = [f"{letter} x{scale:g}" for letter, scale in SETTINGS.items()]
    labelled(rows, header, args.size).save(out / "variants.png")
    print(f"wrote {out / 'distractions.png'} and {out / 'variants.png'}")


if __name__ == "__main__":
    main()
