import os

import numpy as np
import pytest

from lompo.envs import TASKS, get_task, make_env, normalize_task_name
from lompo.envs.rendering import choose_gl_backend
from lompo.errors import ConfigError


def test_registry_conventions():
    assert get_task("walker-walk").action_repeat == 2
    assert get_task("walker-walk").agent_steps == 500
    assert get_task("quadruped-walk").camera == 2
    assert get_task("cheetah-run").expert_return > get_task("cheetah-run").random_return
    assert get_task("cartpole-swingup", action_repeat=4).action_repeat == 4
    assert normalize_task_name("walker_walk") == "walker-walk"
    assert normalize_task_name("point_mass_easy") == "point_mass-easy"
    with pytest.raises(ConfigError, match="unknown task 'walker-fly'"):
        get_task("walker-fly")
    with pytest.raises(ConfigError, match="must be >= 1 and divide"):
        get_task("walker-walk", action_repeat=3)
    assert all(spec.episode_length == 1000 for spec in TASKS.values() if not spec.camera_name)  # DMC tasks
    robots = {name: (spec.action_repeat, spec.episode_length) for name, spec in TASKS.items() if spec.camera_name}
    assert robots == {"door-open": (4, 500), "adroit-pen": (4, 200), "dclaw-screw": (2, 80)}  # LOMPO appendix


def test_user_gl_setting_wins(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    monkeypatch.setenv("PYOPENGL_PLATFORM", "unset")  # so that monkeypatch restores the original after
    monkeypatch.delenv("PYOPENGL_PLATFORM")
    assert choose_gl_backend() == "osmesa"
    assert os.environ["PYOPENGL_PLATFORM"] == "osmesa"


def test_episode_follows_the_papers_conventions():
    env = make_env("cartpole-swingup", 32, render_profile="fast", extra_image_sizes=(24,))
    obs, info = env.reset(seed=0)
    assert obs.shape == (32, 32, 3) and obs.dtype == np.uint8
    assert info["image_24"].shape == (24, 24, 3)
    assert info["proprio"].dtype == np.float32 and info["proprio"].shape == (5,)
    assert env.observation_space.contains(obs)
    steps, done = 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        done = terminated or truncated
        assert 0.0 <= reward <= 2.0  # two simulator steps per agent step, reward <= 1 each
    assert steps == 500 and truncated and not terminated  # 1000 simulator steps, action repeat 2
    env.close()


def test_seeded_reset_is_reproducible():
    env = make_env("reacher-easy", 32, render_profile="fast")
    first, _ = env.reset(seed=7)
    env.step(np.zeros(2))
    second, _ = env.reset(seed=7)
    third, _ = env.reset(seed=8)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)
    env.close()


def test_dict_observation_and_physics_state_rerender():
    env = make_env("cartpole-swingup", 32, observation="dict", render_profile="fast")
    obs, info = env.reset(seed=1)
    assert set(obs) == {"image", "proprio"}
    for _ in range(5):
        obs, *_rest, info = env.step(np.ones(1))
    state, image = info["physics_state"], obs["image"]
    env.reset(seed=2)
    env.set_physics_state(state)
    np.testing.assert_array_equal(env.render(), image)  # any stored step can be re-rendered
    # DeepMind Control's observation is the body's own: proprioception and state are one, and it is read
    # back from a restored physics state as the step gave it
    np.testing.assert_array_equal(info["state"], info["proprio"])
    np.testing.assert_allclose(env.proprioception(), obs["proprio"], atol=1e-6)
    env.close()


def test_render_profiles_differ_and_action_checks():
    standard = make_env("cartpole-swingup", 48, render_profile="standard")
    fast = make_env("cartpole-swingup", 48, render_profile="fast")
    a, _ = standard.reset(seed=0)
    b, _ = fast.reset(seed=0)
    assert a.shape == b.shape and not np.array_equal(a, b)
    with pytest.raises(ConfigError, match="action shape"):
        fast.step(np.zeros(3))
    with pytest.raises(ConfigError, match="NaN"):
        fast.step(np.array([np.nan]))
    with pytest.raises(ConfigError, match="unknown render profile"):
        make_env("cartpole-swingup", 48, render_profile="pretty")
    standard.close()
    fast.close()


def test_quadruped_uses_camera_2():
    default = make_env("quadruped-walk", 32, render_profile="fast")
    camera0 = make_env("quadruped-walk", 32, render_profile="fast", camera=0)
    assert default.spec_task.camera == 2
    a, _ = default.reset(seed=0)
    b, _ = camera0.reset(seed=0)
    assert not np.array_equal(a, b)
    default.close()
    camera0.close()


def test_standard_profile_is_dm_control_default_rendering():
    env = make_env("walker-walk", 48, render_profile="standard")
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, env._physics.render(48, 48, camera_id=0))  # what V-D4RL images look like
    env.close()
