from datetime import UTC

import numpy as np
import pytest
import torch

from lompo.data import EpisodeStore, SequenceSampler, TransitionSampler
from lompo.data.samplers import DeviceFrames
from lompo.errors import ConfigError
from lompo.testing import synthetic_episode as make_episode

LENGTHS = [12, 3, 20, 7]  # transitions per episode; one episode shorter than the window


@pytest.fixture
def store(tmp_path):
    episodes = [make_episode(n, seed=i, episode_id=i, terminal=(i == 3)) for i, n in enumerate(LENGTHS)]
    return EpisodeStore.from_episodes(episodes, tmp_path / "store")


def test_windows_never_cross_episodes_and_cover_all_starts(store):
    length = 6
    sampler = SequenceSampler(
        store, batch_size=64, length=length, seed=0, keys=("episode_id", "step", "is_first", "image")
    )
    seen = set()
    for _ in range(200):
        batch = sampler.sample()
        assert batch["image"].shape == (64, length, 8, 8, 3) and batch["image"].dtype == np.uint8
        ids, steps, mask = batch["episode_id"], batch["step"], batch["mask"]
        assert (ids == ids[:, :1]).all()  # one episode per window
        valid_steps = np.where(mask, steps, -1)
        for row_steps, row_mask, row_id in zip(steps, mask, ids[:, 0]):
            n_steps = LENGTHS[row_id] + 1
            assert (row_steps[row_mask] == row_steps[0] + np.arange(row_mask.sum())).all()
            assert row_mask.sum() == min(length, n_steps)
            seen.add((int(row_id), int(row_steps[0])))
        assert (valid_steps[mask] >= 0).all()
    expected = {(i, s) for i, n in enumerate(LENGTHS) for s in range(max(n + 1 - length + 1, 1))}
    assert seen == expected


def test_short_episode_is_padded_with_mask(store):
    sampler = SequenceSampler(store, batch_size=256, length=6, seed=1, keys=("episode_id", "step", "is_last"))
    batch = sampler.sample()
    short = batch["episode_id"][:, 0] == 1  # 4 steps < 6
    assert short.any()
    assert (batch["mask"][short] == [True] * 4 + [False] * 2).all()
    assert (batch["step"][short][:, 4:] == 3).all()  # padding repeats the last step


def test_same_seed_same_batches(store):
    a = SequenceSampler(store, 8, 5, seed=3)
    b = SequenceSampler(store, 8, 5, seed=3)
    c = SequenceSampler(store, 8, 5, seed=4)
    for _ in range(3):
        x, y, z = a.sample(), b.sample(), c.sample()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    assert not np.array_equal(x["image"], z["image"])
    t1, t2 = TransitionSampler(store, 16, seed=5), TransitionSampler(store, 16, seed=5)
    for _ in range(3):
        x, y = t1.sample(), t2.sample()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])


def test_frame_stack_repeats_the_first_frame_at_episode_start(store):
    sampler = TransitionSampler(store, batch_size=4, frame_stack=3, seed=0)
    start = int(store.episode_starts[2])
    t = np.array([start, start + 1, start + 2, start + 5])
    index = sampler.stack_index(t, np.full(4, start))
    np.testing.assert_array_equal(index[0], [start, start, start])
    np.testing.assert_array_equal(index[1], [start, start, start + 1])
    np.testing.assert_array_equal(index[2], [start, start + 1, start + 2])
    np.testing.assert_array_equal(index[3], [start + 3, start + 4, start + 5])
    frames = sampler._frames(index)  # (B, 9, H, W) channels first
    first = store["image"][start].transpose(2, 0, 1)
    for k in range(3):
        np.testing.assert_array_equal(frames[0, 3 * k : 3 * k + 3], first)


def test_transition_batches_have_the_documented_layout(store):
    sampler = TransitionSampler(store, batch_size=32, frame_stack=3, n_step=3, seed=0)
    batch = sampler.sample()
    assert batch["obs"].shape == (32, 9, 8, 8) and batch["obs"].dtype == np.uint8
    assert batch["next_obs"].shape == (32, 9, 8, 8)
    assert batch["action"].shape == (32, 2) and batch["reward"].shape == (32,)
    hwc = TransitionSampler(store, batch_size=2, frame_stack=2, channels_first=False, seed=0).sample()
    assert hwc["obs"].shape == (2, 2, 8, 8, 3)


def test_n_step_returns_by_hand(store):
    gamma = 0.9
    sampler = TransitionSampler(store, batch_size=1, n_step=3, gamma=gamma)
    r, d = store["reward"], store["discount"]
    # Middle of episode 0: full 3-step backup.
    t, last = np.array([2]), np.array([12])
    reward, discount, next_t = sampler.n_step_targets(t, last)
    assert reward[0] == pytest.approx(r[3] + gamma * r[4] + gamma**2 * r[5], rel=1e-6)
    assert discount[0] == pytest.approx(gamma**3) and next_t[0] == 5
    # Near the end of episode 0: truncated to the one remaining step.
    reward, discount, next_t = sampler.n_step_targets(np.array([11]), last)
    assert reward[0] == pytest.approx(r[12], rel=1e-6)
    assert discount[0] == pytest.approx(gamma) and next_t[0] == 12
    # Episode 3 ends in a terminal step (discount 0): no bootstrap.
    start3 = int(store.episode_starts[3])
    last3 = start3 + LENGTHS[3]
    assert d[last3] == 0
    reward, discount, next_t = sampler.n_step_targets(np.array([last3 - 2]), np.array([last3]))
    assert reward[0] == pytest.approx(r[last3 - 1] + gamma * r[last3], rel=1e-6)
    assert discount[0] == 0 and next_t[0] == last3


