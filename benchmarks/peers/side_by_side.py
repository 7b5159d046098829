"""What the peer benchmarks share: each side (ours, the peer's, the machine's matmul peak) is timed in
its own fresh process, alternating ``ours peer peak ours peer peak ...`` so that both see the same
machine conditions; the parent collects each process's last JSON line and reports min/median/max."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCHMARKS))  # benchmarks/common.py

from common import flops_per_call, machine, matmul_peak_gflops, seconds_per_call  # noqa: E402

DTYPES = ("float32", "bfloat16")  # matmul peaks measured
__all__ = ["alternate", "commit_of", "report", "side_by_side_main"]


def commit_of(checkout: str | Path) -> str:
    """The peer checkout's commit (reported with its figures)."""
    try:
        out = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown (not a git checkout)"
    except OSError:
        return "unknown (git not found)"


def run_side(script: Path, side: str, args: list[str]) -> dict:
    """Run ``script --side side args`` in a fresh interpreter; its last stdout line is a JSON object."""
    out = subprocess.run([sys.executable, str(script), "--side", side, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{script.name} --side {side} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def alternate(script: Path, sides: list[str], args: list[str], rounds: int) -> dict[str, list[dict]]:
    """``rounds`` rounds of every side in turn, each a fresh process; results per side in round order."""
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for r in range(rounds):
        for side in sides:
            results[side].append(run_side(script, side, args))
            print(f"round {r + 1}/{rounds} {side}: {json.dumps(results[side][-1])}", flush=True)
    return results


def spread(values: list[float]) -> str:
    """``median (min-max)`` of a figure over rounds."""
    return f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})"


def report(results: dict[str, list[dict]], rate: str, flop: str, peer: str, threads: int) -> None:
    """Print the machine, the peer's commit, the matmul peak and each side's rate (key ``rate``),
    FLOPs per call (key ``flop``), achieved GFLOP/s and its fraction of the peak; then ours / peer."""
    import numpy as np
    import torch

    print(f"\n{machine()}, torch {torch.__version__}, {threads} threads; peer commit {commit_of(peer)}")
    for dtype in DTYPES:
        peaks = [r[f"{dtype}_matmul_peak_gflops"] for r in results["peak"]]
        print(f"matmul peak (2048², {dtype}): {spread(peaks)} GFLOP/s")
    peak = np.median([r["float32_matmul_peak_gflops"] for r in results["peak"]])
    ours = [side for side in results if side.startswith("ours")]
    for side in [*ours, "peer"]:
        rows = results[side]
        gflops = [r["gflops"] for r in rows]
        print(
            f"{side}: {spread([r[rate] for r in rows])} {rate}, {rows[0][flop]} {flop}, "
            f"{spread(gflops)} GFLOP/s = {100 * np.median(gflops) / peak:.0f} % of the float32 peak"
        )
    for side in ours:
        ratio = [o[rate] / p[rate] for o, p in zip(results[side], results["peer"])]
        print(f"{side} / peer, {rate} per round: {' '.join(f'{x:.2f}' for x in ratio)}")


def side_by_side_main(
    script: str, peer_help: str, ours, peer, per_call: int, default_steps: int, rate: str, flop: str
) -> None:
    """The command line of a peer benchmark: the parent alternates fresh ``--side`` processes; each
    builds its step (``ours(precision)`` or ``peer(checkout)``, a function of no arguments), times it
    and prints ``rate`` (``per_call`` units per call / s), ``flop`` (GFLOP per call) and GFLOP/s as
    JSON; the parent reports."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True, help=peer_help)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=default_steps, help="timed calls per process (after one warm-up)")
    parser.add_argument("--precisions", default="fp32", help="ours, one side each: fp32,bf16 (lompo.nets.precision)")
    parser.add_argument("--side", help=argparse.SUPPRESS)  # ours:PRECISION, peer or peak
    args = parser.parse_args()
    if args.side:
        import torch

        torch.set_num_threads(args.threads)
        if args.side == "peak":
            peaks = {f"{dtype}_matmul_peak_gflops": round(matmul_peak_gflops(dtype=dtype), 1) for dtype in DTYPES}
            print(json.dumps(peaks))
        else:
            step = ours(args.side.split(":")[1]) if args.side.startswith("ours") else peer(Path(args.peer))
            flops = flops_per_call(step)
            seconds = seconds_per_call(step, args.steps, warmup=1)
            rates = {rate: round(per_call / seconds, 3), flop: round(flops / 1e9, 1)}
            print(json.dumps({**rates, "gflops": round(flops / seconds / 1e9, 1)}))
        return
    passed = ["--peer", args.peer, "--threads", str(args.threads), "--steps", str(args.steps)]
    ours = [f"ours:{p}" for p in args.precisions.split(",")]
    results = alternate(Path(script), [*ours, "peer", "peak"], passed, args.rounds)
    report(results, rate, flop, args.peer, args.threads)
