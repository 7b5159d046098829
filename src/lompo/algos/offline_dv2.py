"""Offline DreamerV2 with an ensemble disagreement penalty (V-D4RL section 4.2, Appendix B.1, C.1;
DreamerV2, Hafner et al. 2021). DESIGN.md 7.2.

Work in progress: this file so far holds the equations, each tested against a hand computation
(tests/test_offline_dv2_math.py). The discrete RSSM, the two training phases and the registration
as ``--algo offline_dv2`` come next; until then the algorithm is not selectable.

* :func:`straight_through_onehot` — a sample of each of the 32 categoricals as a one-hot vector whose
  gradient is the gradient of the class probabilities (DreamerV2's straight-through estimator),
  optionally mixed with 1 % uniform ("unimix").
* :func:`balanced_kl` — KL balancing (DreamerV2 eq. 3 / Algorithm 2): ``a KL(sg(q) || p) + (1 - a)
  KL(q || sg(p))`` with ``a = 0.8``, each term floored at the free nats (1.0) after averaging.
* :func:`lambda_returns` — TD(lambda) targets of imagined trajectories (lambda 0.95).
* :func:`mean_disagreement` and :func:`penalized_reward` — V-D4RL eq. 1: ``r - lambda u`` with
  ``u = mean_k || p_k - mean_j p_j ||_F`` over the K prior members' class-probability matrices.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def straight_through_onehot(logits: torch.Tensor, unimix: float = 0.0,
                            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``logits (..., classes)`` as one-hot vectors with straight-through gradients.

    Returns ``(sample, probs)``: ``sample`` equals a one-hot vector in value and has the gradient
    of ``probs`` (``onehot + (probs - sg(probs))``); ``probs`` are the (unimix-mixed) probabilities."""
    probs = F.softmax(logits, dim=-1)
    if unimix > 0:
        probs = (1.0 - unimix) * probs + unimix / probs.shape[-1]
    flat = probs.detach().reshape(-1, probs.shape[-1])
    index = torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])
    onehot = F.one_hot(index, probs.shape[-1]).to(probs.dtype)
    return onehot + (probs - probs.detach()), probs  # exactly one-hot in value


def categorical_kl(q_probs: torch.Tensor, p_probs: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``KL(q || p)`` of independent categoricals ``(..., variables, classes)``, summed over variables."""
    q = q_probs.clamp_min(eps)
    return (q * (q.log() - p_probs.clamp_min(eps).log())).sum((-2, -1))


def balanced_kl(post_probs: torch.Tensor, prior_probs: torch.Tensor, balance: float = 0.8,
                free_nats: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """DreamerV2's KL balancing: the prior moves towards the posterior with weight ``balance`` and the
    posterior towards the prior with ``1 - balance``; each term is ``max(mean KL, free_nats)``.
    Returns ``(loss, mean KL)``."""
    kl_prior_side = categorical_kl(post_probs.detach(), prior_probs).mean()
    kl_post_side = categorical_kl(post_probs, prior_probs.detach()).mean()
    floor = torch.tensor(free_nats, dtype=kl_prior_side.dtype, device=kl_prior_side.device)
    loss = balance * torch.maximum(kl_prior_side, floor) + (1.0 - balance) * torch.maximum(kl_post_side, floor)
    return loss, kl_prior_side.detach()


def lambda_returns(reward: torch.Tensor, value: torch.Tensor, discount: torch.Tensor,
                   lam: float = 0.95) -> torch.Tensor:
    """TD(lambda) returns of an imagined trajectory, ``reward``/``discount`` ``(H, ...)``, ``value``
    ``(H + 1, ...)``: ``R_t = r_t + d_t ((1 - lam) V_{t+1} + lam R_{t+1})`` with ``R_H = V_H``;
    ``d_t`` is gamma times the predicted continuation. Returns ``(H, ...)``."""
    horizon = reward.shape[0]
    if value.shape[0] != horizon + 1 or discount.shape[0] != horizon:
        raise ValueError(f"need H rewards and discounts and H + 1 values, got {reward.shape[0]}, "
                         f"{discount.shape[0]} and {value.shape[0]}")
    returns = []
    next_return = value[-1]
    for t in reversed(range(horizon)):
        next_return = reward[t] + discount[t] * ((1.0 - lam) * value[t + 1] + lam * next_return)
        returns.append(next_return)
    return torch.stack(returns[::-1])


def mean_disagreement(member_probs: torch.Tensor) -> torch.Tensor:
    """V-D4RL's penalty ``u = mean_k || p_k - p_bar ||_F``; ``member_probs (K, ..., variables, classes)``,
    the Frobenius norm over each member's (variables x classes) probability matrix. Returns ``(...)``."""
    centred = member_probs - member_probs.mean(0, keepdim=True)
    return centred.pow(2).sum((-2, -1)).sqrt().mean(0)


def penalized_reward(reward: torch.Tensor, disagreement: torch.Tensor, scale: float) -> torch.Tensor:
    """V-D4RL eq. 1: ``r - lambda u`` (lambda 10 by default, DESIGN.md 7.2)."""
    return reward - scale * disagreement
