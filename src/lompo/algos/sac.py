"""Soft Actor-Critic on flat vectors, shared by the V-D4RL behaviour agents (on
proprioceptive state, V-D4RL section 4.1.1) and LOMPO's latent actor-critic (on
latent features ``[d, z]``, LOMPO section 4.3 and appendix C: 3 x 256 MLPs).

Soft Actor-Critic (Haarnoja et al. 2018, "SAC: Algorithms and Applications"):
twin Q-functions with target networks (Polyak tau = 0.005), a tanh-squashed
Gaussian actor, automatic entropy tuning towards ``-|A|``, Adam 3e-4, batch
256, discount 0.99. Default networks: 2 hidden layers of 256 units (the usual
DMC-from-state size); LOMPO uses 3.

``actor="deterministic"`` is the actor-critic of the official LOMPO code instead: a tanh-MLP actor
``a = pi(s)`` trained to maximise ``min_i Q_i(s, pi(s))``, critics regressed on ``r + gamma d min_i
Q'_i(s', pi(s'))`` with the current actor, no entropy term and no temperature (DDPG's update with
twin critics; exploration comes from noise its user adds to the actions).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lompo.algos.spec import Metrics
from lompo.errors import ConfigError
from lompo.nets.mlp import mlp

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


@dataclass
class SACConfig:
    hidden: int = 256
    layers: int = 2
    lr: float = 3e-4
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    init_temperature: float = 0.1
    target_entropy: float | None = None  # None: -action_dim
    actor: str = "stochastic"  # stochastic (SAC) | deterministic (the official LOMPO code's agent)

    def validate(self) -> None:
        if self.actor not in ACTORS:
            raise ConfigError(f"actor must be one of {', '.join(ACTORS)}, got {self.actor!r}")


def tanh_gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, pre_tanh: torch.Tensor) -> torch.Tensor:
    """log pi(a|s) of ``a = tanh(u)``, ``u ~ N(mean, std)`` (SAC paper, appendix C, eq. 21).

    Uses ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))`` for numerical stability.
    """
    normal = torch.distributions.Normal(mean, log_std.exp())
    correction = 2.0 * (math.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))
    return (normal.log_prob(pre_tanh) - correction).sum(-1)


class TanhGaussianActor(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, hidden: int, layers: int):
        super().__init__()
        self.net = mlp(obs_dim, 2 * action_dim, hidden, layers, nn.ReLU)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised action in (-1, 1) and its log-probability."""
        mean, log_std = self(obs)
        pre_tanh = mean + log_std.exp() * torch.randn_like(mean)
        return torch.tanh(pre_tanh), tanh_gaussian_log_prob(mean, log_std, pre_tanh)


class DeterministicActor(nn.Module):
    """``a = tanh(f(s))``; ``forward`` returns the pre-tanh output (as the stochastic actor's mean)."""

    def __init__(self, obs_dim: int, action_dim: int, hidden: int, layers: int):
        super().__init__()
        self.net = mlp(obs_dim, action_dim, hidden, layers, nn.ReLU)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


ACTORS = ("stochastic", "deterministic")


