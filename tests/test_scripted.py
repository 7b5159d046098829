"""Scripted behaviour (``lompo collect --scripted``): door-open's scripted policy with action noise in
place of the SAC agent; noise levels measured, schedules per recipe, datasets that say where they came from."""

import json

import numpy as np
import pytest

from lompo.cli import main
from lompo.collect.scripted import (
    MAX_NOISE,
    NoiseLevels,
    collect_scripted,
    episode_noise,
    medium_noise,
    noise_levels,
    scripted_policy,
)
from lompo.data.dataset import scan_dataset
from lompo.envs import get_task
from lompo.errors import ConfigError

SHORT = dict(episode_length=160)  # 40 agent steps: the scripted policy opens the door in about 20


def levels(**changes) -> NoiseLevels:
    values = dict(policy="SawyerDoorOpenV3Policy", expert_noise=0.1, medium_noise=1.2, random_return=0.0,
                  expert_return=100.0, returns={"0": 100.0}, episodes=2)  # fmt: skip
    return NoiseLevels(**{**values, **changes})


def test_the_medium_noise_is_where_the_return_falls_half_way_from_random_to_expert():
    returns = {0.0: 100.0, 0.5: 90.0, 1.0: 40.0, 2.0: 10.0}
    assert medium_noise(returns, random_return=0.0, expert_return=100.0) == pytest.approx(0.5 + 0.5 * 40 / 50)
    assert medium_noise(returns, random_return=20.0, expert_return=100.0) == pytest.approx(0.5 + 0.5 * 30 / 50)
    assert medium_noise({0.0: 100.0, 3.0: 80.0}, 0.0, 100.0) == 3.0  # never falls that far: the noisiest


def test_each_recipe_has_its_noise_schedule():
    noise = levels()
    assert noise.schedule("expert", "lompo") == (0.1, 0.1)
    assert noise.schedule("medium", "vd4rl") == (1.2, 1.2)
    assert noise.schedule("medium_replay", "lompo") == (MAX_NOISE, 1.2)
    assert noise.schedule("medium_expert", "lompo") == (1.2, 0.1)
    with pytest.raises(ConfigError, match="no scripted noise schedule"):
        noise.schedule("medium_expert", "vd4rl")  # concatenates medium and expert instead
    assert [episode_noise(3.0, 1.0, i, 5) for i in range(5)] == [3.0, 2.5, 2.0, 1.5, 1.0]
    assert episode_noise(0.1, 0.1, 0, 1) == 0.1


def test_a_task_without_a_scripted_policy_is_refused_by_name():
    with pytest.raises(ConfigError, match="cartpole-swingup has no scripted policy.*door-open"):
        scripted_policy(get_task("cartpole-swingup"))


def test_the_measured_levels_order_the_behaviours():
    task = get_task("door-open", **SHORT)
    measured = noise_levels(task, expert_noise=0.1, episodes=2)
    returns = {float(k): v for k, v in measured.returns.items()}
    assert measured.random_return < measured.expert_return  # the scripted expert opens the door, random does not
    assert returns[0.0] > returns[MAX_NOISE]
    assert 0.0 < measured.medium_noise <= MAX_NOISE
    assert measured == noise_levels(task, expert_noise=0.1, episodes=2)  # seeded


def test_a_scripted_dataset_records_its_behaviour_and_resumes(tmp_path):
    task = get_task("door-open", **SHORT)
    noise = levels(medium_noise=1.5)
    common = dict(protocol="lompo", episodes=3, image_sizes=(32,), render_profile="fast", progress=False)
    (folder,) = collect_scripted(task, tmp_path, "medium_expert", noise, **common)
    meta = json.loads((folder / "dataset.json").read_text())
    assert meta["behaviour"]["source"] == "scripted:SawyerDoorOpenV3Policy, noise 1.5 to 0.1"
    assert meta["behaviour"]["noise"] == {"first": 1.5, "last": 0.1}
    assert meta["recipe"] == "medium_expert" and len(scan_dataset(folder).episodes) == 3
    files = sorted(p.name for p in folder.glob("*.npz"))
    with np.load(folder / files[0]) as episode:
        assert np.all(np.abs(episode["action"]) <= 1.0) and episode["action"][1:].std() > 0
    again = collect_scripted(task, tmp_path, "medium_expert", noise, **common)  # complete: nothing rewritten
    assert again == [folder] and sorted(p.name for p in folder.glob("*.npz")) == files
    with pytest.raises(ConfigError, match="already holds a medium_expert dataset"):
        collect_scripted(task, tmp_path, "medium_expert", levels(medium_noise=1.0), **common)


def test_scripted_refuses_the_sac_settings(tmp_path, capsys):
    code = main(["collect", "--task", "door-open", "--recipe", "expert", "--scripted", "--sac-frames", "1000",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code != 0
    assert "--scripted replaces the SAC behaviour agent" in capsys.readouterr().err
