"""What the two latent world-model algorithms (LOMPO, Offline DV2) share: batches as tensors, the
channels-last conv layout, one world-model optimisation step with per-head gradient norms, the prior
member drawn per time step (LOMPO eq. 8), the latent policy that acts from real frames, and the model
sample strip (LOMPO figure 5). Each algorithm keeps its own world model, loss and agent phase."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from lompo.algos.spec import Metrics
from lompo.data.samplers import SEQUENCE_KEYS, DeviceFrames, SequenceSampler, host_to_device
from lompo.data.store import EpisodeStore
from lompo.errors import ConfigError
from lompo.nets import LatentState
from lompo.nets.conv import preprocess
from lompo.nets.precision import use_precision


def batch_to_torch(batch: dict[str, np.ndarray], device) -> dict[str, torch.Tensor]:
    """A sampler batch as tensors on ``device``: images and flags keep their dtype, the rest is float32."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):  # frames gathered in device memory (resident_frames)
            out[key] = value.to(device)
            continue
        tensor = host_to_device(value, device)
        out[key] = tensor if value.dtype in (np.uint8, np.bool_) else tensor.float()
    return out


def use_channels_last(model: Any) -> None:
    """Put the conv encoder and decoder in channels-last memory format (faster convs on CPU; the
    ``channels_last`` setting of both algorithms)."""
    model.encoder.to(memory_format=torch.channels_last)
    model.decoder.net[1:].to(memory_format=torch.channels_last)  # (the first layer runs as a matmul)


def world_model_step(
    model: Any, optimizer: torch.optim.Optimizer, loss_fn: Callable[[], tuple[torch.Tensor, Metrics]], grad_clip: float
) -> Metrics:
    """One optimisation step of a world model with an ensemble of prior heads: ``loss_fn()`` gives
    ``(loss, metrics)`` in train mode; gradients are clipped to ``grad_clip`` in global norm. Reports the
    loss, the gradient norm before clipping and each prior head's gradient norm (``prior_grad_norm_member{k}``:
    every head must receive gradient on every step)."""
    model.train()
    loss, metrics = loss_fn()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    member_norms = model.rssm.prior_net.member_grad_norms()
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    metrics.update({f"model/prior_grad_norm_member{k}": v for k, v in enumerate(member_norms.unbind())})
    return {"model/loss": loss.detach(), "model/grad_norm": grad_norm.detach(), **metrics}


