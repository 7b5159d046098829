"""Seeded batch samplers over an :class:`EpisodeStore`.

* :class:`SequenceSampler` — ``(B, L)`` windows for world models. A window
  never crosses an episode boundary; episodes shorter than ``L`` give one
  window padded with ``mask = False``. Windows are drawn uniformly over all
  valid starts.
* :class:`TransitionSampler` — frame-stacked, n-step transitions for model-free
  agents (DrQ-v2 convention). Frames are read from the store by index; nothing
  is duplicated per stack or per next observation.

Both use their own ``numpy.random.Generator``: the same seed gives the same batches. Both read
frames through a frame source: the store itself (:class:`StoreFrames`, gathered on the host from
the memory map) or every frame copied once into a device's memory (:class:`DeviceFrames`, the
``resident_frames`` setting: gathered on the GPU, only the indices cross). The batches are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lompo.data.store import EpisodeStore
from lompo.envs.registry import get_task
from lompo.errors import ConfigError

SEQUENCE_KEYS = ("image", "action", "reward", "discount", "is_first", "is_last", "is_terminal")


def _gather(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``array[index]`` for any index shape; reads rows in sorted order (friendlier to memmaps)."""
    flat = index.reshape(-1)
    order = np.argsort(flat, kind="stable")
    out = np.empty((flat.size, *array.shape[1:]), dtype=array.dtype)
    out[order] = array[flat[order]]
    return out.reshape(*index.shape, *array.shape[1:])


def host_to_device(array: np.ndarray, device: Any) -> Any:
    """A host array as a tensor on ``device`` (sharing its memory on the CPU). To a GPU through pinned
    memory and queued without waiting: a copy from pageable memory waits for every kernel queued before it
    (CUDA's rule for pageable transfers), i.e. for the step still running there."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(array))
    device = torch.device(device)
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class StoreFrames:
    """Frames read from the store (a memory map) on the host: numpy arrays."""

    def __init__(self, store: EpisodeStore):
        self.images = store["image"]

    def gather(self, index: np.ndarray) -> np.ndarray:
        """Frames ``(*index.shape, H, W, C)``."""
        return _gather(self.images, index)

    def stacked(self, index: np.ndarray) -> np.ndarray:
        """Frames ``(B, k)`` stacked channels first: ``(B, k*C, H, W)``."""
        frames = self.gather(index)
        b, k, h, w, c = frames.shape
        return np.ascontiguousarray(frames.transpose(0, 1, 4, 2, 3)).reshape(b, k * c, h, w)


class DeviceFrames:
    """Every frame of the store copied once into ``device`` memory (an H200 holds any V-D4RL dataset);
    a batch is gathered there from indices drawn on the host: torch tensors on ``device``."""

    def __init__(self, store: EpisodeStore, device: Any, chunk: int = 4096):
        import torch

        self.torch = torch
        images = store["image"]
        self.images = torch.empty(images.shape, dtype=torch.uint8, device=device)
        for start in range(0, len(images), chunk):  # through host memory a chunk at a time
            self.images[start : start + chunk] = torch.from_numpy(np.array(images[start : start + chunk]))

    def gather(self, index: np.ndarray) -> Any:
        return self.images[host_to_device(index, self.images.device)]

    def stacked(self, index: np.ndarray) -> Any:
        frames = self.gather(index)
        b, k, h, w, c = frames.shape
        return frames.permute(0, 1, 4, 2, 3).reshape(b, k * c, h, w)


Frames = StoreFrames | DeviceFrames

PROPRIO_KEYS = ("proprio", "state")  # imports and robot tasks store "proprio"; DMC's "state" is proprioceptive
ROBOT_SUITES = ("metaworld", "adroit", "dclaw")  # their "state" holds the object too (lompo.envs.robots)


def _robot_task(store: EpisodeStore) -> str | None:
    """The name of the robot task the store was recorded in, else None."""
    name = store.info.get("task") or (store.info.get("metadata") or {}).get("task")
    try:
        return name if name and get_task(name).domain in ROBOT_SUITES else None
    except ConfigError:  # imported data may name a task of its own
        return None


def proprio_key(store: EpisodeStore) -> str | None:
    """The store's proprioception key, or None: ``proprio``, else (DeepMind Control) ``state``; a robot
    task's ``state`` is not proprioception (it holds the object's pose)."""
    if "proprio" in store:
        return "proprio"
    return "state" if "state" in store and _robot_task(store) is None else None


def proprio_size(store: EpisodeStore) -> int:
    """Dimensions of the dataset's proprioception; a clear error when it has none."""
    key = proprio_key(store)
    if key is None:
        task = _robot_task(store) if "state" in store else None
        if task is not None:
            raise ConfigError(
                f"{store.info.get('source')}: this {task} dataset stores the suite's full state (object "
                "included) but not the robot's proprioception; collect it again with lompo collect (a "
                "behaviour agent already trained is reused), or train with --set proprio=false"
            )
        raise ConfigError(
            f"{store.info.get('source')}: proprio=true needs proprioception in the episodes (key 'proprio' or "
            "'state'); this dataset has none (--set proprio=false)"
        )
    return int(np.prod(store[key].shape[1:]))


