"""Headless OpenGL backend selection and render profiles.

``MUJOCO_GL`` must be set before dm_control is imported. When the user has not
set it we pick a backend that works without a display: ``egl`` when an EGL
library and a vendor (Mesa's software EGL or a GPU driver) are installed,
else ``osmesa``. The user's own setting always wins.
"""

from __future__ import annotations

import ctypes.util
import glob
import os
from dataclasses import dataclass

from lompo.errors import ConfigError, RenderingError

_EGL_VENDOR_DIRS = ("/usr/share/glvnd/egl_vendor.d", "/etc/glvnd/egl_vendor.d")


def _egl_available() -> bool:
    if ctypes.util.find_library("EGL") is None:
        return False
    return any(glob.glob(os.path.join(d, "*.json")) for d in _EGL_VENDOR_DIRS)


def _osmesa_available() -> bool:
    return ctypes.util.find_library("OSMesa") is not None


def choose_gl_backend() -> str:
    """Return the backend to use; sets ``MUJOCO_GL`` (and PyOpenGL's platform) when unset."""
    chosen = os.environ.get("MUJOCO_GL")
    if not chosen:
        if _egl_available():
            chosen = "egl"
        elif _osmesa_available():
            chosen = "osmesa"
        elif os.environ.get("DISPLAY"):
            chosen = "glfw"
        else:
            raise RenderingError(
                "no headless OpenGL backend found: install Mesa's EGL (apt-get install libegl1 "
                "libegl-mesa0) or OSMesa (apt-get install libosmesa6), or set MUJOCO_GL"
            )
        os.environ["MUJOCO_GL"] = chosen
    if chosen in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", chosen)
    return chosen


@dataclass(frozen=True)
class RenderProfile:
    """How frames are rendered. Recorded in every dataset; never silently mixed.

    ``standard`` is dm_control's default look (what V-D4RL images look like).
    ``fast`` turns off shadows, reflections and multisampling and sizes the
    off-screen buffer to the image: 5-10x faster on CPU, slightly different pixels.
    """

    name: str
    shadows: bool
    reflections: bool
    multisampling: bool
    fit_buffer_to_image: bool

    def flag_overrides(self) -> dict[str, bool] | None:
        flags = {}
        if not self.shadows:
            flags["shadow"] = False
        if not self.reflections:
            flags["reflection"] = False
        return flags or None


RENDER_PROFILES = {
    "standard": RenderProfile("standard", True, True, True, False),
    "fast": RenderProfile("fast", False, False, False, True),
}


def get_render_profile(name: str) -> RenderProfile:
    try:
        return RENDER_PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown render profile {name!r}; choose one of {sorted(RENDER_PROFILES)}") from None
