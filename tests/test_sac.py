import copy

import numpy as np
import pytest
import torch

from lompo.algos.sac import SAC, SACConfig, soft_update, tanh_gaussian_log_prob
from lompo.errors import ConfigError


def test_tanh_gaussian_log_prob_matches_torch_distributions():
    torch.manual_seed(0)
    mean, log_std = torch.randn(64, 3), torch.randn(64, 3).clamp(-2, 1)
    pre_tanh = mean + log_std.exp() * torch.randn(64, 3)
    reference = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, log_std.exp()), [torch.distributions.TanhTransform()]
    )
    expected = reference.log_prob(torch.tanh(pre_tanh)).sum(-1)
    ok = torch.tanh(pre_tanh).abs().max(-1).values < 0.999  # torch's inverse is inexact near +-1
    torch.testing.assert_close(tanh_gaussian_log_prob(mean, log_std, pre_tanh)[ok], expected[ok], rtol=1e-4, atol=1e-4)


def test_soft_update_is_polyak_averaging():
    source, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = copy.deepcopy(target)
    soft_update(target, source, 0.1)
    for t, b, s in zip(target.parameters(), before.parameters(), source.parameters()):
        torch.testing.assert_close(t, 0.9 * b + 0.1 * s)


def test_critic_target_by_hand():
    torch.manual_seed(0)
    agent = SAC(3, 2, SACConfig(hidden=8, gamma=0.9))
    next_obs = torch.randn(5, 3)
    reward, discount = torch.rand(5), torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0])
    torch.manual_seed(1)
    target = agent.critic_target_value(reward, discount, next_obs)
    torch.manual_seed(1)
    a, logp = agent.actor.sample(next_obs)
    q1, q2 = agent.critic_target(next_obs, a)
    expected = reward + 0.9 * discount * (torch.min(q1, q2) - agent.alpha * logp)
    torch.testing.assert_close(target, expected.detach())
    assert torch.equal(target[discount == 0], reward[discount == 0])  # no bootstrap at terminals


def test_sac_learns_a_one_step_problem():
    """Reward -(a - 0.5)^2 with terminal transitions: the mean action must approach 0.5."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    agent = SAC(2, 1, SACConfig(hidden=32, lr=3e-3, init_temperature=0.01, target_entropy=-3.0))
    for _ in range(600):
        obs = torch.as_tensor(rng.normal(size=(64, 2)), dtype=torch.float32)
        action = torch.as_tensor(rng.uniform(-1, 1, (64, 1)), dtype=torch.float32)
        reward = -((action[:, 0] - 0.5) ** 2)
        agent.update({"obs": obs, "action": action, "reward": reward, "discount": torch.zeros(64), "next_obs": obs})
    actions = [agent.act(rng.normal(size=2), deterministic=True)[0] for _ in range(20)]
    assert np.mean(actions) == pytest.approx(0.5, abs=0.15)
    assert agent.act(np.zeros(2)).shape == (1,)


def _random_batch(size: int, obs_dim: int, action_dim: int) -> dict[str, torch.Tensor]:
    return {
        "obs": torch.randn(size, obs_dim),
        "action": torch.rand(size, action_dim) * 2 - 1,
        "reward": torch.rand(size),
        "discount": torch.ones(size),
        "next_obs": torch.randn(size, obs_dim),
    }


def test_state_dict_round_trip_gives_identical_updates():
    torch.manual_seed(0)
    agent = SAC(3, 2, SACConfig(hidden=8))
    batch = _random_batch(16, 3, 2)
    agent.update(batch)
    clone = SAC(3, 2, SACConfig(hidden=8))
    clone.load_state_dict(copy.deepcopy(agent.state_dict()))  # as if saved and loaded
    torch.manual_seed(5)
    a = agent.update(batch)
    torch.manual_seed(5)
    b = clone.update(batch)
    assert a == b


def test_the_actor_update_leaves_the_critics_gradients_alone():
    """After an update the critic's gradients are those of its own loss (eq. 5 of SAC): the actor's loss
    backpropagates to the action through the critic without computing the critic's weight gradients."""
    torch.manual_seed(0)
    agent = SAC(5, 2, SACConfig(hidden=16, batch_size=8))
    batch = _random_batch(8, 5, 2)
    twin = copy.deepcopy(agent)
    torch.manual_seed(1)
    agent.update(batch)
    torch.manual_seed(1)  # the same target-action draw for the critic's own loss
    target = twin.critic_target_value(batch["reward"], batch["discount"], batch["next_obs"])
    q1, q2 = twin.critic(batch["obs"], batch["action"])
    own = torch.autograd.grad(
        torch.nn.functional.mse_loss(q1, target) + torch.nn.functional.mse_loss(q2, target),
        list(twin.critic.parameters()),
    )
    for got, want in zip(agent.critic.parameters(), own):
        assert torch.equal(got.grad, want)
    assert all(p.requires_grad for p in agent.critic.parameters())


# ---------------------------------------------------------------------------- the official LOMPO code's agent
def test_deterministic_critic_target_by_hand():
    torch.manual_seed(0)
    agent = SAC(3, 2, SACConfig(hidden=8, gamma=0.9, actor="deterministic"))
    next_obs = torch.randn(5, 3)
    reward, discount = torch.rand(5), torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0])
    q1, q2 = agent.critic_target(next_obs, torch.tanh(agent.actor(next_obs)))
    expected = reward + 0.9 * discount * torch.min(q1, q2)
    torch.testing.assert_close(agent.critic_target_value(reward, discount, next_obs), expected.detach())
    assert torch.equal(agent.sample_action(next_obs), agent.mean_action(next_obs))  # no noise of its own


def test_deterministic_update_trains_actor_and_both_critics_without_a_temperature():
    torch.manual_seed(0)
    agent = SAC(5, 2, SACConfig(hidden=16, actor="deterministic"))
    before = copy.deepcopy(agent)
    metrics = agent.update(_random_batch(8, 5, 2))
    assert set(metrics) == {"critic_loss", "actor_loss", "q"}
    for name, module in (("actor", "actor"), ("q1", "critic.q1"), ("q2", "critic.q2")):
        new, old = agent, before
        for part in module.split("."):
            new, old = getattr(new, part), getattr(old, part)
        assert all(not torch.equal(a, b) for a, b in zip(new.parameters(), old.parameters())), name
    assert "log_alpha" not in agent.state_dict() and not hasattr(agent, "log_alpha")
    clone = SAC(5, 2, SACConfig(hidden=16, actor="deterministic"))
    clone.load_state_dict(copy.deepcopy(agent.state_dict()))
    batch = _random_batch(8, 5, 2)
    assert agent.update(batch) == clone.update(batch)


def test_deterministic_actor_learns_a_one_step_problem():
    """The same problem as SAC's: the actor's action must approach 0.5."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    agent = SAC(2, 1, SACConfig(hidden=32, lr=3e-3, actor="deterministic"))
    for _ in range(600):
        obs = torch.as_tensor(rng.normal(size=(64, 2)), dtype=torch.float32)
        action = torch.as_tensor(rng.uniform(-1, 1, (64, 1)), dtype=torch.float32)
        reward = -((action[:, 0] - 0.5) ** 2)
        agent.update({"obs": obs, "action": action, "reward": reward, "discount": torch.zeros(64), "next_obs": obs})
    actions = [agent.act(rng.normal(size=2))[0] for _ in range(20)]
    assert np.mean(actions) == pytest.approx(0.5, abs=0.15)


def test_an_unknown_actor_is_refused():
    with pytest.raises(ConfigError, match="actor must be one of"):
        SAC(2, 1, SACConfig(actor="greedy"))
