"""LOMPO's mathematics pinned against hand computations (eq. 8, eq. 9, Algorithm 1)."""

import math

import numpy as np
import pytest
import torch

from lompo.algos.lompo import (
    PRESETS,
    LatentReplay,
    Lompo,
    LompoConfig,
    logprob_std,
    logprob_var,
    max_std,
    mean_disagreement,
    penalized_reward,
    world_model_loss,
)
from lompo.algos.world_model import LatentPolicy, batch_to_torch, sample_prior_members
from lompo.data import EpisodeStore
from lompo.nets import EnsembleRSSM, LatentState
from lompo.nets.rssm import gaussian_kl
from lompo.testing import synthetic_episode as make_episode

TINY = LompoConfig(**PRESETS["tiny"])


@pytest.fixture
def store(tmp_path):
    episodes = [make_episode(30, size=32, action_dim=2, seed=i, episode_id=i) for i in range(3)]
    return EpisodeStore.from_episodes(episodes, tmp_path / "store")


# --------------------------------------------------------------------- eq. 9 penalties
def _members():
    # K = 2 members, N = 1 state, Z = 2 dims, chosen so every quantity is easy by hand.
    means = torch.tensor([[[0.0, 0.0]], [[2.0, 0.0]]])
    stds = torch.tensor([[[1.0, 1.0]], [[1.0, 2.0]]])
    z = torch.tensor([[1.0, 0.0]])
    return z, means, stds


def _log_normal(x, mean, std):
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)


def test_logprob_penalties_by_hand():
    z, means, stds = _members()
    lp1 = _log_normal(1.0, 0.0, 1.0) + _log_normal(0.0, 0.0, 1.0)
    lp2 = _log_normal(1.0, 2.0, 1.0) + _log_normal(0.0, 0.0, 2.0)
    mean = (lp1 + lp2) / 2
    variance = ((lp1 - mean) ** 2 + (lp2 - mean) ** 2) / 2
    assert logprob_var(z, means, stds).item() == pytest.approx(variance, rel=1e-5)
    assert logprob_std(z, means, stds).item() == pytest.approx(math.sqrt(variance), rel=1e-5)
    assert variance == pytest.approx((math.log(2) / 2) ** 2, rel=1e-6)  # the two differ only by log 2


def test_disagreement_and_max_std_by_hand():
    z, means, stds = _members()
    # Mean of means (1, 0); each member 1 away -> mean distance 1.
    assert mean_disagreement(z, means, stds).item() == pytest.approx(1.0)
    # ||(1,1)|| = sqrt 2, ||(1,2)|| = sqrt 5 -> max sqrt 5.
    assert max_std(z, means, stds).item() == pytest.approx(math.sqrt(5))


def test_penalties_vanish_for_identical_members():
    means = torch.randn(1, 5, 3).expand(4, 5, 3)
    stds = torch.rand(1, 5, 3).expand(4, 5, 3) + 0.1
    z = torch.randn(5, 3)
    for fn in (logprob_var, logprob_std, mean_disagreement):
        assert torch.allclose(fn(z, means, stds), torch.zeros(5), atol=1e-5)


def test_penalized_reward_eq9():
    member_rewards = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 4.0]])  # (K=3, N=2)
    sampled = torch.tensor([10.0, 20.0])
    u = torch.tensor([0.5, 1.0])
    out = penalized_reward(member_rewards, sampled, u, penalty_scale=5.0)
    assert torch.allclose(out, torch.tensor([2.0 - 2.5, 2.0 - 5.0]))
    out = penalized_reward(member_rewards, sampled, u, penalty_scale=5.0, reward_source="sampled")
    assert torch.allclose(out, torch.tensor([10.0 - 2.5, 20.0 - 5.0]))
    assert torch.allclose(penalized_reward(member_rewards, sampled, u, 0.0), member_rewards.mean(0))


