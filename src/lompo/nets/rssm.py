"""Gaussian RSSM with an ensemble of K prior heads on one shared GRU (LOMPO appendix C, eq. 11).

State ``s_t = [d_t, z_t]``:

* deterministic path ``d_t = GRU(d_{t-1}, W[z_{t-1}, a_t])`` — shared by the
  posterior and all priors (``a_t`` is the action that led to frame ``t``,
  the episode-file convention);
* posterior ``q(z_t | d_t, h_t)`` with ``h_t = E(x_t)``: one MLP;
* priors ``p_k(z_t | d_t)``, ``k = 1..K``: K MLP heads, evaluated together
  by :class:`~lompo.nets.mlp.EnsembleMLP`;
* every Gaussian has ``std = softplus(raw) + min_std`` (min_std 0.1).

Only the GRU and the posterior are sequential. :meth:`observe` runs them in
the time loop and :meth:`prior` evaluates the prior heads on all steps at
once afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from lompo.nets.mlp import EnsembleMLP, mlp


@dataclass
class LatentState:
    """A batch of latent states; ``deter`` ``(..., D)``, ``stoch`` ``(..., Z)``."""

    deter: torch.Tensor
    stoch: torch.Tensor

    @property
    def features(self) -> torch.Tensor:
        return torch.cat([self.deter, self.stoch], -1)

    def detach(self) -> LatentState:
        return LatentState(self.deter.detach(), self.stoch.detach())


def gaussian_params(raw: torch.Tensor, min_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = raw.chunk(2, dim=-1)
    return mean, F.softplus(std) + min_std


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(std^2)), summed over the last dimension."""
    return torch.distributions.Normal(mean, std).log_prob(x).sum(-1)


def gaussian_kl(mean_q, std_q, mean_p, std_p) -> torch.Tensor:
    """KL(N(mean_q, std_q) || N(mean_p, std_p)) for diagonal Gaussians, summed over the last dimension."""
    var_ratio = (std_q / std_p) ** 2
    mahalanobis = ((mean_q - mean_p) / std_p) ** 2
    return 0.5 * (var_ratio + mahalanobis - 1.0 - torch.log(var_ratio)).sum(-1)


class EnsembleRSSM(nn.Module):
    def __init__(self, action_dim: int, embed_dim: int, deter: int = 256, stoch: int = 64, hidden: int = 256,
                 ensemble: int = 7, layers: int = 2, min_std: float = 0.1,
                 posterior_reads_state: bool = True):  # fmt: skip
        super().__init__()
        self.deter_dim, self.stoch_dim, self.ensemble, self.min_std = deter, stoch, ensemble, min_std
        self.action_dim = action_dim
        # ``q(z_t | d_t, x_t)`` (LOMPO, Dreamer), or ``q(z_t | x_t)``: the frame alone, so that nothing
        # the posterior infers can come from the action history (LompoConfig.reward_from_frame).
        self.posterior_reads_state = posterior_reads_state
        self.gru_input = nn.Sequential(nn.Linear(stoch + action_dim, hidden), nn.ELU())
        self.gru = nn.GRUCell(hidden, deter)
        # ``layers`` hidden layers + a linear output each (LompoConfig.mlp_layers: 3 in the paper preset,
        # 2 in ``cpu``).
        self.posterior_net = mlp((deter if posterior_reads_state else 0) + embed_dim, 2 * stoch, hidden, layers)
        self.prior_net = EnsembleMLP(ensemble, deter, 2 * stoch, hidden, layers)

    @property
    def feature_dim(self) -> int:
        return self.deter_dim + self.stoch_dim

    def initial(self, batch: int, device=None) -> LatentState:
        device = device or self.gru.weight_hh.device
        return LatentState(
            torch.zeros(batch, self.deter_dim, device=device), torch.zeros(batch, self.stoch_dim, device=device)
        )

    def deterministic_step(self, state: LatentState, action: torch.Tensor) -> torch.Tensor:
        """``d_t = GRU(d_{t-1}, W[z_{t-1}, a_t])``."""
        return self.gru(self.gru_input(torch.cat([state.stoch, action], -1)), state.deter)

    def posterior(self, deter: torch.Tensor, embed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.cat([deter, embed], -1) if self.posterior_reads_state else embed
        return gaussian_params(self.posterior_net(inputs), self.min_std)

    def prior(self, deter: torch.Tensor, members: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Prior parameters from deterministic states.

        ``members=None``: all K heads on ``deter (N, D)`` -> ``(K, N, Z)`` each.
        ``members (M,)`` with ``deter (M, N, D)``: head ``members[m]`` on block ``m`` -> ``(M, N, Z)``.
        """
        if members is None:
            deter = deter.unsqueeze(0).expand(self.ensemble, *deter.shape)
        return gaussian_params(self.prior_net(deter, members), self.min_std)

    def observe_step(self, state: LatentState, action: torch.Tensor, embed: torch.Tensor,
                     is_first: torch.Tensor | None = None, sample: bool = True):  # fmt: skip
        """One filtering step; returns ``(state, posterior mean, posterior std)``.

        Where ``is_first`` is set, the previous state and action are zeroed (episode start).
        """
        if is_first is not None:
            keep = (~is_first).float().unsqueeze(-1)
            state = LatentState(state.deter * keep, state.stoch * keep)
            action = action * keep
        deter = self.deterministic_step(state, action)
        mean, std = self.posterior(deter, embed)
        stoch = mean + std * torch.randn_like(std) if sample else mean
        return LatentState(deter, stoch), mean, std

    def observe(
        self, embed: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor, state: LatentState | None = None
    ) -> dict[str, torch.Tensor]:
        """Filter sequences ``(B, T, ...)``; returns deter, stoch, post_mean, post_std, each ``(B, T, ...)``."""
        batch, length = embed.shape[:2]
        state = state or self.initial(batch, embed.device)
        out: dict[str, list[torch.Tensor]] = {k: [] for k in ("deter", "stoch", "post_mean", "post_std")}
        for t in range(length):
            state, mean, std = self.observe_step(state, action[:, t], embed[:, t], is_first[:, t])
            for key, value in zip(out, (state.deter, state.stoch, mean, std)):
                out[key].append(value)
        return {key: torch.stack(values, 1) for key, values in out.items()}

    def imagine_all_members(self, state: LatentState, action: torch.Tensor):
        """One latent-MDP step with all K priors: ``(deter', means, stds, samples)``, the last three ``(K, N, Z)``."""
        deter = self.deterministic_step(state, action)
        means, stds = self.prior(deter)
        samples = means + stds * torch.randn_like(stds)
        return deter, means, stds, samples
