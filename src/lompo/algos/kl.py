"""The KL term of an ensemble world model, split so that the prior heads always learn.

``KL(q ‖ p_k)`` has two gradients: one moves the prior head ``p_k`` towards the posterior, one moves
the posterior ``q`` towards the prior. :func:`split_kl` computes them as two terms with the other side
held fixed (DreamerV2's KL balancing, Hafner et al. 2021, eq. 3 / Algorithm 2) and puts the free-nats
floor on the **posterior side only**. The floor exists to stop posterior collapse; on the prior side it
would cut the gradient of the K prior heads — which are trained by nothing but this term and are the
uncertainty estimate — whenever the KL sits below the floor (LOMPO's KL on cartpole sits at 2-3 nats,
below Dreamer's 3-nat floor, so a floor on both sides left the heads at their initialisation).
"""

from __future__ import annotations

import torch


def masked_mean(value: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``value`` over the entries where ``mask`` is set (all entries without a mask)."""
    if mask is None:
        return value.mean()
    mask = mask.to(value.dtype)
    return (value * mask).sum() / mask.sum().clamp(min=1.0)


def split_kl(
    kl_prior_side: torch.Tensor,
    kl_posterior_side: torch.Tensor,
    prior_weight: float,
    posterior_weight: float,
    free_nats: float,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``prior_weight · mean KL(sg(q) ‖ p) + posterior_weight · max(mean KL(q ‖ sg(p)), free_nats)``.

    Both inputs are per-entry KLs of the same distributions, ``kl_prior_side`` computed with the
    posterior detached and ``kl_posterior_side`` with the prior detached; means run over ``mask``.
    With both weights 1 and ``free_nats = 0`` the gradient is exactly that of ``mean KL(q ‖ p)``
    (LOMPO eq. 8); DreamerV2 balances 0.8 / 0.2."""
    prior_term = masked_mean(kl_prior_side, mask)
    posterior_term = masked_mean(kl_posterior_side, mask)
    floor = torch.tensor(free_nats, dtype=posterior_term.dtype, device=posterior_term.device)
    return prior_weight * prior_term + posterior_weight * torch.maximum(posterior_term, floor)
