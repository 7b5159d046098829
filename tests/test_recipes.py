"""V-D4RL recipes and the state-based SAC behaviour agents, at tiny budgets."""

import json
import os

import numpy as np
import pytest
from safetensors.torch import load_file

from lompo.algos.sac import SACConfig
from lompo.cli import RECIPE_NAMES, main
from lompo.collect import RECIPES, collect, render_stored_episode, rollout
from lompo.collect.behaviour import (
    BehaviourConfig,
    behaviour_config,
    converged,
    medium_index,
    policy_levels,
    read_evaluations,
    read_replay_episode,
    replay_path,
    train_behaviour,
)
from lompo.data import find_dataset_folders, scan_dataset
from lompo.data.episodes import read_episode
from lompo.envs import DMCEnv, get_task
from lompo.errors import ConfigError, EpisodeFileError
from lompo.testing import file_digests

SPEC = get_task("cartpole-swingup", episode_length=100)  # 50 agent steps, 51 stored steps per episode


def tiny_config(frames: int = 1000, **changes) -> BehaviourConfig:
    settings = dict(
        frames=frames, seed_frames=200, checkpoint_every=200, eval_episodes=2, sac=SACConfig(hidden=32, batch_size=32)
    )
    return BehaviourConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def trained_agent(tmp_path_factory):
    out = tmp_path_factory.mktemp("agent")
    return out, train_behaviour(SPEC, out, tiny_config(), progress=False)


def tiny_collect(recipe, out):
    """``recipe`` of cartpole-swingup at 32 and 24 px, 2 episodes of 100 steps, the tiny behaviour agent."""
    return collect(
        "cartpole-swingup",
        recipe,
        out,
        episodes=2,
        image_sizes=(32, 24),
        render_profile="fast",
        behaviour=tiny_config(),
        medium_threshold=-1.0,
        episode_length=100,
        progress=False,
        log=lambda *a: None,
    )


@pytest.fixture(scope="module")
def all_recipes(tmp_path_factory):
    out = tmp_path_factory.mktemp("recipes")
    return out, tiny_collect("all", out)


# --------------------------------------------------------------------------- re-rendering
@pytest.mark.parametrize("profile", ["fast", "standard"])
def test_rerendering_stored_physics_states_reproduces_collected_images(profile):
    env = DMCEnv(SPEC, 32, extra_image_sizes=(24,), render_profile=profile)
    rng = np.random.default_rng(0)
    collected = rollout(env, lambda obs, info: rng.uniform(-1, 1, 1).astype(np.float32), env_seed=3)
    env.close()
    stored = {k: v for k, v in collected[32].items() if k != "image"}
    fresh = DMCEnv(SPEC, 32, extra_image_sizes=(24,), render_profile=profile)
    rerendered = render_stored_episode(fresh, stored)
    fresh.close()
    for size in (32, 24):
        assert rerendered[size]["image"].shape == collected[size]["image"].shape
        np.testing.assert_array_equal(rerendered[size]["image"], collected[size]["image"])
    # the images move: the test would notice a renderer that ignores the physics state
    assert not np.array_equal(collected[32]["image"][0], collected[32]["image"][-1])


# --------------------------------------------------------------------------- behaviour agent
def test_behaviour_agent_checkpoints_evaluations_and_replay(trained_agent):
    out, folder = trained_agent
    evaluations = read_evaluations(folder)
    assert [e["frame"] for e in evaluations] == [200, 400, 600, 800, 1000]
    assert all(len(e["returns"]) == 2 and np.isfinite(e["return_mean"]) for e in evaluations)
    assert [e["episodes"] for e in evaluations] == [2, 4, 6, 8, 10]
    assert sorted(p.name for p in (folder / "policies").iterdir()) == [
        f"frame_{f:08d}.safetensors" for f in (200, 400, 600, 800, 1000)
    ]
    for i in range(10):
        episode = read_replay_episode(replay_path(folder, i))
        assert len(episode["reward"]) == 51 and episode["physics_state"].shape == (51, 4)
        assert episode["is_first"][0] and episode["action"][0].tolist() == [0.0] and episode["reward"][0] == 0
        np.testing.assert_array_equal(episode["state"][0].shape, (5,))
    assert not replay_path(folder, 10).exists()
    # the agent folder is not mistaken for a dataset
    assert find_dataset_folders(out) == []