# --------------------------------------------------------------------- eq. 8
def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mq, mp = torch.randn(6, 5), torch.randn(6, 5)
    sq, sp = torch.rand(6, 5) + 0.1, torch.rand(6, 5) + 0.1
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mq, sq), torch.distributions.Normal(mp, sp)
    ).sum(-1)
    assert torch.allclose(gaussian_kl(mq, sq, mp, sp), expected, atol=1e-5)


def test_prior_members_are_uniform_over_steps():
    torch.manual_seed(0)
    draws = torch.cat([sample_prior_members(50, 7) for _ in range(400)])  # 20000 steps
    counts = torch.bincount(draws, minlength=7).double()
    expected = len(draws) / 7
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert chi2 < 22.5  # chi-square, 6 degrees of freedom, p = 0.001
    # One member per step: the draw varies along the sequence.
    assert len(set(sample_prior_members(50, 7).tolist())) > 1


def test_batched_priors_equal_step_by_step_priors():
    torch.manual_seed(0)
    rssm = EnsembleRSSM(action_dim=2, embed_dim=6, deter=8, stoch=3, hidden=10, ensemble=4, layers=2)
    batch, length = 3, 5
    embed, action = torch.randn(batch, length, 6), torch.randn(batch, length, 2)
    is_first = torch.zeros(batch, length, dtype=torch.bool)
    is_first[:, 0] = True
    members = torch.tensor([0, 3, 1, 1, 2])
    torch.manual_seed(1)
    post = rssm.observe(embed, action, is_first)
    batched_mean, batched_std = rssm.prior(post["deter"].transpose(0, 1), members)
    # Step by step: member k_t's own head on d_t, taken from the full ensemble evaluation.
    torch.manual_seed(1)
    state = rssm.initial(batch)
    for t in range(length):
        state, _, _ = rssm.observe_step(state, action[:, t], embed[:, t], is_first[:, t])
        all_mean, all_std = rssm.prior(state.deter)
        assert torch.allclose(batched_mean[t], all_mean[members[t]], atol=1e-6)
        assert torch.allclose(batched_std[t], all_std[members[t]], atol=1e-6)


def test_world_model_loss_uses_the_drawn_member(store):
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    batch = batch_to_torch(algo.model_sampler.sample(), "cpu")
    length = batch["image"].shape[1]
    results = []
    for member in range(TINY.ensemble):
        torch.manual_seed(5)
        loss, metrics = world_model_loss(algo.model, batch, algo.config, torch.full((length,), member))
        results.append(metrics["model/kl"])
    assert len(set(np.round(results, 6))) == TINY.ensemble  # each member gives its own KL
    assert all(np.isfinite(results))


# --------------------------------------------------------------------- Algorithm 1
def test_agent_batches_are_half_real_half_latent(store):
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    algo.fill_buffers()
    assert algo.real.size >= TINY.initial_real_transitions
    assert algo.latent.size >= TINY.initial_latent_transitions
    for _ in range(5):
        batch = algo.agent_batch()
        assert (batch["source"] == 0).sum() == TINY.sac_batch_size
        assert (batch["source"] == 1).sum() == TINY.sac_batch_size
        assert len(batch["obs"]) == 2 * TINY.sac_batch_size


def test_offline_slac_uses_real_transitions_only(store):
    algo = Lompo(LompoConfig(**{**PRESETS["tiny"], "model_rollouts": False}), store)
    algo.fill_buffers()
    assert algo.latent.size == 0
    assert (algo.agent_batch()["source"] == 0).all()


def test_rollouts_have_horizon_h_and_start_from_posterior_states(store):
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    batch = batch_to_torch(algo.refresh_sampler.sample(), "cpu")
    post = algo.posterior_states(batch)
    start = LatentState(post["deter"].flatten(0, 1), post["stoch"].flatten(0, 1))
    n = start.deter.shape[0]
    out, _ = algo.latent_rollouts(start, random_actions=True)
    assert len(out["reward"]) == n * TINY.horizon
    obs = out["obs"].reshape(TINY.horizon, n, -1)
    nxt = out["next_obs"].reshape(TINY.horizon, n, -1)
    np.testing.assert_allclose(obs[0], start.features.numpy(), atol=1e-6)  # first step: posterior states
    np.testing.assert_allclose(obs[1:], nxt[:-1], atol=1e-6)  # then chained model steps
    assert np.abs(out["action"]).max() <= 1.0


