"""LOMPO: Latent Offline Model-based Policy Optimization (Rafailov et al., L4DC 2021).

The pieces, in the paper's order:

1. World model (section 4.3, appendix C): conv encoder/decoder, an RSSM whose
   GRU is shared by the posterior and ``K`` prior heads, a reward head and an
   optional discount head. Trained with eq. 8 (:func:`world_model_loss`):
   reconstruction + reward likelihood − KL(posterior ‖ prior member ``k_t``),
   with ``k_t`` drawn uniformly at random for every time step
   (:func:`sample_prior_members`).
2. Uncertainty-penalised latent MDP (eq. 9, :func:`penalized_reward`):
   ``r̃ = mean_k r(s'_k) − λ·u(s, a)``; the next state comes from a random
   member. ``u`` is one of :data:`PENALTIES`.
3. Algorithm 1 (appendix D): ``B_real`` holds posterior latent transitions of
   the dataset (:meth:`Lompo.encode_real_transitions`); ``B_latent`` holds
   ``H``-step model rollouts from posterior states (:meth:`Lompo.latent_rollouts`),
   random actions for the initial fill, policy actions afterwards. SAC in latent
   space trains on batches that are half real, half latent.
4. The ablations of the paper's table 1 are configurations (:data:`VARIANTS`):
   LMBRL (λ = 0) and Offline SLAC (no model rollouts, ``B_real`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lompo.algos.kl import masked_mean, split_kl
from lompo.algos.sac import ACTORS, SAC, SACConfig
from lompo.algos.spec import AlgorithmSpec, Metrics, check_choice, check_positive
from lompo.algos.world_model import (
    LatentModelAlgorithm,
    batch_to_torch,
    model_sample_strip,
    reward_r2,
    sample_prior_members,
)
from lompo.data.samplers import SequenceSampler, host_to_device, proprio_size
from lompo.data.store import EpisodeStore
from lompo.errors import ConfigError
from lompo.nets import ConvDecoder, ConvEncoder, EnsembleRSSM, LatentState, mlp
from lompo.nets.conv import preprocess
from lompo.nets.init import INITS, glorot_init
from lompo.nets.precision import check_precision
from lompo.nets.rssm import gaussian_kl, gaussian_log_prob

CONV_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU}


@dataclass
class LompoConfig:
    # World model (LOMPO appendix C; docs/lompo.md).
    depth: int = 32  # encoder/decoder channel unit
    deter: int = 256  # GRU units
    stoch: int = 64  # Gaussian stochastic state
    hidden: int = 256  # units of the RSSM and head MLPs
    # Hidden layers of the posterior, each prior head and the reward head, each followed by a linear
    # output: "3-layer fully connected networks with 256 units" (appendix C) read as 3 hidden layers
    # (docs/lompo.md; the authors' code has 1 hidden layer in the posterior and each prior head).
    mlp_layers: int = 3
    ensemble: int = 7  # K prior heads
    # The reward read from the frame: the posterior is q(z_t | x_t) (not q(z_t | d_t, x_t)) and the reward
    # head reads z_t only, so the reward the model gives a real frame cannot depend on the action history
    # that led there, and a policy can earn model reward only through the prior heads' predictions, where
    # the ensemble's disagreement is meant to catch it (docs/lompo.md, "Reading the reward from the frame").
    reward_from_frame: bool = False
    # With ``reward_from_frame``: the decoder also reads z_t only, so an empty z_t costs image loss
    # (it still collapsed at the cpu budget: docs/lompo.md, "Reading the reward from the frame").
    decode_from_frame: bool = False
    min_std: float = 0.1  # std = softplus(.) + min_std
    # Activation of the conv encoder and decoder: ReLU in the authors' code, ELU in DreamerV2 (the `cpu`
    # preset: with ELU and Glorot initialisation the small model learned random cartpole's frames where
    # with ReLU it stayed at the mean image; docs/lompo.md, "Initialisation").
    conv_activation: str = "relu"  # relu | elu
    # Initial weights: "glorot" as the authors' Keras layers (lompo.nets.init), or "torch" (PyTorch's
    # layer defaults; runs made before this setting existed).
    init: str = "glorot"  # glorot | torch
    discount_head: bool = False
    # Proprioception beside the images: encoded by an MLP and concatenated with the conv features, and
    # reconstructed by a head (Normal(., 1)); on by default for tasks that have it (adroit-pen), off for DMC.
    proprio: bool = False
    kl_scale: float = 1.0
    # Weight of the reward likelihood in eq. 8 (1 in the paper; 30 in the cpu preset). The reward term is ~0.2
    # of a 6-12 nat loss on cartpole, a weak signal for what z_t must carry; > 1 makes the posterior encode
    # what the reward needs (docs/lompo.md, "Weighting the reward likelihood").
    reward_scale: float = 1.0
    # Free nats on the posterior side of the KL only (algos/kl.py): the posterior is not pulled towards
    # the prior while the mean KL is below 3 nats (Dreamer's default, the code LOMPO builds on; without a
    # floor the posterior collapsed onto the prior on cartpole, KL 0.004 after 200 steps), while the
    # prior heads always receive eq. 8's full gradient.
    free_nats: float = 3.0
    model_lr: float = 6e-4
    model_grad_clip: float = 100.0
    batch_size: int = 64  # sequences per world-model batch
    sequence_length: int = 50
    model_steps: int = 25_000
    # Conv encoder/decoder weights in channels-last layout: 4-6 % more world-model steps/s on CPU
    # (BENCHMARKS.md, "LOMPO throughput"); numerically the same model.
    channels_last: bool = True
    # bf16: the conv encoder and decoder compute in bfloat16 (lompo.nets.precision; BENCHMARKS.md,
    # "bf16 convolutions"); the RSSM, heads and losses stay fp32.
    precision: str = "fp32"
    # Every frame of the dataset copied once into the device's memory, batches gathered there (a GPU:
    # only indices cross; BENCHMARKS.md, "GPU"); the same batches as reading the store on the host.
    resident_frames: bool = False
    # Uncertainty-penalised latent MDP (eq. 9).
    penalty: str = "logprob_std"  # logprob_var (paper) | logprob_std (official code) | mean_disagreement | max_std
    penalty_scale: float = 5.0  # lambda
    reward_source: str = "ensemble_mean"  # ensemble_mean (eq. 9) | sampled (official code: reward at s')
    horizon: int = 5  # H
    model_rollouts: bool = True  # False: Offline SLAC (B_real only)
    # Algorithm 1: buffers and their refresh.
    real_capacity: int = 200_000
    latent_capacity: int = 200_000
    initial_real_transitions: int = 20_000
    initial_latent_transitions: int = 20_000
    refresh_sequences: int = 16  # sequences per refresh batch (x sequence_length states)
    real_refresh_batches: int = 1  # "epoch real batch"
    latent_refresh_batches: int = 1  # "epoch latent batch"
    updates_per_epoch: int = 100  # "actor-critic steps" between refreshes
    rollout_noise: float = 0.0  # Gaussian noise added to policy actions in rollouts (official code: 0.2)
    agent_steps: int = 100_000
    # Latent SAC (appendix C: actor and critic 3 x 256, Adam 3e-4).
    sac_hidden: int = 256
    sac_layers: int = 3
    sac_lr: float = 3e-4
    sac_batch_size: int = 256  # per source: each batch is 256 real + 256 latent
    # stochastic: SAC (the paper: "any off-policy algorithm") | deterministic: the official code's actor-critic
    # (tanh actor maximising min Q, no entropy term; set rollout_noise=0.2 with it, as that code does)
    actor: str = "stochastic"
    gamma: float = 0.99
    tau: float = 0.005

    def validate(self) -> None:
        check_precision(self.precision)
        check_choice(self, "conv_activation", CONV_ACTIVATIONS)
        check_choice(self, "init", INITS)
        check_choice(self, "actor", ACTORS)
        if self.decode_from_frame and not self.reward_from_frame:
            raise ConfigError("decode_from_frame needs reward_from_frame (the frame-only posterior)")
        if self.penalty not in PENALTIES:
            raise ConfigError(f"penalty must be one of {sorted(PENALTIES)}, got {self.penalty!r}")
        if self.reward_source not in ("ensemble_mean", "sampled"):
            raise ConfigError(f"reward_source must be ensemble_mean or sampled, got {self.reward_source!r}")
        names = "ensemble horizon batch_size sequence_length refresh_sequences updates_per_epoch sac_batch_size"
        check_positive(self, names)
        if self.sequence_length < 2:
            raise ConfigError("sequence_length must be >= 2 (transitions need two frames)")
        if not self.reward_scale > 0:
            raise ConfigError(f"reward_scale must be > 0, got {self.reward_scale}")


WORLD_MODEL_FIELDS = (
    "depth", "deter", "stoch", "hidden", "mlp_layers", "ensemble", "min_std", "discount_head", "proprio",
    "reward_from_frame", "decode_from_frame", "conv_activation",
)  # fmt: skip

# Presets (field overrides). ``paper``: the numbers of LOMPO appendix C (docs/lompo.md) with
# our Algorithm-1 sizes. ``cpu``: learns a cheap task on 2 cores in minutes; its world model takes
# 1,500 steps at learning rate 1e-3, the fewest in which the small model learned cartpole's frames
# (posterior KL up to the free nats, image loss halved; at 6e-4 that takes ~1,500 steps, at 2e-3 it
# never came within 2,000: BENCHMARKS.md, "The cpu preset's world models"), with the reward likelihood
# weighted 30 times, which made it learn the frames 2-3x sooner and read the reward from them instead of
# the action history (BENCHMARKS.md, "Weighting the reward likelihood"), and ELU convolutions, with which
# (and the Glorot initialisation) it learns random cartpole's frames in ~150 steps instead of staying at
# the mean image (BENCHMARKS.md, "Initialisation"). ``tiny``: tests.
# fmt: off
PRESETS: dict[str, dict] = {
    "paper": {},
    "cpu": dict(depth=16, deter=128, stoch=32, hidden=128, mlp_layers=2, conv_activation="elu", batch_size=16,
                sequence_length=32,
                model_steps=1_500, model_lr=1e-3, reward_scale=30.0, real_capacity=100_000,
                latent_capacity=100_000, initial_real_transitions=10_000, initial_latent_transitions=10_000,
                refresh_sequences=8, updates_per_epoch=50, agent_steps=10_000, sac_layers=2, sac_batch_size=128),
    "tiny": dict(depth=4, deter=16, stoch=4, hidden=16, mlp_layers=1, ensemble=3, batch_size=2, sequence_length=8,
                 model_steps=6, real_capacity=200, latent_capacity=300, initial_real_transitions=20,
                 initial_latent_transitions=40, refresh_sequences=2, updates_per_epoch=3, agent_steps=8,
                 sac_hidden=16, sac_layers=1, sac_batch_size=8),
}
# fmt: on
# Preset values for one task: the Adroit pen's GRU and MLPs have 512 units in the paper (appendix C).
TASK_PRESETS: dict[str, dict[str, dict]] = {"paper": {"adroit-pen": {"deter": 512, "hidden": 512}}}

# The paper's ablations (LOMPO table 1) as fixed field values.
VARIANTS: dict[str, dict] = {"lompo": {}, "lmbrl": {"penalty_scale": 0.0}, "offline_slac": {"model_rollouts": False}}


# ---------------------------------------------------------------------------- world model
class WorldModel(nn.Module):
    def __init__(self, config: LompoConfig, image_size: int, action_dim: int, proprio_dim: int = 0):
        super().__init__()
        c = config
        act = CONV_ACTIVATIONS[c.conv_activation]
        self.encoder = ConvEncoder(image_size, c.depth, act=act, proprio_dim=proprio_dim, proprio_hidden=c.hidden)
        self.rssm = EnsembleRSSM(
            action_dim,
            self.encoder.embed_dim,
            c.deter,
            c.stoch,
            c.hidden,
            c.ensemble,
            c.mlp_layers,
            c.min_std,
            posterior_reads_state=not c.reward_from_frame,
        )
        feat = self.rssm.feature_dim
        self.decode_from_frame = c.decode_from_frame
        self.decoder = ConvDecoder(c.stoch if self.decode_from_frame else feat, image_size, c.depth, act=act)
        self.reward_from_frame = c.reward_from_frame
        self.reward_head = mlp(c.stoch if c.reward_from_frame else feat, 1, c.hidden, c.mlp_layers)
        self.discount_head = mlp(feat, 1, c.hidden, c.mlp_layers) if c.discount_head else None
        self.proprio_head = mlp(feat, proprio_dim, c.hidden, c.mlp_layers) if proprio_dim else None
        if c.init == "glorot":
            glorot_init(self)

    def reward(self, features: torch.Tensor) -> torch.Tensor:
        """``r̂(d, z)`` from features ``[d, z]``; ``r̂(z)`` when the reward is read from the frame."""
        if self.reward_from_frame:
            features = features[..., self.rssm.deter_dim :]
        return self.reward_head(features).squeeze(-1)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """The frame's mean image from features ``[d, z]`` (from ``z`` alone with ``decode_from_frame``)."""
        if self.decode_from_frame:
            features = features[..., self.rssm.deter_dim :]
        return self.decoder(features)