def test_resumed_behaviour_training_continues_exactly(trained_agent, tmp_path):
    _, reference = trained_agent
    train_behaviour(SPEC, tmp_path, tiny_config(frames=600), progress=False)  # "interrupted" at 600 frames
    folder = train_behaviour(SPEC, tmp_path, tiny_config(frames=1000), progress=False)
    assert read_evaluations(folder) == read_evaluations(reference)
    for frame in (600, 1000):
        a = load_file(str(folder / "policies" / f"frame_{frame:08d}.safetensors"))
        b = load_file(str(reference / "policies" / f"frame_{frame:08d}.safetensors"))
        assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    for i in range(10):
        x, y = read_replay_episode(replay_path(folder, i)), read_replay_episode(replay_path(reference, i))
        assert all(np.array_equal(x[k], y[k]) for k in x)


def test_resume_discards_work_written_after_the_checkpoint(tmp_path):
    folder = train_behaviour(SPEC, tmp_path, tiny_config(frames=400), progress=False)
    # a killed run had written two more episodes and an evaluation past the checkpoint
    for i in (4, 5):
        replay_path(folder, i).write_bytes(replay_path(folder, 0).read_bytes())
    with open(folder / "evaluations.jsonl", "a") as f:
        f.write(json.dumps({"frame": 600, "episodes": 6, "return_mean": 1e9, "return_std": 0, "returns": []}) + "\n")
    train_behaviour(SPEC, tmp_path, tiny_config(frames=600), progress=False)
    rows = read_evaluations(folder)
    assert [r["frame"] for r in rows] == [200, 400, 600] and rows[-1]["return_mean"] < 1e9


def test_existing_agent_with_other_settings_is_refused_untouched(trained_agent):
    out, folder = trained_agent
    before = file_digests(folder)
    with pytest.raises(ConfigError, match="different settings.*seed_frames"):
        train_behaviour(SPEC, out, tiny_config(seed_frames=400), progress=False)
    assert file_digests(folder) == before


def test_corrupt_replay_episode_is_named(tmp_path):
    path = tmp_path / "episode_000000.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(EpisodeFileError, match="episode_000000.npz"):
        read_replay_episode(path)
    np.savez(path, state=np.zeros((3, 2)), action=np.zeros((2, 1)))
    with pytest.raises(EpisodeFileError, match="missing key 'reward'"):
        read_replay_episode(path)


def test_medium_level_needs_consistent_evaluations():
    rows = [{"return_mean": r} for r in (100, 520, 480, 510, 530, 505, 900)]
    assert medium_index(rows, 500, window=3) == 3  # 520 alone is not consistent
    assert medium_index(rows, 500, window=1) == 1
    assert medium_index(rows, 950, window=1) is None


def test_convergence_needs_a_medium_and_a_plateau():
    config = BehaviourConfig(converge_patience=3, converge_tolerance=0.02, medium_window=1)
    rising = [{"return_mean": r} for r in (100, 300, 600, 700, 800, 900)]
    plateau = [{"return_mean": r} for r in (100, 600, 850, 860, 840, 855)]
    low_plateau = [{"return_mean": r} for r in (100, 200, 210, 205, 200, 209)]
    assert not converged(rising, config, 500)
    assert converged(plateau, config, 500)
    assert not converged(low_plateau, config, 500)  # flat, but never reached medium


def test_policy_levels_explain_a_missing_medium(trained_agent):
    _, folder = trained_agent
    with pytest.raises(ConfigError, match=r"no checkpoint reached an evaluation return of 500.*0K|--medium-threshold"):
        policy_levels(folder, 500.0)
    levels = policy_levels(folder, -1.0)
    assert levels["medium"].frame == 200 and levels["expert"].frame == 1000 and levels["medium"].episodes == 2


def test_behaviour_overrides_are_typed_and_checked():
    config = behaviour_config(SPEC, seed=3, frames=5000, overrides={"sac.hidden": "64", "eval_episodes": "7"})
    assert config.sac.hidden == 64 and config.eval_episodes == 7 and config.frames == 5000 and config.seed == 3
    assert behaviour_config(get_task("walker-walk")).frames == 1_000_000
    with pytest.raises(ConfigError, match="unknown behaviour setting 'sac.width'"):
        behaviour_config(SPEC, overrides={"sac.width": "3"})


