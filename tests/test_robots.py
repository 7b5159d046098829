"""The LOMPO paper's robot tasks (Sawyer door-open, Adroit pen): images from the named camera, stored
states that re-render exactly in another env, success in ``info``, datasets and evaluation as for DMC."""

import json
from dataclasses import replace

import numpy as np
import pytest

from lompo.collect import collect_random
from lompo.data.dataset import scan_dataset
from lompo.envs import get_task, make_env
from lompo.envs.distractions import distraction_set
from lompo.errors import ConfigError

from helpers import new_run


@pytest.mark.parametrize(
    ("task", "robot_joints", "object_joint"), [("door-open", 9, "doorjoint"), ("adroit-pen", 24, "OBJRx"),
                                               ("dclaw-screw", 9, "valve_OBJRx")]
)  # fmt: skip
def test_proprioception_is_the_robots_own_and_the_object_comes_from_images(task, robot_joints, object_joint):
    """``proprio`` holds the robot's joint positions and velocities only: moving the object (door, pen,
    valve) changes the suite's ``state`` and the image, never ``proprio``; the robot's joints change it."""
    env = make_env(task, 32, render_profile="fast", observation="dict")
    try:
        obs, info = env.reset(seed=0)
        assert obs["proprio"].shape == (2 * robot_joints,) and env.observation_space["proprio"].shape == (
            2 * robot_joints,
        )
        np.testing.assert_array_equal(obs["proprio"], info["proprio"])
        assert info["state"].shape != obs["proprio"].shape or not np.array_equal(info["state"], obs["proprio"])
        state = env.physics_state()
        moved = state.copy()
        moved[env.model.joint(object_joint).qposadr[0]] += 0.5  # the object alone
        env.set_physics_state(moved)
        np.testing.assert_array_equal(env.proprioception(), obs["proprio"])
        assert not np.array_equal(env.render_image(), obs["image"])
        arm = state.copy()
        arm[env._robot_qpos[0]] += 0.3  # a robot joint
        env.set_physics_state(arm)
        assert env.proprioception()[0] == pytest.approx(obs["proprio"][0] + 0.3)
    finally:
        env.close()


@pytest.mark.parametrize(("task", "actions"), [("door-open", 4), ("adroit-pen", 24), ("dclaw-screw", 9)])
def test_a_stored_state_re_renders_exactly_in_another_env(task, actions):
    env = make_env(task, 32, render_profile="fast", observation="dict")
    other = make_env(task, 32, render_profile="fast")
    try:
        obs, info = env.reset(seed=0)
        assert env.action_space.shape == (actions,) and obs["image"].shape == (32, 32, 3)
        assert obs["proprio"].ndim == 1 and info["success"] is False
        rng = np.random.default_rng(0)
        frames, states = [], []
        for _ in range(6):
            obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, actions).astype(np.float32))
            frames.append(obs["image"])
            states.append(info["physics_state"])
            assert np.isfinite(reward) and not terminated and "success" in info
        assert not np.array_equal(frames[0], frames[-1])  # the robot moves
        other.reset(seed=7)
        for frame, state in zip(frames, states, strict=True):
            other.set_physics_state(state)
            assert np.array_equal(other.render_image(), frame)
        with pytest.raises(ConfigError, match="physics state has"):
            other.set_physics_state(states[0][:-1])
    finally:
        env.close()
        other.close()


def test_the_claw_is_rewarded_once_per_new_third_of_a_turn():
    env = make_env("dclaw-screw", 16, render_profile="fast", observation="state")
    try:
        env.reset(seed=0)
        claw = env._env
        hold = np.zeros(9, np.float32)
        _, reward, *_ = env.step(hold)
        assert -1 < reward <= 0  # the finger penalty alone
        for angle, expected_turns in [(2.2, 1), (2.3, 1), (4.3, 2), (1.0, 2), (6.4, 3)]:
            state = env.physics_state()
            before = claw.best_turns
            state[claw.valve] = angle
            env.set_physics_state(state)
            _, reward, _, _, info = env.step(hold)
            assert claw.best_turns == expected_turns
            assert (reward > 0) == (expected_turns > before)  # +1 only for a third not reached before
            assert info["success"] == (expected_turns >= 3)
        assert env.physics_state()[-1] == 3  # the furthest turn is part of the stored state
    finally:
        env.close()


def test_the_pen_goal_is_fixed():
    env = make_env("adroit-pen", 16, render_profile="fast", observation="state")
    try:
        goals = []
        for seed in (0, 1):
            env.reset(seed=seed)
            goals.append(env.physics_state()[-4:])
        np.testing.assert_array_equal(goals[0], goals[1])
    finally:
        env.close()


