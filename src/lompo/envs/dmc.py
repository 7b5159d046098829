"""DeepMind Control tasks from pixels behind the gymnasium API.

Observation: uint8 ``(H, W, 3)`` image (``observation="image"``), a dict
``{"image", "proprio"}`` (``observation="dict"``), or the flattened
proprioceptive state alone (``observation="state"``: nothing is rendered, for
the state-based behaviour agents). ``info`` always carries the
flattened proprioceptive state (``"proprio"``) and the simulator state
(``"physics_state"``), so any stored step can be re-rendered later.

``distractions`` (:mod:`lompo.envs.distractions`): episode ``i`` (counted from the env's creation, or
``reset(options={"episode": i})``) shows distraction ``i % len(distractions)``.

Episodes last ``episode_length`` simulator control steps (1000), i.e.
``episode_length / action_repeat`` agent steps, and end with ``truncated=True``;
``terminated`` is only set when the task itself ends with discount 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from lompo.envs.distractions import Distraction, Distractor
from lompo.envs.registry import TaskSpec, get_task
from lompo.envs.rendering import RenderProfile, choose_gl_backend, get_render_profile
from lompo.envs.variants import variant_model
from lompo.errors import ConfigError


def _flatten_observation(observation: dict[str, np.ndarray]) -> np.ndarray:
    parts = [np.asarray(v, dtype=np.float32).reshape(-1) for v in observation.values()]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def checked_action(action, space: gym.spaces.Box) -> np.ndarray:
    """``action`` as float32 within the space's bounds; a wrong shape or a NaN/inf is an error."""
    action = np.asarray(action, dtype=np.float32)
    if action.shape != space.shape:
        raise ConfigError(f"action shape {action.shape} != expected {space.shape}")
    if not np.all(np.isfinite(action)):
        raise ConfigError(f"action contains NaN or inf: {action}")
    return np.clip(action, space.low, space.high)


