"""MLPs, including an ensemble of K MLPs evaluated in one batched matrix product."""

from __future__ import annotations

import math

import torch
from torch import nn


def mlp(inp: int, out: int, hidden: int, layers: int, act: type[nn.Module] = nn.ELU) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` units with activation ``act``, then a linear output."""
    sizes = [inp] + [hidden] * layers
    modules: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(a, b), act()]
    modules.append(nn.Linear(sizes[-1], out))
    return nn.Sequential(*modules)


class EnsembleLinear(nn.Module):
    """K independent linear layers: ``y[k] = x[k] @ W[k] + b[k]``.

    ``forward(x)`` takes ``(K, N, in)``; ``forward(x, members)`` takes ``(M, N, in)``
    and applies member ``members[m]`` to row block ``m`` (one member per time
    step in LOMPO's eq. 8, at the cost of one member).
    """

    def __init__(self, members: int, inp: int, out: int):
        super().__init__()
        bound = 1.0 / math.sqrt(inp)  # nn.Linear's default initialisation, per member
        self.weight = nn.Parameter(torch.empty(members, inp, out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        if members is None:
            return torch.baddbmm(self.bias, x, self.weight)
        # index_select, not weight[members]: members repeat (K heads over M blocks), and the backward of
        # advanced indexing (index_put_ with accumulate) sums repeats in a thread-dependent order on CPU,
        # which made multi-threaded runs differ between processes; index_select's backward does not.
        return torch.baddbmm(self.bias.index_select(0, members), x, self.weight.index_select(0, members))


class EnsembleMLP(nn.Module):
    """K MLPs of the same shape (``layers`` hidden layers, ELU), evaluated together."""

    def __init__(self, members: int, inp: int, out: int, hidden: int, layers: int):
        super().__init__()
        sizes = [inp] + [hidden] * layers + [out]
        self.members = members
        self.linears = nn.ModuleList(EnsembleLinear(members, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = nn.ELU()

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: ``(K, N, in)`` for all members, or ``(M, N, in)`` with ``members`` of shape ``(M,)``."""
        for i, linear in enumerate(self.linears):
            x = linear(x, members)
            if i < len(self.linears) - 1:
                x = self.act(x)
        return x

    def member_grad_norms(self) -> torch.Tensor:
        """``(K,)``: the L2 norm of each member's gradient over all its layers (zero where none)."""
        linears: list[EnsembleLinear] = list(self.linears)  # type: ignore[arg-type]
        squares = torch.zeros(self.members, device=linears[0].weight.device)
        for linear in linears:
            for param in (linear.weight, linear.bias):
                if param.grad is not None:
                    squares = squares + param.grad.detach().pow(2).flatten(1).sum(1)
        return squares.sqrt()
