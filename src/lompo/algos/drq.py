"""Model-free V-D4RL baselines on a DrQ-v2 backbone: DrQ+BC, CQL and BC (V-D4RL section 4.2,
Appendix B.2-B.3 and C.2-C.4; DrQ-v2, Yarats et al. 2021).

Backbone (DrQ-v2): frames ``x/255 - 0.5``, 3 stacked, random shifts (pad 4) applied to obs
and next obs independently; encoder of 4 conv layers x 32 channels (3x3, first stride 2);
actor and twin critic each have a trunk Linear -> LayerNorm -> tanh to 50 features and MLPs
of 1024 units; the actor's mean is ``tanh(mu)`` and its std follows ``linear(1.0 -> 0.1)``
over 500K steps, noise clipped at 0.3. Critic targets use n-step returns (3, gamma 0.99) and
a target critic (tau 0.01); the target action is sampled with clipped noise.

Objectives (``objective`` field; one per ``--algo``):

* ``drqbc``: TD3+BC's actor loss ``-alpha Q(s, pi(s)) / mean|Q| + ||pi(s) - a||^2``,
  alpha = 2.5 (:func:`drqbc_actor_loss`); the encoder learns only through the critic.
* ``cql``: DrQ-v2's actor (no BC term) and a CQL(H) regulariser added to each critic's loss
  (:func:`cql_regularizer`), weight per dataset (V-D4RL Table C.4).
* ``bc``: the actor's mean regressed on dataset actions (:func:`bc_loss`); the encoder
  learns through this loss; no critic.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lompo.algos.sac import soft_update
from lompo.algos.spec import AlgorithmSpec, Metrics, check_positive
from lompo.data.samplers import DeviceFrames, TransitionSampler, host_to_device
from lompo.data.store import EpisodeStore
from lompo.errors import ConfigError
from lompo.nets.precision import check_precision, compute_in, use_precision


@dataclass
class DrQConfig:
    objective: str = "drqbc"  # drqbc | cql | bc (set by --algo)
    frame_stack: int = 3
    n_step: int = 3
    gamma: float = 0.99
    batch_size: int = 256
    lr: float = 1e-4  # DrQ-v2 default (V-D4RL C.2 keeps DrQ-v2's defaults where Table 9 is silent)
    # 256 epochs of a 100K-transition dataset at batch 256 (V-D4RL Table 9) = 100K gradient steps.
    agent_steps: int = 100_000
    shift_pad: int = 4
    conv_channels: int = 32
    feature_dim: int = 50
    hidden: int = 1024
    tau: float = 0.01
    std_start: float = 1.0  # linear(1.0, 0.1, 500000) (V-D4RL Table 9)
    std_end: float = 0.1
    std_steps: int = 500_000
    std_clip: float = 0.3
    bc_weight: float = 2.5  # alpha of DrQ+BC (TD3+BC)
    cql_weight: float = -1.0  # < 0: V-D4RL Table C.4's weight for the dataset (see cql_weight_for)
    cql_actions: int = 10  # uniform actions (and policy actions at s and s') per state
    proprio: bool = False  # proprioception concatenated to the image features (on by default for adroit-pen)
    # bf16: the encoder's convolutions and the trunks' projections in bfloat16 (lompo.nets.precision;
    # BENCHMARKS.md, "bf16 convolutions"); fp32 everywhere else.
    precision: str = "fp32"
    # Every frame of the dataset copied once into the device's memory, batches gathered there (a GPU:
    # only indices cross; BENCHMARKS.md, "GPU"); the same batches as reading the store on the host.
    resident_frames: bool = False

    def validate(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        check_precision(self.precision)
        check_positive(self, "frame_stack n_step batch_size agent_steps cql_actions std_steps")
        if self.shift_pad < 0:
            raise ConfigError(f"shift_pad must be >= 0, got {self.shift_pad}")


OBJECTIVES = ("drqbc", "cql", "bc")
VALIDATION_BATCHES = 8  # batches of held-out transitions behind validation_metrics
MIN_IMAGE_SIZE = 15  # the encoder's 3x3 convs (stride 2, then 3 x stride 1) leave at least 1x1

# CQL trade-off weight chosen by V-D4RL per dataset (Table C.4).
CQL_WEIGHTS = {
    "walker-walk": {"random": 0.5, "medium_replay": 0.5, "medium": 2.0, "medium_expert": 2.0, "expert": 5.0},
    "cheetah-run": {"random": 0.5, "medium_replay": 0.5, "medium": 10.0, "medium_expert": 1.0, "expert": 20.0},
}


def cql_weight_for(task: str | None, recipe: str | None) -> float:
    """Table C.4's weight for (task, recipe); other tasks take walker-walk's weight for the recipe
    (its values are the milder ones), unknown recipes 1.0."""
    table = CQL_WEIGHTS.get(task or "", CQL_WEIGHTS["walker-walk"])
    return table.get(recipe or "", 1.0)


def dataset_recipe(store: EpisodeStore) -> str | None:
    """The recipe of a dataset: from ``dataset.json``, else V-D4RL's folder name (``.../medium/84px``)."""
    meta = store.info.get("metadata") or {}
    if meta.get("recipe"):
        return meta["recipe"]
    source = store.info.get("source")
    return Path(source).parent.name if source else None


