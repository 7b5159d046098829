"""What the benchmark scripts share: the machine's description, timers, the default data and output
folders (the repository's ignored data/ and runs/), and the small dataset the speed benchmarks use."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"  # datasets (ignored by git)
RUNS = ROOT / "runs"  # runs, sweeps and benchmark outputs (ignored by git)
BENCH_DATA = DATA / "bench"  # the speed benchmarks' random cartpole-swingup data


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, MUJOCO_GL={os.environ.get('MUJOCO_GL')}"


def calls_per_second(fn: Callable[[], object], seconds: float, warmup: int = 3) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls / (time.perf_counter() - start)


def seconds_per_call(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Mean seconds per call of ``fn`` over ``repeats`` calls (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def bench_store(data: Path | str = BENCH_DATA, image_size: int = 64):
    """Random cartpole-swingup at ``image_size`` px (10 episodes), collected once into ``data``."""
    from lompo.collect import collect_random
    from lompo.data.store import load_store

    folder = Path(data) / "cartpole_swingup" / "random" / f"{image_size}px"
    if not (folder / "dataset.json").exists():
        collect_random(
            "cartpole-swingup", data, episodes=10, image_sizes=(image_size,), render_profile="fast", progress=False
        )
    return load_store(folder)


def matmul_peak_gflops(size: int = 2048, repeats: int = 10, dtype: str = "float32") -> float:
    """Achieved GFLOP/s of a ``size``² matrix product in ``dtype`` (float32, bfloat16) at torch's
    current thread count: the machine's practical peak, reported beside every GFLOP/s figure
    (machines here differ)."""
    import torch

    a, b = (torch.randn(size, size, dtype=getattr(torch, dtype)) for _ in range(2))
    seconds = seconds_per_call(lambda: torch.mm(a, b), repeats)
    return 2 * size**3 / seconds / 1e9


def flops_per_call(fn: Callable[[], object]) -> int:
    """Floating-point operations of one call of ``fn`` (torch.utils.flop_counter: matmuls and
    convolutions, forward and backward; elementwise work is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())