def test_real_transitions_pair_consecutive_posterior_states(store):
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    batch = batch_to_torch(algo.refresh_sampler.sample(), "cpu")
    torch.manual_seed(0)
    transitions, post = algo.encode_real_transitions(batch)
    feats = torch.cat([post["deter"], post["stoch"]], -1).numpy()
    length = batch["image"].shape[1]
    assert len(transitions["reward"]) == batch["image"].shape[0] * (length - 1)
    np.testing.assert_allclose(transitions["obs"][: length - 1], feats[0, :-1])
    np.testing.assert_allclose(transitions["next_obs"][: length - 1], feats[0, 1:])
    np.testing.assert_allclose(transitions["reward"][: length - 1], batch["reward"][0, 1:].numpy())


def test_replay_ring_buffer_wraps_and_round_trips():
    buf = LatentReplay(5, feature_dim=2, action_dim=1)
    for start in (0, 3):
        n = 3
        buf.add(
            {
                "obs": (start + torch.arange(n, dtype=torch.float32))[:, None].expand(n, 2),
                "action": torch.zeros(n, 1),
                "reward": torch.arange(start, start + n, dtype=torch.float32),
                "discount": torch.ones(n),
                "next_obs": torch.zeros(n, 2),
            }
        )
    assert buf.size == 5 and buf.pointer == 1
    assert sorted(buf.data["reward"].tolist()) == [1, 2, 3, 4, 5]
    state = buf.state_dict()
    assert all(isinstance(state[key], np.ndarray) for key in LatentReplay.KEYS)  # checkpoints hold numpy
    copy = LatentReplay(5, 2, 1)
    copy.load_state_dict(state)
    for key in LatentReplay.KEYS:
        assert torch.equal(copy.data[key], buf.data[key])
    batch = copy.sample(4, np.random.default_rng(0))
    assert batch["obs"].shape == (4, 2) and batch["obs"].device == copy.device


# --------------------------------------------------------------------- evaluation filter
def test_evaluation_filter_uses_the_previous_action(store):
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    frames = store["image"][:3]
    seen = []
    original = algo.model.rssm.observe_step

    def spy(state, action, embed, is_first=None, sample=True):
        seen.append((action.clone(), bool(is_first[0])))
        return original(state, action, embed, is_first, sample)

    algo.model.rssm.observe_step = spy
    policy: LatentPolicy = algo.policy()
    policy.reset()
    actions = [policy.act(f) for f in frames]
    assert seen[0][1] is True and torch.all(seen[0][0] == 0)  # episode start: zero state and action
    for (given, first), previous in zip(seen[1:], actions[:-1]):
        assert first is False
        np.testing.assert_allclose(given.squeeze(0).numpy(), previous, atol=1e-6)
    policy.reset()
    policy.act(frames[0])
    assert seen[-1][1] is True