def world_model_loss(
    model: WorldModel, batch: dict[str, torch.Tensor], config: LompoConfig, members: torch.Tensor | None = None
) -> tuple[torch.Tensor, Metrics]:
    """Negative of eq. 8, averaged over the valid steps of a ``(B, T)`` batch.

    ``-log D(x_t|s_t) - reward_scale * log p(r_t|s_t) + kl_scale * KL(q(z_t|.) || p_{k_t}(z_t|d_t))``;
    Normal(·, 1) likelihoods for images, rewards and proprioception if used (constants dropped). The KL is
    :func:`~lompo.algos.kl.split_kl` with weights 1 and 1: eq. 8's gradient for the prior heads always, and for
    the posterior whenever its mean KL is above ``free_nats``. The GRU and posterior run in the time loop; the
    prior heads run afterwards in one batched call, member ``k_t`` for step ``t``. Metrics: ``model/kl`` is the
    mean ``KL(q ‖ p_{k_t})`` (the trained pairs); ``model/kl_member{k}`` is the mean KL of head ``k`` against the
    posterior on every step of the batch (all heads evaluated without gradient).
    """
    image, action = batch["image"], batch["action"]
    length = image.shape[1]
    embed = model.encoder(image, batch.get("proprio"))
    post = model.rssm.observe(embed, action, batch["is_first"])
    if members is None:
        members = sample_prior_members(length, config.ensemble, image.device)
    deter = post["deter"].transpose(0, 1)  # (T, B, D)
    prior_mean, prior_std = (x.transpose(0, 1) for x in model.rssm.prior(deter, members))  # (B, T, Z)
    post_mean, post_std = post["post_mean"], post["post_std"]
    kl_prior_side = gaussian_kl(post_mean.detach(), post_std.detach(), prior_mean, prior_std)
    kl_posterior_side = gaussian_kl(post_mean, post_std, prior_mean.detach(), prior_std.detach())
    mask = batch["mask"]
    kl_loss = split_kl(kl_prior_side, kl_posterior_side, 1.0, 1.0, config.free_nats, mask)
    features = torch.cat([post["deter"], post["stoch"]], -1)
    predicted_reward = model.reward(features)
    terms = {
        "image_nll": 0.5 * (model.decode(features) - preprocess(image)).pow(2).sum((-3, -2, -1)),
        "reward_nll": 0.5 * (predicted_reward - batch["reward"]).pow(2),
    }
    weights = {"reward_nll": config.reward_scale}
    if model.proprio_head is not None:
        terms["proprio_nll"] = 0.5 * (model.proprio_head(features) - batch["proprio"]).pow(2).sum(-1)
    if model.discount_head is not None:
        logits = model.discount_head(features).squeeze(-1)
        terms["discount_nll"] = F.binary_cross_entropy_with_logits(logits, batch["discount"], reduction="none")
    likelihood = sum((weights.get(k, 1.0) * v for k, v in terms.items()), torch.zeros((), device=mask.device))
    loss = masked_mean(likelihood, mask) + config.kl_scale * kl_loss
    metrics = {f"model/{k}": masked_mean(v.detach(), mask).detach() for k, v in terms.items()}
    metrics["model/kl"] = masked_mean(kl_prior_side.detach(), mask).detach()
    metrics["model/reward_r2"] = reward_r2(predicted_reward.detach(), batch["reward"], mask)
    with torch.no_grad():
        all_means, all_stds = model.rssm.prior(deter.reshape(-1, deter.shape[-1]))  # (K, T*B, Z)
        flat = (
            post_mean.transpose(0, 1).reshape(1, -1, post_mean.shape[-1]),
            post_std.transpose(0, 1).reshape(1, -1, post_std.shape[-1]),
        )
        kl_members = gaussian_kl(*flat, all_means, all_stds).view(config.ensemble, length, -1).transpose(1, 2)
        for k in range(config.ensemble):
            metrics[f"model/kl_member{k}"] = masked_mean(kl_members[k], mask).detach()
    return loss, metrics


