"""Visual distractions with the Distracting Control Suite's semantics (Stone et al. 2021, "The
Distracting Control Suite"; V-D4RL section 5.1), applied to dm_control through its model handles.

The ``distracting_control`` code is not a package (a folder of a research repository, for an older
dm_control and MuJoCo), so lompo implements its semantics here:

- **severity** ``easy`` / ``medium`` / ``hard`` is DCS's scale ``s`` = 0.1 / 0.2 / 0.3;
- **colour**: every material and colour of the agent's bodies (not the floor or sky) is shifted by a
  uniform draw in ``[-s, s]`` per RGB channel, clipped to [0, 1]; dynamic: a random walk of std
  ``0.03 s`` per frame, kept within ``±s`` of the original;
- **camera**: the camera is moved on a sphere around the point it looks at: azimuth and elevation
  within ``±(π/2) s``, roll within ``±(π/2) s``, distance scaled within ``[1 − 0.5 s, 1 + 1.5 s]``,
  staying above the horizontal plane of that point (DCS's upper quadrant); dynamic: angular
  velocities drift (std ``0.1 s``, at most ``0.4 s`` per frame; roll ``π/300 s``, at most ``π/50 s``);
- **background**: the sky box shows an image from a pool — ``4`` / ``8`` / all sources of the split
  for easy / medium / hard (DCS's number of videos) — drawn per episode, and the floor becomes
  partly transparent (DCS's ground-plane alpha: 1.0 for walker and cheetah, 0.0 for reacher, 0.3
  otherwise); dynamic: the image plays (video frames) or moves (procedural). Sources are the image
  and video files of a folder (``backgrounds``; V-D4RL used DAVIS 2017 videos), or, without one,
  procedural textured noise (smooth colour blobs plus fine grain) generated from seeds;
- **all**: the three together, each drawn exactly as it is alone for the same seed (DCS's
  ``difficulty`` setting, with which V-D4RL rendered its distracted datasets).

A :class:`Distraction` is one *fixed* distraction: ``kind``, ``severity``, ``seed`` (which draw),
``dynamic``, ``split``. Sets of them come from :func:`distraction_set`: the ``train`` split uses
seeds ``0..K-1``, the ``test`` split seeds from :data:`TEST_SEED_OFFSET` on, and a background folder's
files are divided between the splits (every fifth file, in name order, is a test file), so the two
splits share no distraction. A :class:`Distractor` applies one to a dm_control physics.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lompo.errors import ConfigError

SEVERITY_SCALE = {"easy": 0.1, "medium": 0.2, "hard": 0.3}
BACKGROUND_POOL = {"easy": 4, "medium": 8, "hard": None}  # sources per distraction; None: the whole split
PROCEDURAL_POOL = 16  # "all" procedural sources of a split, for ``hard``
COMPONENTS = ("colour", "camera", "background")
# ``all``: the three at once, each drawn as it would be alone (DCS's ``difficulty`` setting, with
# which V-D4RL made its distracted datasets).
KINDS = (*COMPONENTS, "all")
SPLITS = ("train", "test")
TEST_SEED_OFFSET = 1_000_000
GROUND_ALPHA = {"walker": 1.0, "cheetah": 1.0, "reacher": 0.0}  # DCS; other domains 0.3
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
TEXTURE_DOWNSCALE = 4  # background sources are kept at 1/4 of the sky face and upscaled when written


@dataclass(frozen=True)
class Distraction:
    """One fixed distraction (module docstring)."""

    kind: str
    severity: str
    seed: int = 0
    dynamic: bool = False
    split: str = "train"
    backgrounds: str | None = None  # background: a folder of images or videos; None: procedural noise

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"distraction kind must be one of {KINDS}, got {self.kind!r}")
        if self.severity not in SEVERITY_SCALE:
            raise ConfigError(f"distraction severity must be one of {tuple(SEVERITY_SCALE)}, got {self.severity!r}")
        if self.split not in SPLITS:
            raise ConfigError(f"distraction split must be one of {SPLITS}, got {self.split!r}")
        if self.backgrounds is not None and "background" not in components(self.kind):
            raise ConfigError(f"a backgrounds folder goes with the background or all kinds, not {self.kind!r}")

    @property
    def scale(self) -> float:
        return SEVERITY_SCALE[self.severity]

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.severity}{'-dynamic' if self.dynamic else ''}-{self.split}{self.seed}"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Distraction:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown distraction fields {sorted(unknown)}")
        return cls(**data)


def components(kind: str) -> tuple[str, ...]:
    """The single distractions ``kind`` is made of: itself, or all three for ``all``."""
    return COMPONENTS if kind == "all" else (kind,)


def parse_distraction(text: str) -> tuple[str, str, bool]:
    """``KIND:SEVERITY[:dynamic]`` (``colour:medium``, ``camera:hard:dynamic``) -> its parts."""
    parts = text.strip().lower().split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "dynamic"):
        raise ConfigError(f"a distraction is KIND:SEVERITY[:dynamic] (e.g. colour:medium), got {text!r}")
    kind = {"color": "colour"}.get(parts[0], parts[0])
    Distraction(kind, parts[1])  # checks the names
    return kind, parts[1], len(parts) == 3


def distraction_set(
    kind: str,
    severity: str,
    count: int,
    split: str = "train",
    *,
    dynamic: bool = False,
    backgrounds: str | Path | None = None,
) -> list[Distraction]:
    """``count`` fixed distractions of one split: seeds ``0..count-1`` (train) or from
    :data:`TEST_SEED_OFFSET` (test)."""
    if count < 1:
        raise ConfigError(f"a distraction set needs at least one distraction, got {count}")
    first = 0 if split == "train" else TEST_SEED_OFFSET
    folder = str(Path(backgrounds).resolve()) if backgrounds is not None else None
    return [Distraction(kind, severity, first + i, dynamic, split, folder) for i in range(count)]


def set_label(distractions: list[Distraction]) -> str:
    """``colour:medium:dynamic test x4``: what a set of distractions is, in one word."""
    d = distractions[0]
    return f"{d.kind}:{d.severity}{':dynamic' if d.dynamic else ''} {d.split} x{len(distractions)}"


# ------------------------------------------------------------------------------------ sources
def background_files(folder: Path | str, split: str) -> list[Path]:
    """The image and video files of ``folder`` in ``split``: every fifth (in name order) is a test file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"backgrounds folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
    chosen = [p for i, p in enumerate(files) if (i % 5 == 4) == (split == "test")]
    if not chosen:
        raise ConfigError(f"{folder}: no {split} background among {len(files)} image/video files (need >= 5)")
    return chosen


