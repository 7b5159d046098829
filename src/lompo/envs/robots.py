"""The LOMPO paper's robot tasks from pixels (LOMPO Table 1; ``pip install 'lompo[metaworld]'``,
``'lompo[adroit]'``, or ``'lompo[robots]'`` for both):
Sawyer door-open (Meta-World) and the Adroit pen (gymnasium-robotics), behind the same interface as
:class:`lompo.envs.dmc.DMCEnv` (``reset``/``step``/``render_image``/``set_physics_state``; ``info`` carries
``state``, ``proprio``, ``physics_state`` and ``success``), so datasets, training and evaluation treat them alike.

- **Proprioception is the robot's own**: ``proprio`` (what ``observation="dict"`` gives the models) holds
  the robot's joint positions and velocities only: the pen's hand (24 joints, 48 values), the claw (9
  joints, 18), the Sawyer arm and gripper (9 joints, 18). The object's pose (pen, valve, door) must come
  from the images, as the paper's "robot proprioception and raw images" says. ``state`` (what
  ``observation="state"`` gives) is the suite's full observation, object and goal included; only the
  state-based behaviour agents and scripted policies act on it.

- **Rendering**: our own ``mujoco.Renderer`` per image size and the task's named camera; the ``fast``
  profile turns off shadows, reflections and multisampling (37-68 steps/s at 64 px instead of 3-6 with
  MuJoCo's defaults on the CPU renderer). Meta-World's ``corner`` cameras render upside down: flipped.
- **State**: ``physics_state`` holds everything a frame depends on, so a stored step re-renders exactly:
  Meta-World: ``qpos, qvel``, the mocap pose that drives the hand, and the door and goal positions (model
  fields set at reset); Adroit pen: ``qpos, qvel`` and the target pen's orientation.
- **Meta-World on MuJoCo >= 3**: its ``reset_mocap_welds`` writes 11 values into a 12-value weld row and
  crashes; the wrapper pads the row (the added value is the weld's torque scale, which MuJoCo's default
  of 1 already used).
- **D'Claw screw** (:mod:`lompo.envs.dclaw`): ROBEL's model files, fetched once and checksummed.
- **Episodes**: door-open 500 simulator steps, pen 200, both with action repeat 4, D'Claw 80 with
  action repeat 2 (LOMPO appendix);
  door-open's reward is the paper's sparse one (1 when the door is open, else 0), the pen's is
  gymnasium-robotics' (10 when the pen reaches the goal orientation, -0.1 otherwise). The pen's goal is
  fixed (LOMPO appendix): the orientation at the centre of gymnasium-robotics' random goal range (Euler
  angles 0, 0, 0), the same every episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from lompo.envs.dmc import checked_action
from lompo.envs.registry import TaskSpec
from lompo.envs.rendering import RenderProfile, choose_gl_backend, get_render_profile
from lompo.errors import ConfigError

SUITES = ("metaworld", "adroit", "dclaw")
WELD_ROW = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0]  # Meta-World's weld data, 11 values
FLIPPED_CAMERAS = ("corner", "corner2", "corner3")
FIXED_PEN_GOAL = np.array([1.0, 0.0, 0.0, 0.0])  # quaternion of Euler angles (0, 0, 0)


def robot_joints(domain: str, names: list[str]) -> list[int]:
    """Indices of the robot's own joints among the model's joint ``names`` (its proprioception)."""
    if domain == "metaworld":
        chosen = [i for i, n in enumerate(names) if n.startswith("right_j") or n in ("r_close", "l_close")]
    elif domain == "adroit":
        chosen = [i for i, n in enumerate(names) if not n.startswith("OBJ")]  # the pen's joints are OBJ*
    else:
        from lompo.envs.dclaw import CLAW_JOINTS

        chosen = [names.index(n) for n in CLAW_JOINTS]
    if not chosen:
        raise ConfigError(f"no robot joints found among {names}")
    return chosen


def _needs(package: str, extra: str):
    raise ConfigError(f"this task needs {package}: pip install 'lompo[{extra}]' (or lompo[robots] for all)") from None


def _metaworld_env(name: str, seed: int):
    try:
        import metaworld
        import mujoco
        from metaworld.sawyer_xyz_env import SawyerMocapBase
    except ImportError:
        _needs("metaworld", "metaworld")

    def reset_mocap_welds(self) -> None:  # MuJoCo >= 3: the weld row has 12 values
        if self.model.nmocap > 0 and self.model.eq_data is not None:
            for i in range(self.model.eq_data.shape[0]):
                if self.model.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
                    row = np.zeros(self.model.eq_data.shape[1])
                    row[: len(WELD_ROW)] = WELD_ROW
                    self.model.eq_data[i] = row

    SawyerMocapBase.reset_mocap_welds = reset_mocap_welds  # type: ignore[method-assign]
    key = f"{name}-goal-observable"
    if key not in metaworld.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE:
        raise ConfigError(f"Meta-World has no task {name!r}")
    return metaworld.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[key](seed=seed)  # type: ignore[call-arg]


def _adroit_env(name: str):
    try:
        import gymnasium_robotics
    except ImportError:
        _needs("gymnasium-robotics", "adroit")
    gym.register_envs(gymnasium_robotics)
    return gym.make(name).unwrapped  # our own time limit and action repeat


class RobotEnv(gym.Env):
    """A Meta-World or Adroit task rendered to images (module docstring)."""

    metadata = {"render_modes": ["rgb_array"]}
    action_space: gym.spaces.Box

    def __init__(
        self,
        task: TaskSpec,
        image_size: int = 64,
        *,
        render_profile: str = "standard",
        observation: str = "image",
        extra_image_sizes: tuple[int, ...] = (),
        seed: int | None = None,
        distractions: Sequence = (),
    ):
        super().__init__()
        if distractions:
            raise ConfigError("visual distractions exist for the DeepMind Control tasks only")
        if observation not in ("image", "dict", "state"):
            raise ConfigError(f"observation must be 'image', 'dict' or 'state', got {observation!r}")
        self.spec_task = task
        self.distractions: tuple = ()
        sizes = (int(image_size), *map(int, extra_image_sizes))
        self.image_size, self.image_sizes = sizes[0], tuple(dict.fromkeys(sizes))
        self.profile: RenderProfile = get_render_profile(render_profile)
        self.observation_mode = observation
        choose_gl_backend()
        import mujoco

        self._mujoco = mujoco
        if task.domain == "metaworld":
            self._env = _metaworld_env(task.task, 0 if seed is None else seed)
            self._fields = [("body", "door"), ("site", "goal")] if task.task.startswith("door") else []
        elif task.domain == "adroit":
            self._env = _adroit_env(task.task)
            self._fields = []
        elif task.domain == "dclaw":
            from lompo.envs.dclaw import DClawScrew

            self._env = DClawScrew()
            self._fields = []
        else:
            raise ConfigError(f"unknown robot suite {task.domain!r}; known: {SUITES}")
        self.model, self.data = self._env.model, self._env.data
        if not self.profile.multisampling:
            self.model.vis.quality.offsamples = 0
        names = [mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(self.model.ncam)]
        if task.camera_name not in names:  # an unknown name would silently give the free camera
            raise ConfigError(f"task {task.name}: no camera {task.camera_name!r}; the model has {names}")
        self._camera = task.camera_name
        self._renderers: dict[int, Any] = {}
        low, high = self._env.action_space.low, self._env.action_space.high
        self.action_space = gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        joints = robot_joints(task.domain, [mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_JOINT, i) or ""
                                            for i in range(self.model.njnt)])  # fmt: skip
        self._robot_qpos = self.model.jnt_qposadr[joints].copy()
        self._robot_qvel = self.model.jnt_dofadr[joints].copy()
        image_space = gym.spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        state_space = gym.spaces.Box(-np.inf, np.inf, self._env.observation_space.shape, np.float32)
        proprio_space = gym.spaces.Box(-np.inf, np.inf, (2 * len(joints),), np.float32)
        spaces: dict[str, gym.Space] = {
            "image": image_space,
            "state": state_space,
            "dict": gym.spaces.Dict({"image": image_space, "proprio": proprio_space}),
        }
        self.observation_space = spaces[observation]
        self._control_steps = 0
        self._success = False
        # What a state-based behaviour agent may learn from instead of the sparse task reward (``info``)
        self.shaped_reward = "Meta-World's shaped reward" if task.domain == "metaworld" else None

    # ----------------------------------------------------------------- distractions (none for robots)
    def start_distraction(self, episode: int) -> None:
        return None

    def advance_distraction(self) -> None:
        return None

    # ----------------------------------------------------------------- rendering
    def render_image(self, size: int | None = None) -> np.ndarray:
        size = self.image_size if size is None else int(size)
        if size not in self.image_sizes:
            raise ConfigError(f"image size {size} was not requested when the env was made: {self.image_sizes}")
        renderer = self._renderers.get(size)
        if renderer is None:
            renderer = self._mujoco.Renderer(self.model, size, size)
            flags = self._mujoco.mjtRndFlag
            renderer.scene.flags[flags.mjRND_SHADOW] = self.profile.shadows
            renderer.scene.flags[flags.mjRND_REFLECTION] = self.profile.reflections
            self._renderers[size] = renderer
        # the positions of the state now held (after a step MuJoCo's kinematics lag one substep behind
        # qpos); position stage only, so the simulation itself is untouched
        self._mujoco.mj_fwdPosition(self.model, self.data)
        renderer.update_scene(self.data, camera=self._camera)
        image = renderer.render()
        if self._camera in FLIPPED_CAMERAS:
            image = image[::-1, ::-1]
        return np.ascontiguousarray(image)

    def render(self) -> np.ndarray:
        return self.render_image()

    # ----------------------------------------------------------------- state
    def _field(self, kind: str, name: str):
        return self.model.body(name).pos if kind == "body" else self.model.site(name).pos

    def physics_state(self) -> np.ndarray:
        d = self.data
        parts = [d.qpos, d.qvel]
        if self.spec_task.domain == "metaworld":
            parts += [d.mocap_pos.ravel(), d.mocap_quat.ravel(), *(self._field(k, n) for k, n in self._fields)]
        elif self.spec_task.domain == "adroit":
            parts.append(self._env.get_env_state()["desired_orien"])
        else:  # dclaw: the furthest turn reached, which the reward counts from
            parts.append([self._env.best_turns])
        return np.concatenate([np.asarray(p, np.float64).ravel() for p in parts])

    def set_physics_state(self, state: np.ndarray) -> None:
        """Restore a stored ``physics_state`` (to re-render a stored step)."""
        state = np.asarray(state, np.float64)
        m, d = self.model, self.data
        sizes = [m.nq, m.nv]
        if self.spec_task.domain == "metaworld":
            sizes += [3 * m.nmocap, 4 * m.nmocap, *(3 for _ in self._fields)]
        else:
            sizes.append(4 if self.spec_task.domain == "adroit" else 1)
        if len(state) != sum(sizes):
            raise ConfigError(f"a {self.spec_task.name} physics state has {sum(sizes)} values, got {len(state)}")
        parts = np.split(state, np.cumsum(sizes)[:-1])
        d.qpos[:], d.qvel[:] = parts[0], parts[1]
        if self.spec_task.domain == "metaworld":
            d.mocap_pos[:] = parts[2].reshape(-1, 3)
            d.mocap_quat[:] = parts[3].reshape(-1, 4)
            for (kind, name), value in zip(self._fields, parts[4:], strict=True):
                self._field(kind, name)[:] = value
            if self._fields and self.spec_task.task.startswith("door"):
                self._env._target_pos = parts[5].copy()  # the success test reads it
        elif self.spec_task.domain == "adroit":
            self._env.set_env_state({"qpos": parts[0], "qvel": parts[1], "desired_orien": parts[2]})
        else:
            self._env.best_turns = int(parts[2][0])
        self._mujoco.mj_forward(m, d)  # or the image lags one step behind the state

    proprio_is_state = False  # the suite's observation holds the object too (module docstring)

    def proprioception(self) -> np.ndarray:
        """The robot's joint positions and velocities in the state now held (module docstring)."""
        return np.concatenate([self.data.qpos[self._robot_qpos], self.data.qvel[self._robot_qvel]]).astype(np.float32)

    # ----------------------------------------------------------------- gym API
    def _observe(self, state: np.ndarray) -> tuple[Any, dict[str, Any]]:
        state = np.asarray(state, np.float32).ravel()
        proprio = self.proprioception()
        info = {"state": state, "proprio": proprio, "physics_state": self.physics_state(), "success": self._success}
        if self.observation_mode == "state":
            return state, info
        image = self.render_image()
        for size in self.image_sizes[1:]:
            info[f"image_{size}"] = self.render_image(size)
        return (image if self.observation_mode == "image" else {"image": image, "proprio": proprio}), info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        state, _ = self._env.reset(seed=seed)
        if self.spec_task.domain == "adroit":  # the fixed goal, in the state and in the observation
            self._env.set_env_state({**self._env.get_env_state(), "desired_orien": FIXED_PEN_GOAL})
            self._mujoco.mj_forward(self.model, self.data)
            state = self._env._get_obs()
        self._control_steps, self._success = 0, False
        return self._observe(state)

    def step(self, action):
        action = checked_action(action, self.action_space)
        reward, state, success = 0.0, None, False
        for _ in range(self.spec_task.action_repeat):
            state, base_reward, _, _, info = self._env.step(action)
            self._control_steps += 1
            success = bool(info.get("success", False))
            self._success = self._success or success
            reward += float(base_reward)
        shaped = reward
        if self.spec_task.domain == "metaworld":
            reward = float(success)  # the paper's sparse reward: the door is open at the end of the step
        truncated = self._control_steps >= self.spec_task.episode_length
        obs, info = self._observe(state)
        info["discount"] = 1.0
        if self.shaped_reward:
            info["shaped_reward"] = shaped
        return obs, reward, False, truncated, info

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()
        self._env.close()


__all__ = ["SUITES", "RobotEnv"]