# fmt: off
PRESETS: dict[str, dict] = {
    "paper": {},
    # 84 px; a 16-channel encoder (2.4x cheaper per update), MLPs 256, batch 64 and lr 3e-4 so that BC
    # sees about 1M samples (15K updates) in 15-30 minutes on 2 cores: with 32 channels, lr 1e-4 and
    # 5K updates (0.3M samples) BC reached only 27 % of an expert's return
    # (BENCHMARKS.md, "Baselines quality").
    "cpu": dict(batch_size=64, agent_steps=15_000, std_steps=15_000, hidden=256, conv_channels=16, lr=3e-4),
    "tiny": dict(batch_size=4, agent_steps=6, conv_channels=4, feature_dim=8, hidden=16, cql_actions=2, std_steps=6),
}
# fmt: on

VARIANTS: dict[str, dict] = {name: {"objective": name} for name in OBJECTIVES}


# ---------------------------------------------------------------------------- augmentation
def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """DrQ random shift: replicate-pad by ``pad`` and crop back at an integer offset in
    ``[0, 2 pad]`` per image, so content moves by at most ``pad`` pixels (DrQ-v2 uses bilinear
    sampling at integer offsets; the crop is the same operation)."""
    if pad == 0:
        return images
    n, _, h, w = images.shape
    # Replicate padding by concatenating edge rows/columns works on uint8 frames (F.pad's replicate
    # mode needs floats, 4x the memory traffic); then one slice copy per image.
    top, bottom = images[:, :, :1].expand(-1, -1, pad, -1), images[:, :, -1:].expand(-1, -1, pad, -1)
    padded = torch.cat([top, images, bottom], 2)
    left, right = padded[..., :1].expand(-1, -1, -1, pad), padded[..., -1:].expand(-1, -1, -1, pad)
    padded = torch.cat([left, padded, right], 3)
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)  # a host generator: same draws anywhere
    if images.device.type == "cpu":
        return crop_each(padded, offsets, h, w)
    return crop_gathered(padded, offsets.to(images.device), h, w)


