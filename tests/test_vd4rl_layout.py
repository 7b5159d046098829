"""Reading data in the exact layout V-D4RL publishes."""

import numpy as np

from lompo.cli import main
from lompo.data import EpisodeStore, scan_dataset, write_hdf5_shard
from lompo.data.store import load_store
from lompo.testing import synthetic_episode as make_episode


def _vd4rl_npz(folder, episode, stamp, stored_length=501):
    """A V-D4RL file: name carries the *stored* length (501), not necessarily the arrays' length."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp}-0a1b2c3d4e5f60718293a4b5c6d7e8f9-{stored_length}.npz"
    np.savez_compressed(path, **{k: v for k, v in episode.items() if k not in ("step", "episode_id")})
    return path


def _stored(store, episode):
    """The one store episode holding ``episode``'s actions (stores order episodes by content)."""
    found = [store.episode(i) for i in range(store.num_episodes)]
    found = [
        g
        for g in found
        if g["action"].shape == episode["action"].shape and np.array_equal(g["action"], episode["action"])
    ]
    assert len(found) == 1
    return found[0]


def test_vd4rl_npz_folder(tmp_path):
    folder = tmp_path / "vd4rl" / "main" / "walker_walk" / "medium_replay" / "64px"
    episodes = [make_episode(7, seed=i) for i in range(3)]
    for i, ep in enumerate(episodes):
        _vd4rl_npz(folder, ep, f"2021110{i}T120000")
    index = scan_dataset(folder)
    assert index.task == "walker-walk"  # inferred from the path
    assert index.metadata is None
    assert index.num_episodes == 3 and index.num_transitions == 21
    assert index.image_shape == (8, 8, 3)
    np.testing.assert_allclose(index.returns, [ep["reward"][1:].sum() for ep in episodes], rtol=1e-6)
    store = load_store(folder)
    for ep in episodes:
        got = _stored(store, ep)
        for key in ("image", "action", "reward", "discount", "is_first", "is_last", "is_terminal"):
            np.testing.assert_array_equal(got[key], ep[key], err_msg=key)


def test_vd4rl_hdf5_shards(tmp_path):
    folder = tmp_path / "main" / "cheetah_run" / "expert" / "84px"
    folder.mkdir(parents=True)
    episodes = [make_episode(5 + i, size=12, seed=i, terminal=(i == 2)) for i in range(4)]
    write_hdf5_shard(folder / "shard_0.hdf5", episodes[:2])
    write_hdf5_shard(folder / "shard_1.hdf5", episodes[2:])
    index = scan_dataset(folder)
    assert index.task == "cheetah-run"
    assert [e.num_steps for e in index.episodes] == [6, 7, 8, 9]
    assert index.image_shape == (12, 12, 3)
    store = load_store(folder)
    assert store.num_episodes == 4
    for ep in episodes:
        got = _stored(store, ep)
        np.testing.assert_array_equal(got["image"], ep["image"])  # channels-first on disk, HWC here
        np.testing.assert_array_equal(got["action"], ep["action"])
        np.testing.assert_array_equal(got["is_first"], ep["is_first"])
        np.testing.assert_array_equal(got["is_last"], ep["is_last"])
        np.testing.assert_array_equal(got["is_terminal"], ep["is_terminal"])


def test_store_cache_is_keyed_by_content(tmp_path):
    folder = tmp_path / "data"
    for i in range(2):
        _vd4rl_npz(folder, make_episode(4, seed=i), f"2021110{i}T120000")
    first = load_store(folder)
    again = load_store(folder)
    assert again.directory == first.directory  # packed once, reused
    assert isinstance(again["image"], np.memmap)  # memory-mapped, not loaded
    _vd4rl_npz(folder, make_episode(4, seed=9), "20211101T120000")  # overwrite with new content
    changed = load_store(folder)
    assert changed.directory != first.directory
    np.testing.assert_array_equal(changed.episode(1)["image"], make_episode(4, seed=9)["image"])


def test_from_episodes_and_returns(tmp_path):
    episodes = [make_episode(3 + i, seed=i) for i in range(3)]
    store = EpisodeStore.from_episodes(episodes, tmp_path / "store")
    assert store.num_steps == 4 + 5 + 6 and store.num_transitions == 12
    np.testing.assert_allclose(store.episode_returns(), [ep["reward"][1:].sum() for ep in episodes], rtol=1e-6)


def test_info_on_vd4rl_tree(tmp_path, capsys):
    root = tmp_path / "main" / "walker_walk" / "random"
    for size in (64, 84):
        for i in range(2):
            _vd4rl_npz(root / f"{size}px", make_episode(4, size=size // 8, seed=i), f"2021110{i}T120000")
    assert main(["info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "64px" in out and "84px" in out and "walker-walk" in out
    assert main(["info", str(root / "64px"), "--json"]) == 0
