"""Visual distractions: deterministic per seed, different across seeds, disjoint train and test sets,
the original look restored, and re-rendered datasets that differ from their source in pixels only."""

import csv
import json
import statistics

import numpy as np
import pytest
from PIL import Image

from lompo.cli import main
from lompo.collect.distracted import rerender
from lompo.data import read_episode
from lompo.data.dataset import episode_files, read_metadata
from lompo.data.store import load_store
from lompo.envs import make_env
from lompo.envs.distractions import (
    SEVERITY_SCALE,
    TEST_SEED_OFFSET,
    Distraction,
    background_files,
    distraction_set,
    parse_distraction,
)
from lompo.errors import ConfigError
from lompo.runtime.evaluate import Condition, make_eval_env
from lompo.testing import file_digests

from helpers import new_run


def _frame(distractions, episode=0, steps=0, task="cartpole-swingup"):
    env = make_env(task, 32, render_profile="fast", distractions=distractions)
    try:
        obs, _ = env.reset(seed=0, options={"episode": episode})
        for _ in range(steps):
            obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
        return obs
    finally:
        env.close()


@pytest.mark.parametrize("kind", ["colour", "camera", "background", "all"])
def test_a_distraction_is_deterministic_per_seed_and_differs_across_seeds(kind):
    plain = _frame(())
    first = _frame(distraction_set(kind, "hard", 1))
    assert np.array_equal(first, _frame(distraction_set(kind, "hard", 1)))  # another env, same pixels
    assert not np.array_equal(first, plain)
    other = _frame([Distraction(kind, "hard", seed=1)])
    assert not np.array_equal(first, other)


LOOK = ("mat_rgba", "geom_rgba", "cam_pos", "cam_quat", "cam_pos0", "cam_mat0", "tex_data")


def _look(distractions):
    """The model fields a distraction edits, after an episode start."""
    env = make_env("walker-walk", 32, render_profile="fast", distractions=distractions)
    try:
        env.reset(seed=0)
        env.render_image()
        return {name: np.array(getattr(env._physics.model, name)) for name in LOOK}
    finally:
        env.close()


def test_all_is_colour_camera_and_background_each_drawn_as_alone():
    """``all`` (DCS's difficulty setting, V-D4RL's distracted datasets) changes exactly what the three
    single distractions of the same seed change, to the same values."""
    plain = _look(())
    combined = _look([Distraction("all", "medium", seed=2)])
    changed_by_some = {name: np.zeros(plain[name].shape, bool) for name in LOOK}
    for part in ("colour", "camera", "background"):
        alone = _look([Distraction(part, "medium", seed=2)])
        changed = {name: alone[name] != plain[name] for name in LOOK}
        assert any(c.any() for c in changed.values()), part
        for name in LOOK:
            assert np.array_equal(combined[name][changed[name]], alone[name][changed[name]]), (part, name)
            changed_by_some[name] |= changed[name]
    for name in LOOK:
        assert np.array_equal(combined[name] != plain[name], changed_by_some[name]), name
    assert parse_distraction("all:hard:dynamic") == ("all", "hard", True)


def test_train_and_test_sets_share_no_distraction(tmp_path):
    train = distraction_set("colour", "medium", 4, "train")
    test = distraction_set("colour", "medium", 4, "test")
    assert {d.seed for d in train} == {0, 1, 2, 3}
    assert min(d.seed for d in test) == TEST_SEED_OFFSET
    assert not {d.seed for d in train} & {d.seed for d in test}
    for i in range(12):
        Image.fromarray(np.full((8, 8, 3), i * 20, np.uint8)).save(tmp_path / f"bg{i:02d}.png")
    train_files, test_files = background_files(tmp_path, "train"), background_files(tmp_path, "test")
    assert len(train_files) + len(test_files) == 12 and not set(train_files) & set(test_files)


def test_colour_shifts_only_the_agent_within_the_severity_and_the_original_look_returns():
    env = make_env("cartpole-swingup", 32, render_profile="fast", distractions=distraction_set("colour", "easy", 1))
    try:
        model = env._physics.model
        original = np.array(model.mat_rgba)
        floor_material = model.geom_matid[0]
        env.reset(seed=0)
        changed = np.abs(model.mat_rgba - original)[:, :3]
        agent_material = model.geom_matid[3]  # the cart
        assert 0 < changed[agent_material].max() <= SEVERITY_SCALE["easy"] + 1e-6
        assert changed[floor_material].max() == 0
        env.set_physics_state(env._physics.get_state())
        distracted = env.render_image()
        env._distractor.start(None)
        assert np.array_equal(model.mat_rgba, original)
        assert not np.array_equal(env.render_image(), distracted)
    finally:
        env.close()