class SequenceSampler:
    """Uniform ``(batch_size, length)`` windows inside episodes."""

    def __init__(
        self,
        store: EpisodeStore,
        batch_size: int,
        length: int,
        seed: int = 0,
        keys: tuple[str, ...] = SEQUENCE_KEYS,
        frames: Frames | None = None,
    ):
        if batch_size < 1 or length < 1:
            raise ConfigError(f"batch size and sequence length must be >= 1, got {batch_size}, {length}")
        self.store, self.batch_size, self.length = store, batch_size, length
        self.frames = frames or StoreFrames(store)
        self.keys = tuple(k for k in keys if k in store or (k == "proprio" and proprio_key(store)))
        self.rng = np.random.default_rng(seed)
        # Valid window starts: every start with a full window inside its episode, and the
        # first step of each episode shorter than ``length`` (padded).
        counts = np.maximum(store.episode_lengths - length + 1, 1)
        self.window_starts = np.repeat(store.episode_starts, counts) + _ranges(counts)
        self.window_episode = np.repeat(np.arange(store.num_episodes), counts)

    def sample(self) -> dict[str, Any]:
        pick = self.rng.integers(0, len(self.window_starts), self.batch_size)
        starts = self.window_starts[pick]
        episode = self.window_episode[pick]
        ends = self.store.episode_starts[episode] + self.store.episode_lengths[episode]  # exclusive
        index = starts[:, None] + np.arange(self.length)[None, :]
        mask = index < ends[:, None]
        index = np.minimum(index, ends[:, None] - 1)  # padding repeats the episode's last step
        stored = {key: (proprio_key(self.store) or key) if key == "proprio" else key for key in self.keys}
        batch = {
            key: self.frames.gather(index) if key == "image" else _gather(self.store[stored[key]], index)
            for key in self.keys
        }
        batch["mask"] = mask
        return batch

    def __iter__(self):
        while True:
            yield self.sample()


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])`` without a Python loop."""
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - offsets


class TransitionSampler:
    """Frame-stacked n-step transitions ``(obs, action, reward, discount, next_obs)``.

    For a transition from step ``t`` (DrQ-v2 and V-D4RL conventions):
    ``obs`` stacks frames ``t-k+1 .. t`` (frames before the episode's first are
    the first frame repeated); ``action = action[t+1]``;
    ``reward = sum_{i<n'} gamma^i (prod_{j<i} discount[t+1+j]) reward[t+1+i]``;
    ``discount = gamma^{n'} prod_{j<n'} discount[t+1+j]``; ``next_obs`` stacks
    at ``t+n'``, where ``n' = min(n, steps left in the episode)``.
    Observations are ``(B, 3k, H, W)`` uint8 (channels first) or ``(B, k, H, W, 3)``. With ``proprio``,
    also ``proprio`` and ``next_proprio``: the proprioception at ``t`` and ``t+n'``.
    """

    def __init__(self, store: EpisodeStore, batch_size: int, frame_stack: int = 3, n_step: int = 3,
                 gamma: float = 0.99, seed: int = 0, channels_first: bool = True, proprio: bool = False,
                 frames: Frames | None = None):  # fmt: skip
        if batch_size < 1 or frame_stack < 1 or n_step < 1:
            raise ConfigError(
                f"batch size, frame stack and n-step must be >= 1, got {batch_size}, {frame_stack}, {n_step}"
            )
        self.store, self.batch_size = store, batch_size
        self.frame_stack, self.n_step, self.gamma = frame_stack, n_step, gamma
        self.channels_first = channels_first
        self.frames = frames or StoreFrames(store)
        self.rng = np.random.default_rng(seed)
        counts = store.episode_lengths - 1  # transitions per episode
        self.transition_starts = np.repeat(store.episode_starts, counts) + _ranges(counts)
        self.transition_episode = np.repeat(np.arange(store.num_episodes), counts)
        self.proprio_dim = proprio_size(store) if proprio else 0  # refuses data without proprioception
        self.proprio_key = proprio_key(store) if proprio else None
        self.reward = np.asarray(store["reward"], np.float32)  # small: kept in memory
        self.discount = np.asarray(store["discount"], np.float32)

    def stack_index(self, t: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
        """Indices ``(B, k)`` of the frames stacked at steps ``t``, clipped to the episode start."""
        offsets = np.arange(-self.frame_stack + 1, 1)
        return np.maximum(t[:, None] + offsets[None, :], episode_start[:, None])

    def n_step_targets(self, t: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(reward, discount, next_t)`` of n-step backups from steps ``t``; ``last`` = final step."""
        reward = np.zeros(len(t), np.float32)
        discount = np.ones(len(t), np.float32)
        next_t = t.copy()
        for i in range(1, self.n_step + 1):
            valid = t + i <= last
            step = np.minimum(t + i, last)
            reward += np.where(valid, discount * self.reward[step], 0.0).astype(np.float32)
            discount = np.where(valid, discount * self.gamma * self.discount[step], discount).astype(np.float32)
            next_t = np.where(valid, step, next_t)
        return reward, discount, next_t

    def _frames(self, index: np.ndarray) -> Any:
        return self.frames.stacked(index) if self.channels_first else self.frames.gather(index)

    def sample(self) -> dict[str, Any]:
        pick = self.rng.integers(0, len(self.transition_starts), self.batch_size)
        t = self.transition_starts[pick]
        episode = self.transition_episode[pick]
        first = self.store.episode_starts[episode]
        last = first + self.store.episode_lengths[episode] - 1
        reward, discount, next_t = self.n_step_targets(t, last)
        batch = {
            "obs": self._frames(self.stack_index(t, first)),
            "action": np.asarray(self.store["action"][t + 1], np.float32),
            "reward": reward,
            "discount": discount,
            "next_obs": self._frames(self.stack_index(next_t, first)),
        }
        if self.proprio_key is not None:  # the proprioception of the current step (not stacked)
            batch["proprio"] = np.asarray(self.store[self.proprio_key][t], np.float32)
            batch["next_proprio"] = np.asarray(self.store[self.proprio_key][next_t], np.float32)
        return batch

    def __iter__(self):
        while True:
            yield self.sample()
