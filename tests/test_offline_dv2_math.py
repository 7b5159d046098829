"""Offline DV2's equations against hand computations (V-D4RL eq. 1, DreamerV2's KL balancing)."""

import math

import pytest
import torch

from lompo.algos.offline_dv2 import (
    PRESETS,
    Actor,
    OfflineDV2Config,
    WorldModel,
    actor_loss,
    balanced_kl,
    categorical_kl,
    critic_loss,
    disagreement_penalized_reward,
    imagine,
    lambda_returns,
    penalty_across_actions,
    probability_disagreement,
    trajectory_weights,
)
from lompo.nets import LatentState
from lompo.nets.discrete_rssm import straight_through_onehot


def test_straight_through_samples_are_one_hot_with_the_gradient_of_the_probabilities():
    torch.manual_seed(0)
    logits = torch.randn(4, 32, 32, requires_grad=True)
    sample, probs = straight_through_onehot(logits, generator=torch.Generator().manual_seed(1))
    assert torch.equal(sample.detach().sum(-1), torch.ones(4, 32))
    assert set(sample.detach().unique().tolist()) == {0.0, 1.0}
    weights = torch.randn(4, 32, 32)
    (grad_sample,) = torch.autograd.grad((sample * weights).sum(), logits)
    (grad_probs,) = torch.autograd.grad((torch.softmax(logits, -1) * weights).sum(), logits)
    assert torch.allclose(grad_sample, grad_probs, atol=1e-6)
    # samples follow the probabilities: a 90 % class is drawn about 90 % of the time
    skewed = torch.log(torch.tensor([0.9, 0.05, 0.05])).expand(20000, 3)
    drawn, _ = straight_through_onehot(skewed, generator=torch.Generator().manual_seed(2))
    assert drawn[:, 0].mean().item() == pytest.approx(0.9, abs=0.01)


def test_unimix_mixes_one_percent_uniform():
    logits = torch.tensor([[[50.0, 0.0, 0.0, 0.0]]])
    _, probs = straight_through_onehot(logits, unimix=0.01)
    assert torch.allclose(probs, torch.tensor([[[0.9925, 0.0025, 0.0025, 0.0025]]]), atol=1e-6)


def test_categorical_kl_matches_torch_distributions():
    torch.manual_seed(0)
    q = torch.softmax(torch.randn(5, 3, 4), -1)
    p = torch.softmax(torch.randn(5, 3, 4), -1)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=q), torch.distributions.Categorical(probs=p)
    ).sum(-1)
    assert torch.allclose(categorical_kl(q, p), expected, atol=1e-6)


def test_kl_balancing_by_hand():
    # one variable, two classes: q = (0.5, 0.5), p = (0.9, 0.1)
    post_logits = torch.zeros(1, 1, 2, requires_grad=True)
    prior_logits = torch.log(torch.tensor([[[0.9, 0.1]]])).requires_grad_(True)
    kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    loss, value = balanced_kl(torch.softmax(post_logits, -1), torch.softmax(prior_logits, -1), 0.8, free_nats=0.0)
    assert value.item() == pytest.approx(kl, rel=1e-5) and loss.item() == pytest.approx(kl, rel=1e-5)
    loss.backward()
    # the prior gets 0.8 of the plain KL's gradient, the posterior 0.2
    post_plain = post_logits.detach().clone().requires_grad_(True)
    prior_plain = prior_logits.detach().clone().requires_grad_(True)
    categorical_kl(torch.softmax(post_plain, -1), torch.softmax(prior_plain, -1)).sum().backward()
    assert torch.allclose(prior_logits.grad, 0.8 * prior_plain.grad, atol=1e-6)
    assert torch.allclose(post_logits.grad, 0.2 * post_plain.grad, atol=1e-6)
    # below the free nats: the posterior side is the floor and does not move; the prior side still learns
    post_logits.grad = prior_logits.grad = None
    loss, _ = balanced_kl(torch.softmax(post_logits, -1), torch.softmax(prior_logits, -1), 0.8, free_nats=1.0)
    assert loss.item() == pytest.approx(0.8 * kl + 0.2 * 1.0, rel=1e-5)
    loss.backward()
    assert torch.count_nonzero(post_logits.grad) == 0
    assert torch.allclose(prior_logits.grad, 0.8 * prior_plain.grad, atol=1e-6)


