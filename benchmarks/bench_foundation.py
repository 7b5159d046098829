"""Foundation throughput: env steps/s per render profile, sampler batches/s, store RSS.

Run: .venv/bin/python benchmarks/bench_foundation.py [--store-steps 100000] [--json out.json]

The 100K-step stores are packed from synthetic episodes (501 steps each, random
pixels) with EpisodeStore.pack, so the sampler figures measure the sampler on a
store of the real size, not the renderer. Each sampler benchmark runs in a
fresh child process so its peak RSS is the store's and the sampler's alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import machine


def bench_env(task: str, size: int, profile: str, steps: int) -> float:
    from lompo.envs import make_env

    env = make_env(task, size, render_profile=profile, seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    low, high = env.action_space.low, env.action_space.high
    for _ in range(5):  # warm-up: context creation, first frames
        env.step(rng.uniform(low, high))
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(rng.uniform(low, high))
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def _rss() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024  # MiB
    fields["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return fields


def _sampler_child(store_dir: str, kind: str, seconds: float, queue) -> None:
    from lompo.data import EpisodeStore, SequenceSampler, TransitionSampler

    store = EpisodeStore(store_dir)
    sampler: SequenceSampler | TransitionSampler
    if kind == "sequence":
        sampler = SequenceSampler(store, batch_size=16, length=50, seed=0)
    else:
        sampler = TransitionSampler(store, batch_size=256, frame_stack=3, n_step=3, seed=0)
    sampler.sample()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sampler.sample()
        count += 1
    elapsed = time.perf_counter() - start
    queue.put({"batches_per_s": count / elapsed, "ms_per_batch": 1000 * elapsed / count, "rss_mib": _rss()})


def build_store(root: Path, steps: int, size: int):
    from lompo.data import EpisodeStore

    episode_steps = 501
    n = max(1, steps // (episode_steps - 1))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (episode_steps, size, size, 3), dtype=np.uint8)

    def load(i):
        return {
            "image": np.roll(base, i, axis=0),
            "action": rng.uniform(-1, 1, (episode_steps, 6)).astype(np.float32),
            "reward": rng.uniform(0, 1, episode_steps).astype(np.float32),
            "discount": np.ones(episode_steps, np.float32),
            "is_first": np.arange(episode_steps) == 0,
            "is_last": np.arange(episode_steps) == episode_steps - 1,
            "is_terminal": np.zeros(episode_steps, bool),
        }

    start = time.perf_counter()
    store = EpisodeStore.pack(
        root / f"store{size}",
        [episode_steps] * n,
        load,
        keys=["image", "action", "reward", "discount", "is_first", "is_last", "is_terminal"],
    )
    return store, time.perf_counter() - start


def run_sampler(store_dir: Path, kind: str, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_sampler_child, args=(str(store_dir), kind, seconds, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store-steps", type=int, default=100_000)
    parser.add_argument("--env-steps-standard", type=int, default=300)
    parser.add_argument("--env-steps-fast", type=int, default=1000)
    parser.add_argument("--sampler-seconds", type=float, default=10.0)
    parser.add_argument("--tmp", default=None, help="where to pack the temporary stores")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--sampler-only", action="store_true", help="skip the env steps/s part")
    args = parser.parse_args()

    from lompo.envs import choose_gl_backend

    choose_gl_backend()
    results: dict = {"machine": machine(), "env_steps_per_s": {}, "sampler": {}}
    print(f"machine: {results['machine']}")
    if not args.sampler_only:
        print("\n## Env steps/s (agent steps, action repeat 2: one render per agent step)")
        print("| task | size | standard | fast | speed-up |\n|---|---|---|---|---|")
        for task in ("walker-walk", "cartpole-swingup"):
            for size in (64, 84):
                std = bench_env(task, size, "standard", args.env_steps_standard)
                fast = bench_env(task, size, "fast", args.env_steps_fast)
                results["env_steps_per_s"][f"{task}/{size}"] = {"standard": std, "fast": fast}
                print(f"| {task} | {size} | {std:.0f} | {fast:.0f} | {fast / std:.1f}x |", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="lompo-bench-", dir=args.tmp))
    try:
        print(f"\n## Sampler on a {args.store_steps}-step store")
        print("| batch | store | pack time | batches/s | ms/batch | peak RSS | RSS anon | RSS file |")
        print("|---|---|---|---|---|---|---|---|")
        for kind, size, label in (
            ("sequence", 64, "(16, 50) sequences, 64 px"),
            ("transition", 84, "(256,) transitions, 84 px, 3 frames, 3-step"),
        ):
            store, pack_s = build_store(tmp, args.store_steps, size)
            gib = store["image"].nbytes / 2**30
            del store
            r = run_sampler(tmp / f"store{size}", kind, args.sampler_seconds)
            r.update(pack_seconds=pack_s, image_gib=gib)
            results["sampler"][label] = r
            rss = r["rss_mib"]
            print(
                f"| {label} | {gib:.2f} GiB | {pack_s:.0f} s | {r['batches_per_s']:.1f} | {r['ms_per_batch']:.1f} | "
                f"{rss['peak']:.0f} MiB | {rss['RssAnon']:.0f} MiB | {rss['RssFile']:.0f} MiB |",
                flush=True,
            )
            shutil.rmtree(tmp / f"store{size}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
