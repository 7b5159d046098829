"""Every kind of bad input of DESIGN.md 4.2 gives an error naming the file and the problem."""

import pickle

import numpy as np
import pytest

from conftest import file_digests, make_episode
from lompo.cli import main
from lompo.data import scan_dataset, write_episode, write_hdf5_shard
from lompo.data.store import load_store
from lompo.errors import DatasetError


def _dataset(tmp_path, n=3):
    folder = tmp_path / "data"
    for i in range(n):
        write_episode(folder, make_episode(6, seed=i), name=f"good{i}.npz")
    return folder


def _save(folder, name, **arrays):
    np.savez(folder / name, **arrays)
    return folder / name


def _bad_cases():
    def truncated(folder):
        good = folder / "good0.npz"
        (folder / "truncated.npz").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        return "truncated.npz", "not a readable .npz archive"

    def zero_bytes(folder):
        (folder / "empty.npz").write_bytes(b"")
        return "empty.npz", "file is empty"

    def missing_key(folder):
        ep = make_episode(6)
        del ep["action"]
        _save(folder, "nokey.npz", **ep)
        return "nokey.npz", "missing key(s) ['action']"

    def unequal_lengths(folder):
        ep = make_episode(6)
        ep["reward"] = ep["reward"][:-1]  # the V-D4RL humanoid file: 500 vs 501
        _save(folder, "lengths.npz", **ep)
        return "lengths.npz", "keys have different lengths"

    def image_dtype(folder):
        ep = make_episode(6)
        ep["image"] = ep["image"].astype(np.float32)
        _save(folder, "dtype.npz", **ep)
        return "dtype.npz", "has dtype float32, expected uint8"

    def image_shape(folder):
        ep = make_episode(6)
        ep["image"] = ep["image"][..., 0]
        _save(folder, "shape.npz", **ep)
        return "shape.npz", "expected (T+1, H, W, 3)"

    def channels_first(folder):
        ep = make_episode(6)
        ep["image"] = np.ascontiguousarray(ep["image"].transpose(0, 3, 1, 2))
        _save(folder, "chw.npz", **ep)
        return "chw.npz", "looks channels-first"

    def action_dim_mismatch(folder):
        write_episode(folder, make_episode(6, action_dim=5), name="wide.npz")
        return "wide.npz", "action dimension 5 differs from the dataset's 2"

    def image_size_mismatch(folder):
        write_episode(folder, make_episode(6, size=16), name="big.npz")
        return "big.npz", "image shape (16, 16, 3) differs"

    def nan_reward(folder):
        ep = make_episode(6)
        ep["reward"][3] = np.nan
        _save(folder, "nan.npz", **ep)
        return "nan.npz", "key 'reward' has 1 NaN/inf value(s) (first at step 3)"

    def inf_action(folder):
        ep = make_episode(6)
        ep["action"][2, 1] = np.inf
        _save(folder, "inf.npz", **ep)
        return "inf.npz", "key 'action' has 1 NaN/inf value(s) (first at step 2)"

    def action_out_of_bounds(folder):
        ep = make_episode(6)
        ep["action"][4, 0] = 3.0
        _save(folder, "bounds.npz", **ep)
        return "bounds.npz", "outside the bounds"

    def pickled_objects(folder):
        ep = make_episode(6)
        ep["info"] = np.array([{"a": 1}] * 7, dtype=object)
        np.savez(folder / "pickle.npz", **ep)
        return "pickle.npz", "holds Python objects (a pickle)"

    return [truncated, zero_bytes, missing_key, unequal_lengths, image_dtype, image_shape, channels_first,
            action_dim_mismatch, image_size_mismatch, nan_reward, inf_action, action_out_of_bounds, pickled_objects]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c.__name__)
def test_bad_file_is_reported_with_its_name_and_problem(tmp_path, case):
    folder = _dataset(tmp_path)
    # action bounds are checked when the task is known (here: given by the user)
    name, problem = case(folder)
    before = file_digests(folder)
    with pytest.raises(DatasetError) as raised:
        scan_dataset(folder, task="walker-walk")
    message = str(raised.value)
    assert name in message and problem in message, message
    assert "--skip-bad" in message

    index = scan_dataset(folder, task="walker-walk", skip_bad=True)
    assert index.num_episodes == 3
    assert {p.path.name for p in index.skipped} == {name}
    store = load_store(folder, task="walker-walk", skip_bad=True)
    assert store.num_episodes == 3
    assert file_digests(folder) == before  # source files never touched


