"""DreamerV2's discrete RSSM with an ensemble of K prior heads (V-D4RL Appendix B.1; docs/offline_dv2.md).

State ``s_t = [d_t, z_t]``:

* ``d_t = GRU(d_{t-1}, ELU(W[z_{t-1}, a_t]))`` with DreamerV2's layer-normalised GRU cell
  (:class:`LayerNormGRUCell`); the input layer and the GRU are shared by the posterior and all priors;
* ``z_t``: ``stoch`` categorical variables of ``classes`` classes each, stored flat as one-hot
  vectors ``(..., stoch * classes)`` and sampled with straight-through gradients
  (:func:`straight_through_onehot`);
* posterior ``q(z_t | d_t, E(x_t))``: one hidden layer (ELU) then logits;
* priors ``p_k(z_t | d_t)``, ``k = 1..K``: K heads of the same shape, evaluated together.

As in the Gaussian :class:`~lompo.nets.rssm.EnsembleRSSM`, only the GRU and the posterior run in
the time loop; the prior heads run afterwards on all steps in one batched call.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lompo.nets.mlp import EnsembleMLP
from lompo.nets.rssm import LatentState


def straight_through_onehot(
    logits: torch.Tensor, unimix: float = 0.0, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``logits (..., classes)`` as one-hot vectors with straight-through gradients (DreamerV2).

    Returns ``(sample, probs)``: ``sample`` equals a one-hot vector in value and has the gradient
    of ``probs`` (``onehot + (probs - sg(probs))``); ``probs`` are the probabilities, mixed with
    ``unimix`` of the uniform distribution when ``unimix > 0`` (DreamerV3's 1 %)."""
    probs = class_probs(logits, unimix)
    return straight_through_sample(probs, generator), probs


