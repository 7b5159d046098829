"""D'Claw screw (LOMPO Table 1; ROBEL, Ahn et al. 2019) on MuJoCo 3, from ROBEL's own model files.

No installable ROBEL works today (``robel 0.1.2`` has metadata current pip rejects and needs
mujoco-py), but its wheel holds the D'Claw and valve MJCF and meshes (Apache-2.0). :func:`dclaw_assets`
fetches that wheel once from PyPI, checks its SHA-256, and unpacks the model files into
``$LOMPO_ASSETS`` (default ``~/.cache/lompo/assets``); nothing of it is in this repository. Two edits
make the files load and fit the task: the ``<?xml ?>`` declarations ROBEL placed after a comment
(invalid XML) are dropped, and the valve's joint is unlimited so it can turn for ever. A camera
``lompo`` framing the claw and the valve from above is added (ROBEL's own are far away).

The task (our reading of LOMPO appendix A, "turn the valve as fast as possible"): 9 joint-position
actions in [-1, 1] (scaled to each actuator's range), ROBEL's 40 MuJoCo steps of 2.5 ms per env step,
80 env steps (8 s) per episode, reset to ROBEL's claw pose with the valve at 0. Reward per env step:
a sparse +1 each time the valve's rotation (counter-clockwise, unwrapped) passes another third of a
revolution (the valve's three-fold symmetry) beyond the furthest reached in the episode, and a dense
finger penalty ``-0.1 ‖q_claw − q_reset‖`` (ROBEL's pose cost, scaled so a turn outweighs it).
Success: one full revolution within the episode.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import urllib.request
import uuid
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np

from lompo.errors import ConfigError

ROBEL_WHEEL = (
    "https://files.pythonhosted.org/packages/09/82/f36de3943fa84d3227223570488249126bdd8b55ae6ec18138c15445ca7e/"
    "robel-0.1.2-py3-none-any.whl"
)
ROBEL_SHA256 = "6f14db7ce37e00e2b9a6ea792fcd5af23e857dea905033531699edb03a86edcc"
MEMBERS = ("robel/dclaw/assets/", "robel/robel-scenes/dclaw/", "robel/robel-scenes/dclaw_stations/",
           "robel/robel-scenes/scenes/")  # fmt: skip
MODEL = "robel/dclaw/assets/dclaw3xh_valve3_v0.xml"
CAMERA = '<camera name="lompo" pos="0.25 -0.45 0.55" xyaxes="0.874 0.486 0 -0.32 0.575 0.753" fovy="45"/>'
UNPACKED = "robel-0.1.2-lompo1"  # the unpacked, edited files; a new name whenever the edits change
CLAW_JOINTS = [f"{finger}J{digit}{i}" for finger, digit in (("FF", 1), ("MF", 2), ("TH", 3)) for i in range(3)]
RESET_POSE = np.array([0.0, -np.pi / 3, np.pi / 3] * 3)
FRAME_SKIP = 40
TURN = 2 * np.pi / 3
FINGER_PENALTY = 0.1


def assets_root() -> Path:
    env = os.environ.get("LOMPO_ASSETS")
    return Path(env) if env else Path.home() / ".cache" / "lompo" / "assets"


def dclaw_assets(root: Path | None = None, log=print) -> Path:
    """The unpacked ROBEL model files (fetched and checked on first use); returns the folder holding ``robel/``."""
    folder = (root or assets_root()) / UNPACKED
    if (folder / MODEL).is_file():
        return folder
    log(f"fetching ROBEL's D'Claw model files once into {folder} (7.7 MB wheel from PyPI)")
    try:
        with urllib.request.urlopen(ROBEL_WHEEL, timeout=120) as response:
            payload = response.read()
    except OSError as err:
        raise ConfigError(
            f"cannot fetch the D'Claw model files ({err}); download {ROBEL_WHEEL} by hand and unpack it into "
            f"{folder} (or set LOMPO_ASSETS to a folder that holds {UNPACKED}/)"
        ) from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != ROBEL_SHA256:
        raise ConfigError(f"{ROBEL_WHEEL}: SHA-256 {digest}, expected {ROBEL_SHA256}; not unpacked")
    staging = folder.parent / f".{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as wheel:
            for name in wheel.namelist():
                if name.startswith(MEMBERS) and not name.endswith("/"):
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    data = wheel.read(name)
                    if name.endswith(".xml"):
                        data = _fixed_xml(name, data.decode()).encode()
                    target.write_bytes(data)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if not folder.exists():
            os.rename(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _fixed_xml(name: str, text: str) -> str:
    lines = [line for line in text.splitlines() if not line.strip().startswith("<?xml")]
    text = "\n".join(lines) + "\n"
    if name.endswith("valve3.xml"):
        text = text.replace('range="-6.28 6.28" damping=".1" limited="true"', 'damping=".1" limited="false"')
    if name == MODEL:
        text = text.replace("<worldbody>", "<worldbody>\n    " + CAMERA, 1)
    return text


class DClawScrew:
    """The screw task with a gymnasium-like interface (module docstring)."""

    def __init__(self):
        import mujoco

        self._mujoco = mujoco
        self.model = mujoco.MjModel.from_xml_path(str(dclaw_assets() / MODEL))
        self.data = mujoco.MjData(self.model)
        joints = [self.model.joint(name) for name in CLAW_JOINTS]
        self.claw = [int(j.qposadr[0]) for j in joints]
        self.claw_vel = [int(j.dofadr[0]) for j in joints]
        self.valve = self.model.joint("valve_OBJRx").qposadr[0]
        self.valve_vel = self.model.joint("valve_OBJRx").dofadr[0]
        self.low, self.high = self.model.actuator_ctrlrange[:, 0], self.model.actuator_ctrlrange[:, 1]
        self.action_space = gym.spaces.Box(-1.0, 1.0, (self.model.nu,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2 * len(self.claw) + 3,), np.float32)
        self.best_turns = 0

    def _obs(self) -> np.ndarray:
        """Proprioception: claw joint angles and velocities, the valve's angle (cos, sin) and velocity."""
        q, v = self.data.qpos, self.data.qvel
        angle = q[self.valve]
        valve = [np.cos(angle), np.sin(angle), v[self.valve_vel]]
        return np.concatenate([q[self.claw], v[self.claw_vel], valve]).astype(np.float32)

    def reset(self, seed: int | None = None):
        self._mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self.claw] = RESET_POSE
        self.data.ctrl[:] = RESET_POSE
        self._mujoco.mj_forward(self.model, self.data)
        self.best_turns = 0
        return self._obs(), {}

    def step(self, action: np.ndarray):
        self.data.ctrl[:] = self.low + (np.asarray(action, np.float64) + 1) / 2 * (self.high - self.low)
        self._mujoco.mj_step(self.model, self.data, nstep=FRAME_SKIP)
        turns = int(np.floor(self.data.qpos[self.valve] / TURN))
        sparse = max(turns - self.best_turns, 0)
        self.best_turns = max(self.best_turns, turns)
        dense = -FINGER_PENALTY * float(np.linalg.norm(self.data.qpos[self.claw] - RESET_POSE))
        info = {"success": self.best_turns >= 3, "turns": self.best_turns}
        return self._obs(), float(sparse) + dense, False, False, info

    def close(self) -> None:
        return None


__all__ = ["DClawScrew", "dclaw_assets"]