def read_background(path: Path, size: int, max_frames: int = 100) -> np.ndarray:
    """Frames ``(N, size, size, 3)`` uint8 of an image (N = 1) or a video (at most ``max_frames``),
    centre-cropped to a square and resized (Pillow, area filter)."""
    from PIL import Image

    def square(image) -> np.ndarray:
        w, h = image.size
        side = min(w, h)
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
        return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BOX, box=box))

    try:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            with Image.open(path) as image:
                return square(image)[None]
        try:
            import av
        except ImportError:
            raise ConfigError(f"{path}: video backgrounds need PyAV (pip install 'lompo[video]')") from None
        frames = []
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(square(frame.to_image()))
                if len(frames) == max_frames:
                    break
    except ConfigError:
        raise
    except Exception as err:  # a corrupt or unreadable file: name it
        raise ConfigError(f"background {path}: cannot read it ({type(err).__name__}: {err})") from None
    if not frames:
        raise ConfigError(f"background {path}: a video without frames")
    return np.stack(frames)


def procedural_background(seed: int, size: int) -> np.ndarray:
    """Textured noise ``(1, size, size, 3)``: smooth blobs of random colour with fine grain."""
    rng = np.random.default_rng([seed, 7])
    coarse = rng.uniform(0, 255, (6, 6, 3))
    index = np.linspace(0, 5, size)
    low, frac = np.floor(index).astype(int), index - np.floor(index)
    high = np.minimum(low + 1, 5)
    rows = coarse[low] * (1 - frac)[:, None, None] + coarse[high] * frac[:, None, None]
    smooth = rows[:, low] * (1 - frac)[None, :, None] + rows[:, high] * frac[None, :, None]
    grain = rng.normal(0, 20, (size, size, 1))
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)[None]


# ------------------------------------------------------------------------------------ applying
def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


