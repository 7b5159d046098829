"""`lompo import`: episodes recorded outside lompo (frames or a video plus action files) become a
dataset lompo trains on, with their values intact; bad episodes are named, sources never touched."""

import json

import numpy as np
import pytest
from PIL import Image

from lompo.cli import main
from lompo.data import read_episode, scan_dataset
from lompo.data.dataset import episode_files
from lompo.data.importers import import_episode_folder, import_lerobot, square_resize
from lompo.errors import DatasetError
from lompo.testing import file_digests

from helpers import new_run


def _source_episodes(tiny_dataset):
    return [read_episode(path) for path in episode_files(tiny_dataset)]


def _write_frames(folder, images):
    folder.mkdir(parents=True)
    for t, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{t:05d}.png")


def _write_video(path, images):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = images.shape[2], images.shape[1], "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def _generic_folder(root, episodes):
    """Three layouts: PNG frames + CSV actions with a header + .npy rewards; PNG frames + JSON arrays;
    a top-level video with .npy actions and CSV rewards beside it."""
    a, b, c = episodes[:3]
    _write_frames(root / "ep_a", a["image"])
    np.savetxt(root / "ep_a" / "actions.csv", a["action"][1:], delimiter=",", header="force", comments="")
    np.save(root / "ep_a" / "rewards.npy", a["reward"][1:])
    _write_frames(root / "ep_b", b["image"])
    (root / "ep_b" / "actions.json").write_text(json.dumps(b["action"][1:].tolist()))
    (root / "ep_b" / "rewards.json").write_text(json.dumps(b["reward"][1:].tolist()))
    (root / "ep_b" / "terminals.json").write_text(json.dumps([0] * (len(b["reward"]) - 1)))
    _write_video(root / "ep_c.mp4", c["image"])
    np.save(root / "ep_c.actions.npy", c["action"][1:])
    np.savetxt(root / "ep_c.rewards.csv", c["reward"][1:], delimiter=",")
    return root


def test_an_imported_folder_keeps_its_values_and_trains(tmp_path, tiny_dataset):
    episodes = _source_episodes(tiny_dataset)
    source = _generic_folder(tmp_path / "recorded", episodes)
    before = file_digests(source)
    assert main(["import", str(source), "--out", str(tmp_path / "imported"), "--size", "32",
                 "--task", "cartpole-swingup", "--no-progress"]) == 0  # fmt: skip
    assert file_digests(source) == before
    index = scan_dataset(tmp_path / "imported")
    assert index.task == "cartpole-swingup" and index.num_episodes == 3
    imported = [read_episode(p) for p in episode_files(tmp_path / "imported")]  # in source order
    for got, want in zip(imported, episodes):
        np.testing.assert_array_equal(got["action"], want["action"])
        np.testing.assert_array_equal(got["reward"], want["reward"])
        assert got["is_first"][0] and got["is_last"][-1] and not got["is_terminal"].any()
    np.testing.assert_array_equal(imported[0]["image"], episodes[0]["image"])  # PNG: lossless
    np.testing.assert_array_equal(imported[1]["image"], episodes[1]["image"])
    video_error = np.abs(imported[2]["image"].astype(int) - episodes[2]["image"]).mean()
    assert video_error < 8, video_error  # H.264: lossy, close
    meta = json.loads((tmp_path / "imported" / "dataset.json").read_text())
    assert meta["recipe"] == "imported" and meta["rewards"] == "given"
    assert meta["source"]["path"] == str(source.resolve())
    assert sum(len(files) for files in meta["source"]["episodes"].values()) == len(before)
    run = new_run(tmp_path / "run", tmp_path / "imported", eval_every=0, video=False)
    assert np.isfinite(run.train()["return_mean"])


def test_frames_are_cropped_to_a_centre_square_and_resized_by_area():
    frame = np.zeros((40, 60, 3), np.uint8)
    frame[:, 10:50] = 200  # the centre square
    frame[:20, 10:50, 0] = 0
    small = square_resize(frame, 20)
    assert small.shape == (20, 20, 3)
    np.testing.assert_array_equal(small[:10, :, 0], 0)  # 2 x 2 blocks averaged, borders cropped
    np.testing.assert_array_equal(small[10:, :, 0], 200)
    np.testing.assert_array_equal(small[..., 1], 200)


def _steps(folder):
    return len(list(folder.glob("*.png"))) - 1


