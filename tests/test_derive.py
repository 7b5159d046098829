"""`lompo subsample` and `lompo merge`: exact fractions of whole episodes or windows, nested across
fractions, byte-identical copies, provenance, and clear refusals of datasets that do not fit together."""

import numpy as np
import pytest

from lompo.cli import main
from lompo.data import read_episode, scan_dataset, write_episode, write_hdf5_shard
from lompo.data.dataset import episode_files, read_metadata, write_metadata
from lompo.data.derive import merge_datasets, subsample_dataset
from lompo.data.store import load_store
from lompo.errors import LompoError
from lompo.testing import file_digests, synthetic_episode


def _dataset(folder, episodes=10, transitions=20, size=8, action_dim=2, task="cartpole-swingup", seed=0):
    folder.mkdir(parents=True)
    for i in range(episodes):
        write_episode(folder, synthetic_episode(transitions, size, action_dim, seed=seed + i, episode_id=i),
                      name=f"2026{i:04d}-{seed + i:04d}-{transitions + 1}.npz")  # fmt: skip
    write_metadata(folder, {"task": task, "recipe": "random", "image_size": size, "action_repeat": 8,
                            "action_bounds": [-1.0, 1.0], "reference_returns": {"random": 1.0, "expert": 9.0},
                            "statistics": {"mean": 0.0}})  # fmt: skip
    return folder


def _ids(folder):
    return sorted(int(read_episode(p)["episode_id"][0]) for p in episode_files(folder))


def test_subsample_keeps_an_exact_fraction_of_whole_episodes_copied_byte_for_byte(tmp_path):
    source = _dataset(tmp_path / "source")
    before = file_digests(source)
    out = subsample_dataset(source, tmp_path / "x5", fraction=0.2, seed=3)
    files = episode_files(out)
    assert len(files) == 2  # round(0.2 * 10)
    for path in files:
        assert path.read_bytes() == (source / path.name).read_bytes()
    metadata = read_metadata(out)
    derived = metadata["derived_from"]
    assert derived["operation"] == "subsample" and derived["kept"] == "2 of 10 episodes"
    assert sorted(derived["episodes"]) == sorted(p.name for p in files)
    assert derived["sources"][0]["path"] == str(source.resolve())
    assert metadata["task"] == "cartpole-swingup" and metadata["reference_returns"]["expert"] == 9.0
    index = scan_dataset(out)  # the recorded hashes match the files
    assert metadata["statistics"]["mean"] == pytest.approx(index.returns.mean())
    assert file_digests(source) == before


def test_subsamples_of_one_seed_are_nested_and_seeds_differ(tmp_path):
    source = _dataset(tmp_path / "source", episodes=25)
    x5 = _ids(subsample_dataset(source, tmp_path / "x5", fraction=0.2, seed=1))
    x25 = _ids(subsample_dataset(source, tmp_path / "x25", fraction=0.04, seed=1))
    again = _ids(subsample_dataset(source, tmp_path / "again", fraction=0.2, seed=1))
    other = _ids(subsample_dataset(source, tmp_path / "other", fraction=0.2, seed=2))
    rest = _ids(subsample_dataset(source, tmp_path / "rest", fraction=0.2, seed=1, complement=True))
    assert sorted(rest + x5) == list(range(25)) and not set(rest) & set(x5)
    assert (len(x5), len(x25)) == (5, 1)
    assert set(x25) <= set(x5)
    assert again == x5
    assert other != x5


def test_subsample_windows_are_valid_episodes_of_the_source_steps(tmp_path):
    source = _dataset(tmp_path / "source", episodes=3, transitions=22)  # 4 windows of 5 each, 2 left over
    out = subsample_dataset(source, tmp_path / "windows", fraction=0.5, unit="windows", window=5, seed=0)
    files = episode_files(out)
    assert len(files) == 6  # round(0.5 * 12)
    sources = {int(read_episode(p)["episode_id"][0]): read_episode(p) for p in episode_files(source)}
    for path in files:
        window = read_episode(path)
        original = sources[int(window["episode_id"][0])]
        start = int(window["step"][0])
        assert start % 5 == 0 and len(window["reward"]) == 6 and path.name.endswith("-6.npz")
        np.testing.assert_array_equal(window["image"], original["image"][start : start + 6])
        np.testing.assert_array_equal(window["action"][1:], original["action"][start + 1 : start + 6])
        np.testing.assert_array_equal(window["reward"][1:], original["reward"][start + 1 : start + 6])
        assert window["reward"][0] == 0 and not window["action"][0].any()
        assert window["is_first"].tolist() == [True] + [False] * 5
        assert window["is_last"].tolist() == [False] * 5 + [True]
    assert load_store(out).num_episodes == 6
    assert read_metadata(out)["derived_from"]["kept"] == "6 of 12 windows"


