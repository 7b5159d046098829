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


def test_episodes_of_other_dtypes_round_trip_exactly_whichever_is_packed_first(tmp_path):
    """Every episode is converted to the store's canonical dtypes on its own: an episode with int64
    rewards or int8 actions packed first no longer truncates every other episode's values."""
    from lompo.data import load_store
    from lompo.data.episodes import write_episode

    folder = tmp_path / "mixed"
    sources = []
    for i, (reward_dtype, action_dtype) in enumerate(
        [(np.int64, np.int8), (np.float64, np.float64), (np.float16, np.float32), (np.float32, np.int16)]
    ):
        episode = make_episode(8, seed=i)
        rng = np.random.default_rng(i)
        if np.issubdtype(reward_dtype, np.integer):
            episode["reward"] = rng.integers(0, 50, 9).astype(reward_dtype)
        else:
            episode["reward"] = (rng.normal(size=9) * 10).astype(reward_dtype)
        if np.issubdtype(action_dtype, np.integer):
            episode["action"] = rng.integers(-1, 2, episode["action"].shape).astype(action_dtype)
        else:
            episode["action"] = rng.uniform(-1, 1, episode["action"].shape).astype(action_dtype)
        episode["reward"][0], episode["action"][0] = 0, 0
        write_episode(folder, episode, name=f"ep{i}.npz")
        sources.append(episode)
    store = load_store(folder)
    assert store["reward"].dtype == np.float32 and store["action"].dtype == np.float32
    stored = {store.episode(i)["reward"].tobytes(): store.episode(i)["action"] for i in range(store.num_episodes)}
    assert len(stored) == 4
    for episode in sources:
        key = episode["reward"].astype(np.float32).tobytes()
        assert key in stored, "an episode's rewards changed when packed"
        np.testing.assert_array_equal(stored[key], episode["action"].astype(np.float32))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e.__setitem__("reward", np.full(9, 1e300)), "beyond float32's range"),
        (lambda e: e.__setitem__("reward", np.full(9, 2**40 + 1, np.int64)), "cannot represent exactly"),
        (lambda e: e.__setitem__("is_first", np.full(9, 0.5)), "other than true/false"),
        (lambda e: e["is_first"].__setitem__(4, True), "is_first' must be true at step 0 and only there"),
        (lambda e: e["is_last"].__setitem__(3, True), "is_last' must be true at the last step"),
        (lambda e: e["is_terminal"].__setitem__(2, True), "is_terminal' is true before the last step"),
        (lambda e: e.__setitem__("discount", np.full(9, 5.0, np.float32)), "outside [0, 1]"),
    ],
)
def test_values_that_would_change_or_mislead_training_are_refused_by_name(change, message):
    from lompo.data.episodes import validate_arrays

    episode = make_episode(8)
    change(episode)
    problems = validate_arrays(dict(episode))
    assert any(message in p for p in problems), problems


def test_packing_streams_images_into_the_store_and_keeps_them_exact(tmp_path):
    """A long episode's images go from the archive to the memory-mapped store one chunk at a time: the
    Python heap during packing stays far below the image array (so a 1 GB member does not need 1 GB),
    and the stored pixels are the file's, also for a Fortran-ordered array."""
    import tracemalloc

    from lompo.data.dataset import scan_dataset
    from lompo.data.store import EpisodeStore

    folder = tmp_path / "data"
    long = make_episode(3000, size=64, seed=1)
    long["image"] = (np.arange(long["image"].size, dtype=np.int64) % 251).astype(np.uint8).reshape(long["image"].shape)
    write_episode(folder, long, name="long.npz")  # 35 MiB of images, compressible (fast to write)
    fortran = make_episode(20, size=64, seed=2)
    fortran["image"] = np.asfortranarray(fortran["image"])
    np.savez_compressed(folder / "fortran.npz", **fortran)
    index = scan_dataset(folder)  # (hashing reads files in fixed-size blocks)
    tracemalloc.start()
    store = EpisodeStore.from_index(index, cache_root=tmp_path / "cache")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < long["image"].nbytes / 5, f"packing held {peak / 2**20:.1f} MiB"
    images = {len(store.episode(i)["image"]): store.episode(i)["image"] for i in range(store.num_episodes)}
    np.testing.assert_array_equal(images[3001], long["image"])
    np.testing.assert_array_equal(images[21], fortran["image"])