def test_lambda_returns_by_hand():
    reward = torch.tensor([1.0, 2.0])
    value = torch.tensor([10.0, 20.0, 30.0])
    discount = torch.tensor([0.9, 0.5])
    lam = 0.8
    r1 = 2.0 + 0.5 * ((1 - lam) * 30.0 + lam * 30.0)  # R_2 = V_2
    r0 = 1.0 + 0.9 * ((1 - lam) * 20.0 + lam * r1)
    assert torch.allclose(lambda_returns(reward, value, discount, lam), torch.tensor([r0, r1]))
    # lambda = 0: one-step TD targets; lambda = 1: discounted return bootstrapped at the end
    assert torch.allclose(lambda_returns(reward, value, discount, 0.0), torch.tensor([1 + 0.9 * 20, 2 + 0.5 * 30]))
    assert torch.allclose(
        lambda_returns(reward, value, discount, 1.0), torch.tensor([1 + 0.9 * (2 + 0.5 * 30), 2 + 0.5 * 30])
    )
    with pytest.raises(ValueError, match="H \\+ 1 values"):
        lambda_returns(reward, value[:2], discount)


def test_mean_disagreement_and_penalty_by_hand():
    # K = 2 members, one state, one variable of 2 classes: p_1 = (1, 0), p_2 = (0, 1), mean (0.5, 0.5)
    members = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]]).unsqueeze(1)  # (K=2, batch=1, vars=1, classes=2)
    u = probability_disagreement(members)
    assert u.shape == (1,) and u.item() == pytest.approx(math.sqrt(0.5))
    assert torch.equal(probability_disagreement(torch.ones(7, 3, 32, 32) / 32), torch.zeros(3))  # agreement: 0
    assert disagreement_penalized_reward(torch.tensor([1.0]), u, 10.0).item() == pytest.approx(1 - 10 * math.sqrt(0.5))


def test_masked_kl_ignores_padding():
    q = torch.softmax(torch.randn(2, 3, 4, 5), -1)
    p = torch.softmax(torch.randn(2, 3, 4, 5), -1)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    _, value = balanced_kl(q, p, free_nats=0.0, mask=mask)
    assert value.item() == pytest.approx(categorical_kl(q, p)[mask].mean().item(), rel=1e-6)


def test_trajectory_weights_and_losses_by_hand():
    discount = torch.tensor([[0.9], [0.5], [0.8]])
    weights = trajectory_weights(discount)
    assert torch.allclose(weights.squeeze(-1), torch.tensor([1.0, 0.9, 0.45]))
    returns = torch.tensor([[2.0], [1.0], [4.0]])
    entropy = torch.tensor([[0.5], [0.5], [1.0]])
    expected = -(1.0 * (2 + 0.1 * 0.5) + 0.9 * (1 + 0.1 * 0.5) + 0.45 * (4 + 0.1 * 1.0)) / 3
    assert actor_loss(returns, entropy, weights, 0.1).item() == pytest.approx(expected)
    values = torch.tensor([[1.0], [1.0], [1.0]], requires_grad=True)
    loss = critic_loss(values, returns, weights)
    assert loss.item() == pytest.approx((0.5 * 1 + 0.9 * 0.5 * 0 + 0.45 * 0.5 * 9) / 3)
    loss.backward()  # the targets carry no gradient
    assert values.grad is not None


# ---------------------------------------------------------------------------- the discrete RSSM
@pytest.fixture
def small_model():
    torch.manual_seed(0)
    config = OfflineDV2Config(**PRESETS["tiny"])
    return WorldModel(config, image_size=32, action_dim=2), config


def test_posterior_and_prior_states_are_one_hot(small_model):
    model, config = small_model
    images = torch.randint(0, 255, (2, 5, 32, 32, 3), dtype=torch.uint8)
    post = model.rssm.observe(model.encoder(images), torch.zeros(2, 5, 2), torch.zeros(2, 5, dtype=torch.bool))
    stoch = post["stoch"].unflatten(-1, (config.stoch, config.classes))
    assert torch.equal(stoch.sum(-1), torch.ones(2, 5, config.stoch))
    assert post["post_probs"].shape == (2, 5, config.stoch, config.classes)
    state = LatentState(post["deter"][:, -1], post["stoch"][:, -1])
    next_state, member_probs = model.rssm.imagine_step(state, torch.zeros(2, 2))
    assert member_probs.shape == (config.ensemble, 2, config.stoch, config.classes)
    assert torch.equal(
        next_state.stoch.unflatten(-1, (config.stoch, config.classes)).sum(-1), torch.ones(2, config.stoch)
    )