class DMCEnv(gym.Env):
    """A DMC task rendered to images with the papers' conventions."""

    metadata = {"render_modes": ["rgb_array"]}
    action_space: gym.spaces.Box

    def __init__(
        self,
        task: str | TaskSpec = "cartpole-swingup",
        image_size: int = 64,
        *,
        action_repeat: int | None = None,
        camera: int | None = None,
        render_profile: str = "standard",
        observation: str = "image",
        extra_image_sizes: tuple[int, ...] = (),
        seed: int | None = None,
        distractions: Sequence[Distraction] = (),
    ):
        super().__init__()
        if isinstance(task, TaskSpec):
            self.spec_task = task
        else:
            self.spec_task = get_task(task, action_repeat=action_repeat, camera=camera)
        if observation not in ("image", "dict", "state"):
            raise ConfigError(f"observation must be 'image', 'dict' or 'state', got {observation!r}")
        sizes = (int(image_size), *map(int, extra_image_sizes))
        if any(s < 8 or s > 2048 for s in sizes):
            raise ConfigError(f"image sizes must be between 8 and 2048 pixels, got {sizes}")
        self.image_size = sizes[0]
        self.image_sizes = tuple(dict.fromkeys(sizes))
        self.profile: RenderProfile = get_render_profile(render_profile)
        self.observation_mode = observation
        self.render_mode = "rgb_array"

        choose_gl_backend()
        from dm_control import suite  # imported after MUJOCO_GL is set

        with variant_model(self.spec_task.domain, self.spec_task.variant):
            self._env = suite.load(
                self.spec_task.domain,
                self.spec_task.task,
                # time_limit=inf: we count control steps ourselves (episode_length).
                task_kwargs={"random": seed, "time_limit": float("inf")},
            )
        self._physics = self._env.physics
        self._configure_rendering()
        self._cameras: dict[int, Any] = {}

        spec = self._env.action_spec()
        self.action_space = gym.spaces.Box(
            low=spec.minimum.astype(np.float32), high=spec.maximum.astype(np.float32), dtype=np.float32
        )
        proprio_dim = int(sum(int(np.prod(s.shape)) for s in self._env.observation_spec().values()))
        image_space = gym.spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        proprio_space = gym.spaces.Box(-np.inf, np.inf, (proprio_dim,), np.float32)
        if observation == "image":
            self.observation_space = image_space
        elif observation == "state":
            self.observation_space = proprio_space
        else:
            self.observation_space = gym.spaces.Dict({"image": image_space, "proprio": proprio_space})
        self._control_steps = 0
        self.distractions = tuple(distractions)
        self._distractor = (
            Distractor(self._physics, self.spec_task.domain, self.spec_task.camera) if self.distractions else None
        )
        self._episodes_started = 0

    # ----------------------------------------------------------------- distractions
    def start_distraction(self, episode: int) -> None:
        """Show distraction ``episode % len(distractions)`` (its draw for ``episode``) from now on."""
        if self._distractor is not None:
            self._distractor.start(self.distractions[episode % len(self.distractions)], episode)

    def advance_distraction(self) -> None:
        """One frame of a dynamic distraction."""
        if self._distractor is not None:
            self._distractor.advance()

    # ----------------------------------------------------------------- rendering
    def _configure_rendering(self) -> None:
        """Must run before the first render: buffers and quality are fixed at context creation."""
        model = self._physics.model
        biggest = max(self.image_sizes)
        if self.profile.fit_buffer_to_image:
            model.vis.global_.offwidth = biggest
            model.vis.global_.offheight = biggest
        else:
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, biggest)
            model.vis.global_.offheight = max(model.vis.global_.offheight, biggest)
        if not self.profile.multisampling:
            model.vis.quality.offsamples = 0

    def render_image(self, size: int | None = None) -> np.ndarray:
        """Render the current frame as uint8 ``(size, size, 3)``."""
        size = self.image_size if size is None else int(size)
        if size not in self.image_sizes:
            raise ConfigError(f"image size {size} was not requested when the env was made: {self.image_sizes}")
        camera = self._cameras.get(size)
        if camera is None:
            from dm_control.mujoco.engine import Camera

            camera = Camera(self._physics, height=size, width=size, camera_id=self.spec_task.camera)
            self._cameras[size] = camera
        return camera.render(render_flag_overrides=self.profile.flag_overrides()).copy()

    def render(self) -> np.ndarray:
        return self.render_image()

    # ---------------------------------------------------------------- gym API
    proprio_is_state = True  # the suite's observation describes the body itself (robot tasks: not so)

    def proprioception(self) -> np.ndarray:
        """The flattened observation of the state now held (the same as ``info["proprio"]``)."""
        return _flatten_observation(self._env.task.get_observation(self._physics))

    def _observe(self, time_step) -> tuple[Any, dict[str, Any]]:
        proprio = _flatten_observation(time_step.observation)
        info = {"state": proprio, "proprio": proprio, "physics_state": self._physics.get_state().copy()}
        if self.observation_mode == "state":
            return proprio, info
        image = self.render_image()
        for size in self.image_sizes[1:]:
            info[f"image_{size}"] = self.render_image(size)
        obs = image if self.observation_mode == "image" else {"image": image, "proprio": proprio}
        return obs, info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.task.random.seed(seed)
        time_step = self._env.reset()
        self._control_steps = 0
        episode = (options or {}).get("episode", self._episodes_started)
        self._episodes_started += 1
        self.start_distraction(int(episode))
        return self._observe(time_step)

    def step(self, action):
        action = checked_action(action, self.action_space)
        reward = 0.0
        terminated = False
        time_step = None
        for _ in range(self.spec_task.action_repeat):
            time_step = self._env.step(action)
            self._control_steps += 1
            reward += float(time_step.reward or 0.0)
            if time_step.last():
                terminated = time_step.discount == 0.0
                break
        truncated = not terminated and self._control_steps >= self.spec_task.episode_length
        self.advance_distraction()
        obs, info = self._observe(time_step)
        info["discount"] = 0.0 if terminated else 1.0
        return obs, reward, terminated, truncated, info

    def set_physics_state(self, state: np.ndarray) -> None:
        """Restore a stored simulator state (to re-render a stored step)."""
        with self._physics.reset_context():
            self._physics.set_state(np.asarray(state, dtype=np.float64))

    def close(self) -> None:
        for camera in self._cameras.values():
            camera._scene.free()  # dm_control's Camera holds a native scene
        self._cameras.clear()
        self._env.close()


def make_env(task: str | TaskSpec = "cartpole-swingup", image_size: int = 64, **kwargs) -> DMCEnv:
    """Make the pixel environment of a registry task: :class:`DMCEnv`, or for the robot tasks
    :class:`lompo.envs.robots.RobotEnv` (same interface); options as :class:`DMCEnv`'s."""
    spec = (
        task
        if isinstance(task, TaskSpec)
        else get_task(task, action_repeat=kwargs.pop("action_repeat", None), camera=kwargs.pop("camera", None))
    )
    if spec.camera_name:
        from lompo.envs.robots import RobotEnv

        return RobotEnv(spec, image_size, **kwargs)  # type: ignore[return-value]
    return DMCEnv(spec, image_size, **kwargs)