def _drop_action(folder):
    actions = np.loadtxt(folder / "actions.csv", delimiter=",", skiprows=1, ndmin=2)
    np.savetxt(folder / "actions.csv", np.vstack([actions, actions[-1:]]), delimiter=",")


def _pickled_actions(folder):
    (folder / "actions.csv").unlink()
    with open(folder / "actions.npy", "wb") as f:
        np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(
    "break_episode, message",
    [
        (_drop_action, "frames and"),
        (_pickled_actions, "holds Python objects (a pickle)"),
        (lambda f: (f / "actions.csv").unlink(), "no actions file"),
        (lambda f: (f / "00003.png").write_bytes(b"not a png"), "is not a readable image"),
        (lambda f: np.save(f / "rewards.npy", np.zeros(3)), "rewards has 3 rows; expected"),
        (
            lambda f: (f / "terminals.json").write_text(json.dumps([1] + [0] * (_steps(f) - 1))),
            "terminals is true before",
        ),
    ],
    ids=["one_action_too_many", "pickle", "no_actions", "bad_png", "short_rewards", "early_terminal"],
)
def test_a_bad_episode_is_named_and_skip_bad_imports_the_others(tmp_path, tiny_dataset, break_episode, message):
    episodes = _source_episodes(tiny_dataset)
    source = _generic_folder(tmp_path / "recorded", episodes)
    _write_frames(source / "ep_d", episodes[0]["image"])
    np.savetxt(source / "ep_d" / "actions.csv", episodes[0]["action"][1:], delimiter=",", header="x", comments="")
    break_episode(source / "ep_d")
    before = file_digests(source)
    with pytest.raises(DatasetError, match="--skip-bad") as raised:
        import_episode_folder(source, tmp_path / "out", size=32)
    assert "ep_d" in str(raised.value) and message in str(raised.value), str(raised.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.import-*"))
    result = import_episode_folder(source, tmp_path / "out", size=32, skip_bad=True)
    assert result.episodes == 3 and any("ep_d" in str(p.path) for p in result.skipped)
    assert scan_dataset(tmp_path / "out", task="cartpole-swingup").num_episodes == 3
    assert file_digests(source) == before


def test_an_existing_output_is_never_overwritten(tmp_path, tiny_dataset):
    source = _generic_folder(tmp_path / "recorded", _source_episodes(tiny_dataset))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert main(["import", str(source), "--out", str(tmp_path / "out"), "--size", "32"]) == 2
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_data_without_a_task_trains_without_evaluation_and_reports_its_losses(
    tmp_path, tiny_dataset, capsys, monkeypatch
):
    """Robot data names no simulator task: training runs, says evaluation is skipped, final.json holds
    the last losses of each phase, and results and the report list the run as not evaluated."""
    from lompo.bench.report import write_report
    from lompo.bench.results import run_row

    source = _generic_folder(tmp_path / "recorded", _source_episodes(tiny_dataset))
    import_episode_folder(source, tmp_path / "robot", size=32)
    assert scan_dataset(tmp_path / "robot").task is None
    run = new_run(tmp_path / "run", tmp_path / "robot", algo="lompo", eval_every=4)
    built_on = []
    original_build = type(run).build
    monkeypatch.setattr(
        type(run), "build", lambda self, store: built_on.append(store.num_episodes) or original_build(self, store)
    )
    logged = []
    final = run.train(log=logged.append)
    assert built_on == [2]  # trained on two of the three episodes
    assert any("no evaluation in an environment" in line for line in logged)
    assert final["evaluation"].startswith("skipped") and final["episodes"] == 0 and final["data_task"] is None
    assert {"model", "agent"} <= set(final["last_metrics"]) and "model/loss" in final["last_metrics"]["model"]
    # one of the three episodes was held out of training; the world model's losses on it are reported
    assert final["validation_episodes"] == 1 and np.isfinite(final["validation"]["validation/model/loss"])
    assert {"validation/model/image_nll", "validation/model/kl"} <= set(final["validation"])
    bc = new_run(tmp_path / "bc", tmp_path / "robot", algo="bc").train(log=logged.append)
    assert np.isfinite(bc["validation"]["validation/actor/bc_loss"]) and bc["validation_episodes"] == 1
    assert [line["phase"] for line in map(json.loads, run.eval_path.read_text().splitlines())] == ["final"]
    row = run_row(run.path)
    assert row["status"] == "finished, not evaluated" and row["score"] is None
    page = write_report(tmp_path / "run").read_text()
    assert "not evaluated (its dataset names no task)" in page
    assert main(["evaluate", str(run.path)]) == 2
    assert "cannot tell which task" in capsys.readouterr().err


def test_held_out_episodes_are_never_trained_on(tiny_dataset):
    from lompo.data.samplers import SequenceSampler, TransitionSampler
    from lompo.data.store import load_store
    from lompo.runtime.trainer import validation_split

    store = load_store(tiny_dataset)
    train, held = validation_split(store, 0.34, seed=3)
    again, _ = validation_split(store, 0.34, seed=3)
    starts = {int(s) for s in store.episode_starts}
    train_starts, held_starts = set(map(int, train.episode_starts)), set(map(int, held.episode_starts))
    assert held.num_episodes == 1 and train_starts | held_starts == starts and not train_starts & held_starts
    assert set(map(int, again.episode_starts)) == train_starts
    np.testing.assert_allclose(
        np.concatenate([train.episode_returns(), held.episode_returns()]).sum(), store.episode_returns().sum()
    )
    # samplers of the training view draw only from its episodes
    (held_start,) = held_starts
    held_steps = set(range(held_start, held_start + int(held.episode_lengths[0])))
    windows = set(int(s) for s in SequenceSampler(train, 1, 4).window_starts)
    assert not windows & held_steps
    transitions = set(int(s) for s in TransitionSampler(train, 1).transition_starts)
    assert not transitions & held_steps and transitions
    assert validation_split(store, 0.0, seed=0)[1] is None


def _lerobot_folder(root, episodes, camera="observation.images.top"):
    """A LeRobot v2 layout (meta/info.json, one parquet and one mp4 per episode) written here with
    pyarrow and PyAV, as the `lerobot` package lays it out. Rows: observation t, action t, reward t."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    info = {
        "codebase_version": "v2.0",
        "fps": 10,
        "chunks_size": 1000,
        "total_episodes": len(episodes),
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": {
            camera: {"dtype": "video", "shape": [32, 32, 3]},
            "action": {"dtype": "float32", "shape": [1]},
            "observation.state": {"dtype": "float32", "shape": [2]},
            "next.reward": {"dtype": "float32", "shape": [1]},
        },
    }
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(info))
    for index, episode in enumerate(episodes):
        rows = len(episode["reward"])
        actions = np.concatenate([episode["action"][1:], np.zeros((1, episode["action"].shape[1]))])
        rewards = np.concatenate([episode["reward"][1:], [0.0]])
        table = {
            "action": actions.astype(np.float32).tolist(),
            "observation.state": np.stack([np.arange(rows), -np.arange(rows)], 1).astype(np.float32).tolist(),
            "next.reward": rewards.astype(np.float32).tolist(),
            "frame_index": list(range(rows)),
            "episode_index": [index] * rows,
        }
        (root / "data" / "chunk-000").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), root / "data" / "chunk-000" / f"episode_{index:06d}.parquet")
        videos = root / "videos" / "chunk-000" / camera
        videos.mkdir(parents=True, exist_ok=True)
        _write_video(videos / f"episode_{index:06d}.mp4", episode["image"])
    return root


def test_a_lerobot_folder_imports_with_its_actions_rewards_and_state(tmp_path, tiny_dataset):
    episodes = _source_episodes(tiny_dataset)[:2]
    source = _lerobot_folder(tmp_path / "lerobot", episodes)
    before = file_digests(source)
    assert main(["import", str(source), "--format", "lerobot", "--out", str(tmp_path / "out"), "--size", "32"]) == 0
    assert file_digests(source) == before
    imported = [read_episode(p) for p in episode_files(tmp_path / "out")]
    for got, want in zip(imported, episodes, strict=True):
        np.testing.assert_allclose(got["action"], want["action"], rtol=1e-6)
        np.testing.assert_allclose(got["reward"], want["reward"], rtol=1e-6)
        assert np.abs(got["image"].astype(int) - want["image"]).mean() < 8  # through H.264
        np.testing.assert_array_equal(got["proprio"][:, 0], np.arange(len(want["reward"])))
    meta = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert meta["source"]["format"] == "lerobot" and meta["source"]["camera"] == "observation.images.top"
    (source / "videos" / "chunk-000" / "observation.images.top" / "episode_000001.mp4").unlink()
    with pytest.raises(DatasetError, match="episode 1 is missing this file"):
        import_lerobot(source, tmp_path / "out2", size=32)
    assert import_lerobot(source, tmp_path / "out3", size=32, skip_bad=True).episodes == 1


def test_own_robot_data_end_to_end(tmp_path):
    """Data lompo did not collect, through every step a robotics user takes: videos and CSV actions
    recorded in a DMC environment (no rewards), import, 40 frames labelled by a known rule (cart right
    of centre), a success classifier, relabelled rewards, LOMPO trained on them, the policy exported,
    and the exported policy run in the environment with torch alone."""
    import torch

    from lompo.envs import make_env

    env = make_env("cartpole-swingup", image_size=32, render_profile="fast")
    rng = np.random.default_rng(0)
    recorded, cart_right = tmp_path / "recorded", {}
    recorded.mkdir()
    for episode in range(3):
        frame, info = env.reset(seed=episode)
        frames, actions, right = [frame], [], [info["physics_state"][0] > 0]
        for _ in range(30):
            action = rng.uniform(-1, 1, 1).astype(np.float32)
            frame, _, _, _, info = env.step(action)
            frames.append(frame)
            actions.append(action)
            right.append(info["physics_state"][0] > 0)
        _write_video(recorded / f"run{episode}.mp4", np.stack(frames))
        np.savetxt(recorded / f"run{episode}.actions.csv", np.stack(actions), delimiter=",", header="u", comments="")
        cart_right[episode] = right
    assert main(["import", str(recorded), "--out", str(tmp_path / "data"), "--size", "32",
                 "--task", "cartpole-swingup", "--no-progress"]) == 0  # fmt: skip
    names = [p.name for p in episode_files(tmp_path / "data")]  # in source order
    rows = ["episode,step,label"] + [
        f"{names[e]},{t},{int(cart_right[e][t])}" for e in range(2) for t in range(0, 31) if (e * 31 + t) % 3 != 2
    ][:40]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    assert main(["reward", "train", "--labels", str(tmp_path / "labels.csv"), "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "clf"), "--size", "32", "--steps", "20"]) == 0  # fmt: skip
    assert main(["reward", "apply", str(tmp_path / "clf"), "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "rewarded")]) == 0  # fmt: skip
    run = new_run(tmp_path / "run", tmp_path / "rewarded", eval_every=0, video=False)
    run.train()
    assert main(["export", str(run.path), "--out", str(tmp_path / "policy")]) == 0
    policy = torch.jit.load(str(tmp_path / "policy" / "policy.pt"))
    policy.reset()
    frame, _ = env.reset(seed=7)
    for _ in range(10):
        action = policy.act(torch.from_numpy(frame)).numpy()
        assert action.shape == (1,) and np.all(np.abs(action) <= 1)
        frame, *_ = env.step(action)
    env.close()


def test_a_minari_round_trip_keeps_every_value(tmp_path, tiny_dataset):
    """lompo -> Minari (images lossless) -> lompo gives the same images, actions, rewards and flags."""
    root = tmp_path / "minari"
    assert main(["export-data", str(tiny_dataset), "--id", "lompo/cartpole-tiny-v0", "--minari-root", str(root)]) == 0
    assert (root / "lompo" / "cartpole-tiny-v0" / "data" / "main_data.hdf5").is_file()
    assert main(["import", "lompo/cartpole-tiny-v0", "--format", "minari", "--minari-root", str(root),
                 "--out", str(tmp_path / "back"), "--size", "32", "--task", "cartpole-swingup"]) == 0  # fmt: skip
    source = {p.name: read_episode(p) for p in episode_files(tiny_dataset)}
    back = [read_episode(p) for p in episode_files(tmp_path / "back")]
    order = [e.path.name for e in scan_dataset(tiny_dataset).episodes]  # export order
    assert len(back) == len(order)
    for got, name in zip(back, order, strict=True):
        for key in ("image", "action", "reward", "discount", "is_first", "is_last", "is_terminal"):
            np.testing.assert_array_equal(got[key], source[name][key], err_msg=key)
    meta = json.loads((tmp_path / "back" / "dataset.json").read_text())
    assert meta["source"]["format"] == "minari" and meta["source"]["dataset_id"] == "lompo/cartpole-tiny-v0"