@pytest.mark.parametrize("task", ["door-open", "adroit-pen", "dclaw-screw"])
def test_every_robot_episode_starts_in_the_same_state(task):
    """The start does not depend on the reset seed (docs/robots.md): a deterministic policy plays one
    episode at every evaluation."""
    env = make_env(task, 16, render_profile="fast", observation="state")
    try:
        starts = []
        for seed in (0, 1, 1_000_000):
            env.reset(seed=seed)
            starts.append(env.physics_state())
        np.testing.assert_array_equal(starts[0], starts[1])
        np.testing.assert_array_equal(starts[0], starts[2])
    finally:
        env.close()


def test_episodes_last_the_task_length_and_robots_refuse_what_they_cannot_do():
    spec = replace(get_task("adroit-pen"), episode_length=12)
    env = make_env(spec, 16, render_profile="fast")
    try:
        env.reset(seed=0)
        steps, truncated = 0, False
        while not truncated:
            *_, truncated, _ = env.step(np.zeros(24, np.float32))
            steps += 1
        assert steps == 12 // spec.action_repeat
    finally:
        env.close()
    with pytest.raises(ConfigError, match="no camera 'nowhere'"):
        make_env(replace(spec, camera_name="nowhere"), 16)
    with pytest.raises(ConfigError, match="DeepMind Control tasks only"):
        make_env("door-open", 16, distractions=distraction_set("colour", "easy", 1))


def test_a_door_open_dataset_trains_and_evaluates_with_a_success_rate(tmp_path):
    (folder,) = collect_random(
        "door-open", tmp_path, episodes=2, image_sizes=(32,), render_profile="fast", episode_length=40, progress=False
    )
    index = scan_dataset(folder)
    assert index.task == "door-open" and index.action_dim == 4 and index.num_transitions == 20
    run = new_run(tmp_path / "run", folder, algo="bc", eval_episodes=2)
    result = run.train()
    assert result["success_rate"] in (0.0, 0.5, 1.0) and result["episodes"] == 2


def test_the_door_behaviour_agent_learns_from_the_shaped_reward_and_stores_the_sparse_one(tmp_path, monkeypatch):
    from lompo.algos.sac import SACConfig
    from lompo.collect.behaviour import BehaviourConfig, StateReplay, read_replay_episode, replay_path, train_behaviour

    learned: list[float] = []
    add = StateReplay.add

    def recording_add(self, obs, action, reward, discount, next_obs):
        learned.append(float(reward))
        add(self, obs, action, reward, discount, next_obs)

    monkeypatch.setattr(StateReplay, "add", recording_add)
    spec = replace(get_task("door-open"), episode_length=40)  # 10 agent steps
    config = BehaviourConfig(frames=80, seed_frames=40, checkpoint_every=40, eval_episodes=1,
                             sac=SACConfig(hidden=16, batch_size=8))  # fmt: skip
    folder = train_behaviour(spec, tmp_path, config, medium_threshold=-1.0, progress=False)
    assert json.loads((folder / "agent.json").read_text())["training_reward"] == "Meta-World's shaped reward"
    stored = np.concatenate([read_replay_episode(replay_path(folder, i))["reward"][1:] for i in (0, 1)])
    assert set(np.unique(stored)) <= {0.0, 1.0}  # the task's sparse reward in the files
    assert len(learned) == 20 and len(set(learned)) > 2 and not np.array_equal(learned, stored)


def test_a_replayed_robot_episode_gets_the_proprioception_it_was_collected_with():
    """The LOMPO protocol renders stored behaviour episodes (state, action, physics state) afterwards:
    their proprioception is read back from the stored states, equal to what the live env gave."""
    from lompo.collect import render_stored_episode, rollout

    spec = replace(get_task("adroit-pen"), episode_length=24)  # 6 agent steps
    env = make_env(spec, 32, render_profile="fast")
    rng = np.random.default_rng(0)
    collected = rollout(env, lambda obs, info: rng.uniform(-1, 1, 24).astype(np.float32), env_seed=0)[32]
    env.close()
    assert collected["proprio"].shape == (7, 48) and collected["state"].shape == (7, 45)
    stored = {k: v for k, v in collected.items() if k not in ("image", "proprio")}
    fresh = make_env(spec, 32, render_profile="fast")
    replayed = render_stored_episode(fresh, stored)[32]
    fresh.close()
    np.testing.assert_array_equal(replayed["proprio"], collected["proprio"])
    np.testing.assert_array_equal(replayed["image"], collected["image"])
    assert not np.array_equal(collected["proprio"][1], collected["proprio"][-1])