def test_camera_and_background_are_undone_exactly():
    for kind in ("camera", "background"):
        env = make_env("walker-walk", 32, render_profile="fast", distractions=distraction_set(kind, "hard", 1))
        try:
            env.reset(seed=0)
            state = env._physics.get_state()
            distracted = env.render_image()
            env._distractor.start(None)
            env.set_physics_state(state)
            plain = env.render_image()
            reference = make_env("walker-walk", 32, render_profile="fast")
            reference.reset(seed=0)
            reference.set_physics_state(state)
            assert np.array_equal(plain, reference.render_image()), kind
            assert not np.array_equal(plain, distracted), kind
            reference.close()
        finally:
            env.close()


@pytest.mark.parametrize("kind", ["camera", "all"])
def test_a_dynamic_distraction_moves_between_frames_a_static_one_does_not(kind):
    for dynamic in (False, True):
        env = make_env(
            "cartpole-swingup",
            32,
            render_profile="fast",
            distractions=distraction_set(kind, "hard", 1, dynamic=dynamic),
        )
        try:
            env.reset(seed=0)
            state = env._physics.get_state()
            before = env.render_image()
            for _ in range(5):
                env.advance_distraction()
            env.set_physics_state(state)
            assert np.array_equal(before, env.render_image()) != dynamic
        finally:
            env.close()


def test_backgrounds_from_a_folder_and_a_bad_file_named(tmp_path):
    for i in range(5):
        Image.fromarray(np.full((20, 30, 3), (50 * i, 255 - 40 * i, 90), np.uint8)).save(tmp_path / f"{i}.png")
    train = _frame(distraction_set("background", "easy", 1, backgrounds=tmp_path))
    test = _frame(distraction_set("background", "easy", 1, "test", backgrounds=tmp_path))
    assert not np.array_equal(train, test)
    (tmp_path / "4.png").write_bytes(b"not a png")  # the only test file
    with pytest.raises(ConfigError, match="4.png"):
        _frame(distraction_set("background", "easy", 1, "test", backgrounds=tmp_path))
    with pytest.raises(ConfigError, match="KIND:SEVERITY"):
        parse_distraction("colour")
    with pytest.raises(ConfigError, match="severity"):
        parse_distraction("colour:extreme")


def test_a_rerendered_dataset_differs_from_its_source_in_pixels_only(tiny_dataset, tmp_path):
    before = file_digests(tiny_dataset)
    out = rerender(tiny_dataset, tmp_path / "colour", distraction_set("colour", "hard", 2), progress=False)
    sources = {p.name: read_episode(p) for p in episode_files(tiny_dataset)}
    written = episode_files(out)
    assert sorted(p.name for p in written) == sorted(sources)
    for path in written:
        new, old = read_episode(path), sources[path.name]
        assert set(new) == set(old)
        for key in old:
            if key != "image":
                np.testing.assert_array_equal(new[key], old[key], err_msg=key)
        assert new["image"].shape == old["image"].shape
        assert (new["image"] != old["image"]).mean() > 0.01
    metadata = read_metadata(out)
    assert metadata["distraction"]["count"] == 2 and metadata["distraction"]["kind"] == "colour"
    assert metadata["rerendered_from"]["path"] == str(tiny_dataset.resolve())
    assert metadata["task"] == "cartpole-swingup"
    assert file_digests(tiny_dataset) == before
    # episodes alternate between the set's two distractions
    first_frames = [read_episode(p)["image"][0] for p in written]
    assert not np.array_equal(first_frames[0], first_frames[1])
    # a rerun continues (nothing rewritten); another distraction into the same folder is refused
    digests = file_digests(out)
    rerender(tiny_dataset, out, distraction_set("colour", "hard", 2), progress=False)
    assert file_digests(out) == digests
    with pytest.raises(ConfigError, match="another source, distraction or camera"):
        rerender(tiny_dataset, out, distraction_set("camera", "hard", 2), progress=False)


