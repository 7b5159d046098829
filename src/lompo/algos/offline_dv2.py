"""Offline DreamerV2 with an ensemble disagreement penalty (V-D4RL section 4.2, Appendix B.1, C.1;
DreamerV2, Hafner et al. 2021); docs/offline_dv2.md.

The pieces, in the order of the method:

1. World model: conv encoder/decoder (ELU, DreamerV2's depth 48), the discrete RSSM of
   :mod:`lompo.nets.discrete_rssm` (32 x 32 categoricals, deter 200, hidden 200, K = 7 prior heads
   sharing the GRU and its input layer), reward head and discount head (4 x 400 ELU). Loss
   (:func:`world_model_loss`): image, reward and discount likelihoods plus :func:`balanced_kl`
   (balance 0.8, free nats 1.0) between the posterior and one uniformly drawn prior member per
   time step.
2. Agent phase with the world model frozen: :func:`imagine` rolls the actor out for H = 5 steps
   from the posterior states of a dataset batch; each step's next state is sampled from a random
   member. Rewards are :func:`disagreement_penalized_reward` ``r - lambda u`` with ``u`` the
   :func:`probability_disagreement` of the K members' class-probability matrices (V-D4RL eq. 1; lambda 10,
   on by default). :func:`lambda_returns` (lambda 0.95, gamma 0.99 times the predicted
   continuation) are the critic's targets (slow target critic) and the actor's objective, which
   it maximises by backpropagating through the frozen dynamics (:func:`actor_loss`, entropy 1e-4).

Equations are tested against hand computations in tests/test_offline_dv2_math.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lompo.algos.kl import masked_mean, split_kl
from lompo.algos.spec import AlgorithmSpec, Metrics, check_choice, check_positive
from lompo.algos.world_model import (
    LatentModelAlgorithm,
    batch_to_torch,
    model_sample_strip,
    reward_r2,
    sample_prior_members,
)
from lompo.data.samplers import SequenceSampler, proprio_size
from lompo.data.store import EpisodeStore
from lompo.errors import ConfigError
from lompo.nets import ConvDecoder, ConvEncoder, LatentState, mlp
from lompo.nets.conv import preprocess
from lompo.nets.discrete_rssm import DiscreteEnsembleRSSM
from lompo.nets.init import INITS, glorot_init
from lompo.nets.precision import check_precision


def categorical_kl(q_probs: torch.Tensor, p_probs: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``KL(q || p)`` of independent categoricals ``(..., variables, classes)``, summed over variables."""
    q = q_probs.clamp_min(eps)
    return (q * (q.log() - p_probs.clamp_min(eps).log())).sum((-2, -1))