# --------------------------------------------------------------------------- recipes
def test_recipes_counts_lengths_and_first_step_conventions(all_recipes):
    out, written = all_recipes
    assert set(written) == set(RECIPES) == set(RECIPE_NAMES)
    expected_episodes = {"random": 2, "medium": 2, "expert": 2, "medium_replay": 2, "medium_expert": 4}
    for recipe, folders in written.items():
        assert [f.name for f in folders] == ["32px", "24px"]
        for folder in folders:
            index = scan_dataset(folder)
            assert index.num_episodes == expected_episodes[recipe], recipe
            assert index.num_transitions == 50 * expected_episodes[recipe]
            meta = json.loads((folder / "dataset.json").read_text())
            assert meta["recipe"] == recipe and meta["render_profile"] == "fast" and meta["episode_length"] == 100
            for path in sorted(folder.glob("*.npz")):
                episode = read_episode(path)
                assert len(episode["reward"]) == 51 and path.name.endswith("-51.npz")
                assert episode["is_first"][0] and not episode["is_first"][1:].any()
                assert episode["is_last"][-1] and not episode["is_terminal"].any()
                assert episode["action"][0].tolist() == [0.0] and episode["reward"][0] == 0.0
                assert episode["image"].shape[1:] == (int(folder.name[:-2]),) * 2 + (3,)
                assert episode["physics_state"].shape == (51, 4)


def test_medium_expert_is_exactly_the_union_of_its_parts(all_recipes):
    out, _ = all_recipes
    root = out / "cartpole_swingup"
    for size in ("32px", "24px"):
        union = {**file_digests(root / "medium" / size), **file_digests(root / "expert" / size)}
        union.pop("dataset.json")
        combined = file_digests(root / "medium_expert" / size)
        combined.pop("dataset.json")
        assert combined == union and len(combined) == 4


def test_policy_recipes_record_their_behaviour_and_references(all_recipes):
    out, _ = all_recipes
    root = out / "cartpole_swingup"
    medium = json.loads((root / "medium" / "32px" / "dataset.json").read_text())
    expert = json.loads((root / "expert" / "32px" / "dataset.json").read_text())
    assert medium["behaviour"]["level"]["frame"] == 200 and expert["behaviour"]["level"]["frame"] == 1000
    assert medium["behaviour"]["agent"] == "cartpole_swingup/behaviour/seed0"
    refs = medium["reference_returns"]
    assert refs["source"].startswith("measured by lompo") and refs["expert"] is not None
    random_meta = json.loads((root / "random" / "32px" / "dataset.json").read_text())
    assert random_meta["reference_returns"]["random"] == refs["random"]
    # medium and expert episodes differ (two policies, salted seeds)
    a = read_episode(next(iter(sorted((root / "medium" / "32px").glob("*.npz")))))
    b = read_episode(next(iter(sorted((root / "expert" / "32px").glob("*.npz")))))
    assert not np.array_equal(a["action"], b["action"])


def test_medium_replay_is_the_rerendered_replay_buffer(all_recipes):
    out, _ = all_recipes
    agent = out / "cartpole_swingup" / "behaviour" / "seed0"
    files = sorted((out / "cartpole_swingup" / "medium_replay" / "32px").glob("*.npz"))
    stored = [read_replay_episode(replay_path(agent, i)) for i in (0, 1)]  # medium = frame 200 = 2 episodes
    rendered = [read_episode(p) for p in files]
    key = lambda e: e["state"][0].tobytes()  # noqa: E731
    for episode, original in zip(sorted(rendered, key=key), sorted(stored, key=key)):
        for name in ("state", "action", "reward", "physics_state"):
            np.testing.assert_array_equal(episode[name], original[name])


def test_recipes_reuse_the_trained_agent(all_recipes):
    out, _ = all_recipes
    agent = out / "cartpole_swingup" / "behaviour" / "seed0"
    before = file_digests(agent)
    tiny_collect("expert", out)
    assert file_digests(agent) == before  # no retraining, no new checkpoint


def test_adding_to_a_dataset_of_another_render_profile_is_refused(all_recipes):
    out, _ = all_recipes
    folder = out / "cartpole_swingup" / "random" / "32px"
    before = file_digests(folder)
    with pytest.raises(ConfigError, match="render profile 'fast'.*another --out"):
        collect(
            "cartpole-swingup",
            "random",
            out,
            episodes=3,
            image_sizes=(32,),
            render_profile="standard",
            episode_length=100,
            progress=False,
            log=lambda *a: None,
        )
    assert file_digests(folder) == before