def test_a_dataset_rerendered_from_another_camera_is_evaluated_from_that_camera(tiny_dataset, tmp_path):
    out = rerender(tiny_dataset, tmp_path / "lookatcart", camera=1, progress=False)
    sources = {p.name: read_episode(p) for p in episode_files(tiny_dataset)}
    for path in episode_files(out):
        new, old = read_episode(path), sources[path.name]
        for key in old:
            if key != "image":
                np.testing.assert_array_equal(new[key], old[key], err_msg=key)
        assert (new["image"] != old["image"]).mean() > 0.05
    metadata = read_metadata(out)
    assert metadata["camera"] == 1 and "distraction" not in metadata
    assert read_metadata(tiny_dataset).get("camera", 0) == 0
    # evaluation renders the dataset's camera: its first frame is the stored first frame
    store = load_store(out)
    env = make_eval_env(store, seed=0)
    try:
        episode = read_episode(episode_files(out)[0])
        env.reset(seed=0)
        env.set_physics_state(episode["physics_state"][0])
        np.testing.assert_array_equal(env.render_image(store.image_shape[0]), episode["image"][0])
    finally:
        env.close()
    with pytest.raises(ConfigError, match="another source, distraction or camera"):
        rerender(tiny_dataset, out, camera=0, progress=False)
    with pytest.raises(ConfigError, match="nothing to re-render"):
        rerender(tiny_dataset, tmp_path / "none", progress=False)


def test_cli_collect_from_and_evaluate_under_distractions(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "camera"
    args = ["collect", "--from", str(tiny_dataset), "--distraction", "camera:easy", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    assert read_metadata(out)["distraction"]["specs"][0]["kind"] == "camera"
    assert main(["collect", "--from", str(tiny_dataset), "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert main(["collect", "--task", "cartpole-swingup", "--distraction", "colour:easy", "--out", str(tmp_path)]) == 2
    capsys.readouterr()
    run = new_run(tmp_path / "run", out, algo="bc", eval_episodes=1)
    run.train()
    own = run.evaluate(episodes=2)
    assert own["distraction"] == "camera:easy train x1"
    test_set = ["--distraction", "colour:hard", "--distraction-split", "test", "--distraction-count", "2"]
    assert main(["evaluate", str(run.path), "--episodes", "2", *test_set, "--json", "--no-progress"]) == 0
    assert "colour:hard test x2" in capsys.readouterr().out
    plain = run.evaluate(episodes=2, distractions=[])
    assert "distraction" not in plain


def test_evaluation_conditions_parse_and_name_themselves():
    condition = Condition.parse("distraction=camera:hard:dynamic,split=test,count=3")
    assert condition == Condition("camera:hard:dynamic", "test", 3)
    assert Condition.parse(condition.text()) == condition
    assert condition.label == "camera-hard-dynamic-test-x3"
    assert Condition("none").label == "none" and Condition(task="walker-walk@A").label == "walker-walk-legs0.6"
    assert [d.seed for d in condition.distractions()] == [TEST_SEED_OFFSET + i for i in range(3)]
    for bad in ("distraction=fog:hard", "colour:hard", "split=test,distraction"):
        with pytest.raises(ConfigError):
            Condition.parse(bad)


def test_a_sweep_evaluates_each_run_under_train_and_test_distractions(tmp_path, tiny_dataset, capsys):
    out = tmp_path / "sweep"
    command = ["bench", "--algos", "bc", "--data", str(tiny_dataset), "--seeds", "0,1", "--preset", "tiny",
               "--workers", "2", "--set", "eval_episodes=1", "--eval-distractions", "colour:hard",
               "--eval-distraction-count", "2", "--out", str(out)]  # fmt: skip
    assert main(command) == 0
    labels = ["colour-hard-test-x2", "colour-hard-train-x2", "none"]
    runs = sorted(p for p in out.glob("*/bc/seed*") if p.is_dir())
    assert len(runs) == 2
    for run in runs:
        assert sorted(p.stem for p in (run / "evaluations").glob("*.json")) == labels
        saved = json.loads((run / "evaluations" / "colour-hard-test-x2.json").read_text())
        assert saved["distraction"] == "colour:hard test x2" and saved["episodes"] == 1
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    none = [float(r["eval:none"]) for r in rows]
    test = [float(r["eval:colour-hard-test-x2"]) for r in rows]
    table = (out / "table.md").read_text()
    assert "colour-hard-test-x2 (% of none)" in table
    cell = table.splitlines()[-1].split(" | ")[3]  # algorithm, dataset, none, then the test set
    ratios = [100 * t / n for t, n in zip(test, none, strict=True)]
    assert cell.startswith(f"{statistics.mean(ratios):.1f} ± {statistics.pstdev(ratios):.1f}")
    # the same command again evaluates nothing anew
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("evaluations/*.json")}
    assert main(command) == 0
    assert "2 runs, 2 already finished" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("evaluations/*.json")} == stamps
