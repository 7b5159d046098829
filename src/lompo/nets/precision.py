"""Lower-precision compute for the networks whose FLOPs dominate a step (convolutions, the largest
projections): ``bf16`` runs their matmuls and convolutions in bfloat16 under ``torch.autocast`` while
weights, gradients, optimizer state, everything else and their outputs stay fp32. Worth it where the
CPU has native bfloat16 (``lscpu``: ``avx512_bf16`` or ``amx_bf16``) or on a GPU; emulated elsewhere
and then slower. Off by default: on five LOMPO seeds bf16 world models learned as their fp32 twins did,
but DrQ+BC's final scores were lower on each of three seeds (BENCHMARKS.md, "bf16 and learning")."""

from __future__ import annotations

import torch

from lompo.errors import ConfigError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def compute_in(precision: str, device: torch.device):
    """The context of a network's forward pass: bfloat16 autocast for ``bf16``, nothing for ``fp32``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def use_precision(module: torch.nn.Module, precision: str) -> None:
    """Set ``precision`` on every submodule of ``module`` that has the setting."""
    check_precision(precision)
    for sub in module.modules():
        if hasattr(sub, "precision"):
            sub.precision = precision  # type: ignore[assignment]  # a str attribute, not a submodule