def balanced_kl(
    post_probs: torch.Tensor,
    prior_probs: torch.Tensor,
    balance: float = 0.8,
    free_nats: float = 1.0,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """DreamerV2's KL balancing: the prior moves towards the posterior with weight ``balance`` and the
    posterior towards the prior with ``1 - balance``. The free-nats floor ``max(mean KL, free_nats)``
    sits on the posterior side only (:func:`~lompo.algos.kl.split_kl`; DreamerV2 floors both sides,
    which stops the ensemble's prior heads whenever the mean KL is below 1 nat). Means run over the
    entries where ``mask`` is set (all by default). Returns ``(loss, mean KL)``."""
    kl_prior_side = categorical_kl(post_probs.detach(), prior_probs)
    kl_post_side = categorical_kl(post_probs, prior_probs.detach())
    loss = split_kl(kl_prior_side, kl_post_side, balance, 1.0 - balance, free_nats, mask)
    return loss, masked_mean(kl_prior_side.detach(), mask)


def lambda_returns(
    reward: torch.Tensor, value: torch.Tensor, discount: torch.Tensor, lam: float = 0.95
) -> torch.Tensor:
    """TD(lambda) returns of an imagined trajectory, ``reward``/``discount`` ``(H, ...)``, ``value``
    ``(H + 1, ...)``: ``R_t = r_t + d_t ((1 - lam) V_{t+1} + lam R_{t+1})`` with ``R_H = V_H``;
    ``d_t`` is gamma times the predicted continuation. Returns ``(H, ...)``."""
    horizon = reward.shape[0]
    if value.shape[0] != horizon + 1 or discount.shape[0] != horizon:
        raise ValueError(
            f"need H rewards and discounts and H + 1 values, got {reward.shape[0]}, "
            f"{discount.shape[0]} and {value.shape[0]}"
        )
    returns = []
    next_return = value[-1]
    for t in reversed(range(horizon)):
        next_return = reward[t] + discount[t] * ((1.0 - lam) * value[t + 1] + lam * next_return)
        returns.append(next_return)
    return torch.stack(returns[::-1])


def probability_disagreement(member_probs: torch.Tensor) -> torch.Tensor:
    """V-D4RL's penalty ``u = mean_k || p_k - p_bar ||_F``; ``member_probs (K, ..., variables, classes)``,
    the Frobenius norm over each member's (variables x classes) probability matrix. Returns ``(...)``."""
    centred = member_probs - member_probs.mean(0, keepdim=True)
    return centred.pow(2).sum((-2, -1)).sqrt().mean(0)


@torch.no_grad()
def penalty_across_actions(
    model: WorldModel, start: LatentState, seed: int, states: int = 32, actions: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """The penalty ``u`` of one step from each of the first ``states`` start states under ``actions`` uniform
    random actions: its mean (to set beside the policy's), and its std across the actions of one state,
    averaged over states (near 0: ``u`` cannot tell actions apart, so it cannot steer the actor). Draws the
    actions from their own generator (``seed``), so measuring leaves training's random stream untouched."""
    rssm = model.rssm
    deter, stoch = start.deter[:states], start.stoch[:states]
    m = deter.shape[0]
    generator = torch.Generator(device=deter.device).manual_seed(seed)
    action_dim = rssm.action_dim
    action = torch.rand(actions * m, action_dim, generator=generator, device=deter.device) * 2 - 1
    repeated = LatentState(deter.repeat(actions, 1), stoch.repeat(actions, 1))
    u = probability_disagreement(rssm.prior_probs(rssm.deterministic_step(repeated, action))).view(actions, m)
    return u.mean(), u.std(0, unbiased=False).mean()


def disagreement_penalized_reward(reward: torch.Tensor, disagreement: torch.Tensor, scale: float) -> torch.Tensor:
    """V-D4RL eq. 1: ``r - lambda u`` (lambda 10 by default, docs/offline_dv2.md)."""
    return reward - scale * disagreement


# ---------------------------------------------------------------------------- configuration
@dataclass
class OfflineDV2Config:
    # World model (DreamerV2's DMC settings; V-D4RL Table 7).
    depth: int = 48  # encoder/decoder channel unit (DreamerV2 cnn_depth)
    deter: int = 200
    hidden: int = 200
    stoch: int = 32  # categorical variables
    classes: int = 32
    ensemble: int = 7  # K prior heads
    unimix: float = 0.0  # DreamerV2 has none; DreamerV3 mixes 1 % uniform into every categorical
    head_units: int = 400  # reward, discount, actor and critic MLPs (DreamerV2: 4 x 400, ELU)
    head_layers: int = 4
    discount_head: bool = True
    # Initial weights of the world model: "glorot" as DreamerV2's Keras layers (lompo.nets.init), or
    # "torch" (PyTorch's layer defaults; runs made before this setting existed).
    init: str = "glorot"  # glorot | torch
    proprio: bool = False  # proprioception encoded beside the images and reconstructed (on for adroit-pen)
    kl_balance: float = 0.8
    free_nats: float = 1.0
    kl_scale: float = 1.0
    model_lr: float = 3e-4
    adam_eps: float = 1e-5  # model, actor and critic (DreamerV2)
    model_grad_clip: float = 100.0  # global gradient norm of the world model (DreamerV2)
    agent_grad_clip: float = 100.0  # of the actor and of the critic (DreamerV2)
    batch_size: int = 64  # sequences per world-model batch
    sequence_length: int = 50
    model_steps: int = 25_000  # 800 epochs of a 100K dataset at 64 x 50 (V-D4RL Table 7)
    channels_last: bool = True
    # bf16: the conv encoder and decoder compute in bfloat16 (lompo.nets.precision; BENCHMARKS.md,
    # "bf16 convolutions"); the RSSM, heads and losses stay fp32.
    precision: str = "fp32"
    # Every frame of the dataset copied once into the device's memory, batches gathered there (a GPU:
    # only indices cross; BENCHMARKS.md, "GPU"); the same batches as reading the store on the host.
    resident_frames: bool = False
    # Agent phase (world model frozen).
    horizon: int = 5  # H (V-D4RL C.1.1: 5 instead of DreamerV2's 15)
    imagine_batch_size: int = 64  # sequences whose posterior states start the imagination (DreamerV2: the batch)
    penalty_scale: float = 10.0  # lambda of V-D4RL eq. 1; on by default
    gamma: float = 0.99
    lambda_: float = 0.95
    actor_lr: float = 8e-5
    critic_lr: float = 8e-5
    actor_entropy: float = 1e-4
    actor_min_std: float = 0.1
    slow_target_every: int = 100  # hard copy of the critic into its target every this many updates
    agent_steps: int = 75_000  # 2,400 epochs (V-D4RL Table 7)

    def validate(self) -> None:
        check_precision(self.precision)
        names = "ensemble horizon batch_size imagine_batch_size stoch classes slow_target_every head_layers head_units"
        check_positive(self, names)
        if self.classes < 2:
            raise ConfigError(f"classes must be >= 2, got {self.classes}")
        if self.sequence_length < 2:
            raise ConfigError("sequence_length must be >= 2")
        if not 0.0 <= self.unimix < 1.0:
            raise ConfigError(f"unimix must be in [0, 1), got {self.unimix}")
        if not 0.0 <= self.kl_balance <= 1.0:
            raise ConfigError(f"kl_balance must be in [0, 1], got {self.kl_balance}")
        check_choice(self, "init", INITS)


WORLD_MODEL_FIELDS = (
    "depth",
    "deter",
    "hidden",
    "stoch",
    "classes",
    "ensemble",
    "unimix",
    "head_units",
    "head_layers",
    "discount_head",
    "proprio",
)

# ``paper``: V-D4RL Table 7 with DreamerV2's DMC defaults. ``cpu``: a cheap task, 20-25 minutes per
# run on one core (BENCHMARKS.md): the LOMPO cpu preset's model budget (1,000 steps of 16 x 32),
# 2,000 agent updates from 256 posterior states each (1/37 of the paper's updates, hence the higher
# actor and critic learning rates). ``tiny``: tests.
# fmt: off
PRESETS: dict[str, dict] = {
    "paper": {},
    "cpu": dict(depth=16, deter=128, hidden=128, stoch=16, classes=16, head_units=256, head_layers=2,
                batch_size=16, sequence_length=32, model_steps=1_000, imagine_batch_size=8, agent_steps=2_000,
                actor_lr=3e-4, critic_lr=3e-4),
    "tiny": dict(depth=4, deter=16, hidden=16, stoch=4, classes=4, ensemble=3, head_units=16, head_layers=1,
                 batch_size=2, sequence_length=8, model_steps=6, imagine_batch_size=2, agent_steps=6,
                 slow_target_every=2),
}
# fmt: on
VARIANTS: dict[str, dict] = {"offline_dv2": {}}


# ---------------------------------------------------------------------------- networks
class WorldModel(nn.Module):
    def __init__(self, config: OfflineDV2Config, image_size: int, action_dim: int, proprio_dim: int = 0):
        super().__init__()
        c = config
        self.encoder = ConvEncoder(image_size, c.depth, act=nn.ELU, proprio_dim=proprio_dim, proprio_hidden=c.hidden)
        self.rssm = DiscreteEnsembleRSSM(
            action_dim, self.encoder.embed_dim, c.deter, c.stoch, c.classes, c.hidden, c.ensemble, c.unimix
        )
        feat = self.rssm.feature_dim
        self.decoder = ConvDecoder(feat, image_size, c.depth, act=nn.ELU)
        self.reward_head = mlp(feat, 1, c.head_units, c.head_layers)
        self.discount_head = mlp(feat, 1, c.head_units, c.head_layers) if c.discount_head else None
        self.proprio_head = mlp(feat, proprio_dim, c.head_units, c.head_layers) if proprio_dim else None
        if c.init == "glorot":
            glorot_init(self)

    def reward(self, features: torch.Tensor) -> torch.Tensor:
        return self.reward_head(features).squeeze(-1)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        return self.decoder(features)

    def continuation(self, features: torch.Tensor) -> torch.Tensor:
        """Probability that the episode goes on after this state (1 without a discount head)."""
        if self.discount_head is None:
            return torch.ones(features.shape[:-1], device=features.device)
        return torch.sigmoid(self.discount_head(features).squeeze(-1))


class Actor(nn.Module):
    """DreamerV2's continuous actor: mean ``tanh(m)``, std ``2 sigmoid(s / 2) + min_std``; samples are
    clipped to [-1, 1] with straight-through gradients (in place of DreamerV2's truncated normal)."""

    def __init__(self, feature_dim: int, action_dim: int, units: int, layers: int, min_std: float):
        super().__init__()
        self.net = mlp(feature_dim, 2 * action_dim, units, layers)
        self.min_std = min_std

    def forward(self, features: torch.Tensor) -> torch.distributions.Normal:
        mean, std = self.net(features).chunk(2, -1)
        return torch.distributions.Normal(torch.tanh(mean), 2 * torch.sigmoid(std / 2) + self.min_std)

    def sample(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and the policy's entropy (summed over action dimensions)."""
        dist = self(features)
        action = dist.rsample()
        action = action + (action.clamp(-1.0, 1.0) - action).detach()
        return action, dist.entropy().sum(-1)


# ---------------------------------------------------------------------------- world-model loss
def world_model_loss(
    model: WorldModel, batch: dict[str, torch.Tensor], config: OfflineDV2Config, members: torch.Tensor | None = None
) -> tuple[torch.Tensor, Metrics]:
    """``-log D(x|s) - log p(r|s) - log p(c|s) + kl_scale * balanced KL(q || p_{k_t})`` over the valid
    steps of a ``(B, T)`` batch; Normal(·, 1) likelihoods for images and rewards, Bernoulli for the
    continuation. The prior member ``k_t`` is drawn uniformly per time step (as in DreamerV2's
    ensemble and LOMPO eq. 8), its heads evaluated on all steps after the filtering loop."""
    image = batch["image"]
    embed = model.encoder(image, batch.get("proprio"))
    post = model.rssm.observe(embed, batch["action"], batch["is_first"])
    length = image.shape[1]
    if members is None:
        members = sample_prior_members(length, config.ensemble, image.device)
    prior = model.rssm.prior_probs(post["deter"].transpose(0, 1), members).transpose(0, 1)  # (B, T, V, C)
    mask = batch["mask"]
    kl_loss, kl = balanced_kl(post["post_probs"], prior, config.kl_balance, config.free_nats, mask)
    features = torch.cat([post["deter"], post["stoch"]], -1)
    image_nll = 0.5 * (model.decode(features) - preprocess(image)).pow(2).sum((-3, -2, -1))
    predicted_reward = model.reward(features)
    reward_nll = 0.5 * (predicted_reward - batch["reward"]).pow(2)
    terms = {"image_nll": image_nll, "reward_nll": reward_nll}
    if model.proprio_head is not None:
        terms["proprio_nll"] = 0.5 * (model.proprio_head(features) - batch["proprio"]).pow(2).sum(-1)
    if model.discount_head is not None:
        logits = model.discount_head(features).squeeze(-1)
        terms["discount_nll"] = F.binary_cross_entropy_with_logits(logits, batch["discount"], reduction="none")
    likelihood_loss = masked_mean(sum(terms.values(), torch.zeros((), device=mask.device)), mask)
    loss = likelihood_loss + config.kl_scale * kl_loss
    metrics = {f"model/{k}": masked_mean(v.detach(), mask).detach() for k, v in terms.items()}
    metrics["model/kl"] = kl.detach()
    metrics["model/reward_r2"] = reward_r2(predicted_reward.detach(), batch["reward"], mask)
    return loss, metrics


# ---------------------------------------------------------------------------- imagination
def imagine(model: WorldModel, actor: Actor, start: LatentState, config: OfflineDV2Config) -> dict[str, torch.Tensor]:
    """H steps of the actor in the frozen model from ``start`` (N states). The actor sees stopped-gradient
    features; its actions reach the next states through the dynamics (DreamerV2's dynamics
    backpropagation). Returns features ``(H + 1, N, F)``, penalised rewards, discounts, penalties,
    raw rewards and entropies ``(H, N)``."""
    state = start
    features, entropies, rewards, penalties, discounts = [start.features], [], [], [], []
    for _ in range(config.horizon):
        action, entropy = actor.sample(state.features.detach())
        state, member_probs = model.rssm.imagine_step(state, action)
        u = probability_disagreement(member_probs)
        features.append(state.features)
        entropies.append(entropy)
        rewards.append(model.reward(state.features))
        penalties.append(u)
        discounts.append(config.gamma * model.continuation(state.features))
    reward, penalty = torch.stack(rewards), torch.stack(penalties)
    return {
        "features": torch.stack(features),
        "reward": disagreement_penalized_reward(reward, penalty, config.penalty_scale),
        "raw_reward": reward,
        "penalty": penalty,
        "discount": torch.stack(discounts),
        "entropy": torch.stack(entropies),
    }


def trajectory_weights(discount: torch.Tensor) -> torch.Tensor:
    """DreamerV2's weights of imagined steps: ``w_0 = 1``, ``w_t = prod_{i<t} d_i`` (no gradient)."""
    ones = torch.ones_like(discount[:1])
    return torch.cumprod(torch.cat([ones, discount[:-1]]), 0).detach()


def actor_loss(
    returns: torch.Tensor, entropy: torch.Tensor, weights: torch.Tensor, entropy_scale: float
) -> torch.Tensor:
    """Dynamics backpropagation: ``-mean_t w_t (R_t + eta H[pi(.|s_t)])`` over the H imagined steps."""
    return -(weights * (returns + entropy_scale * entropy)).mean()


def critic_loss(values: torch.Tensor, returns: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``mean_t w_t (v(s_t) - sg(R_t))^2 / 2``: the Normal(·, 1) regression of DreamerV2's critic."""
    return (weights * 0.5 * (values - returns.detach()).pow(2)).mean()


# ---------------------------------------------------------------------------- the algorithm
class OfflineDV2(LatentModelAlgorithm):
    """Two phases: ``model`` (the world-model loss), then ``agent`` (imagination with the model frozen)."""

    phases = ("model", "agent")

    def __init__(self, config: OfflineDV2Config, store: EpisodeStore, seed: int = 0, device: str = "cpu"):
        config.validate()
        self.config, self.store, self.device = config, store, torch.device(device)
        self.image_size, self.action_dim = int(store.image_shape[0]), int(store.action_dim)
        proprio_dim = proprio_size(store) if config.proprio else 0
        model = WorldModel(config, self.image_size, self.action_dim, proprio_dim)
        self.build_world_model(model, store, seed, eps=config.adam_eps)
        feat = self.model.rssm.feature_dim
        self.actor = Actor(feat, self.action_dim, config.head_units, config.head_layers, config.actor_min_std).to(
            self.device
        )
        self.critic = mlp(feat, 1, config.head_units, config.head_layers).to(self.device)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr, eps=config.adam_eps)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr, eps=config.adam_eps)
        self.start_sampler = SequenceSampler(
            store,
            config.imagine_batch_size,
            config.sequence_length,
            seed=seed + 1,
            keys=self.sequence_keys,
            frames=self.frames,
        )

    def phase_length(self, phase: str) -> int:
        return {"model": self.config.model_steps, "agent": self.config.agent_steps}[phase]

    def train_step(self, phase: str, step: int) -> Metrics:
        if phase == "model":
            return self.model_step()
        if phase == "agent":
            return self.agent_step(step)
        raise ConfigError(f"Offline DV2 has no phase {phase!r}")

    def world_model_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        return world_model_loss(self.model, batch, self.config)

    @torch.no_grad()
    def posterior_starts(self, batch: dict[str, torch.Tensor]) -> LatentState:
        """Posterior states of every valid step of a sequence batch: the imagination's start states."""
        embed = self.model.encoder(batch["image"], batch.get("proprio"))
        post = self.model.rssm.observe(embed, batch["action"], batch["is_first"])
        valid = batch["mask"]
        return LatentState(post["deter"][valid], post["stoch"][valid])

    def agent_step(self, step: int) -> Metrics:
        c = self.config
        self.model.eval().requires_grad_(False)  # frozen: gradients pass through it to the actor only
        start = self.posterior_starts(batch_to_torch(self.start_sampler.sample(), self.device))
        traj = imagine(self.model, self.actor, start, c)
        target_values = self.target_critic(traj["features"]).squeeze(-1)  # (H + 1, N)
        returns = lambda_returns(traj["reward"], target_values, traj["discount"], c.lambda_)
        weights = trajectory_weights(traj["discount"])
        a_loss = actor_loss(returns, traj["entropy"], weights, c.actor_entropy)
        self.actor_opt.zero_grad(set_to_none=True)
        a_loss.backward()
        actor_norm = nn.utils.clip_grad_norm_(self.actor.parameters(), c.agent_grad_clip)
        self.actor_opt.step()
        values = self.critic(traj["features"][:-1].detach()).squeeze(-1)
        c_loss = critic_loss(values, returns, weights)
        self.critic_opt.zero_grad(set_to_none=True)
        c_loss.backward()
        critic_norm = nn.utils.clip_grad_norm_(self.critic.parameters(), c.agent_grad_clip)
        self.critic_opt.step()
        if (step + 1) % c.slow_target_every == 0:
            self.target_critic.load_state_dict(self.critic.state_dict())
        random_penalty, spread = penalty_across_actions(self.model, start, seed=step)
        penalty = traj["penalty"].detach()
        return {
            "agent/actor_loss": a_loss.detach(),
            "agent/critic_loss": c_loss.detach(),
            "agent/actor_grad_norm": actor_norm.detach(),
            "agent/critic_grad_norm": critic_norm.detach(),
            "agent/return": returns.mean().detach(),
            "agent/value": values.mean().detach(),
            "agent/reward": traj["raw_reward"].mean().detach(),
            "agent/penalty": penalty.mean(),
            "agent/penalty_std": penalty.std(unbiased=False),
            "agent/penalty_first_step": penalty[0].mean(),
            "agent/penalty_last_step": penalty[-1].mean(),
            "agent/penalty_random_actions": random_penalty,
            "agent/penalty_std_across_actions": spread,
            "agent/penalized_reward": traj["reward"].mean().detach(),
            "agent/entropy": traj["entropy"].mean().detach(),
        }

    # ------------------------------------------------------------ evaluation
    def act(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        if deterministic:
            return self.actor(features).mean
        return self.actor.sample(features)[0]

    def act_modules(self) -> list[nn.Module]:
        return [self.actor]

    def model_strip(self, context: int = 5, length: int | None = None, seed: int = 0) -> np.ndarray:
        """Ground truth / posterior reconstruction / open-loop prior rollout (a random member per step)."""
        return model_sample_strip(
            self.model,
            self.store,
            length or self.config.sequence_length,
            context,
            seed,
            self.device,
            lambda state, action: self.model.rssm.imagine_step(state, action)[0],
        )

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "model_opt": self.model_opt.state_dict(),
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "target_critic": self.target_critic.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "sampler_rng": self.model_sampler.rng.bit_generator.state,
            "start_sampler_rng": self.start_sampler.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.model_opt.load_state_dict(state["model_opt"])
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.target_critic.load_state_dict(state["target_critic"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.model_sampler.rng.bit_generator.state = state["sampler_rng"]
        self.start_sampler.rng.bit_generator.state = state["start_sampler_rng"]


def algorithm_spec(name: str) -> AlgorithmSpec:
    return AlgorithmSpec(name, OfflineDV2Config, PRESETS, VARIANTS, OfflineDV2, WORLD_MODEL_FIELDS, "model")
