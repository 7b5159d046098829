"""DrQ+BC, CQL and BC: the pieces against hand computations, then end to end on the runtime.

(n-step targets at episode ends and frame stacks at episode starts are the sampler's job:
tests/test_samplers.py checks them by hand.)
"""

import math

import numpy as np
import pytest
import torch

from lompo.algos.drq import (
    PRESETS,
    Critic,
    DrQ,
    DrQConfig,
    Encoder,
    FrameStackPolicy,
    bc_loss,
    cql_regularizer,
    cql_weight_for,
    crop_each,
    crop_gathered,
    drqbc_actor_loss,
    random_shift,
    sample_clipped,
    std_schedule,
    td_target,
)
from lompo.data.store import load_store
from lompo.runtime import latest_checkpoint, load_checkpoint

from helpers import metric_lines, new_run


def test_random_shift_moves_content_by_at_most_pad_pixels():
    images = torch.zeros(64, 3, 20, 20)
    images[:, :, 10, 10] = 1.0  # one bright pixel in the middle
    shifted = random_shift(images, pad=4, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    moves = set()
    for i in range(64):
        ys, xs = torch.nonzero(shifted[i, 0], as_tuple=True)
        assert len(ys) == 1 and torch.all(shifted[i, :, ys[0], xs[0]] == 1.0)
        dy, dx = int(ys[0]) - 10, int(xs[0]) - 10
        assert abs(dy) <= 4 and abs(dx) <= 4
        moves.add((dy, dx))
    assert len(moves) > 10  # offsets really vary
    assert torch.equal(random_shift(images, pad=0), images)


def test_random_shift_pads_by_replicating_the_border():
    image = torch.arange(25.0).reshape(1, 1, 5, 5).expand(200, 1, 5, 5)
    shifted = random_shift(image, pad=2, generator=torch.Generator().manual_seed(1))
    # every output pixel is some input pixel (no zeros introduced at borders)
    assert set(shifted.unique().tolist()) <= set(range(25))


def test_the_gpu_crops_equal_the_cpu_crops():
    """random_shift slices each image on a CPU and gathers all crops at once elsewhere: the same pixels."""
    padded = torch.randint(0, 256, (32, 9, 28, 28), dtype=torch.uint8)
    offsets = torch.randint(0, 9, (32, 2), generator=torch.Generator().manual_seed(2))
    each, gathered = crop_each(padded, offsets, 20, 20), crop_gathered(padded, offsets, 20, 20)
    assert gathered.is_contiguous() and gathered.shape == (32, 9, 20, 20)
    assert torch.equal(each, gathered)
    assert torch.equal(each[3], padded[3, :, offsets[3, 0] : offsets[3, 0] + 20, offsets[3, 1] : offsets[3, 1] + 20])


def test_drqbc_actor_loss_by_hand():
    q = torch.tensor([1.0, -3.0])
    policy = torch.tensor([[0.5], [0.0]])
    data = torch.tensor([[0.0], [1.0]])
    # lambda = 2.5 / mean|Q| = 2.5 / 2; -lambda * mean Q = -1.25 * -1; mse = (0.25 + 1) / 2
    assert drqbc_actor_loss(q, policy, data, alpha=2.5).item() == pytest.approx(1.25 + 0.625)
    # the normaliser carries no gradient: d loss / d q = -lambda / B
    q = q.clone().requires_grad_(True)
    drqbc_actor_loss(q, policy, data, alpha=2.5).backward()
    assert q.grad.tolist() == pytest.approx([-0.625, -0.625])


def test_cql_regularizer_by_hand_and_through_a_tiny_critic():
    q_data = torch.tensor([1.0, 0.0])
    q_sampled = torch.tensor([[0.0, math.log(3.0)], [2.0, 2.0]])
    expected = ((math.log(4.0) - 1.0) + (2.0 + math.log(2.0) - 0.0)) / 2
    assert cql_regularizer(q_data, q_sampled).item() == pytest.approx(expected)
    torch.manual_seed(0)
    critic = Critic(repr_dim=6, action_dim=2, feature_dim=4, hidden=8)
    h, actions = torch.randn(3, 6), torch.rand(3, 5, 2) * 2 - 1
    many = critic.q_many(h, actions)
    for j in range(5):  # the batched evaluation equals one call per action
        single = critic(h, actions[:, j])
        assert torch.allclose(many[0][:, j], single[0], atol=1e-6) and torch.allclose(
            many[1][:, j], single[1], atol=1e-6
        )
    value = cql_regularizer(critic(h, actions[:, 0])[0], many[0])
    by_hand = np.mean([np.log(np.exp(many[0][i].detach().numpy()).sum()) - many[0][i, 0].item() for i in range(3)])
    assert value.item() == pytest.approx(by_hand, rel=1e-5)


def test_bc_loss_td_target_and_schedules():
    assert bc_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])).item() == pytest.approx(0.5)
    target = td_target(torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([4.0]), torch.tensor([2.0]))
    assert target.item() == pytest.approx(1.0 + 0.5 * 2.0)
    config = DrQConfig()
    assert std_schedule(0, config) == 1.0 and std_schedule(250_000, config) == pytest.approx(0.55)
    assert std_schedule(10**7, config) == pytest.approx(0.1)
    mean = torch.full((10_000, 1), 0.95)
    action = sample_clipped(mean, std=1.0, clip=0.3)
    assert action.max() <= 1.0 and action.min() >= 0.65 - 1e-6


