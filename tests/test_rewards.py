"""Success-classifier rewards: a classifier trained on a few labelled frames relabels a dataset by a
rule it has learned, and the new dataset differs from its source only in its rewards."""

import json

import numpy as np
import pytest
from PIL import Image

from lompo.cli import main
from lompo.data import read_episode, scan_dataset, write_episode
from lompo.data.dataset import episode_files, write_metadata
from lompo.errors import DatasetError
from lompo.rewards import read_labels
from lompo.testing import file_digests, synthetic_episode


def _episode(seed):
    """32 px frames of dim noise; on about half the steps a bright square ("success") is visible."""
    episode = synthetic_episode(30, size=32, seed=seed)
    rng = np.random.default_rng(seed)
    episode["image"] = rng.integers(0, 90, episode["image"].shape, dtype=np.uint8)
    success = rng.random(len(episode["image"])) < 0.5
    episode["image"][success, 8:24, 8:24] = 255
    return episode, success


@pytest.fixture
def labelled(tmp_path):
    data, truth = tmp_path / "data", {}
    for seed in range(3):
        episode, success = _episode(seed)
        truth[write_episode(data, episode, name=f"ep{seed}.npz").name] = success
    write_metadata(data, {"task": "cartpole-swingup"})
    rows = ["episode,step,label"] + [
        f"{name},{step},{int(truth[name][step])}" for name in ("ep0.npz", "ep1.npz") for step in range(0, 31, 3)
    ]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return data, truth


def test_a_classifier_learns_the_labelled_rule_and_relabels_only_rewards(tmp_path, labelled, capsys):
    data, truth = labelled
    before = file_digests(data)
    assert main(["reward", "train", "--labels", str(tmp_path / "labels.csv"), "--data", str(data),
                 "--out", str(tmp_path / "clf"), "--size", "32", "--steps", "150"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "clf" / "classifier.json").read_text())
    assert report["validation_accuracy"] >= 0.9 and report["labels"]["positive"] + report["labels"]["negative"] == 22
    assert "validation accuracy" in capsys.readouterr().out
    assert (
        main(["reward", "apply", str(tmp_path / "clf"), "--data", str(data), "--out", str(tmp_path / "relabelled")])
        == 0
    )
    assert file_digests(data) == before
    unseen = read_episode(tmp_path / "relabelled" / "ep2.npz")  # no label came from this episode
    source = read_episode(data / "ep2.npz")
    assert ((unseen["reward"][1:] > 0.5) == truth["ep2.npz"][1:]).mean() >= 0.9
    assert unseen["reward"][0] == 0
    for key in ("image", "action", "discount", "is_first", "is_last", "is_terminal"):
        np.testing.assert_array_equal(unseen[key], source[key])
    meta = json.loads((tmp_path / "relabelled" / "dataset.json").read_text())
    assert meta["reward_classifier"]["validation_accuracy"] == report["validation_accuracy"]
    assert meta["task"] == "cartpole-swingup" and scan_dataset(tmp_path / "relabelled").num_episodes == 3


def test_labels_from_folders_and_bad_label_lines_are_named(tmp_path, labelled):
    data, truth = labelled
    for label in (0, 1):
        (tmp_path / "frames" / str(label)).mkdir(parents=True)
    images = read_episode(episode_files(data)[0])["image"]
    for step, image in enumerate(images[:10]):
        Image.fromarray(image).save(tmp_path / "frames" / str(int(truth["ep0.npz"][step])) / f"{step}.png")
    frames, labels = read_labels(tmp_path / "frames", None, 32)
    assert frames.shape == (10, 32, 32, 3) and labels.sum() == truth["ep0.npz"][:10].sum()
    (tmp_path / "bad.csv").write_text("episode,step,label\nep0.npz,99,1\nmissing.npz,1,0\nep0.npz,x,1\n")
    with pytest.raises(DatasetError) as raised:
        read_labels(tmp_path / "bad.csv", data, 32)
    message = str(raised.value)
    assert "line 2: step 99 of 31" in message and "line 3: no episode file 'missing.npz'" in message
    assert "line 4: expected columns episode,step,label" in message