def crop_each(padded: torch.Tensor, offsets: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``h x w`` crops at ``offsets`` (n, 2) by one slice per image: the fastest way on a CPU (8-17x a gather)."""
    return torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets.tolist())])


def crop_gathered(padded: torch.Tensor, offsets: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The same crops as one gather: on a GPU a slice per image would cost two kernel launches each."""
    n = padded.shape[0]
    rows = offsets[:, :1] + torch.arange(h, device=padded.device)  # (n, h)
    cols = offsets[:, 1:] + torch.arange(w, device=padded.device)  # (n, w)
    picked = padded[torch.arange(n, device=padded.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2).contiguous()  # (n, h, w, C) -> (n, C, h, w)


def std_schedule(step: int, config: DrQConfig) -> float:
    """``linear(std_start, std_end, std_steps)`` (DrQ-v2's exploration-std schedule)."""
    mix = min(max(step / config.std_steps, 0.0), 1.0)
    return (1.0 - mix) * config.std_start + mix * config.std_end


# ---------------------------------------------------------------------------- networks
class Encoder(nn.Module):
    """4 conv layers x ``channels`` (3x3; the first with stride 2), ReLU; 84 px -> 32 x 35 x 35. With
    ``proprio_dim > 0`` the proprioception is concatenated to the flattened image features."""

    def __init__(self, in_channels: int, image_size: int, channels: int = 32, proprio_dim: int = 0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
        )
        side = (image_size - 3) // 2 + 1 - 6
        self.proprio_dim = proprio_dim
        self.repr_dim = channels * side * side + proprio_dim
        self.precision = "fp32"  # of the convolutions (lompo.nets.precision)

    def forward(self, obs: torch.Tensor, proprio: torch.Tensor | None = None) -> torch.Tensor:
        with compute_in(self.precision, obs.device):
            features = self.net(obs / 255.0 - 0.5).float().flatten(1)
        if not self.proprio_dim:
            return features
        if proprio is None:
            raise ConfigError("this encoder takes proprioception beside the frames; none was given")
        return torch.cat([features, proprio.float()], -1)


class Trunk(nn.Sequential):
    """Linear (repr_dim -> feature_dim; the update's largest matrix) -> LayerNorm -> tanh."""

    def __init__(self, repr_dim: int, feature_dim: int):
        super().__init__(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
        self.precision = "fp32"  # of the projection (lompo.nets.precision)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        with compute_in(self.precision, h.device):
            projected = self[0](h).float()
        return self[2](self[1](projected))


def _head(inp: int, out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out)
    )


class Actor(nn.Module):
    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden: int):
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim)
        self.policy = _head(feature_dim, action_dim, hidden)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The mean action ``tanh(mu(h))``."""
        return torch.tanh(self.policy(self.trunk(h)))


def sample_clipped(mean: torch.Tensor, std: float, clip: float) -> torch.Tensor:
    """DrQ-v2's truncated normal sample: ``mean + clip(std * eps, -clip, clip)``, kept in [-1, 1]
    (the straight-through clamp keeps the gradient of ``mean``)."""
    noise = (torch.randn_like(mean) * std).clamp(-clip, clip)
    action = mean + noise
    return action - (action - action.clamp(-1.0, 1.0)).detach()


class Critic(nn.Module):
    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden: int):
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim)
        self.q1 = _head(feature_dim + action_dim, 1, hidden)
        self.q2 = _head(feature_dim + action_dim, 1, hidden)

    def forward(self, h: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.trunk(h), action], -1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)

    def q_many(self, h: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q of ``N`` actions per state: ``h (B, D)``, ``actions (B, N, A)`` -> two ``(B, N)``."""
        b, n, _ = actions.shape
        features = self.trunk(h).unsqueeze(1).expand(b, n, -1)
        x = torch.cat([features, actions], -1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


# ---------------------------------------------------------------------------- losses
def drqbc_actor_loss(
    q: torch.Tensor, policy_action: torch.Tensor, data_action: torch.Tensor, alpha: float
) -> torch.Tensor:
    """TD3+BC (Fujimoto & Gu 2021, eq. 3) as V-D4RL's DrQ+BC (Appendix B.2):
    ``-lambda mean Q + mean ||pi(s) - a||^2`` with ``lambda = alpha / mean|Q|`` (detached)."""
    lam = alpha / q.abs().mean().detach()
    return -lam * q.mean() + F.mse_loss(policy_action, data_action)


def cql_regularizer(q_data: torch.Tensor, q_sampled: torch.Tensor) -> torch.Tensor:
    """CQL(H) (Kumar et al. 2020, eq. 4; V-D4RL Appendix B.3) for one critic:
    ``mean_s [ log sum_j exp Q(s, a_j) - Q(s, a_data) ]`` over the sampled actions ``a_j``
    (uniform, and the policy's at s and at s'), ``q_sampled (B, N)``, ``q_data (B,)``."""
    return (torch.logsumexp(q_sampled, dim=1) - q_data).mean()


def bc_loss(policy_action: torch.Tensor, data_action: torch.Tensor) -> torch.Tensor:
    """Behavioural cloning (V-D4RL Appendix C.3): MSE of the mean action to the dataset action."""
    return F.mse_loss(policy_action, data_action)


def td_target(
    reward: torch.Tensor, discount: torch.Tensor, next_q1: torch.Tensor, next_q2: torch.Tensor
) -> torch.Tensor:
    """n-step target ``R + gamma^n d min(Q'_1, Q'_2)``; the sampler already folds gamma^n into ``discount``."""
    return reward + discount * torch.min(next_q1, next_q2)


# ---------------------------------------------------------------------------- policy
class FrameStackPolicy:
    """Acts from single frames: keeps the last ``k`` (the first frame repeated at reset, as the
    sampler does at episode starts) and returns the actor's mean action."""

    def __init__(self, encoder: Encoder, actor: Actor, frame_stack: int, device: torch.device):
        self.encoder, self.actor, self.k, self.device = encoder, actor, frame_stack, device
        self.frames: deque = deque(maxlen=frame_stack)
        self.observation = "dict" if encoder.proprio_dim else "image"  # what act takes from the environment

    def reset(self) -> None:
        self.frames.clear()

    @torch.no_grad()
    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        image, proprio = (obs["image"], obs["proprio"]) if isinstance(obs, dict) else (obs, None)
        frame = np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1))  # (3, H, W)
        if not self.frames:
            self.frames.extend([frame] * self.k)
        else:
            self.frames.append(frame)
        x = torch.as_tensor(np.concatenate(list(self.frames)), device=self.device).unsqueeze(0).float()
        p = None if proprio is None else torch.as_tensor(np.asarray(proprio, np.float32), device=self.device)[None]
        return self.actor(self.encoder(x, p)).squeeze(0).cpu().numpy()


