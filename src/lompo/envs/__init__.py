"""Pixel environments: DMC tasks behind the gymnasium API, task registry, render profiles."""

from lompo.envs.dmc import DMCEnv, make_env
from lompo.envs.registry import TASKS, TaskSpec, get_task, normalize_task_name
from lompo.envs.rendering import RENDER_PROFILES, choose_gl_backend, get_render_profile

__all__ = [
    "DMCEnv",
    "make_env",
    "TASKS",
    "TaskSpec",
    "get_task",
    "normalize_task_name",
    "RENDER_PROFILES",
    "choose_gl_backend",
    "get_render_profile",
]