def reward_r2(prediction: torch.Tensor, reward: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``1 − MSE / Var(reward)`` over the valid steps of a batch (clamped at −1; the variance floored at
    1e-6): 1 for a perfect reward head, 0 for one that predicts the batch's mean reward. A world model
    whose latent state carries no information about the frames stays near or below 0, whatever its
    image loss says (an image's static background is easy to reconstruct)."""
    valid = mask.to(prediction.dtype)
    count = valid.sum().clamp(min=1.0)
    mean = (reward * valid).sum() / count
    variance = ((reward - mean).pow(2) * valid).sum() / count
    mse = ((prediction - reward).pow(2) * valid).sum() / count
    return (1 - mse / variance.clamp(min=1e-6)).clamp(min=-1.0)


def filtered_reward_r2(model: Any, batch: dict[str, torch.Tensor], embed: torch.Tensor, actions: torch.Tensor) -> float:
    """:func:`reward_r2` of the reward head on the posterior of the batch's frames (``embed``) filtered
    with ``actions``: the batch's own, or another sequence's to see whether the reward is read from them."""
    post = model.rssm.observe(embed, actions, batch["is_first"])
    prediction = model.reward(torch.cat([post["deter"], post["stoch"]], -1))
    return float(reward_r2(prediction, batch["reward"], batch["mask"]))


def sample_prior_members(length: int, ensemble: int, device=None) -> torch.Tensor:
    """Eq. 8: one prior member per time step, uniform over ``0..K-1`` (torch's global RNG).

    Drawn as consecutive random permutations of the K members cut to ``length``: each step's member is
    still uniform, but every member is drawn (and so trained) in every batch of ``length >= K`` steps,
    where independent draws would leave one out now and then (7·(6/7)^32 ≈ 5 % of the ``cpu`` batches)."""
    rounds = -(-length // ensemble)
    return torch.cat([torch.randperm(ensemble) for _ in range(rounds)])[:length].to(device)


class LatentPolicy:
    """Acts from real frames: ``s_t = post(s_{t-1}, a_{t-1}, E(x_t))``, ``a_t = π(s_t)`` (docs/lompo.md).

    The latent is inferred as in training: ``z_t`` is *sampled* from the posterior (as the authors'
    LOMPO code and V-D4RL's DreamerV2 do, ``eval_state_mean: False``), because the actor only ever saw
    sampled posterior states in ``B_real`` and model rollouts. ``latent="mean"`` uses the posterior
    mean (Gaussian) or most likely class (discrete) instead, for comparison. ``deterministic`` in
    :meth:`act` concerns the action only (the actor's mean). ``act_fn(features, deterministic)`` maps
    latent features to actions; any RSSM with ``initial`` and ``observe_step`` (Gaussian or discrete)
    works, so Offline DV2 evaluates through this class too.

    :attr:`model_return` is what the world model believes the episode earned: its reward head on the
    posterior of every frame after the first (the reward of the transition into that frame), summed;
    the evaluation passes the episode's last frame to :meth:`observe` so every transition is counted.
    Far above the real return, it says the policy exploits an error of the model (docs/lompo.md)."""

    LATENTS = ("sample", "mean")

    def __init__(self, model: Any, act_fn, action_dim: int, device: torch.device, latent: str = "sample"):
        if latent not in self.LATENTS:
            raise ConfigError(f"latent inference must be one of {self.LATENTS}, got {latent!r}")
        self.model, self.act_fn, self.action_dim, self.device = model, act_fn, action_dim, device
        self.latent = latent
        self.keep_states = False
        self.reset()

    def reset(self) -> None:
        self.state = self.model.rssm.initial(1, self.device)
        self.previous_action = torch.zeros(1, self.action_dim, device=self.device)
        self.first = True
        self.model_return = 0.0
        self.visited: list[LatentState] = []  # the episode's states, kept when ``keep_states`` is set

    @property
    def observation(self) -> str:
        """What :meth:`act` takes from the environment: ``image``, or ``dict`` (image and proprioception)."""
        return "dict" if self.model.encoder.proprio_dim else "image"

    @torch.no_grad()
    def observe(self, obs: Any) -> None:
        """``s_t = post(s_{t-1}, a_{t-1}, E(x_t))``; adds the model's reward for reaching ``s_t``."""
        frame, proprio = (obs["image"], obs["proprio"]) if isinstance(obs, dict) else (obs, None)
        image = torch.as_tensor(np.array(frame, np.uint8), device=self.device).unsqueeze(0)
        if proprio is not None:
            proprio = torch.as_tensor(np.asarray(proprio, np.float32), device=self.device).unsqueeze(0)
        embed = self.model.encoder(image, proprio)
        is_first = torch.tensor([self.first], device=self.device)
        self.state = self.model.rssm.observe_step(
            self.state, self.previous_action, embed, is_first, sample=self.latent == "sample"
        )[0]
        if not self.first:
            self.model_return += float(self.model.reward(self.state.features).sum())
        if self.keep_states:
            self.visited.append(self.state)
        self.first = False

    @torch.no_grad()
    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        self.observe(obs)
        action = self.act_fn(self.state.features, deterministic)
        self.previous_action = action
        return action.squeeze(0).cpu().numpy()


@torch.no_grad()
def model_sample_strip(
    model: Any, store: EpisodeStore, length: int, context: int, seed: int, device: torch.device, prior_step
) -> np.ndarray:
    """LOMPO figure 5 as one uint8 image: ground truth / posterior reconstruction / open-loop prior rollout.

    The rollout observes the first ``context`` frames of a dataset sequence, then imagines with the
    dataset's actions, ``prior_step(state, action) -> next state``. Works for any RSSM with ``observe``."""
    keys = (*SEQUENCE_KEYS, "proprio") if model.encoder.proprio_dim else SEQUENCE_KEYS
    batch = batch_to_torch(SequenceSampler(store, 1, length, seed=seed, keys=keys).sample(), device)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        embed = model.encoder(batch["image"], batch.get("proprio"))
        post = model.rssm.observe(embed, batch["action"], batch["is_first"])
        posterior = torch.cat([post["deter"], post["stoch"]], -1)
        state = LatentState(post["deter"][:, context - 1], post["stoch"][:, context - 1])
        imagined = [posterior[:, t] for t in range(context)]
        for t in range(context, length):
            state = prior_step(state, batch["action"][:, t])
            imagined.append(state.features)
    rows = [preprocess(batch["image"][0]), model.decode(posterior[0]), model.decode(torch.stack(imagined, 1)[0])]
    images = [((r.clamp(-0.5, 0.5) + 0.5) * 255).round().byte().permute(0, 2, 3, 1) for r in rows]
    return torch.cat([torch.cat(list(row), 1) for row in images], 0).cpu().numpy()


class LatentModelAlgorithm:
    """What LOMPO and Offline DV2 do the same way with their world model: build it (on the device,
    channels-last if set, Adam at ``model_lr``, a sampler of ``batch_size`` sequences of
    ``sequence_length``), train it one batch per :meth:`model_step`, act from real frames through it
    (:meth:`policy`) and load another run's trained model. A subclass defines
    :meth:`world_model_loss` (its paper's equation) and :meth:`act` (its actor on latent features)."""

    config: Any
    store: EpisodeStore
    model: Any
    model_opt: torch.optim.Optimizer
    model_sampler: SequenceSampler
    frames: DeviceFrames | None  # the training samplers' frames in device memory (resident_frames)
    device: torch.device
    action_dim: int

    @property
    def sequence_keys(self) -> tuple[str, ...]:
        """The keys of every sequence batch: the usual ones, and ``proprio`` when the model uses it."""
        return (*SEQUENCE_KEYS, "proprio") if getattr(self.config, "proprio", False) else SEQUENCE_KEYS

    def build_world_model(self, model: nn.Module, store: EpisodeStore, seed: int, **adam: Any) -> None:
        self.model = model.to(self.device)
        if self.config.channels_last:
            use_channels_last(self.model)
        use_precision(self.model, self.config.precision)
        self.model_opt = torch.optim.Adam(self.model.parameters(), lr=self.config.model_lr, **adam)
        self.frames = DeviceFrames(store, self.device) if self.config.resident_frames else None
        self.model_sampler = SequenceSampler(
            store,
            self.config.batch_size,
            self.config.sequence_length,
            seed=seed,
            keys=self.sequence_keys,
            frames=self.frames,
        )

    def world_model_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        raise NotImplementedError

    def act(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        raise NotImplementedError

    def act_modules(self) -> list[nn.Module]:
        """The modules :meth:`act` computes with (besides the world model), e.g. for a policy export."""
        raise NotImplementedError

    def model_step(self) -> Metrics:
        batch = batch_to_torch(self.model_sampler.sample(), self.device)
        loss = lambda: self.world_model_loss(batch)
        return world_model_step(self.model, self.model_opt, loss, self.config.model_grad_clip)

    @torch.no_grad()
    def validation_metrics(self, store: EpisodeStore, batches: int = 8) -> Metrics:
        """The world-model loss and its terms (the paper's equation) on sequences of held-out episodes:
        the mean over ``batches`` batches of the training size (fixed seeds; training RNGs untouched)."""
        c = self.config
        sampler = SequenceSampler(store, c.batch_size, c.sequence_length, seed=0, keys=self.sequence_keys)
        totals: dict[str, Any] = {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            for _ in range(batches):
                loss, metrics = self.world_model_loss(batch_to_torch(sampler.sample(), self.device))
                for key, value in {"model/loss": loss, **metrics}.items():
                    totals[key] = totals.get(key, 0) + value / batches
        return {f"validation/{k}": v for k, v in totals.items()}

    @torch.no_grad()
    def reward_fit(self, batches: int = 4) -> Metrics:
        """Does the model read the reward from the frames or from the action history? The reward head's
        R² (:func:`reward_r2`) on the posterior of ``batches`` fixed batches, filtered with the
        sequences' own actions and, with the same posterior draws, with another sequence's: a model that
        reads the frames keeps its R² (the posterior sees them), one that predicts the reward from the
        actions loses it, and its policy will choose the actions the model associates with reward
        (docs/lompo.md). Fixed seeds; training RNGs untouched."""
        c = self.config
        sampler = SequenceSampler(self.store, c.batch_size, c.sequence_length, seed=0, keys=self.sequence_keys)
        was_training = self.model.training
        self.model.eval()
        totals = {"own": 0.0, "other": 0.0}
        with torch.random.fork_rng(devices=[]):
            for i in range(batches):
                batch = batch_to_torch(sampler.sample(), self.device)
                embed = self.model.encoder(batch["image"], batch.get("proprio"))
                for name, actions in (("own", batch["action"]), ("other", batch["action"].roll(1, 0))):
                    torch.manual_seed(i)  # the same posterior draws for both kinds of actions
                    totals[name] += filtered_reward_r2(self.model, batch, embed, actions) / batches
        self.model.train(was_training)
        return {"model/fit_reward_r2": totals["own"], "model/fit_reward_r2_other_actions": totals["other"]}

    def policy(self, latent: str = "sample") -> LatentPolicy:
        self.model.eval()
        return LatentPolicy(self.model, self.act, self.action_dim, self.device, latent)

    def load_world_model_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