def test_encoder_output_size_for_84_px():
    assert Encoder(9, 84).repr_dim == 32 * 35 * 35
    assert Encoder(9, 32, channels=4)(torch.zeros(2, 9, 32, 32)).shape == (2, Encoder(9, 32, 4).repr_dim)


def test_images_too_small_for_the_encoder_are_refused(tmp_path):
    from lompo.data import write_episode
    from lompo.errors import ConfigError
    from lompo.testing import synthetic_episode

    write_episode(tmp_path / "data", synthetic_episode(6, size=8))
    with pytest.raises(ConfigError, match="at least 15 px .* the dataset has 8x8"):
        DrQ(DrQConfig(**PRESETS["tiny"]), load_store(tmp_path / "data"))


def test_cql_weight_follows_vd4rl_table_c4():
    assert cql_weight_for("cheetah-run", "expert") == 20.0 and cql_weight_for("walker-walk", "random") == 0.5
    assert cql_weight_for("cartpole-swingup", "medium") == 2.0 and cql_weight_for(None, None) == 1.0


def _agent(tiny_dataset, objective, **changes):
    store = load_store(tiny_dataset)
    config = DrQConfig(
        objective=objective, batch_size=4, conv_channels=4, feature_dim=8, hidden=16, cql_actions=2, **changes
    )
    torch.manual_seed(0)
    return DrQ(config, store, seed=0)


@pytest.mark.parametrize("objective", ["drqbc", "cql"])
def test_encoder_learns_only_through_the_critic(tiny_dataset, objective):
    agent = _agent(tiny_dataset, objective)
    seen = {}
    original_step = agent.encoder_opt.step

    def record_step(*args, **kwargs):
        seen["grads"] = [p.grad.clone() for p in agent.encoder.parameters()]
        return original_step(*args, **kwargs)

    agent.encoder_opt.step = record_step
    agent.train_step("agent", 0)
    assert any(g.abs().sum() > 0 for g in seen["grads"])  # the critic loss did reach the encoder
    for grad, param in zip(seen["grads"], agent.encoder.parameters()):
        assert torch.equal(param.grad, grad)  # ...and the actor loss added nothing afterwards


def test_bc_trains_the_encoder_and_has_no_critic(tiny_dataset):
    agent = _agent(tiny_dataset, "bc")
    before = [p.detach().clone() for p in agent.encoder.parameters()]
    metrics = agent.train_step("agent", 0)
    assert agent.critic is None and set(metrics) == {"actor/bc_loss"}
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.encoder.parameters()))


def test_frame_stack_policy_repeats_the_first_frame_at_reset(tiny_dataset):
    agent = _agent(tiny_dataset, "bc")
    policy = agent.policy()
    assert isinstance(policy, FrameStackPolicy)
    frames = [np.full((32, 32, 3), v, np.uint8) for v in (10, 20, 30, 40)]
    policy.reset()
    action = policy.act(frames[0])
    assert action.shape == (1,) and np.all(np.abs(action) <= 1)
    assert [f[0, 0, 0] for f in policy.frames] == [10, 10, 10]
    for frame in frames[1:]:
        policy.act(frame)
    assert [f[0, 0, 0] for f in policy.frames] == [20, 30, 40]
    policy.reset()
    policy.act(frames[3])
    assert [f[0, 0, 0] for f in policy.frames] == [40, 40, 40]