# --------------------------------------------------------------------- networks
@pytest.mark.parametrize("size,layers,embed", [(32, 3, 4 * 8 * 4), (64, 4, 8 * 8 * 4), (128, 5, 8 * 8 * 4)])
def test_conv_encoder_decoder_shapes(size, layers, embed):
    from lompo.nets import ConvDecoder, ConvEncoder

    encoder = ConvEncoder(size, depth=8)
    convs = [m for m in encoder.net if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == layers and all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert encoder.embed_dim == embed  # 2 x 2 x channels of the last layer
    images = torch.randint(0, 256, (2, 3, size, size, 3), dtype=torch.uint8)
    assert encoder(images).shape == (2, 3, embed)
    decoder = ConvDecoder(20, size, depth=8)
    assert decoder(torch.randn(2, 3, 20)).shape == (2, 3, 3, size, size)


@pytest.mark.parametrize("channels_last", [False, True])
def test_decoder_first_layer_as_matmul_equals_the_transposed_convolution(channels_last):
    """The decoder computes its first transposed convolution (on a 1 x 1 input) as a matmul: same
    output and same gradients as running the layer as a convolution."""
    from lompo.nets import ConvDecoder

    torch.manual_seed(0)
    decoder = ConvDecoder(24, 64, depth=8)
    if channels_last:
        decoder.net[1:].to(memory_format=torch.channels_last)
    features = torch.randn(5, 24)
    target = torch.rand(5, 3, 64, 64) - 0.5

    def loss_and_grads(image):
        decoder.zero_grad()
        loss = ((image - target) ** 2).mean()
        loss.backward()
        return loss.item(), {n: p.grad.clone() for n, p in decoder.named_parameters()}

    fast, fast_grads = loss_and_grads(decoder(features))
    as_conv = decoder.net(decoder.linear(features).reshape(5, 32 * 8, 1, 1))
    plain, plain_grads = loss_and_grads(as_conv)
    assert fast == pytest.approx(plain, rel=1e-6)
    for name, grad in plain_grads.items():
        torch.testing.assert_close(fast_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("kernel,side", [(6, 30), (5, 13), (6, 13)])
def test_decoder_last_layer_by_parity_equals_the_transposed_convolution(kernel, side, channels_last):
    """The decoder's last layer computed per output parity (one convolution + pixel shuffle) gives the
    transposed convolution's output within float rounding and exactly its gradients (same backward)."""
    from lompo.nets.conv import LastLayerByParity

    torch.manual_seed(0)
    layer = torch.nn.ConvTranspose2d(8, 3, kernel, stride=2)
    x = torch.randn(4, 8, side, side)
    if channels_last:
        layer, x = layer.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    grads = []
    for run in (layer, lambda t: LastLayerByParity.apply(t, layer.weight, layer.bias)):
        layer.zero_grad()
        inputs = x.clone().requires_grad_()
        out = run(inputs)
        out.backward(torch.linspace(-1, 1, out.numel()).reshape(out.shape))
        grads.append((out.detach(), inputs.grad, layer.weight.grad.clone(), layer.bias.grad.clone()))
    (plain, *plain_grads), (parity, *parity_grads) = grads
    assert parity.shape == plain.shape == (4, 3, (side - 1) * 2 + kernel, (side - 1) * 2 + kernel)
    torch.testing.assert_close(parity, plain, rtol=0, atol=1e-5)
    for a, b in zip(parity_grads, plain_grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_paper_encoder_channels_for_64px():
    from lompo.nets import ConvEncoder

    convs = [m for m in ConvEncoder(64, depth=32).net if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256]
    assert ConvEncoder(64, depth=32).embed_dim == 1024


def test_discount_head_enters_the_loss(store):
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**{**PRESETS["tiny"], "discount_head": True}), store)
    batch = batch_to_torch(algo.model_sampler.sample(), "cpu")
    loss, metrics = world_model_loss(algo.model, batch, algo.config)
    assert "model/discount_nll" in metrics and metrics["model/discount_nll"] > 0
    loss.backward()
    assert algo.model.discount_head[0].weight.grad.abs().sum() > 0


def test_ensemble_layer_gradients_are_bit_identical_with_two_threads():
    """One member per time-step block repeats members; the gradient that sums the repeats must not
    depend on thread timing (weight[members] did: two processes of one seed drifted apart)."""
    from lompo.nets.mlp import EnsembleLinear

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(0)
        layer = EnsembleLinear(5, 230, 200)
        members = torch.randint(0, 5, (50,))
        x = torch.randn(50, 16, 230)
        grads = set()
        for _ in range(6):
            layer.zero_grad()
            layer(x, members).square().sum().backward()
            grads.add(layer.weight.grad.numpy().tobytes() + layer.bias.grad.numpy().tobytes())
        assert len(grads) == 1
        # and it is still member members[m] applied to block m
        m = 7
        expected = x[m] @ layer.weight[members[m]] + layer.bias[members[m]]
        torch.testing.assert_close(layer(x, members)[m], expected)
    finally:
        torch.set_num_threads(threads)