class TwinQ(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, hidden: int, layers: int):
        super().__init__()
        self.q1 = mlp(obs_dim + action_dim, 1, hidden, layers, nn.ReLU)
        self.q2 = mlp(obs_dim + action_dim, 1, hidden, layers, nn.ReLU)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs, action], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging ``target <- (1 - tau) target + tau source``."""
    for t, s in zip(target.parameters(), source.parameters()):
        t.lerp_(s, tau)


class SAC:
    """SAC agent on flat state vectors; actions in [-1, 1]. With ``actor="deterministic"`` the official
    LOMPO code's deterministic actor-critic (module docstring)."""

    def __init__(self, obs_dim: int, action_dim: int, config: SACConfig | None = None, device: str = "cpu"):
        self.config = config or SACConfig()
        c = self.config
        c.validate()
        self.device = torch.device(device)
        self.deterministic = c.actor == "deterministic"
        actor_class = DeterministicActor if self.deterministic else TanhGaussianActor
        self.actor: Any = actor_class(obs_dim, action_dim, c.hidden, c.layers).to(self.device)
        self.critic = TwinQ(obs_dim, action_dim, c.hidden, c.layers).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=c.lr)
        if not self.deterministic:  # the entropy temperature
            self.log_alpha = torch.tensor(math.log(c.init_temperature), device=self.device, requires_grad=True)
            self.target_entropy = -float(action_dim) if c.target_entropy is None else c.target_entropy
            self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=c.lr)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp()

    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        """The actor's mean action (the action itself for the deterministic actor), batched."""
        if self.deterministic:
            return torch.tanh(self.actor(obs))
        return torch.tanh(self.actor(obs)[0])

    def sample_action(self, obs: torch.Tensor) -> torch.Tensor:
        """An action drawn from the actor (the deterministic actor's action: it has no noise of its own)."""
        if self.deterministic:
            return self.mean_action(obs)
        return self.actor.sample(obs)[0]

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Action for one state; *sampled* from the stochastic actor unless ``deterministic``."""
        x = torch.as_tensor(obs, dtype=torch.float32, device=self.device).unsqueeze(0)
        action = self.mean_action(x) if deterministic else self.sample_action(x)
        return action.squeeze(0).cpu().numpy()

    def critic_target_value(self, reward, discount, next_obs) -> torch.Tensor:
        """``r + gamma d (min_i Q'_i(s', a') - alpha log pi(a'|s'))``, ``a' ~ pi(s')`` (SAC eq. 3); for the
        deterministic actor ``r + gamma d min_i Q'_i(s', pi(s'))``."""
        with torch.no_grad():
            if self.deterministic:
                q1, q2 = self.critic_target(next_obs, self.mean_action(next_obs))
                return reward + self.config.gamma * discount * torch.min(q1, q2)
            next_action, next_log_prob = self.actor.sample(next_obs)
            q1, q2 = self.critic_target(next_obs, next_action)
            soft_value = torch.min(q1, q2) - self.alpha * next_log_prob
            return reward + self.config.gamma * discount * soft_value

    def update(self, batch: dict[str, torch.Tensor]) -> Metrics:
        """One gradient step on critic, actor and temperature; ``batch`` has obs, action, reward,
        discount (0 at terminal transitions) and next_obs."""
        obs, action = batch["obs"], batch["action"]
        target = self.critic_target_value(batch["reward"], batch["discount"], batch["next_obs"])
        q1, q2 = self.critic(obs, action)
        critic_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()

        if self.deterministic:
            new_action, log_prob = self.mean_action(obs), None
        else:
            new_action, log_prob = self.actor.sample(obs)
        self.critic.requires_grad_(False)  # the actor's loss needs dQ/da, not the critic's weight gradients
        q1_pi, q2_pi = self.critic(obs, new_action)
        self.critic.requires_grad_(True)
        if log_prob is None:
            actor_loss = -torch.min(q1_pi, q2_pi).mean()
        else:
            actor_loss = (self.alpha.detach() * log_prob - torch.min(q1_pi, q2_pi)).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()
        if log_prob is None:
            soft_update(self.critic_target, self.critic, self.config.tau)
            return {"critic_loss": critic_loss.detach(), "actor_loss": actor_loss.detach(), "q": q1.mean().detach()}

        alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_opt.step()

        soft_update(self.critic_target, self.critic, self.config.tau)
        return {
            "critic_loss": critic_loss.detach(),
            "actor_loss": actor_loss.detach(),
            "alpha": self.alpha.detach(),
            "entropy": -log_prob.mean().detach(),
            "q": q1.mean().detach(),
        }

    def state_dict(self) -> dict:
        state: dict[str, Any] = {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
        }
        if not self.deterministic:
            state.update(log_alpha=self.log_alpha.detach().clone(), alpha_opt=self.alpha_opt.state_dict())
        return state

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.critic_target.load_state_dict(state["critic_target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        if not self.deterministic:
            with torch.no_grad():
                self.log_alpha.copy_(state["log_alpha"])
            self.alpha_opt.load_state_dict(state["alpha_opt"])