def test_all_problems_are_reported_at_once(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "empty.npz").write_bytes(b"")
    ep = make_episode(6)
    ep["reward"][1] = np.nan
    ep["image"] = ep["image"].astype(np.int16)
    _save(folder, "two_problems.npz", **ep)
    with pytest.raises(DatasetError) as raised:
        scan_dataset(folder)
    assert len(raised.value.problems) == 3
    assert "empty.npz" in str(raised.value) and str(raised.value).count("two_problems.npz") == 2


def test_pickle_payload_is_never_executed(tmp_path):
    folder = _dataset(tmp_path)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    ep = make_episode(6)
    ep["reward"] = np.array([Exploit()] * 7, dtype=object)
    np.savez(folder / "evil.npz", **ep)
    with pytest.raises(DatasetError, match="evil.npz.*pickle"):
        scan_dataset(folder)
    load_store(folder, skip_bad=True)
    assert not marker.exists()
    # pickle.dumps works on it, i.e. the payload is real
    assert b"open" in pickle.dumps(Exploit())


def test_empty_folder(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="empty folder"):
        scan_dataset(tmp_path / "nothing")


def test_folder_of_unrelated_files(tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "picture.png").write_bytes(b"\x89PNG")
    with pytest.raises(DatasetError, match=r"no episode files \(.npz, .hdf5\) among \['notes.txt', 'picture.png'\]"):
        scan_dataset(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such file or directory"):
        scan_dataset(tmp_path / "absent")


def test_hdf5_shard_with_a_missing_dataset(tmp_path):
    import h5py

    folder = tmp_path / "84px"
    folder.mkdir()
    write_hdf5_shard(folder / "shard0.hdf5", [make_episode(5), make_episode(5, seed=1)])
    with h5py.File(folder / "shard1.hdf5", "w") as f:
        f["observation"] = np.zeros((4, 3, 8, 8), np.uint8)
        f["action"] = np.zeros((4, 2), np.float32)
    with pytest.raises(DatasetError, match=r"shard1.hdf5: missing dataset\(s\) \['reward', 'discount', 'step_type'\]"):
        scan_dataset(folder)
    assert scan_dataset(folder, skip_bad=True).num_episodes == 2


def test_truncated_hdf5(tmp_path):
    folder = tmp_path / "84px"
    folder.mkdir()
    path = write_hdf5_shard(folder / "shard0.hdf5", [make_episode(5)])
    (folder / "cut.hdf5").write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match="cut.hdf5: not a readable HDF5 file"):
        scan_dataset(folder)


def test_nested_datasets_are_listed(tmp_path):
    for size in ("64px", "84px"):
        write_episode(tmp_path / "walker_walk" / "random" / size, make_episode(3))
    with pytest.raises(DatasetError, match="pass one of"):
        scan_dataset(tmp_path / "walker_walk" / "random")


def test_cli_reports_bad_input_without_traceback(tmp_path, capsys):
    folder = _dataset(tmp_path)
    (folder / "empty.npz").write_bytes(b"")
    assert main(["info", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "empty.npz: file is empty" in err and "Traceback" not in err
    assert main(["info", str(folder), "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "empty.npz" in out


def test_dataset_json_detects_missing_and_changed_files(tmp_path):
    from lompo.data import write_metadata
    from lompo.data.dataset import sha256_of

    folder = _dataset(tmp_path, n=3)
    files = sorted(folder.glob("*.npz"))
    write_metadata(folder, {"task": "walker-walk", "files": {p.name: sha256_of(p) for p in files}})
    assert scan_dataset(folder).num_episodes == 3
    files[0].unlink()  # a truncated download: one file never arrived
    write_episode(folder, make_episode(6, seed=42), name=files[1].name)  # another one replaced
    with pytest.raises(DatasetError) as raised:
        scan_dataset(folder)
    message = str(raised.value)
    assert f"{files[0].name}: listed in dataset.json but missing" in message
    assert f"{files[1].name}: content differs from the SHA-256 recorded in dataset.json" in message
    assert scan_dataset(folder, skip_bad=True).num_episodes == 1
