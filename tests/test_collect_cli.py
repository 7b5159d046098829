import json

import numpy as np

from lompo.cli import main
from lompo.data import scan_dataset
from lompo.data.store import load_store
from lompo.testing import file_digests


def test_collect_random_writes_valid_vd4rl_folders(tmp_path, capsys):
    out = tmp_path / "datasets"
    code = main(
        [
            "collect",
            "--task",
            "cartpole-swingup",
            "--recipe",
            "random",
            "--episodes",
            "2",
            "--image-size",
            "32,24",
            "--render",
            "fast",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    folders = [out / "cartpole_swingup" / "random" / f"{s}px" for s in (32, 24)]
    for folder, size in zip(folders, (32, 24)):
        meta = json.loads((folder / "dataset.json").read_text())
        assert meta["task"] == "cartpole-swingup" and meta["recipe"] == "random"
        assert meta["image_size"] == size and meta["render_profile"] == "fast" and meta["action_repeat"] == 2
        assert set(meta["files"]) == {p.name for p in folder.glob("*.npz")} and len(meta["files"]) == 2
        assert meta["statistics"]["timesteps"] == 1000
        index = scan_dataset(folder)
        assert index.image_shape == (size, size, 3) and index.num_transitions == 1000
    # both sizes hold the same episodes: same names, same actions and rewards
    a, b = (sorted(f.glob("*.npz")) for f in folders)
    assert [p.name for p in a] == [p.name for p in b]
    with np.load(a[0]) as x, np.load(b[0]) as y:
        np.testing.assert_array_equal(x["action"], y["action"])
        assert x["action"][0].tolist() == [0.0]
        assert "physics_state" in x and "state" in x

    assert main(["info", str(folders[0])]) == 0
    out_text = capsys.readouterr().out
    assert "| Dataset | Timesteps | Episodes | Mean |" in out_text and "render profile fast" in out_text
    store = load_store(folders[0])
    assert store.num_transitions == 1000


def test_collect_resumes_without_duplicates(tmp_path):
    out = tmp_path / "d"
    args = [
        "collect",
        "--task",
        "cartpole-swingup",
        "--episodes",
        "2",
        "--image-size",
        "16",
        "--render",
        "fast",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    folder = out / "cartpole_swingup" / "random" / "16px"
    names = sorted(p.name for p in folder.glob("*.npz"))
    first = file_digests(folder)
    # simulate an interruption that lost the second episode, then rerun with a larger target
    (folder / names[1]).unlink()
    (folder / f".{names[1]}.abc123.tmp").write_bytes(b"half an episode")  # left by a SIGKILL
    assert main([*args[:3], "--episodes", "3", *args[5:]]) == 0
    now = sorted(p.name for p in folder.glob("*.npz"))
    assert not list(folder.glob(".*.tmp"))
    assert len(now) == 3 and names[0] in now
    assert file_digests(folder)[names[0]] == first[names[0]]  # untouched
    uids = [n.split("-")[1] for n in now]
    assert len(set(uids)) == 3 and names[1].split("-")[1] in uids  # regenerated with the same identity


def test_quickstart_runs(tmp_path, capsys):
    assert (
        main(["quickstart", "--episodes", "1", "--preset", "tiny", "--out", str(tmp_path / "q"), "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "Timesteps" in out and "| LOMPO |" in out and "world model: reward R²" in out
    assert "filtered with other actions" in out and "world model's belief: the LOMPO policy earned" in out
    assert (tmp_path / "q" / "lompo-tiny-s0" / "final.json").exists()


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["collect", "--task", "walker-fly", "--episodes", "1", "--out", str(tmp_path)]) == 2
    assert "unknown task 'walker-fly'" in capsys.readouterr().err
    assert (
        main(
            ["collect", "--task", "walker-walk", "--recipe", "expert", "--behaviour", "nope=1", "--out", str(tmp_path)]
        )
        == 2
    )
    assert "unknown behaviour setting 'nope'" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