def test_batched_priors_equal_step_by_step(small_model):
    model, config = small_model
    deter = torch.randn(6, 3, config.deter)  # (T, B, D)
    members = torch.tensor([0, 2, 1, 1, 0, 2])
    batched = model.rssm.prior_probs(deter, members)
    for t in range(6):
        assert torch.allclose(batched[t], model.rssm.prior_probs(deter[t])[members[t]], atol=1e-6)


def test_imagined_states_come_from_the_chosen_member(small_model):
    model, config = small_model
    # member k is certain of class k for every variable: the sample names the member it came from
    last = model.rssm.prior_net.linears[-1]
    last.weight.data.zero_()
    logits = torch.full((config.ensemble, config.stoch, config.classes), -1e4)
    for k in range(config.ensemble):
        logits[k, :, k] = 1e4
    last.bias.data[:] = logits.reshape(config.ensemble, 1, -1)
    members = torch.tensor([0, 1, 2, 0])
    next_state, _ = model.rssm.imagine_step(model.rssm.initial(4), torch.zeros(4, 2), members)
    chosen = next_state.stoch.unflatten(-1, (config.stoch, config.classes)).argmax(-1)
    assert torch.equal(chosen, members[:, None].expand(4, config.stoch))


# ---------------------------------------------------------------------------- imagination
def test_imagination_has_horizon_h_and_the_penalty_is_on_by_default(small_model):
    model, _ = small_model
    assert OfflineDV2Config().penalty_scale == 10.0 and PRESETS["cpu"].get("penalty_scale", 10.0) > 0
    config = OfflineDV2Config(**PRESETS["tiny"])
    actor = Actor(model.rssm.feature_dim, 2, 16, 1, 0.1)
    start = LatentState(torch.randn(5, config.deter), model.rssm.initial(5).stoch)
    traj = imagine(model, actor, start, config)
    assert traj["features"].shape[:2] == (config.horizon + 1, 5)
    assert torch.equal(traj["features"][0], start.features)
    assert (traj["penalty"] > 0).all()  # random members disagree
    assert torch.allclose(traj["reward"], traj["raw_reward"] - config.penalty_scale * traj["penalty"])


def test_penalty_across_actions_by_hand_and_blind_to_actions_when_the_dynamics_are(small_model):
    model, config = small_model
    start = LatentState(torch.randn(5, config.deter), model.rssm.initial(5).stoch)
    rng = torch.get_rng_state()
    mean, spread = penalty_across_actions(model, start, seed=7, states=4, actions=3)
    assert torch.equal(torch.get_rng_state(), rng)  # measuring does not move training's random stream
    action = torch.rand(12, 2, generator=torch.Generator().manual_seed(7)) * 2 - 1
    u = torch.stack(
        [
            probability_disagreement(
                model.rssm.prior_probs(
                    model.rssm.deterministic_step(LatentState(start.deter[i : i + 1], start.stoch[i : i + 1]), a[None])
                )
            )[0]
            for a, i in zip(action, [0, 1, 2, 3] * 3)
        ]
    ).view(3, 4)
    assert torch.allclose(mean, u.mean(), atol=1e-6) and torch.allclose(spread, u.std(0, unbiased=False).mean())
    assert spread > 0
    model.rssm.gru_input[0].weight.data[:, -2:] = 0  # the GRU's input no longer sees the action
    assert penalty_across_actions(model, start, seed=7)[1] == pytest.approx(0.0, abs=1e-7)


def test_actor_learns_through_the_frozen_dynamics(small_model):
    model, config = small_model
    model.requires_grad_(False)
    actor = Actor(model.rssm.feature_dim, 2, 16, 1, 0.1)
    start = LatentState(torch.randn(5, config.deter), model.rssm.initial(5).stoch)
    traj = imagine(model, actor, start, config)
    # the actor's gradient without the entropy term: only through rewards of states its actions reached
    loss = actor_loss(traj["reward"], torch.zeros_like(traj["entropy"]), trajectory_weights(traj["discount"]), 0.0)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in actor.parameters())
    assert all(p.grad is None for p in model.parameters())