def test_subsample_of_hdf5_shards_writes_each_episode(tmp_path):
    folder = tmp_path / "cheetah_run" / "expert" / "84px"
    folder.mkdir(parents=True)
    episodes = [synthetic_episode(6 + i, size=12, seed=i, episode_id=i) for i in range(4)]
    write_hdf5_shard(folder / "shard_0.hdf5", episodes[:2])
    write_hdf5_shard(folder / "shard_1.hdf5", episodes[2:])
    out = subsample_dataset(folder, tmp_path / "half", fraction=0.5, seed=0)
    index = scan_dataset(out)
    assert index.num_episodes == 2 and index.task == "cheetah-run"
    lengths = {len(e["action"]): e for e in episodes}
    for path in episode_files(out):
        got = read_episode(path)
        np.testing.assert_array_equal(got["image"], lengths[len(got["action"])]["image"])


def test_merge_concatenates_and_records_each_episode_source(tmp_path):
    a = _dataset(tmp_path / "a", episodes=3)
    b = _dataset(tmp_path / "b", episodes=2, seed=100)
    before = file_digests(tmp_path)
    out = merge_datasets([a, b], tmp_path / "merged")
    files = episode_files(out)
    assert len(files) == 5
    derived = read_metadata(out)["derived_from"]
    for path in files:
        entry = derived["episodes"][path.name]
        assert path.read_bytes() == ([a, b][entry["source"]] / entry["file"]).read_bytes()
    assert [s["episodes"] for s in derived["sources"]] == [3, 2]
    assert read_metadata(out)["task"] == "cartpole-swingup"
    assert scan_dataset(out).num_episodes == 5
    assert {k: v for k, v in file_digests(tmp_path).items() if not k.startswith("merged")} == before


def test_merge_refuses_datasets_that_do_not_fit_together(tmp_path):
    a = _dataset(tmp_path / "a", episodes=2)
    small = _dataset(tmp_path / "small", episodes=2, size=12)
    wide = _dataset(tmp_path / "wide", episodes=2, action_dim=3)
    with pytest.raises(LompoError, match="different image shape") as err:
        merge_datasets([a, small], tmp_path / "out")
    assert str(a) in str(err.value) and str(small) in str(err.value)
    with pytest.raises(LompoError, match="different action dimension"):
        merge_datasets([a, wide], tmp_path / "out")
    with pytest.raises(LompoError, match="named twice"):
        merge_datasets([a, a], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_merge_of_two_tasks_names_a_task_only_when_told(tmp_path):
    a = _dataset(tmp_path / "a", episodes=2)
    b = _dataset(tmp_path / "b", episodes=2, task="walker-walk", seed=50)
    metadata = read_metadata(merge_datasets([a, b], tmp_path / "multitask"))
    assert "task" not in metadata and "reference_returns" not in metadata
    assert metadata["derived_from"]["tasks"] == ["cartpole-swingup", "walker-walk"]
    told = read_metadata(merge_datasets([a, b], tmp_path / "told", task="walker_walk"))
    assert told["task"] == "walker-walk"


def test_cli_subsample_and_merge(tmp_path, capsys):
    source = _dataset(tmp_path / "source", episodes=5)
    assert main(["subsample", str(source), "--fraction", "0.4", "--out", str(tmp_path / "sub")]) == 0
    assert "2 of 5 episodes" in capsys.readouterr().out
    assert main(["merge", str(source), str(tmp_path / "sub"), "--out", str(tmp_path / "both")]) == 0
    assert len(episode_files(tmp_path / "both")) == 7
    # refusals: exit 2, one line naming the problem, nothing written
    assert main(["subsample", str(source), "--fraction", "0.05", "--out", str(tmp_path / "none")]) == 2
    assert "keeps none" in capsys.readouterr().err
    assert main(["subsample", str(source), "--fraction", "1.5", "--out", str(tmp_path / "none")]) == 2
    assert main(["subsample", str(source), "--fraction", "0.4", "--out", str(tmp_path / "sub")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["subsample", str(source), "--fraction", "0.4", "--out", str(source)]) == 2
    assert not (tmp_path / "none").exists()


def test_subsample_names_a_bad_source_file(tmp_path, capsys):
    source = _dataset(tmp_path / "source", episodes=4)
    broken = episode_files(source)[1]
    broken.write_bytes(b"not an archive")
    (source / "dataset.json").unlink()
    assert main(["subsample", str(source), "--fraction", "0.5", "--out", str(tmp_path / "out")]) == 2
    assert broken.name in capsys.readouterr().err
    assert main(["subsample", str(source), "--fraction", "0.5", "--skip-bad", "--out", str(tmp_path / "out")]) == 0
    assert len(episode_files(tmp_path / "out")) == 2  # round(0.5 * 3 good episodes)
    assert broken.read_bytes() == b"not an archive"
