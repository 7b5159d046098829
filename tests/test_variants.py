"""Body variants (walker legs, cheetah torso): the MJCF edit changes the body and the dynamics; names,
folders and datasets carry the variant; a run evaluates on a held-out variant; multitask merges."""

import numpy as np
import pytest

from lompo.collect import collect_random
from lompo.data.dataset import read_metadata, scan_dataset
from lompo.data.derive import merge_datasets
from lompo.envs import get_task, make_env
from lompo.envs.variants import SETTINGS, SPLITS
from lompo.errors import ConfigError

from helpers import new_run


def _trajectory(task, steps=15):
    env = make_env(task, 16, render_profile="fast", observation="state")
    try:
        env.reset(seed=0)
        actions = np.random.default_rng(0).uniform(-1, 1, (steps, env.action_space.shape[0])).astype(np.float32)
        states = [env.step(a)[4]["physics_state"] for a in actions]
        return env._physics.model, np.array(states)
    finally:
        env.close()


@pytest.mark.parametrize(("task", "geom", "axis"), [("walker-walk", "right_leg", 1), ("cheetah-run", "torso", 1)])
def test_a_variant_changes_the_body_and_the_dynamics(task, geom, axis):
    model, base = _trajectory(task)
    size = float(model.geom_size[model.name2id(geom, "geom")][axis])
    if task == "cheetah-run":  # a fromto capsule: its half-length is size[1]
        size = float(model.geom_size[model.name2id(geom, "geom")][1])
    for letter in ("A", "H"):
        variant, states = _trajectory(f"{task}@{letter}")
        changed = float(variant.geom_size[variant.name2id(geom, "geom")][axis])
        assert changed == pytest.approx(size * SETTINGS[letter], rel=1e-5)
        assert states.shape == base.shape
        assert np.abs(states - base).max() > 1e-2  # same actions, another trajectory


def test_variant_names_folders_and_errors():
    spec = get_task("walker-walk@B")
    assert spec.name == "walker-walk?legs=0.7" and spec.variant == (("legs", 0.7),)
    assert spec.folder_name == "walker_walk-legs0.7"
    assert get_task(spec.name) == spec  # the name in dataset.json finds the same task
    assert get_task("walker_walk?legs=0.7") == spec
    assert spec.random_return is None and spec.expert_return is None
    assert set(SPLITS["train"]) | set(SPLITS["interpolation"]) | set(SPLITS["extrapolation"]) == set(SETTINGS)
    for bad, message in [
        ("cartpole-swingup@A", "no variants"),
        ("walker-walk?arms=1.2", "unknown walker variant parameter"),
        ("walker-walk?legs=big", "must be a number"),
        ("walker-walk?legs=9", "within"),
    ]:
        with pytest.raises(ConfigError, match=message):
            get_task(bad)


def test_multitask_data_from_two_variants_trains_and_evaluates_on_a_held_out_one(tmp_path):
    folders = [
        collect_random(
            f"cheetah-run@{letter}",
            tmp_path / "data",
            episodes=1,
            image_sizes=(32,),
            render_profile="fast",
            seed=i,
            episode_length=40,
            progress=False,
        )[0]  # fmt: skip
        for i, letter in enumerate("BG")
    ]
    assert [f.parent.parent.name for f in folders] == ["cheetah_run-torso0.7", "cheetah_run-torso1.3"]
    assert scan_dataset(folders[0]).task == "cheetah-run?torso=0.7"
    merged = merge_datasets(folders, tmp_path / "multitask", task="cheetah-run@C")
    metadata = read_metadata(merged)
    assert metadata["task"] == "cheetah-run?torso=0.8"
    assert sorted(e["task"] for e in metadata["derived_from"]["episodes"].values()) == [
        "cheetah-run?torso=0.7",
        "cheetah-run?torso=1.3",
    ]
    run = new_run(tmp_path / "run", merged, algo="bc", eval_episodes=1)
    run.train()
    held_out = run.evaluate(episodes=1, task="cheetah-run@A")
    assert held_out["task"] == "cheetah-run?torso=0.6" and np.isfinite(held_out["return_mean"])
    with pytest.raises(ConfigError, match="action dimensions"):
        run.evaluate(episodes=1, task="cartpole-swingup")