@pytest.mark.parametrize("algo", ["drqbc", "cql", "bc"])
def test_each_algorithm_end_to_end_and_resume_is_exact(tmp_path, tiny_dataset, algo):
    straight = new_run(tmp_path / "straight", tiny_dataset, algo=algo)
    result = straight.train(log=lambda *a: None)
    assert np.isfinite(result["return_mean"]) and result["algo"] == algo
    assert result["steps"] == {"agent": 6}
    # a run stopped after step 3 (tiny preset: checkpoint every 3 steps) resumes to the same result
    crashed = new_run(tmp_path / "crashed", tiny_dataset, algo=algo)
    from lompo.algos import drq

    original = drq.DrQ.train_step

    def crash_after_three(self, phase, step):
        if step == 3:
            raise KeyboardInterrupt
        return original(self, phase, step)

    drq.DrQ.train_step = crash_after_three
    try:
        with pytest.raises(KeyboardInterrupt):
            crashed.train(log=lambda *a: None)
    finally:
        drq.DrQ.train_step = original
    resumed = type(crashed)(crashed.path).train(log=lambda *a: None)
    assert metric_lines(crashed) == metric_lines(straight)
    assert resumed["return_mean"] == pytest.approx(result["return_mean"])
    a = load_checkpoint(latest_checkpoint(straight.checkpoints))["algo"]["actor"]
    b = load_checkpoint(latest_checkpoint(crashed.checkpoints))["algo"]["actor"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("algo", ["drqbc", "cql", "bc"])
def test_a_nan_weight_stops_the_run_naming_step_phase_and_loss(tmp_path, tiny_dataset, algo, monkeypatch):
    """An injected NaN (in the first encoder layer at step 5) stops training with the step,
    the phase and the loss, and the checkpoint of step 3 stays the latest and loads."""
    from lompo.algos import drq
    from lompo.errors import DivergenceError

    original = drq.DrQ.train_step

    def poisoned(self, phase, step):
        if step == 4:  # the 5th update
            with torch.no_grad():
                self.encoder.net[0].weight[0, 0, 0, 0] = float("nan")
        return original(self, phase, step)

    monkeypatch.setattr(drq.DrQ, "train_step", poisoned)
    run = new_run(tmp_path / "run", tiny_dataset, algo=algo)
    loss = "actor/bc_loss" if algo == "bc" else "critic/q"
    with pytest.raises(DivergenceError, match=rf"{loss} = nan at step 5 of phase 'agent'.*000000003"):
        run.train(log=lambda *a: None)
    good = latest_checkpoint(run.checkpoints)
    assert good.name == "0-000000003"
    assert all(torch.isfinite(t).all() for t in load_checkpoint(good)["algo"]["encoder"].values())


def test_a_nan_after_a_finite_loss_is_never_checkpointed(tmp_path, tiny_dataset, monkeypatch):
    """A NaN gradient under a finite loss leaves NaN weights but finite metrics; the checkpoint
    write refuses them, names the tensor, and the last good checkpoint stays the latest."""
    from lompo.algos import drq
    from lompo.errors import DivergenceError

    original = drq.DrQ.train_step

    def nan_update(self, phase, step):
        metrics = original(self, phase, step)
        if step == 5:  # the 6th and last update, followed by the end-of-phase checkpoint
            with torch.no_grad():
                self.actor.policy[0].weight[0, 0] = float("nan")
        return metrics

    monkeypatch.setattr(drq.DrQ, "train_step", nan_update)
    run = new_run(tmp_path / "run", tiny_dataset, algo="bc")
    with pytest.raises(
        DivergenceError,
        match=r"state\.actor\.policy\.0\.weight holds NaN/inf at step 6 of phase "
        r"'agent'.*0-000000003",
    ):
        run.train(log=lambda *a: None)
    assert latest_checkpoint(run.checkpoints).name == "0-000000003"
    assert not run.finished