def test_sampled_transitions_match_the_store(store):
    sampler = TransitionSampler(store, batch_size=64, frame_stack=1, n_step=1, gamma=0.5, seed=2)
    batch = sampler.sample()
    image = np.asarray(store["image"]).transpose(0, 3, 1, 2)
    for obs, action, reward, next_obs in zip(batch["obs"], batch["action"], batch["reward"], batch["next_obs"]):
        t = int(np.flatnonzero((image == obs).all(axis=(1, 2, 3)))[0])
        assert not store["is_last"][t]
        np.testing.assert_array_equal(action, store["action"][t + 1])
        assert reward == pytest.approx(store["reward"][t + 1])
        np.testing.assert_array_equal(next_obs, image[t + 1])


def test_two_builds_of_one_dataset_pack_and_sample_alike(tmp_path):
    """Collectors name episode files by wall-clock time: the same episodes written at other times
    (so sorted by name in another order) must give the same store and the same batches."""
    import shutil
    from datetime import datetime, timedelta

    from lompo.data import load_store
    from lompo.data.episodes import episode_filename, write_episode

    first = tmp_path / "a" / "cartpole_swingup" / "random" / "24px"
    second = tmp_path / "b" / "cartpole_swingup" / "random" / "24px"
    rng = np.random.default_rng(0)
    episodes = [make_episode(int(rng.integers(5, 12)), size=24, action_dim=1, seed=i, episode_id=i) for i in range(6)]
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for i, episode in enumerate(episodes):  # build a: written in order; build b: in reverse order
        uid = f"{i:032x}"
        write_episode(first, episode, name=episode_filename(len(episode["reward"]), when + timedelta(seconds=i), uid))
        write_episode(second, episode, name=episode_filename(len(episode["reward"]), when - timedelta(seconds=i), uid))
    assert sorted(p.name[16:] for p in first.iterdir()) == sorted(p.name[16:] for p in second.iterdir())
    stores = [load_store(folder, task="cartpole-swingup", cache_root=tmp_path / "cache") for folder in (first, second)]
    assert stores[0].directory == stores[1].directory  # one content, one store
    shutil.rmtree(tmp_path / "cache")
    a = load_store(first, task="cartpole-swingup", cache_root=tmp_path / "cache_a")
    b = load_store(second, task="cartpole-swingup", cache_root=tmp_path / "cache_b")
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    batches = [SequenceSampler(s, 5, 4, seed=3).sample() for s in (a, b)]
    for key in batches[0]:
        np.testing.assert_array_equal(batches[0][key], batches[1][key])


def test_proprioception_comes_from_the_transition_and_its_n_step_successor(tmp_path):
    episodes = []
    for i in range(3):
        episode = make_episode(12, seed=i, episode_id=i)
        episode["state"] = np.stack([episode["step"], episode["episode_id"]], 1).astype(np.float32)
        episodes.append(episode)
    store = EpisodeStore.from_episodes(episodes, tmp_path / "store")
    batch = TransitionSampler(store, 64, frame_stack=2, n_step=3, seed=0, proprio=True).sample()
    t, episode = batch["proprio"][:, 0].astype(int), batch["proprio"][:, 1].astype(int)
    advanced = batch["next_proprio"][:, 0] - batch["proprio"][:, 0]
    assert ((advanced >= 1) & (advanced <= 3)).all() and (batch["next_proprio"][:, 1] == episode).all()
    expected = np.stack([episodes[e]["action"][s + 1] for e, s in zip(episode, t, strict=True)])
    np.testing.assert_array_equal(batch["action"], expected)
    sequences = SequenceSampler(store, 4, 5, keys=("image", "proprio")).sample()
    assert sequences["proprio"].shape == (4, 5, 2)
    with pytest.raises(ConfigError, match="proprioception"):
        TransitionSampler(EpisodeStore.from_episodes([make_episode(5)], tmp_path / "plain"), 4, proprio=True)


@pytest.mark.parametrize("channels_first", [True, False])
def test_frames_in_device_memory_give_the_same_batches(store, channels_first):
    """resident_frames: the frames gathered from a copy in device memory (here the CPU's) are the store's,
    for the same draws; only the frames become tensors."""
    frames = DeviceFrames(store, "cpu", chunk=5)  # several chunks
    assert torch.equal(frames.images, torch.from_numpy(np.array(store["image"])))
    pairs = [
        (SequenceSampler(store, 16, 6, seed=3), SequenceSampler(store, 16, 6, seed=3, frames=frames)),
        (
            TransitionSampler(store, 16, frame_stack=3, n_step=2, seed=3, channels_first=channels_first),
            TransitionSampler(store, 16, frame_stack=3, n_step=2, seed=3, channels_first=channels_first, frames=frames),
        ),
    ]
    for host, resident in pairs:
        for _ in range(3):
            expected, got = host.sample(), resident.sample()
            assert expected.keys() == got.keys()
            for key in expected:
                value = got[key].numpy() if isinstance(got[key], torch.Tensor) else got[key]
                assert isinstance(got[key], torch.Tensor) == (key in ("image", "obs", "next_obs")), key
                np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_host_arrays_reach_the_device_unchanged():
    """``host_to_device`` (on a GPU: through pinned memory, queued without waiting) keeps values and dtypes,
    also of reversed views and flags."""
    import torch

    from lompo.data.samplers import host_to_device

    image = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)[:, ::-1]  # a negative-stride view
    flags = np.array([True, False, True])
    assert torch.equal(host_to_device(image, "cpu"), torch.from_numpy(image.copy()))
    moved = host_to_device(flags, torch.device("cpu"))
    assert moved.dtype == torch.bool and moved.tolist() == [True, False, True]