# ---------------------------------------------------------------------------- penalties (eq. 9)
def ensemble_log_probs(next_stoch: torch.Tensor, means: torch.Tensor, stds: torch.Tensor) -> torch.Tensor:
    """``log p_k(z' | d')`` of one sampled next state under every member: ``(K, N)``."""
    return gaussian_log_prob(next_stoch.unsqueeze(0), means, stds)


def logprob_var(next_stoch, means, stds) -> torch.Tensor:
    """LOMPO paper (section 4.3): ``Var_k log p_k(z'|d')`` (population variance over members)."""
    return ensemble_log_probs(next_stoch, means, stds).var(0, unbiased=False)


def logprob_std(next_stoch, means, stds) -> torch.Tensor:
    """Official LOMPO code: standard deviation over members of ``log p_k(z'|d')``."""
    return ensemble_log_probs(next_stoch, means, stds).std(0, unbiased=False)


def mean_disagreement(next_stoch, means, stds) -> torch.Tensor:
    """V-D4RL-style disagreement: ``mean_k ‖μ_k − μ̄‖₂`` of the members' means."""
    return (means - means.mean(0, keepdim=True)).norm(dim=-1).mean(0)


def max_std(next_stoch, means, stds) -> torch.Tensor:
    """MOPO-style: ``max_k ‖σ_k‖₂`` of the members' standard deviations."""
    return stds.norm(dim=-1).amax(0)


