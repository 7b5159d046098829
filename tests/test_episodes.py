import numpy as np
import pytest

from lompo.data import EpisodeBuilder, read_episode, write_episode
from lompo.data.episodes import episode_filename, inspect_episode
from lompo.errors import EpisodeFileError
from lompo.testing import file_digests
from lompo.testing import synthetic_episode as make_episode


def test_npz_round_trip_keeps_every_array_and_key(tmp_path):
    episode = make_episode(12)
    episode["orientations"] = np.random.default_rng(1).normal(size=(13, 14)).astype(np.float32)
    path = write_episode(tmp_path, episode)
    loaded = read_episode(path)
    assert set(loaded) == set(episode)
    for key, value in episode.items():
        assert loaded[key].dtype == value.dtype, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    assert path.name.endswith("-13.npz")  # stored step count, as V-D4RL names files
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_reading_never_modifies_the_file(tmp_path):
    path = write_episode(tmp_path, make_episode(5))
    before = file_digests(tmp_path)
    read_episode(path)
    inspect_episode(path)
    assert file_digests(tmp_path) == before


def test_builder_follows_the_file_convention():
    builder = EpisodeBuilder(action_dim=2)
    frame = np.zeros((4, 4, 3), np.uint8)
    builder.add_first(frame, state=np.ones(3))
    builder.add_step([0.5, -0.5], 1.0, frame, state=np.ones(3))
    builder.add_step([0.1, 0.2], 2.0, frame, discount=0.0, state=np.ones(3))
    ep = builder.finish(terminated=True)
    np.testing.assert_array_equal(ep["action"][0], [0, 0])  # zero first action
    np.testing.assert_array_equal(ep["reward"], [0, 1, 2])
    np.testing.assert_array_equal(ep["is_first"], [True, False, False])
    np.testing.assert_array_equal(ep["is_last"], [False, False, True])
    np.testing.assert_array_equal(ep["is_terminal"], [False, False, True])
    assert ep["discount"][-1] == 0 and ep["state"].shape == (3, 3)


def test_older_files_without_flags_get_them(tmp_path):
    episode = make_episode(4)
    for key in ("discount", "is_first", "is_last", "is_terminal"):
        del episode[key]
    path = tmp_path / "old.npz"
    np.savez(path, **episode)
    loaded = read_episode(path)
    np.testing.assert_array_equal(loaded["is_first"], [True, False, False, False, False])
    np.testing.assert_array_equal(loaded["is_last"], [False, False, False, False, True])
    assert loaded["discount"].tolist() == [1.0] * 5


def test_writing_an_invalid_episode_is_refused(tmp_path):
    episode = make_episode(4)
    episode["reward"] = episode["reward"][:-1]
    with pytest.raises(EpisodeFileError, match="different lengths"):
        write_episode(tmp_path, episode)
    assert list(tmp_path.iterdir()) == []


def test_filename_format():
    name = episode_filename(501, uid="abc")
    stamp, uid, length = name[:-4].split("-")
    assert len(stamp) == 15 and uid == "abc" and length == "501"
