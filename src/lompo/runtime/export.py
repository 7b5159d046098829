"""``lompo export RUN --out DIR``: a trained policy as one TorchScript file a robot loads
with ``torch`` alone (no lompo import), with a stateful step API::

    policy = torch.jit.load("DIR/policy.pt")
    policy.reset()                      # at the start of every episode
    action = policy.act(frame)          # frame: uint8 tensor (H, W, 3); action: float32 (action_dim,)
    action = policy.act(frame, proprio) # a policy that reads proprioception; proprio: float tensor (P,)

``act`` runs what :class:`lompo.algos.world_model.LatentPolicy` runs at evaluation: the encoder, one
posterior filtering step from the previous latent state and action, and the actor's mean action.
The latent is the posterior mean (``latent="mean"``, deterministic: the same frames give the same
actions on every machine) unless ``latent="sample"`` (what evaluation uses by default; the draws then
come from torch's global generator of the process running the policy). For DrQ+BC, CQL and BC,
``act`` keeps the last ``frame_stack`` frames (the first repeated after ``reset``) as their evaluation
does. A policy trained with ``proprio=true`` takes the current proprioception beside the frame (both
families, as their evaluation feeds it), and refuses a call without it. ``DIR/policy.json`` records the
run, checkpoint, image size, action and proprioception dimensions.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from lompo.errors import ConfigError
from lompo.files import atomic_write_bytes
from lompo.nets import LatentState


class _FilterAndAct(nn.Module):
    """One step, state in and out: ``(frame, previous action, deter, stoch, first) -> (action, deter, stoch)``."""

    def __init__(self, algo, sample: bool):
        super().__init__()
        self.model = algo.model
        self.act_modules = nn.ModuleList(algo.act_modules())  # registered so tracing keeps them as weights
        self.act_fn, self.sample = algo.act, sample
        self.uses_proprio = bool(self.model.encoder.proprio_dim)

    def forward(self, frame, action, deter, stoch, first, proprio):
        embed = self.model.encoder(frame, proprio if self.uses_proprio else None)
        state = self.model.rssm.observe_step(LatentState(deter, stoch), action, embed, first, sample=self.sample)[0]
        return self.act_fn(state.features, True), state.deter, state.stoch


def _proprio_batch(proprio: torch.Tensor | None, size: int) -> torch.Tensor:
    """``(1, size)`` float proprioception for the traced step; ``(1, 0)`` for policies without it."""
    if size == 0:
        return torch.zeros(1, 0)
    if proprio is None:
        raise RuntimeError("this policy reads proprioception: call act(frame, proprio)")
    if proprio.numel() != size:
        raise RuntimeError("proprio has the wrong number of values for this policy")
    return proprio.float().reshape(1, size)


class DeployedPolicy(nn.Module):
    """The scripted, stateful wrapper saved as ``policy.pt``."""

    def __init__(
        self, step: torch.jit.ScriptModule, deter: torch.Tensor, stoch: torch.Tensor, action_dim: int, proprio_dim: int
    ):
        super().__init__()
        self.step = step
        self.initial_deter, self.initial_stoch = deter.clone(), stoch.clone()
        self.deter, self.stoch = deter.clone(), stoch.clone()
        self.previous_action = torch.zeros(1, action_dim)
        self.proprio_dim = proprio_dim
        self.first = True

    @torch.jit.export
    def reset(self) -> None:
        self.deter = self.initial_deter.clone()
        self.stoch = self.initial_stoch.clone()
        self.previous_action = torch.zeros_like(self.previous_action)
        self.first = True

    @torch.jit.export
    def act(self, frame: torch.Tensor, proprio: torch.Tensor | None = None) -> torch.Tensor:
        first = torch.tensor([self.first])
        state = _proprio_batch(proprio, self.proprio_dim)
        with torch.no_grad():
            action, deter, stoch = self.step(
                frame.unsqueeze(0), self.previous_action, self.deter, self.stoch, first, state
            )
        self.deter, self.stoch, self.previous_action, self.first = deter, stoch, action, False
        return action[0]

    def forward(self, frame: torch.Tensor, proprio: torch.Tensor | None = None) -> torch.Tensor:
        return self.act(frame, proprio)


class _StackedAct(nn.Module):
    """DrQ+BC / CQL / BC: ``(1, 3k, H, W)`` float frames (and ``(1, P)`` proprioception) -> the actor's mean
    action."""

    def __init__(self, encoder: nn.Module, actor: nn.Module):
        super().__init__()
        self.encoder, self.actor = encoder, actor
        self.uses_proprio = bool(encoder.proprio_dim)

    def forward(self, stacked, proprio):
        return self.actor(self.encoder(stacked, proprio if self.uses_proprio else None))


class DeployedFrameStack(nn.Module):
    """The scripted wrapper of a model-free policy: keeps the last ``k`` frames (the first repeated at
    reset, as training's sampler does at episode starts)."""

    def __init__(self, step: torch.jit.ScriptModule, frame_stack: int, image_shape: list[int], proprio_dim: int):
        super().__init__()
        self.step, self.k = step, frame_stack
        self.frames = torch.zeros(3 * frame_stack, image_shape[0], image_shape[1])
        self.proprio_dim = proprio_dim
        self.first = True

    @torch.jit.export
    def reset(self) -> None:
        self.first = True

    @torch.jit.export
    def act(self, frame: torch.Tensor, proprio: torch.Tensor | None = None) -> torch.Tensor:
        state = _proprio_batch(proprio, self.proprio_dim)
        current = frame.permute(2, 0, 1).float()
        if self.first:
            self.frames = current.repeat(self.k, 1, 1)
        else:
            self.frames = torch.cat([self.frames[3:], current], 0)
        self.first = False
        with torch.no_grad():
            return self.step(self.frames.unsqueeze(0), state)[0]

    def forward(self, frame: torch.Tensor, proprio: torch.Tensor | None = None) -> torch.Tensor:
        return self.act(frame, proprio)


def _scripted(algo, store, latent: str) -> torch.jit.ScriptModule:
    """The policy of ``algo`` as a scripted stateful module (traced step inside a scripted wrapper)."""
    if hasattr(algo, "act_modules"):
        algo.model.eval().to("cpu")
        for module in algo.act_modules():
            module.eval().to("cpu")
        step = _FilterAndAct(algo, sample=latent == "sample").eval()
        initial = algo.model.rssm.initial(1, torch.device("cpu"))
        frame = torch.zeros(1, *store.image_shape, dtype=torch.uint8)
        proprio_dim = int(algo.model.encoder.proprio_dim)
        example = (frame, torch.zeros(1, store.action_dim), initial.deter, initial.stoch, torch.tensor([True]))
        traced = torch.jit.trace(step, (*example, torch.zeros(1, proprio_dim)), check_trace=False)
        return torch.jit.script(DeployedPolicy(traced, initial.deter, initial.stoch, store.action_dim, proprio_dim))
    if hasattr(algo, "encoder") and hasattr(algo, "actor") and hasattr(algo.config, "frame_stack"):
        k, (height, width) = algo.config.frame_stack, store.image_shape[:2]
        proprio_dim = int(algo.encoder.proprio_dim)
        stacked = _StackedAct(algo.encoder.eval().to("cpu"), algo.actor.eval().to("cpu")).eval()
        inputs = (torch.zeros(1, 3 * k, height, width), torch.zeros(1, proprio_dim))
        traced = torch.jit.trace(stacked, inputs, check_trace=False)
        return torch.jit.script(DeployedFrameStack(traced, k, [height, width], proprio_dim))
    raise ConfigError(f"{type(algo).__name__} has no policy this export knows")


def export_policy(run, out: Path | str, checkpoint: str | None = None, latent: str = "mean") -> Path:
    """Write ``out/policy.pt`` and ``out/policy.json`` for ``run`` (a :class:`lompo.runtime.Run`)."""
    if latent not in ("mean", "sample"):
        raise ConfigError(f"latent must be mean or sample, got {latent!r}")
    store = run.open_store()
    algo, path = run.trained_algorithm(store, checkpoint)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # TorchScript is deprecated in favour of torch.export, which has no stateful modules yet; the
    # saved file loads with torch.jit.load in every torch 2.x. A distribution's argument check is
    # traced as a constant (the trace's only Python-value warning), which is what evaluation does too.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        policy = _scripted(algo, store, latent)
        atomic_write_bytes(out / "policy.pt", lambda f: torch.jit.save(policy, f))
    description = {
        "run": str(run.path),
        "algo": run.settings.algo,
        "checkpoint": path.name,
        "latent": latent if hasattr(algo, "act_modules") else None,
        "image_shape": list(store.image_shape),
        "action_dim": int(store.action_dim),
        "proprio_dim": int(policy.proprio_dim),
        "usage": "policy = torch.jit.load('policy.pt'); policy.reset(); action = policy.act(uint8 frame (H, W, 3)"
        + (", float proprio (P,))" if policy.proprio_dim else ")"),
    }
    atomic_write_bytes(out / "policy.json", lambda f: f.write(json.dumps(description, indent=2).encode()))
    return out / "policy.pt"