PENALTIES = {f.__name__: f for f in (logprob_var, logprob_std, mean_disagreement, max_std)}


def model_reward(
    member_rewards: torch.Tensor, sampled_reward: torch.Tensor, reward_source: str = "ensemble_mean"
) -> torch.Tensor:
    """Eq. 9's reward before the penalty: ``(1/K) Σ_k r(s'_k)``, or ``r(s')`` for ``reward_source='sampled'``."""
    return member_rewards.mean(0) if reward_source == "ensemble_mean" else sampled_reward


def penalized_reward(
    member_rewards: torch.Tensor,
    sampled_reward: torch.Tensor,
    uncertainty: torch.Tensor,
    penalty_scale: float,
    reward_source: str = "ensemble_mean",
) -> torch.Tensor:
    """Eq. 9: ``r̃ = (1/K) Σ_k r(s'_k) − λ·u``; ``reward_source='sampled'`` uses ``r(s')`` instead."""
    return model_reward(member_rewards, sampled_reward, reward_source) - penalty_scale * uncertainty


# ---------------------------------------------------------------------------- buffers
class LatentReplay:
    """Ring buffer of latent transitions ``(obs, action, reward, discount, next_obs)`` on the algorithm's device.

    Refreshes write the encoder's and the rollouts' tensors where they are made and SAC batches are read
    there, so on a GPU only the sampled indices (drawn by a numpy generator, part of the checkpoint) cross
    to the device. Checkpoints hold the filled part as numpy arrays."""

    KEYS = ("obs", "action", "reward", "discount", "next_obs")

    def __init__(self, capacity: int, feature_dim: int, action_dim: int, device: str | torch.device = "cpu"):
        self.capacity, self.size, self.pointer = capacity, 0, 0
        self.device = torch.device(device)
        shapes = {
            "obs": (feature_dim,),
            "action": (action_dim,),
            "reward": (),
            "discount": (),
            "next_obs": (feature_dim,),
        }
        # empty, not zeros: nothing past ``size`` is read, and untouched pages cost no memory on the host
        self.data = {k: torch.empty((capacity, *shapes[k]), device=self.device) for k in self.KEYS}

    def add(self, transitions: dict[str, torch.Tensor]) -> None:
        n = len(transitions["reward"])
        index = (self.pointer + torch.arange(n, device=self.device)) % self.capacity
        for key in self.KEYS:
            self.data[key][index] = transitions[key].to(self.device, torch.float32)
        self.pointer = int((self.pointer + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        index = host_to_device(rng.integers(0, self.size, batch_size), self.device)
        return {k: v[index] for k, v in self.data.items()}

    def state_dict(self) -> dict:
        filled = {k: v[: self.size].cpu().numpy().copy() for k, v in self.data.items()}
        return {"size": self.size, "pointer": self.pointer, **filled}

    def load_state_dict(self, state: dict) -> None:
        self.size, self.pointer = int(state["size"]), int(state["pointer"])
        for key in self.KEYS:
            self.data[key][: self.size] = torch.as_tensor(state[key]).to(self.device)


# ---------------------------------------------------------------------------- the algorithm
class Lompo(LatentModelAlgorithm):
    """Algorithm 1 as three phases: ``model`` (eq. 8), ``buffers`` (initial fills), ``agent`` (latent SAC)."""

    phases = ("model", "buffers", "agent")

    def __init__(self, config: LompoConfig, store: EpisodeStore, seed: int = 0, device: str = "cpu"):
        config.validate()
        self.config, self.store, self.device = config, store, torch.device(device)
        self.image_size = int(store.image_shape[0])
        self.action_dim = int(store.action_dim)
        proprio_dim = proprio_size(store) if config.proprio else 0
        self.build_world_model(WorldModel(config, self.image_size, self.action_dim, proprio_dim), store, seed)
        feat = self.model.rssm.feature_dim
        c = config
        sizes: dict[str, Any] = dict(
            hidden=c.sac_hidden, layers=c.sac_layers, lr=c.sac_lr, batch_size=c.sac_batch_size, actor=c.actor
        )
        self.sac = SAC(feat, self.action_dim, SACConfig(**sizes, gamma=c.gamma, tau=c.tau), device=device)
        self.refresh_sampler = SequenceSampler(
            store, c.refresh_sequences, c.sequence_length, seed=seed + 1, keys=self.sequence_keys, frames=self.frames
        )
        self.rng = np.random.default_rng(seed + 2)  # replay sampling
        self.real = LatentReplay(config.real_capacity, feat, self.action_dim, self.device)
        self.latent = LatentReplay(config.latent_capacity, feat, self.action_dim, self.device)
        self.penalty_fn = PENALTIES[config.penalty]
        self.rollout_stats: Metrics = {}  # latest rollout batch's statistics, reported every agent step

    def phase_length(self, phase: str) -> int:
        return {"model": self.config.model_steps, "buffers": 1, "agent": self.config.agent_steps}[phase]

    # ------------------------------------------------------------ phase 1: world model (model_step)
    def world_model_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        return world_model_loss(self.model, batch, self.config)

    # ------------------------------------------------------------ buffers
    @torch.no_grad()
    def posterior_states(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Sample ``s_{1:T} ~ q(s_{1:T} | x_{1:T}, a_{1:T})`` for a sequence batch."""
        embed = self.model.encoder(batch["image"], batch.get("proprio"))
        return self.model.rssm.observe(embed, batch["action"], batch["is_first"])

    @torch.no_grad()
    def encode_real_transitions(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict]:
        """``B_real`` entries ``(s_t, a_{t+1}, r_{t+1}, s_{t+1})`` from one sequence batch, plus the posterior."""
        post = self.posterior_states(batch)
        features = torch.cat([post["deter"], post["stoch"]], -1)  # (B, T, F)
        valid = batch["mask"][:, 1:] & ~batch["is_first"][:, 1:]
        transitions = {
            "obs": features[:, :-1][valid],
            "action": batch["action"][:, 1:][valid],
            "reward": batch["reward"][:, 1:][valid],
            "discount": batch["discount"][:, 1:][valid],
            "next_obs": features[:, 1:][valid],
        }
        return transitions, post

    def penalized_step(self, state: LatentState, action: torch.Tensor):
        """One step of the penalised latent MDP (eq. 9) from N states: ``(next_state, r̃, r, u)``."""
        c = self.config
        n = action.shape[0]
        deter, means, stds, samples = self.model.rssm.imagine_all_members(state, action)
        member = torch.randint(0, c.ensemble, (n,), device=self.device)
        next_stoch = samples[member, torch.arange(n, device=self.device)]
        member_rewards = self.model.reward(torch.cat([deter.expand(c.ensemble, -1, -1), samples], -1))
        next_state = LatentState(deter, next_stoch)
        sampled_reward = self.model.reward(next_state.features)
        uncertainty = self.penalty_fn(next_stoch, means, stds)
        reward = model_reward(member_rewards, sampled_reward, c.reward_source)
        return next_state, reward - c.penalty_scale * uncertainty, reward, uncertainty

    def rollout_action(self, features: torch.Tensor) -> torch.Tensor:
        """The policy's action in model rollouts: drawn from the actor, plus ``rollout_noise`` (clipped)."""
        action = self.sac.sample_action(features)
        if self.config.rollout_noise > 0:
            action = (action + self.config.rollout_noise * torch.randn_like(action)).clamp(-1, 1)
        return action

    @torch.no_grad()
    def latent_rollouts(self, start: LatentState, random_actions: bool) -> tuple[dict[str, torch.Tensor], dict]:
        """``H``-step rollouts in the penalised latent MDP from ``start`` (N states) -> N·H transitions,
        and their statistics (:meth:`rollout_statistics`)."""
        c = self.config
        state, n = start, start.deter.shape[0]
        out: dict[str, list[torch.Tensor]] = {k: [] for k in LatentReplay.KEYS}
        raw_rewards, penalties = [], []
        for _ in range(c.horizon):
            obs = state.features
            if random_actions:
                action = torch.rand(n, self.action_dim, device=self.device) * 2 - 1
            else:
                action = self.rollout_action(obs)
            next_state, reward, raw_reward, uncertainty = self.penalized_step(state, action)
            if self.model.discount_head is not None:
                discount = torch.sigmoid(self.model.discount_head(next_state.features).squeeze(-1)).round()
            else:
                discount = torch.ones(n, device=self.device)
            for key, value in zip(LatentReplay.KEYS, (obs, action, reward, discount, next_state.features)):
                out[key].append(value)
            raw_rewards.append(raw_reward)
            penalties.append(uncertainty)
            state = next_state
        transitions = {k: torch.cat(v) for k, v in out.items()}
        return transitions, self.rollout_statistics(
            start, torch.cat(raw_rewards), torch.cat(penalties), torch.cat(out["reward"])
        )

    def rollout_statistics(
        self,
        start: LatentState,
        raw_reward: torch.Tensor,
        penalty: torch.Tensor,
        reward: torch.Tensor,
        states: int = 64,
        actions: int = 8,
    ) -> Metrics:
        """What the agent phase feeds the critic: the model reward before the penalty, the penalty ``u``
        (mean, std), the penalised reward ``r̃``, and ``u``'s spread across actions from one state: the
        std of ``u`` over ``actions`` uniform random actions from each of the first ``states`` start
        states, averaged over states (``penalty_std_across_actions``; next to ``penalty_std``, which
        mixes states and actions, it says whether the penalty can steer the policy at all)."""
        subset = LatentState(start.deter[:states], start.stoch[:states])
        m = subset.deter.shape[0]
        repeated = LatentState(subset.deter.repeat(actions, 1), subset.stoch.repeat(actions, 1))
        action = torch.rand(m * actions, self.action_dim, device=self.device) * 2 - 1
        spread = self.penalized_step(repeated, action)[3].view(actions, m).std(0, unbiased=False).mean()
        return {
            "latent/raw_reward": raw_reward.mean().detach(),
            "latent/penalty_mean": penalty.mean().detach(),
            "latent/penalty_std": penalty.std(unbiased=False).detach(),
            "latent/penalized_reward": reward.mean().detach(),
            "latent/penalty_std_across_actions": spread.detach(),
        }

    def refresh_buffers(self, real_batches: int, latent_batches: int, random_actions: bool) -> Metrics:
        """Algorithm 1's refresh: real batches into ``B_real``, rollouts from posterior starts into ``B_latent``.
        Returns the statistics of the last rollout batch (empty without rollouts)."""
        metrics: Metrics = {}
        for _ in range(real_batches):
            transitions, _ = self.encode_real_transitions(batch_to_torch(self.refresh_sampler.sample(), self.device))
            self.real.add(transitions)
        if not self.config.model_rollouts:
            return metrics
        for _ in range(latent_batches):
            batch = batch_to_torch(self.refresh_sampler.sample(), self.device)
            post = self.posterior_states(batch)
            valid = batch["mask"]
            start = LatentState(post["deter"][valid], post["stoch"][valid])
            transitions, metrics = self.latent_rollouts(start, random_actions)
            self.latent.add(transitions)
        return metrics

    def fill_buffers(self) -> Metrics:
        """Initial fills of Algorithm 1: ``B_real`` from the posterior, ``B_latent`` with random actions."""
        c = self.config
        self.model.eval()
        while self.real.size < min(c.initial_real_transitions, c.real_capacity):
            self.refresh_buffers(1, 0, random_actions=True)
        metrics = {}
        while c.model_rollouts and self.latent.size < min(c.initial_latent_transitions, c.latent_capacity):
            metrics = self.refresh_buffers(0, 1, random_actions=True)
        self.rollout_stats = {**metrics, "latent/policy_refreshes": 0} if metrics else {}
        return {"buffers/real": self.real.size, "buffers/latent": self.latent.size, **metrics}

    # ------------------------------------------------------------ phase 3: latent actor-critic
    def agent_batch(self) -> dict[str, torch.Tensor]:
        """Half from ``B_real``, half from ``B_latent`` (Offline SLAC: all real); ``source`` 0 real, 1 latent."""
        n = self.config.sac_batch_size
        if not self.config.model_rollouts:
            batch = self.real.sample(2 * n, self.rng)
            batch["source"] = torch.zeros(2 * n, dtype=torch.long, device=self.device)
            return batch
        real, latent = self.real.sample(n, self.rng), self.latent.sample(n, self.rng)
        batch = {k: torch.cat([real[k], latent[k]]) for k in LatentReplay.KEYS}
        batch["source"] = torch.arange(2, device=self.device).repeat_interleave(n)
        return batch

    def agent_step(self, step: int) -> Metrics:
        """One SAC update; every ``updates_per_epoch`` a buffer refresh first. Every step reports the
        statistics of the latest policy rollouts (the initial random-action fill's before the first)."""
        if step > 0 and step % self.config.updates_per_epoch == 0:
            stats = self.refresh_buffers(
                self.config.real_refresh_batches, self.config.latent_refresh_batches, random_actions=False
            )
            if stats:  # Offline SLAC has no rollouts to report
                refreshes = self.rollout_stats.get("latent/policy_refreshes", 0) + 1
                self.rollout_stats = {**stats, "latent/policy_refreshes": refreshes}
        batch = self.agent_batch()
        batch.pop("source")
        sac_metrics = self.sac.update(batch)
        return {**{f"agent/{k}": v for k, v in sac_metrics.items()}, **self.rollout_stats}

    def train_step(self, phase: str, step: int) -> Metrics:
        if phase == "model":
            return self.model_step()
        if phase == "buffers":
            return self.fill_buffers()
        if phase == "agent":
            return self.agent_step(step)
        raise ConfigError(f"LOMPO has no phase {phase!r}")

    # ------------------------------------------------------------ evaluation helpers
    def act(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        if deterministic:
            return self.sac.mean_action(features)
        return self.sac.sample_action(features)

    def act_modules(self) -> list[nn.Module]:
        return [self.sac.actor]

    def model_strip(self, context: int = 5, length: int | None = None, seed: int = 0) -> np.ndarray:
        """LOMPO figure 5 (:func:`model_sample_strip`), a random prior member per imagined step."""

        def prior_step(state: LatentState, action: torch.Tensor) -> LatentState:
            deter, _, _, samples = self.model.rssm.imagine_all_members(state, action)
            member = torch.randint(0, self.config.ensemble, (1,))
            return LatentState(deter, samples[member[0]])

        return model_sample_strip(
            self.model, self.store, length or self.config.sequence_length, context, seed, self.device, prior_step
        )

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "model_opt": self.model_opt.state_dict(),
            "sac": self.sac.state_dict(),
            "model_sampler_rng": self.model_sampler.rng.bit_generator.state,
            "refresh_sampler_rng": self.refresh_sampler.rng.bit_generator.state,
            "replay_rng": self.rng.bit_generator.state,
            "real": self.real.state_dict(),
            "latent": self.latent.state_dict(),
            "rollout_stats": dict(self.rollout_stats),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.model_opt.load_state_dict(state["model_opt"])
        self.sac.load_state_dict(state["sac"])
        self.model_sampler.rng.bit_generator.state = state["model_sampler_rng"]
        self.refresh_sampler.rng.bit_generator.state = state["refresh_sampler_rng"]
        self.rng.bit_generator.state = state["replay_rng"]
        self.real.load_state_dict(state["real"])
        self.latent.load_state_dict(state["latent"])
        self.rollout_stats = {k: float(v) for k, v in state.get("rollout_stats", {}).items()}


def algorithm_spec(name: str) -> AlgorithmSpec:
    """``lompo`` and its ablations ``lmbrl`` and ``offline_slac`` (LOMPO table 1); the ablations start
    from a LOMPO run's world model in sweeps."""
    return AlgorithmSpec(
        name,
        LompoConfig,
        PRESETS,
        VARIANTS,
        Lompo,
        WORLD_MODEL_FIELDS,
        "model",
        reuses_world_model_of=None if name == "lompo" else "lompo",
        task_presets=TASK_PRESETS,
    )