class Distractor:
    """Applies distractions to one dm_control physics (its model's colours, camera and sky texture),
    restoring the original look first. ``start`` fixes an episode's draw, ``advance`` moves a dynamic
    distraction by one frame; both are deterministic in (distraction, episode)."""

    def __init__(self, physics, domain: str, camera: int):
        import mujoco

        self._mujoco = mujoco
        self.physics = physics
        self.domain = domain
        self.camera = camera
        model = physics.model
        self._original = {
            name: np.array(getattr(model, name))
            for name in ("mat_rgba", "geom_rgba", "cam_pos", "cam_quat", "cam_pos0", "cam_mat0")
        }
        agent = model.geom_bodyid != 0
        self._agent_materials = sorted({int(m) for m in model.geom_matid[agent] if m >= 0})
        self._agent_geoms = [int(g) for g in np.flatnonzero(agent & (model.geom_matid < 0))]
        floor = [int(model.geom_matid[g]) for g in np.flatnonzero(~agent) if model.geom_type[g] == 0]  # planes
        self._floor_materials = [m for m in floor if m >= 0]
        skies = [i for i in range(model.ntex) if model.tex_type[i] == mujoco.mjtTexture.mjTEXTURE_SKYBOX]
        self._sky = skies[0] if skies else None
        self._sky_original = self._sky_pixels().copy() if self._sky is not None else None
        self._sky_dirty = False
        self.active: Distraction | None = None
        self._sources_cache: dict[tuple, np.ndarray] = {}

    # -------------------------------------------------------------- life cycle
    def start(self, distraction: Distraction | None, episode: int = 0) -> None:
        """Restore the original look, then apply ``distraction``'s draw for ``episode``."""
        self._restore()
        self.active = distraction
        if distraction is None:
            return
        self._frame = 0
        self._drift = {}
        for part in components(distraction.kind):  # each component drawn as it is alone
            index = COMPONENTS.index(part)
            fixed = np.random.default_rng([distraction.seed, index])
            self._drift[part] = np.random.default_rng([distraction.seed, index, 1 + episode])
            if part == "colour":
                self._start_colour(distraction, fixed)
            elif part == "camera":
                self._start_camera(distraction, fixed)
            else:
                self._start_background(distraction, fixed)

    def advance(self) -> None:
        """One frame of a dynamic distraction (nothing for a static one)."""
        d = self.active
        if d is None or not d.dynamic:
            return
        self._frame += 1
        for part in components(d.kind):
            if part == "colour":
                self._advance_colour(d.scale)
            elif part == "camera":
                self._advance_camera(d.scale)
            else:
                self._set_background(self._frame)

    # -------------------------------------------------------------- colour
    def _start_colour(self, d: Distraction, fixed: np.random.Generator) -> None:
        self._colour_base = self._current_colours()
        self._colour_delta = fixed.uniform(-d.scale, d.scale, self._colour_base.shape)
        self._set_colours(self._colour_base + self._colour_delta)

    def _advance_colour(self, s: float) -> None:
        step = self._drift["colour"].normal(0, 0.03 * s, self._colour_delta.shape)
        self._colour_delta = np.clip(self._colour_delta + step, -s, s)
        self._set_colours(self._colour_base + self._colour_delta)

    def _current_colours(self) -> np.ndarray:
        model = self.physics.model
        return np.concatenate(
            [model.mat_rgba[self._agent_materials, :3], model.geom_rgba[self._agent_geoms, :3]]
        ).astype(np.float64)

    def _set_colours(self, rgb: np.ndarray) -> None:
        rgb = np.clip(rgb, 0, 1)
        model = self.physics.model
        n = len(self._agent_materials)
        model.mat_rgba[self._agent_materials, :3] = rgb[:n]
        model.geom_rgba[self._agent_geoms, :3] = rgb[n:]

    # -------------------------------------------------------------- camera
    def _start_camera(self, d: Distraction, fixed: np.random.Generator) -> None:
        half = math.pi / 2 * d.scale
        self._angles = np.array([fixed.uniform(-half, half) for _ in range(3)])  # azimuth, elevation, roll
        self._zoom = fixed.uniform(1 - 0.5 * d.scale, 1 + 1.5 * d.scale)
        self._velocity = np.zeros(3)
        self._set_camera()

    def _advance_camera(self, s: float) -> None:
        std = np.array([0.1 * s, 0.1 * s, math.pi / 300 * s])
        limit = np.array([0.4 * s, 0.4 * s, math.pi / 50 * s])
        self._velocity = np.clip(self._velocity + self._drift["camera"].normal(0, std), -limit, limit)
        half = math.pi / 2 * s
        moved = self._angles + self._velocity
        outside = np.abs(moved) > half
        self._velocity[outside] *= -1  # bounce off the range's edge
        self._angles = np.clip(moved, -half, half)
        self._set_camera()

    def _set_camera(self) -> None:
        mujoco, model, data = self._mujoco, self.physics.model, self.physics.data
        c = self.camera
        tracking = int(model.cam_mode[c]) in (1, 2)  # track, trackcom: world-frame offset from the body
        if tracking:
            position = self._original["cam_pos0"][c].copy()
            rotation = self._original["cam_mat0"][c].reshape(3, 3).copy()
            target = np.zeros(3)  # the tracked point is the frame's origin
        else:
            position = self._original["cam_pos"][c].copy()
            rotation = np.zeros(9)
            mujoco.mju_quat2Mat(rotation, self._original["cam_quat"][c])
            rotation = rotation.reshape(3, 3)
            body = int(model.cam_bodyid[c])
            target = np.array(data.subtree_com[1 if body == 0 and model.nbody > 1 else body])
            if body != 0:  # express the target in the camera's parent body frame
                target = data.xmat[body].reshape(3, 3).T @ (target - data.xpos[body])
        forward = -rotation[:, 2]
        distance = max(float(np.dot(target - position, forward)), 0.5)
        lookat = position + distance * forward
        offset = position - lookat
        azimuth, elevation, roll = self._angles
        offset = _rotation(np.array([0.0, 0, 1]), azimuth) @ offset
        horizontal = np.cross(offset, [0.0, 0, 1])
        if np.linalg.norm(horizontal) > 1e-6:
            old = math.asin(np.clip(offset[2] / np.linalg.norm(offset), -1, 1))
            turn = np.clip(old + elevation, 0.0, math.pi / 2 - 0.05) - old  # upper quadrant
            offset = _rotation(horizontal, -turn) @ offset
        position = lookat + self._zoom * offset
        forward = (lookat - position) / np.linalg.norm(lookat - position)
        right = np.cross(forward, [0.0, 0, 1])
        right = right / np.linalg.norm(right) if np.linalg.norm(right) > 1e-6 else rotation[:, 0]
        up = np.cross(right, forward)
        spin = _rotation(forward, roll)
        matrix = np.stack([spin @ right, spin @ up, -forward], axis=1)
        if tracking:
            model.cam_pos0[c] = position
            model.cam_mat0[c] = matrix.reshape(-1)
        else:
            quat = np.zeros(4)
            mujoco.mju_mat2Quat(quat, matrix.reshape(-1))
            model.cam_pos[c] = position
            model.cam_quat[c] = quat
        mujoco.mj_camlight(model.ptr, data.ptr)

    # -------------------------------------------------------------- background
    def _start_background(self, d: Distraction, fixed: np.random.Generator) -> None:
        pool = self._background_pool(d, fixed)
        self._frames = pool[int(self._drift["background"].integers(len(pool)))]
        alpha = GROUND_ALPHA.get(self.domain, 0.3)
        for material in self._floor_materials:
            self.physics.model.mat_rgba[material, 3] = alpha
        self._set_background(0)

    def _sky_pixels(self) -> np.ndarray:
        model = self.physics.model
        t = self._sky
        adr, h, w, c = (int(x[t]) for x in (model.tex_adr, model.tex_height, model.tex_width, model.tex_nchannel))
        return model.tex_data[adr : adr + h * w * c].reshape(h, w, c)

    def _background_pool(self, d: Distraction, fixed: np.random.Generator) -> list[np.ndarray]:
        if self._sky is None:
            raise ConfigError(f"the {self.domain} model has no sky box to show a background on")
        face = int(self.physics.model.tex_width[self._sky]) // TEXTURE_DOWNSCALE
        if d.backgrounds is None:
            count = BACKGROUND_POOL[d.severity] or PROCEDURAL_POOL
            seeds = fixed.integers(0, 2**31, count)
            return [procedural_background(int(s) + (TEST_SEED_OFFSET if d.split == "test" else 0), face) for s in seeds]
        files = background_files(d.backgrounds, d.split)
        count = min(BACKGROUND_POOL[d.severity] or len(files), len(files))
        chosen = sorted(fixed.choice(len(files), count, replace=False))
        pool = []
        for i in chosen:
            key = (str(files[i]), face)
            if key not in self._sources_cache:
                self._sources_cache[key] = read_background(files[i], face)
            pool.append(self._sources_cache[key])
        return pool

    def _set_background(self, frame: int) -> None:
        frames = self._frames
        image = frames[frame % len(frames)]
        if len(frames) == 1 and frame:  # a still image moves: one texel column per frame
            image = np.roll(image, frame, axis=1)
        sky = self._sky_pixels()
        face = np.repeat(np.repeat(image, TEXTURE_DOWNSCALE, 0), TEXTURE_DOWNSCALE, 1)
        width = sky.shape[1]
        face = face[:width, :width, : sky.shape[2]]
        sky[:] = np.tile(face, (sky.shape[0] // width, 1, 1))
        self._upload_sky()

    def _upload_sky(self) -> None:
        contexts = self.physics.contexts  # created by the first render; before it there is nothing to upload
        with contexts.gl.make_current() as ctx:
            ctx.call(self._mujoco.mjr_uploadTexture, self.physics.model.ptr, contexts.mujoco.ptr, self._sky)
        self._sky_dirty = True

    # -------------------------------------------------------------- restore
    def _restore(self) -> None:
        model = self.physics.model
        for name, value in self._original.items():
            getattr(model, name)[:] = value
        if self._sky_dirty:
            self._sky_pixels()[:] = self._sky_original
            self._upload_sky()
            self._sky_dirty = False
        self._mujoco.mj_camlight(model.ptr, self.physics.data.ptr)


__all__ = [
    "COMPONENTS",
    "KINDS",
    "SEVERITY_SCALE",
    "SPLITS",
    "TEST_SEED_OFFSET",
    "Distraction",
    "Distractor",
    "background_files",
    "distraction_set",
    "parse_distraction",
    "procedural_background",
    "set_label",
]