def test_collect_all_from_the_command_line(tmp_path, capsys):
    args = [
        "collect",
        "--task",
        "cartpole-swingup",
        "--recipe",
        "medium_replay",
        "--episode-length",
        "100",
        "--episodes",
        "1",
        "--image-size",
        "24",
        "--render",
        "fast",
        "--sac-frames",
        "600",
        "--medium-threshold",
        "-1",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    for setting in ("seed_frames=200", "checkpoint_every=200", "eval_episodes=1", "sac.hidden=16", "sac.batch_size=16"):
        args += ["--behaviour", setting]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "medium = frame 200" in text and "| medium_replay 24px | 50 | 1 |" in text
    assert (
        main(
            [
                "collect",
                "--task",
                "cartpole-swingup",
                "--recipe",
                "expert",
                "--out",
                str(tmp_path),
                "--behaviour",
                "sac.nope=1",
                "--no-progress",
            ]
        )
        == 2
    )
    assert os.path.isdir(tmp_path / "cartpole_swingup" / "behaviour" / "seed0" / "policies")


# --------------------------------------------------------------------------- the LOMPO paper's protocol
def test_lompo_protocol_medium_is_half_way_to_the_expert(trained_agent):
    _, folder = trained_agent
    returns = [e["return_mean"] for e in read_evaluations(folder)]
    floor = min(returns) - 10.0
    levels = policy_levels(folder, fraction=0.5, random_return=floor, window=1)
    threshold = floor + 0.5 * (returns[-1] - floor)
    assert levels["criteria"]["medium_threshold"] == pytest.approx(threshold)
    assert levels["criteria"]["medium_fraction"] == 0.5 and levels["criteria"]["random_return"] == floor
    first = next(i for i, r in enumerate(returns) if r >= threshold)
    assert levels["medium"].frame == read_evaluations(folder)[first]["frame"]
    with pytest.raises(ConfigError, match="does not beat uniform random actions"):
        policy_levels(folder, fraction=0.5, random_return=returns[-1] + 1.0)


def test_lompo_protocol_recipes(trained_agent):
    from lompo.collect.recipes import default_size

    out, agent = trained_agent
    before = file_digests(agent)
    common = dict(image_sizes=(24,), render_profile="fast", behaviour=tiny_config(), medium_threshold=-1.0,
                  episode_length=100, protocol="lompo", progress=False, log=lambda *a: None)  # fmt: skip
    with pytest.raises(ConfigError, match="lompo protocol has no recipe 'medium'"):
        collect("cartpole-swingup", "medium", out, episodes=1, **common)
    written = collect("cartpole-swingup", "all", out, episodes=3, **common)
    after = file_digests(agent)
    after.pop("references.json")  # measured once for the expert, then cached
    before.pop("references.json", None)
    assert after == before  # the agent is shared with the V-D4RL recipes: no retraining
    assert set(written) == {"random", "medium_replay", "medium_expert", "expert"}
    root = out / "cartpole_swingup"
    # medium = frame 200 (2 episodes played), expert = frame 1000 (10 episodes): medium_expert is the
    # replay after the medium checkpoint, its most recent 3 episodes here
    meta = json.loads((root / "medium_expert" / "24px" / "dataset.json").read_text())
    assert meta["protocol"] == "lompo" and meta["behaviour"]["replay_episodes"] == [7, 10]
    assert meta["behaviour"]["after"]["frame"] == 200 and meta["behaviour"]["level"]["frame"] == 1000
    rendered = sorted((read_episode(p) for p in (root / "medium_expert" / "24px").glob("*.npz")),
                      key=lambda e: e["state"][0].tobytes())  # fmt: skip
    stored = sorted(
        (read_replay_episode(replay_path(agent, i)) for i in (7, 8, 9)), key=lambda e: e["state"][0].tobytes()
    )
    for episode, original in zip(rendered, stored, strict=True):
        for name in ("state", "action", "reward", "physics_state"):
            np.testing.assert_array_equal(episode[name], original[name])
    replay_meta = json.loads((root / "medium_replay" / "24px" / "dataset.json").read_text())
    assert replay_meta["behaviour"]["replay_episodes"] == [0, 2]  # all that was played before medium
    assert default_size(get_task("door-open"), "expert", "lompo") == 50_000
    assert default_size(get_task("adroit-pen"), "medium_replay", "lompo") == 1_000_000
    assert default_size(get_task("dclaw-screw"), "medium_expert", "lompo") == 180_000
