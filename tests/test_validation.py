"""Every kind of bad input (docs/reliability.md) gives an error naming the file and the problem."""

import pickle
import re

import numpy as np
import pytest

from lompo.cli import main
from lompo.data import scan_dataset, write_episode
from lompo.data.store import load_store, verified
from lompo.errors import DatasetError
from lompo.testing import BAD_INPUTS, CORPUS_TASK, FILE_CASES, file_digests, write_corpus
from lompo.testing import synthetic_episode as make_episode


def _dataset(tmp_path, n=3):
    folder = tmp_path / "data"
    for i in range(n):
        write_episode(folder, make_episode(6, seed=i), name=f"good{i}.npz")
    return folder


def _save(folder, name, **arrays):
    np.savez(folder / name, **arrays)
    return folder / name


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.name)
def test_bad_file_is_reported_with_its_name_and_problem(tmp_path, case):
    folder = tmp_path / "data"
    folder.mkdir()
    case.build(folder)
    before = file_digests(folder)
    # action bounds are checked when the task is known (here: given by the user)
    # (a scan reads headers; what only decompression finds is found before a store is packed)
    with pytest.raises(DatasetError) as raised:
        verified(scan_dataset(folder, task=CORPUS_TASK), always=True)
    message = str(raised.value)
    assert case.file in message and case.problem in message, message
    assert "--skip-bad" in message

    index = verified(scan_dataset(folder, task=CORPUS_TASK, skip_bad=True), skip_bad=True, always=True)
    assert index.num_episodes == 3
    assert {p.path.name for p in index.skipped} == {case.file}
    store = load_store(folder, task=CORPUS_TASK, skip_bad=True)
    assert store.num_episodes == 3
    assert file_digests(folder) == before  # source files never touched


def test_whole_corpus_through_the_cli(tmp_path, capsys):
    """Every corpus case, as a user meets it: `lompo info` exits 2 with one clear line per problem
    (file and problem named, no traceback), `--skip-bad` loads the rest, and no file changes."""
    built = write_corpus(tmp_path / "corpus")
    assert {case.name for case, _ in built} == {case.name for case in BAD_INPUTS}
    for case, folder in built:
        before = file_digests(folder)
        assert main(["info", str(folder), "--task", CORPUS_TASK]) == 2, case.name
        err = capsys.readouterr().err
        assert case.problem in err and case.file in err and "Traceback" not in err, (case.name, err)
        code = main(["info", str(folder), "--task", CORPUS_TASK, "--skip-bad"])
        out, err = capsys.readouterr()
        if case.good_episodes and case.skippable:
            episodes_row = re.search(rf"\| {case.name} \| \d+ \| {case.good_episodes} \|", out)
            assert code == 0 and f"skipped      {folder / case.file}" in out and episodes_row, (case.name, out)
        else:
            assert code == 2 and case.problem in err, (case.name, err)
        assert file_digests(folder) == before, case.name


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


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such file or directory"):
        scan_dataset(tmp_path / "absent")


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
    from lompo.files import sha256_of

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


def test_train_stops_on_a_bad_file_or_skips_it(tmp_path, tiny_dataset, capsys):
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(tiny_dataset, folder)
    (folder / "empty.npz").write_bytes(b"")
    before = file_digests(folder)
    command = ["train", "--algo", "bc", "--data", str(folder), "--preset", "tiny", "--no-progress"]
    assert main([*command, "--out", str(tmp_path / "stopped")]) == 2
    err = capsys.readouterr().err
    assert "empty.npz: file is empty" in err and "--skip-bad" in err and "Traceback" not in err
    assert main([*command, "--out", str(tmp_path / "run"), "--skip-bad"]) == 0
    assert f"skipped {folder / 'empty.npz'}: file is empty" in capsys.readouterr().out
    assert file_digests(folder) == before


def test_a_file_removed_during_the_scan_is_named(tmp_path, monkeypatch):
    """The folder is listed, then a file disappears before it is read (another process cleaning up)."""
    import lompo.data.dataset as dataset_module

    folder = _dataset(tmp_path)
    listed = dataset_module.episode_files

    def list_then_remove(root):
        files = listed(root)
        files[1].unlink()
        return files

    monkeypatch.setattr(dataset_module, "episode_files", list_then_remove)
    with pytest.raises(DatasetError, match="removed during the scan") as raised:
        scan_dataset(folder)
    assert "good1.npz" in str(raised.value)
    (folder / "good1.npz").write_bytes(b"")  # removed again by the next listing
    assert scan_dataset(folder, skip_bad=True).num_episodes == 2