def straight_through_sample(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One-hot samples of ``probs (..., classes)`` carrying the gradient of ``probs``."""
    flat = probs.detach().reshape(-1, probs.shape[-1])
    index = torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])
    onehot = F.one_hot(index, probs.shape[-1]).to(probs.dtype)
    return onehot + (probs - probs.detach())  # exactly one-hot in value


def class_probs(logits: torch.Tensor, unimix: float = 0.0) -> torch.Tensor:
    probs = F.softmax(logits, dim=-1)
    if unimix > 0:
        probs = (1.0 - unimix) * probs + unimix / probs.shape[-1]
    return probs


def mode_onehot(probs: torch.Tensor) -> torch.Tensor:
    """The most likely class of each variable as a one-hot vector (no gradient)."""
    return F.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)


class LayerNormGRUCell(nn.Module):
    """DreamerV2's GRU cell: one linear map of ``[input, state]`` to the three gates, layer norm,
    ``cand = tanh(reset * cand)``, ``update = sigmoid(update - 1)`` (bias towards keeping the state)."""

    def __init__(self, inp: int, size: int, update_bias: float = -1.0):
        super().__init__()
        self.linear = nn.Linear(inp + size, 3 * size, bias=False)
        self.norm = nn.LayerNorm(3 * size)
        self.update_bias = update_bias

    def forward(self, inputs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        reset, cand, update = self.norm(self.linear(torch.cat([inputs, state], -1))).chunk(3, -1)
        cand = torch.tanh(torch.sigmoid(reset) * cand)
        update = torch.sigmoid(update + self.update_bias)
        return update * cand + (1.0 - update) * state


class DiscreteEnsembleRSSM(nn.Module):
    def __init__(self, action_dim: int, embed_dim: int, deter: int = 200, stoch: int = 32, classes: int = 32,
                 hidden: int = 200, ensemble: int = 7, unimix: float = 0.0):  # fmt: skip
        super().__init__()
        self.deter_dim, self.stoch_vars, self.classes = deter, stoch, classes
        self.ensemble, self.unimix, self.action_dim = ensemble, unimix, action_dim
        self.gru_input = nn.Sequential(nn.Linear(stoch * classes + action_dim, hidden), nn.ELU())
        self.gru = LayerNormGRUCell(hidden, deter)
        self.posterior_net = nn.Sequential(
            nn.Linear(deter + embed_dim, hidden), nn.ELU(), nn.Linear(hidden, stoch * classes)
        )
        self.prior_net = EnsembleMLP(ensemble, deter, stoch * classes, hidden, layers=1)

    @property
    def stoch_dim(self) -> int:
        return self.stoch_vars * self.classes

    @property
    def feature_dim(self) -> int:
        return self.deter_dim + self.stoch_dim

    def initial(self, batch: int, device=None) -> LatentState:
        device = device or self.gru.linear.weight.device
        return LatentState(
            torch.zeros(batch, self.deter_dim, device=device), torch.zeros(batch, self.stoch_dim, device=device)
        )

    def _probs(self, flat_logits: torch.Tensor) -> torch.Tensor:
        return class_probs(flat_logits.unflatten(-1, (self.stoch_vars, self.classes)), self.unimix)

    def _sample(self, probs: torch.Tensor, sample: bool) -> torch.Tensor:
        """A straight-through one-hot sample (or the mode) of ``probs (..., V, C)``, flattened."""
        return (straight_through_sample(probs) if sample else mode_onehot(probs)).flatten(-2)

    def deterministic_step(self, state: LatentState, action: torch.Tensor) -> torch.Tensor:
        return self.gru(self.gru_input(torch.cat([state.stoch, action], -1)), state.deter)

    def posterior_probs(self, deter: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        return self._probs(self.posterior_net(torch.cat([deter, embed], -1)))

    def prior_probs(self, deter: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """``members=None``: all K heads on ``deter (N, D)`` -> ``(K, N, V, C)``;
        ``members (M,)`` with ``deter (M, N, D)``: head ``members[m]`` on block ``m`` -> ``(M, N, V, C)``."""
        if members is None:
            deter = deter.unsqueeze(0).expand(self.ensemble, *deter.shape)
        return self._probs(self.prior_net(deter, members))

    def observe_step(self, state: LatentState, action: torch.Tensor, embed: torch.Tensor,
                     is_first: torch.Tensor | None = None, sample: bool = True):  # fmt: skip
        """One filtering step; returns ``(state, posterior probabilities)``. Where ``is_first`` is set,
        the previous state and action are zeroed (episode start)."""
        if is_first is not None:
            keep = (~is_first).float().unsqueeze(-1)
            state = LatentState(state.deter * keep, state.stoch * keep)
            action = action * keep
        deter = self.deterministic_step(state, action)
        probs = self.posterior_probs(deter, embed)
        return LatentState(deter, self._sample(probs, sample)), probs

    def observe(self, embed: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor) -> dict[str, torch.Tensor]:
        """Filter sequences ``(B, T, ...)``; returns ``deter``, ``stoch`` and ``post_probs``, each ``(B, T, ...)``."""
        state = self.initial(embed.shape[0], embed.device)
        out: dict[str, list[torch.Tensor]] = {k: [] for k in ("deter", "stoch", "post_probs")}
        for t in range(embed.shape[1]):
            state, probs = self.observe_step(state, action[:, t], embed[:, t], is_first[:, t])
            for key, value in zip(out, (state.deter, state.stoch, probs)):
                out[key].append(value)
        return {key: torch.stack(values, 1) for key, values in out.items()}

    def imagine_step(self, state: LatentState, action: torch.Tensor, members: torch.Tensor | None = None):
        """One imagined step with all K priors: returns ``(next state, member probabilities (K, N, V, C))``.
        The next stochastic state is a straight-through sample of member ``members[n]`` for row ``n``
        (uniform over members when ``members`` is None)."""
        deter = self.deterministic_step(state, action)
        probs = self.prior_probs(deter)
        n = deter.shape[0]
        if members is None:
            members = torch.randint(0, self.ensemble, (n,), device=deter.device)
        chosen = probs[members, torch.arange(n, device=deter.device)]
        return LatentState(deter, self._sample(chosen, True)), probs