# ---------------------------------------------------------------------------- agent
class DrQ:
    """DrQ+BC, CQL or BC on frame-stacked transitions (one phase, ``train``)."""

    phases = ("agent",)

    def __init__(self, config: DrQConfig, store: EpisodeStore, seed: int = 0, device: str = "cpu"):
        config.validate()
        self.config, self.store, self.device = config, store, torch.device(device)
        height, width, _ = store.image_shape
        if height != width:
            raise ConfigError(f"DrQ needs square images, the dataset has {height}x{width}")
        if height < MIN_IMAGE_SIZE:
            raise ConfigError(
                f"DrQ's encoder needs images of at least {MIN_IMAGE_SIZE} px (V-D4RL uses 84), "
                f"the dataset has {height}x{width}"
            )
        self.action_dim = int(store.action_dim)
        c = config
        frames = DeviceFrames(store, self.device) if c.resident_frames else None
        self.sampler = TransitionSampler(
            store, c.batch_size, c.frame_stack, c.n_step, c.gamma, seed=seed, proprio=c.proprio, frames=frames
        )
        self.encoder = Encoder(3 * c.frame_stack, height, c.conv_channels, self.sampler.proprio_dim).to(self.device)
        self.actor = Actor(self.encoder.repr_dim, self.action_dim, c.feature_dim, c.hidden).to(self.device)
        self.encoder_opt = torch.optim.Adam(self.encoder.parameters(), lr=c.lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.lr)
        self.critic: Critic | None = None
        self.critic_target: Critic | None = None
        self.critic_opt: torch.optim.Adam | None = None
        if c.objective != "bc":
            self.critic = Critic(self.encoder.repr_dim, self.action_dim, c.feature_dim, c.hidden).to(self.device)
            self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
            self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=c.lr)
        if c.objective == "cql" and c.cql_weight < 0:
            self.cql_weight = cql_weight_for(store.info.get("task"), dataset_recipe(store))
        else:
            self.cql_weight = c.cql_weight
        self.augment_rng = torch.Generator().manual_seed(seed + 1)
        for module in (self.encoder, self.actor, self.critic, self.critic_target):
            if module is not None:
                use_precision(module, c.precision)

    def phase_length(self, phase: str) -> int:
        return self.config.agent_steps

    def batch(self) -> dict[str, torch.Tensor]:
        """A sampled batch on the device, observations augmented (independently for obs and next obs)."""
        raw = self.sampler.sample()
        batch = {k: host_to_device(v, self.device) for k, v in raw.items()}
        pad = self.config.shift_pad
        batch["obs"] = random_shift(batch["obs"], pad, self.augment_rng).float()
        batch["next_obs"] = random_shift(batch["next_obs"], pad, self.augment_rng).float()
        return batch

    # ------------------------------------------------------------ updates
    def critics(self) -> tuple[Critic, Critic, torch.optim.Adam]:
        """``(critic, target critic, critic optimiser)``; BC has none."""
        if self.critic is None or self.critic_target is None or self.critic_opt is None:
            raise ConfigError(f"{self.config.objective} has no critic")
        return self.critic, self.critic_target, self.critic_opt

    def critic_loss(self, h: torch.Tensor, next_h: torch.Tensor, batch: dict, std: float) -> tuple[torch.Tensor, dict]:
        c = self.config
        critic, critic_target, _ = self.critics()
        with torch.no_grad():
            next_action = sample_clipped(self.actor(next_h), std, c.std_clip)
            target = td_target(batch["reward"], batch["discount"], *critic_target(next_h, next_action))
        q1, q2 = critic(h, batch["action"])
        loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        metrics = {"critic/q": q1.mean().detach(), "critic/target": target.mean().detach()}
        if c.objective == "cql":
            q_sampled = self.cql_action_values(h, next_h, std)
            penalty = cql_regularizer(q1, q_sampled[0]) + cql_regularizer(q2, q_sampled[1])
            loss = loss + self.cql_weight * penalty
            metrics["critic/cql"] = penalty.detach()
        metrics["critic/loss"] = loss.detach()  # TD (+ weighted CQL) loss
        return loss, metrics

    def cql_action_values(self, h: torch.Tensor, next_h: torch.Tensor, std: float):
        """Q of ``cql_actions`` uniform actions and as many policy actions at s and at s', per state."""
        n, b = self.config.cql_actions, h.shape[0]
        uniform = torch.rand(b, n, self.action_dim, device=self.device) * 2 - 1
        with torch.no_grad():
            at_s = sample_clipped(self.actor(h.detach()).unsqueeze(1).expand(b, n, -1), std, self.config.std_clip)
            at_next = sample_clipped(self.actor(next_h).unsqueeze(1).expand(b, n, -1), std, self.config.std_clip)
        return self.critics()[0].q_many(h, torch.cat([uniform, at_s, at_next], 1))

    def actor_loss(self, h: torch.Tensor, batch: dict, std: float) -> tuple[torch.Tensor, dict]:
        c = self.config
        mean = self.actor(h)
        if c.objective == "bc":
            loss = bc_loss(mean, batch["action"])
            return loss, {"actor/bc_loss": loss.detach()}
        action = sample_clipped(mean, std, c.std_clip)
        q = torch.min(*self.critics()[0](h, action))
        if c.objective == "drqbc":
            loss = drqbc_actor_loss(q, action, batch["action"], c.bc_weight)
        else:
            loss = -q.mean()
        return loss, {"actor/loss": loss.detach(), "actor/bc_mse": F.mse_loss(mean, batch["action"]).detach()}

    def train_step(self, phase: str, step: int) -> Metrics:
        if phase != "agent":
            raise ConfigError(f"{self.config.objective} has no phase {phase!r}")
        batch = self.batch()
        std = std_schedule(step, self.config)
        if self.config.objective == "bc":
            loss, metrics = self.actor_loss(self.encoder(batch["obs"], batch.get("proprio")), batch, std)
            self.encoder_opt.zero_grad(set_to_none=True)
            self.actor_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.encoder_opt.step()
            self.actor_opt.step()
            return metrics
        h = self.encoder(batch["obs"], batch.get("proprio"))
        with torch.no_grad():
            next_h = self.encoder(batch["next_obs"], batch.get("next_proprio"))
        critic, critic_target, critic_opt = self.critics()
        critic_loss, metrics = self.critic_loss(h, next_h, batch, std)
        self.encoder_opt.zero_grad(set_to_none=True)
        critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        critic_opt.step()
        self.encoder_opt.step()
        # The actor sees detached features: the encoder learns only through the critic (DrQ-v2).
        actor_loss, actor_metrics = self.actor_loss(h.detach(), batch, std)
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()
        soft_update(critic_target, critic, self.config.tau)
        return {**metrics, **actor_metrics, "actor/std": std}

    @torch.no_grad()
    def validation_metrics(self, store: EpisodeStore, batches: int = VALIDATION_BATCHES) -> Metrics:
        """The step's losses (TD, CQL, actor or BC) on transitions of held-out episodes, without updates
        or augmentation: the mean over ``batches`` batches (fixed seeds; training RNGs untouched)."""
        c = self.config
        sampler = TransitionSampler(store, c.batch_size, c.frame_stack, c.n_step, c.gamma, seed=0, proprio=c.proprio)
        std = std_schedule(c.agent_steps, c)
        totals: dict[str, torch.Tensor] = {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            for _ in range(batches):
                batch = {k: host_to_device(v, self.device) for k, v in sampler.sample().items()}
                h = self.encoder(batch["obs"].float(), batch.get("proprio"))
                metrics: dict = {}
                if c.objective != "bc":
                    next_h = self.encoder(batch["next_obs"].float(), batch.get("next_proprio"))
                    metrics.update(self.critic_loss(h, next_h, batch, std)[1])
                metrics.update(self.actor_loss(h, batch, std)[1])
                for key, value in metrics.items():
                    totals[key] = totals.get(key, 0) + value / batches
        return {f"validation/{k}": v for k, v in totals.items()}

    # ------------------------------------------------------------ evaluation and state
    def policy(self) -> FrameStackPolicy:
        return FrameStackPolicy(self.encoder, self.actor, self.config.frame_stack, self.device)

    def state_dict(self) -> dict:
        state = {
            "encoder": self.encoder.state_dict(),
            "actor": self.actor.state_dict(),
            "encoder_opt": self.encoder_opt.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "sampler_rng": self.sampler.rng.bit_generator.state,
            "augment_rng": self.augment_rng.get_state(),
        }
        if self.config.objective != "bc":
            critic, critic_target, critic_opt = self.critics()
            state.update(
                critic=critic.state_dict(), critic_target=critic_target.state_dict(), critic_opt=critic_opt.state_dict()
            )
        return state

    def load_state_dict(self, state: dict) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.actor.load_state_dict(state["actor"])
        self.encoder_opt.load_state_dict(state["encoder_opt"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.sampler.rng.bit_generator.state = state["sampler_rng"]
        self.augment_rng.set_state(state["augment_rng"])
        if self.config.objective != "bc":
            critic, critic_target, critic_opt = self.critics()
            critic.load_state_dict(state["critic"])
            critic_target.load_state_dict(state["critic_target"])
            critic_opt.load_state_dict(state["critic_opt"])


def algorithm_spec(name: str) -> AlgorithmSpec:
    """``drqbc``, ``cql`` and ``bc``: one agent, three objectives (V-D4RL section 4.1)."""
    return AlgorithmSpec(name, DrQConfig, PRESETS, VARIANTS, DrQ)
