"""LOMPO's mechanism, pinned: every prior head learns, the posterior does not collapse, evaluation infers
latents as training does, and the agent phase reports what its rollouts feed the critic."""

import json

import numpy as np
import pytest
import torch

from lompo.algos.lompo import PRESETS, Lompo, LompoConfig, world_model_loss
from lompo.algos.offline_dv2 import PRESETS as DV2_PRESETS
from lompo.algos.offline_dv2 import OfflineDV2, OfflineDV2Config
from lompo.algos.world_model import batch_to_torch
from lompo.collect import collect_random
from lompo.data import EpisodeStore
from lompo.data.store import load_store
from lompo.testing import synthetic_episode as make_episode

from helpers import metric_lines, new_run


@pytest.fixture(scope="module")
def cartpole(tmp_path_factory):
    """Two rendered cartpole-swingup episodes (100 steps) at 32 and 64 px: real frames for the gradient tests."""
    out = tmp_path_factory.mktemp("data")
    folders = collect_random(
        "cartpole-swingup",
        out,
        episodes=2,
        image_sizes=(32, 64),
        render_profile="fast",
        seed=0,
        episode_length=100,
        progress=False,
    )
    return dict(zip((32, 64), folders))


@pytest.fixture
def synthetic(tmp_path):
    episodes = [make_episode(30, size=32, action_dim=2, seed=i, episode_id=i) for i in range(3)]
    return EpisodeStore.from_episodes(episodes, tmp_path / "store")


def _prior_head_snapshot(algo):
    return [p.detach().clone() for p in algo.model.rssm.prior_net.parameters()]


@pytest.mark.parametrize("preset,size", [("tiny", 32), ("cpu", 64)])
@pytest.mark.parametrize("free_nats", [None, 1e6])
def test_every_prior_head_learns_from_one_model_step(cartpole, preset, size, free_nats):
    """Eq. 8 trains the K heads through the KL alone. With the free-nats floor on that term (free_nats
    = 1e6: the KL is certainly below it) the heads must still get gradient and move; the floor may
    only stop the posterior side."""
    torch.manual_seed(0)
    overrides = {} if free_nats is None else {"free_nats": free_nats}
    algo = Lompo(LompoConfig(**{**PRESETS[preset], **overrides}), load_store(cartpole[size]))
    before = _prior_head_snapshot(algo)
    metrics = algo.model_step()
    norms = [metrics[f"model/prior_grad_norm_member{k}"] for k in range(algo.config.ensemble)]
    assert all(n > 0 for n in norms), norms
    after = _prior_head_snapshot(algo)
    for b, a in zip(before, after):  # every member's slice of every layer moved
        moved = (a - b).flatten(1).abs().amax(1)
        assert (moved > 0).all(), moved
    assert metrics["model/kl"] > 0
    assert all(metrics[f"model/kl_member{k}"] > 0 for k in range(algo.config.ensemble))


@pytest.mark.parametrize("free_nats", [0.0, 1e6])
def test_split_kl_gives_the_prior_eq8s_gradient_whatever_the_floor(free_nats):
    """``split_kl`` with weights 1, 1: the prior parameters get exactly the gradient of the plain mean
    KL (eq. 8) whether or not the KL is below the floor; the posterior parameters get it above the
    floor and nothing below it."""
    from lompo.algos.kl import split_kl
    from lompo.nets.rssm import gaussian_kl

    torch.manual_seed(0)
    q = [torch.randn(4, 3, requires_grad=True), (torch.rand(4, 3) + 0.5).requires_grad_(True)]
    p = [torch.randn(4, 3, requires_grad=True), (torch.rand(4, 3) + 0.5).requires_grad_(True)]
    plain = gaussian_kl(*q, *p).mean()
    plain_grads = torch.autograd.grad(plain, q + p)
    prior_side = gaussian_kl(q[0].detach(), q[1].detach(), *p)
    posterior_side = gaussian_kl(*q, p[0].detach(), p[1].detach())
    loss = split_kl(prior_side, posterior_side, 1.0, 1.0, free_nats)
    grads = torch.autograd.grad(loss, q + p)
    for got, want in zip(grads[2:], plain_grads[2:]):
        assert torch.allclose(got, want, atol=1e-6)
    for got, want in zip(grads[:2], plain_grads[:2]):
        assert torch.allclose(got, want if free_nats == 0 else torch.zeros_like(want), atol=1e-6)


def test_posterior_keeps_information_over_training(synthetic):
    """No collapse: after 100 tiny model steps the KL stays well above zero with the default floor;
    without any floor (free_nats = 0) the same run collapses onto the prior (the control)."""
    final_kl = {}
    for free_nats in (PRESETS["tiny"].get("free_nats", LompoConfig.free_nats), 0.0):
        torch.manual_seed(0)
        algo = Lompo(LompoConfig(**{**PRESETS["tiny"], "free_nats": free_nats}), synthetic)
        kls = [algo.model_step()["model/kl"] for _ in range(100)]
        final_kl[free_nats] = float(np.mean(kls[-10:]))
    assert final_kl[LompoConfig.free_nats] > 0.5, final_kl
    assert final_kl[0.0] < 0.1, final_kl  # the test can fail: the control collapses


def test_offline_dv2_prior_heads_learn_below_the_free_nats(cartpole):
    torch.manual_seed(0)
    algo = OfflineDV2(OfflineDV2Config(**{**DV2_PRESETS["tiny"], "free_nats": 1e6}), load_store(cartpole[32]))
    before = _prior_head_snapshot(algo)
    metrics = algo.model_step()
    assert all(metrics[f"model/prior_grad_norm_member{k}"] > 0 for k in range(algo.config.ensemble))
    for b, a in zip(before, _prior_head_snapshot(algo)):
        assert ((a - b).flatten(1).abs().amax(1) > 0).all()


# --------------------------------------------------------------------- evaluation inference
@pytest.mark.parametrize(
    "algo_cls,config_cls,presets", [(Lompo, LompoConfig, PRESETS), (OfflineDV2, OfflineDV2Config, DV2_PRESETS)]
)
def test_evaluation_samples_the_latent_as_training_does(synthetic, algo_cls, config_cls, presets):
    """The policy's latent at step t is a posterior *sample* (it depends on the draw); the mean action
    does not make it deterministic. ``latent='mean'`` is the old inference, kept for comparison."""
    torch.manual_seed(0)
    algo = algo_cls(config_cls(**presets["tiny"]), synthetic)
    frames = synthetic["image"][:4]

    def latents(latent, seed):
        policy = algo.policy(latent)
        policy.reset()
        torch.manual_seed(seed)
        states = []
        for frame in frames:
            policy.act(frame, deterministic=True)
            states.append(policy.state.stoch.clone())
        return torch.stack(states)

    assert not torch.equal(latents("sample", 1), latents("sample", 2))
    assert torch.equal(latents("sample", 1), latents("sample", 1))
    assert torch.equal(latents("mean", 1), latents("mean", 2))


def test_evaluation_is_reproducible_with_sampled_latents(tmp_path, cartpole):
    from lompo.runtime.evaluate import evaluate

    store = load_store(cartpole[32])
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    torch.manual_seed(1)
    first = evaluate(algo.policy(), store, 1, seed=7)
    torch.manual_seed(2)  # the caller's RNG state does not matter: evaluation seeds its own fork
    second = evaluate(algo.policy(), store, 1, seed=7)
    assert first["returns"] == second["returns"]


@pytest.mark.parametrize(
    "algo_cls,config_cls,presets", [(Lompo, LompoConfig, PRESETS), (OfflineDV2, OfflineDV2Config, DV2_PRESETS)]
)
def test_evaluation_reports_the_return_the_model_believes(cartpole, algo_cls, config_cls, presets):
    """``model_return``: the reward head on the posterior of every frame after the first, one per real
    transition. With a head that predicts 0.25 everywhere it is 0.25 x the episode's steps (not one
    fewer: the last frame, which the policy never acts on, is observed too); with the model's own head
    it equals the sum of the head along the frames, recomputed here from the same sampled latents."""
    from lompo.runtime.evaluate import evaluate

    store = load_store(cartpole[32])
    torch.manual_seed(0)
    algo = algo_cls(config_cls(**presets["tiny"]), store)
    real_head = algo.model.reward
    algo.model.reward = lambda features: torch.full(features.shape[:-1], 0.25)
    result = evaluate(algo.policy(), store, 2, seed=3)
    steps = 100 // store.info["metadata"]["action_repeat"]
    assert result["model_returns"] == [pytest.approx(0.25 * steps)] * 2
    assert result["model_return_mean"] == pytest.approx(0.25 * steps)

    algo.model.reward = real_head
    policy = algo.policy()
    policy.reset()
    frames = store.episode(0)["image"][:6]
    heads = []
    for frame in frames:
        policy.act(frame)
        with torch.no_grad():
            heads.append(float(real_head(policy.state.features)))
    assert policy.model_return == pytest.approx(sum(heads[1:]), rel=1e-5)


# --------------------------------------------------------------------- agent-phase logging
def test_agent_phase_logs_the_policy_rollouts(tmp_path, cartpole):
    run = new_run(tmp_path / "run", cartpole[32], video="false", eval_every=0)
    run.train()
    lines = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    agent = [line for line in lines if line["phase"] == "agent"]
    keys = (
        "latent/raw_reward",
        "latent/penalty_mean",
        "latent/penalty_std",
        "latent/penalized_reward",
        "latent/penalty_std_across_actions",
        "latent/policy_refreshes",
    )
    assert agent and all(all(k in line for k in keys) for line in agent)
    # refreshes every updates_per_epoch = 3 updates: after 8 updates, two policy refreshes were logged
    assert [line["latent/policy_refreshes"] for line in agent][-1] == 2
    refreshed = [line for line in agent if line["latent/policy_refreshes"] > 0]
    assert refreshed[0]["latent/penalized_reward"] != agent[0]["latent/penalized_reward"]
    for line in agent:  # r̃ = r − λ·u on the same rollouts
        assert line["latent/penalized_reward"] == pytest.approx(
            line["latent/raw_reward"] - run.config.penalty_scale * line["latent/penalty_mean"], rel=1e-4, abs=1e-4
        )
        assert line["latent/penalty_std_across_actions"] >= 0


def test_the_official_codes_deterministic_agent_trains_with_noisy_rollouts(tmp_path, cartpole):
    """``actor=deterministic``: the official LOMPO code's actor-critic; rollouts add ``rollout_noise`` to
    its action, evaluation acts with the action itself."""
    run = new_run(tmp_path / "run", cartpole[32], video="false", eval_every=0, actor="deterministic", rollout_noise=0.2)
    result = run.train()
    assert np.isfinite(result["return_mean"])
    algo, _ = run.trained_algorithm(run.open_store())
    assert "log_alpha" not in algo.sac.state_dict()
    features = torch.randn(64, algo.model.rssm.feature_dim)
    torch.manual_seed(0)
    noisy = algo.rollout_action(features)
    mean = algo.act(features, deterministic=True)
    assert torch.equal(algo.act(features, deterministic=False), mean)
    assert 0.05 < (noisy - mean).std() < 0.3 and noisy.abs().max() <= 1
    lines = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert all("agent/alpha" not in line for line in lines if line["phase"] == "agent")


# --------------------------------------------------------------------- lompo diagnose
def _seen_and_unseen(rng, n=400, z=6, k=5, spread_of_unseen=1.0):
    """Members that agree on "seen" inputs (first half) and disagree on "unseen" ones (second half),
    around a true posterior; the true error (mean KL of the posterior to the members) follows."""
    truth = torch.randn(n, z, generator=rng)
    spread = torch.cat([torch.full((n // 2, 1), 0.05), torch.full((n - n // 2, 1), spread_of_unseen)])
    means = truth.unsqueeze(0) + spread.unsqueeze(0) * torch.randn(k, n, z, generator=rng)
    stds = torch.full((k, n, z), 0.5)
    post_std = torch.full((n, z), 0.5)
    return truth, post_std, means, stds


def test_penalty_correlation_on_a_case_with_a_known_answer():
    from lompo.bench.diagnose import agreement, all_penalties, spearman
    from lompo.nets.rssm import gaussian_kl

    rng = torch.Generator().manual_seed(0)
    truth, post_std, means, stds = _seen_and_unseen(rng)
    error = gaussian_kl(truth.unsqueeze(0), post_std.unsqueeze(0), means, stds).mean(0).numpy()
    member = torch.randint(0, means.shape[0], (means.shape[1],), generator=rng)
    index = torch.arange(means.shape[1])
    next_stoch = means[member, index] + stds[member, index] * torch.randn(means.shape[1:], generator=rng)
    penalties = {k: v.numpy() for k, v in all_penalties(next_stoch, means, stds).items()}
    result = agreement(penalties, error)
    # disagreement of the means ranks unseen above seen inputs, as the error does
    assert result["mean_disagreement"]["spearman"] > 0.8
    assert result["logprob_std"]["spearman"] > 0.5 and result["logprob_var"]["spearman"] > 0.5
    assert np.isnan(result["max_std"]["spearman"])  # equal stds everywhere: no information, no number
    curve = result["mean_disagreement"]["calibration"]
    assert len(curve["error"]) == 10 and curve["error"][-1] > 5 * curve["error"][0]
    # control: a penalty unrelated to the error does not correlate
    shuffled = np.random.default_rng(0).permutation(penalties["mean_disagreement"])
    assert abs(spearman(shuffled, error)) < 0.15
    assert spearman(np.arange(10.0), -np.arange(10.0)) == pytest.approx(-1.0)


def test_diagnose_writes_json_and_plots_and_the_report_shows_them(tmp_path, cartpole, capsys):
    from lompo.bench.report import write_report
    from lompo.cli import main

    run = new_run(tmp_path / "run", cartpole[32], video="false")
    run.train(log=lambda *a: None)
    assert main(["diagnose", str(run.path), "--horizon", "6", "--sequences", "8"]) == 0
    printed = capsys.readouterr().out
    assert "logprob_std" in printed and "wrote" in printed
    (json_path,) = (run.path / "diagnostics").glob("*.json")  # before any --checkpoint
    result = json.loads(json_path.read_text())
    assert len(result["open_loop"]["ensemble"]["latent_kl"]) == 6
    assert set(result["fit"]) == {
        "reward_r2",
        "reward_r2_other_actions",
        "one_step_reward_r2_dataset_actions",
        "one_step_reward_r2_other_actions",
    }
    assert all(value <= 1.0 for value in result["fit"].values()) and "reward R²" in printed
    heads = {f"member{k}" for k in range(run.config.ensemble)}
    assert set(result["open_loop"]) == heads | {"ensemble", "ensemble_other_actions"}
    assert set(result["one_step"]["penalties"]) == {"logprob_var", "logprob_std", "mean_disagreement", "max_std"}
    assert set(result["penalty_by_action_source"]) == {"dataset", "random", "policy"}
    sensitivity = result["action_sensitivity"]
    assert set(sensitivity) == {"logprob_var", "logprob_std", "mean_disagreement", "max_std", "reward"}
    assert all(entry["std_across_actions"] >= 0 and entry["std_across_states"] > 0 for entry in sensitivity.values())
    assert result["heads"]["logged"] and result["heads"]["prior_grad_norm_member0"]["zero_fraction"] == 0.0
    reality = result["policy"]  # the policy played two episodes of 50 steps in the dataset's environment
    assert reality["episodes"] == 2 and len(reality["return"]) == len(reality["model_return"]) == 2
    assert all(len(reality["series"][k]) == 50 for k in ("real", "model", "imagined"))
    assert sum(reality["series"]["real"]) == pytest.approx(reality["return"][0])
    # the run's own evaluation episodes: its first is the final evaluation's (one episode at `tiny`)
    final = json.loads((run.path / "final.json").read_text())
    assert reality["return"][0] == pytest.approx(final["returns"][0], abs=1e-3)
    assert sum(reality["series"]["model"]) == pytest.approx(reality["model_return"][0], rel=1e-5)
    assert "the policy in reality" in printed
    assert 0 < reality["image_mse"] < 1 and 0 < reality["image_mse_dataset"] < 1  # pixels in [-0.5, 0.5]
    assert "pixel error on the policy's frames" in printed
    pngs = sorted(p.name.rsplit("-", 1)[1] for p in json_path.parent.glob("*.png"))
    assert pngs == ["actions.png", "open_loop.png", "penalty.png", "policy.png"]
    page = write_report(tmp_path / "run").read_text()
    assert "diagnostics on" in page and page.count("data:image/png") >= 4
    # an earlier checkpoint by name; an unknown name is a clear error listing the kept ones
    kept = sorted(p.parent.name for p in run.checkpoints.glob("*/manifest.json"))
    assert main(["diagnose", str(run.path), "--horizon", "6", "--sequences", "8", "--checkpoint", kept[0]]) == 0
    assert (json_path.parent / f"{json_path.stem}@{kept[0]}.json").is_file()
    assert main(["diagnose", str(run.path), "--checkpoint", "9-999"]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    # another dataset must fit the world model: a clear error naming the folder
    assert main(["diagnose", str(run.path), "--data", str(cartpole[64])]) == 2
    err = capsys.readouterr().err
    assert str(cartpole[64]) in err and "64" in err


def test_policy_in_reality_compares_real_believed_and_imagined_reward(cartpole):
    """A reward head that predicts 0.25 everywhere: the model's reward on the real frames and in the
    rollouts is exactly 0.25 per step, the penalised value is 0.25 − λ·u, and the real reward is the
    environment's (the same episode replayed with the same seed gives the same returns)."""
    from lompo.bench.diagnose import policy_in_reality
    from lompo.runtime.evaluate import evaluate

    store = load_store(cartpole[32])
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    algo.model.reward = lambda features: torch.full(features.shape[:-1], 0.25)
    torch.manual_seed(5)
    reality = policy_in_reality(algo, store, episodes=2, seed=11)
    assert reality["model_reward"] == pytest.approx(0.25) and reality["imagined_reward"] == pytest.approx(0.25)
    assert reality["model_return"] == [pytest.approx(0.25 * 50)] * 2
    lam = algo.config.penalty_scale
    assert reality["penalty"] > 0
    assert reality["penalized_imagined_reward"] == pytest.approx(0.25 - lam * reality["penalty"])
    played = evaluate(algo.policy(), store, 2, seed=11)
    assert reality["return"] == pytest.approx(played["returns"], abs=1e-3)
    assert reality["real_reward"] == pytest.approx(np.mean(played["returns"]) / 50, abs=1e-4)


def test_policy_in_reality_measures_the_pixel_error_on_every_frame_the_policy_saw(cartpole):
    """Known answer: a decoder that draws grey (0 after preprocessing) everywhere has, on each frame,
    the mean of the frame's preprocessed pixels squared; over both episodes' 2 × 50 frames."""
    from lompo.bench.diagnose import policy_in_reality
    from lompo.runtime.evaluate import make_eval_env, run_episodes

    store = load_store(cartpole[32])
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    algo.model.decode = lambda features: torch.zeros((*features.shape[:-1], 3, 32, 32))
    reality = policy_in_reality(algo, store, episodes=2, seed=11)
    env = make_eval_env(store, seed=11)
    try:
        frames = run_episodes(algo.policy(), env, 2, 11, record_episodes=2).frames
    finally:
        env.close()
    assert len(frames) == 100
    expected = np.mean([((np.asarray(f, np.float64) / 255.0 - 0.5) ** 2).mean() for f in frames])
    assert reality["image_mse"] == pytest.approx(expected, rel=1e-5)


def test_eval_latent_setting_chooses_the_inference_and_rejects_nonsense(tmp_path, cartpole):
    from lompo.errors import ConfigError

    for value, ok in (("mean", True), ("sample", True), ("median", False)):
        run = new_run(tmp_path / value, cartpole[32], eval_latent=value)
        algo = run.build(load_store(cartpole[32]))
        if ok:
            assert run.policy(algo).latent == value
            assert run.policy(algo, "sample").latent == "sample"  # lompo evaluate --latent overrides
        else:
            with pytest.raises(ConfigError, match="eval_latent"):
                run.train()


def test_action_sensitivity_is_zero_for_a_model_that_ignores_actions(synthetic):
    """Known answer: with the action's columns of the GRU input zeroed, nothing downstream can depend
    on the action, so every ratio is exactly 0; the untouched model is the control (> 0)."""
    from lompo.bench.diagnose import Diagnosis

    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), synthetic)
    batch = batch_to_torch(_sequence_batch(synthetic), "cpu")
    with torch.no_grad():
        control = Diagnosis(algo, batch, context=2, horizon=3).action_sensitivity(states=16)
        algo.model.rssm.gru_input[0].weight[:, algo.model.rssm.stoch_dim :] = 0.0
        blind = Diagnosis(algo, batch, context=2, horizon=3).action_sensitivity(states=16)
    assert all(entry["ratio"] > 0 for entry in control.values())
    assert all(entry["std_across_actions"] == pytest.approx(0.0, abs=1e-6) for entry in blind.values())


def _sequence_batch(store):
    from lompo.data.samplers import SequenceSampler

    return SequenceSampler(store, 4, 8, seed=0).sample()


def test_open_loop_with_other_actions_exposes_an_action_blind_prior(tmp_path, cartpole, monkeypatch):
    """The same heads and noise with another sequence's actions: different errors for a model that uses
    the actions, identical ones for a prior that ignores them."""
    from lompo.bench.diagnose import Diagnosis
    from lompo.data.samplers import SequenceSampler

    run = new_run(tmp_path / "run", cartpole[32], video="false")
    store = run.open_store()
    algo = run.spec.build(run.config, store, seed=0)
    batch = batch_to_torch(SequenceSampler(store, 4, 12, seed=0).sample(), algo.device)
    with torch.no_grad():
        curves = Diagnosis(algo, batch, context=4, horizon=6).open_loop()
        assert curves["ensemble"]["latent_kl"] != curves["ensemble_other_actions"]["latent_kl"]
        # a reward head that reads the deterministic state, so that R² moves whenever the latents do
        mean = batch["reward"][batch["mask"]].mean()  # near the mean: R² near 0, away from its clamp at -1
        monkeypatch.setattr(algo.model, "reward", lambda features: mean + 0.01 * features[..., 0])
        seeing = Diagnosis(algo, batch, context=4, horizon=6).fit()
        step = algo.model.rssm.deterministic_step
        monkeypatch.setattr(algo.model.rssm, "deterministic_step", lambda state, action: step(state, action * 0))
        blind_diagnosis = Diagnosis(algo, batch, context=4, horizon=6)
        blind, blind_fit = blind_diagnosis.open_loop(), blind_diagnosis.fit()
    assert blind["ensemble"] == blind["ensemble_other_actions"]
    assert blind_fit["one_step_reward_r2_dataset_actions"] == blind_fit["one_step_reward_r2_other_actions"]
    # filtering the frames with other actions: the same latents (same draws) only for the blind model
    assert blind_fit["reward_r2"] == blind_fit["reward_r2_other_actions"]
    assert seeing["reward_r2"] != seeing["reward_r2_other_actions"]


def test_reward_r2_measures_the_reward_head_against_the_mean():
    from lompo.algos.world_model import reward_r2

    reward = torch.tensor([[0.0, 1.0, 0.5, 9.0]])
    mask = torch.tensor([[True, True, True, False]])  # the last step is padding
    assert float(reward_r2(reward, reward, mask)) == pytest.approx(1.0)
    assert float(reward_r2(torch.full_like(reward, 0.5), reward, mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(reward_r2(1 - reward, reward, mask)) < 0  # worse than the mean
    assert float(reward_r2(torch.ones(1, 4), torch.zeros(1, 4), mask)) == -1.0  # constant reward: finite, floored


@pytest.mark.parametrize("algo", ["lompo", "offline_dv2"])
def test_a_world_model_that_did_not_learn_the_reward_is_reported(tmp_path, cartpole, algo, monkeypatch):
    import lompo.runtime.trainer as trainer

    run = new_run(tmp_path / "run", cartpole[32], algo=algo, video="false", log_every=1)
    lines = []
    result = run.train(log=lines.append)
    logged = [line["model/reward_r2"] for line in metric_lines(run) if line["phase"] == "model"]
    assert len(logged) == run.config.model_steps and all(-1.0 <= v <= 1.0 for v in logged)
    assert result["world_model_reward_r2"] == pytest.approx(np.mean(logged[-5:]), abs=1e-4)
    # a 6-step model has not learned the reward: said in the log and in final.json
    assert result["world_model_reward_r2"] < trainer.UNINFORMED_R2
    assert "world_model_warning" in result and any("reward R²" in str(line) for line in lines)
    # the phase's last line carries the frames-or-actions check, and final.json reports it
    last = [line for line in metric_lines(run) if line["phase"] == "model"][-1]
    assert {"model/fit_reward_r2", "model/fit_reward_r2_other_actions"} <= set(last)
    assert result["world_model_reward_r2_other_actions"] == pytest.approx(
        last["model/fit_reward_r2_other_actions"], abs=1e-4
    )
    monkeypatch.setattr(trainer, "UNINFORMED_R2", -2.0)
    quiet = new_run(tmp_path / "quiet", cartpole[32], algo=algo, video="false").train(log=lambda *a: None)
    assert "world_model_warning" not in quiet and "world_model_reward_r2" in quiet


def test_a_reward_read_from_the_action_history_is_reported(tmp_path):
    from lompo.files import append_jsonl
    from lompo.runtime.trainer import world_model_record

    def record(r2, other):
        path = tmp_path / f"{r2}-{other}.jsonl"
        for step in range(1, 6):
            append_jsonl(path, {"phase": "model", "step": step, "model/reward_r2": r2})
        append_jsonl(
            path, {"phase": "model", "step": 6, "model/reward_r2": r2, "model/fit_reward_r2_other_actions": other}
        )
        return world_model_record(path)

    shortcut = record(0.6, -0.5)
    assert shortcut["world_model_reward_r2_other_actions"] == -0.5
    assert "action history" in shortcut["world_model_warning"]
    assert "world_model_warning" not in record(0.6, 0.45)
    assert "frames" in record(0.05, 0.05)["world_model_warning"]  # not learned at all: the first warning


@pytest.mark.parametrize(
    "algo_cls,config_cls,presets", [(Lompo, LompoConfig, PRESETS), (OfflineDV2, OfflineDV2Config, DV2_PRESETS)]
)
def test_reward_fit_tells_frames_from_actions(cartpole, algo_cls, config_cls, presets, monkeypatch):
    """An action-blind model (actions zeroed in the GRU) gives the same R² with other actions (same
    draws); a reward head reading the deterministic state of a normal model does not."""
    store = load_store(cartpole[32])
    torch.manual_seed(0)
    algo = algo_cls(config_cls(**presets["tiny"]), store)
    rewards = np.concatenate([store.episode(i)["reward"] for i in range(store.num_episodes)])
    mean = float(rewards.mean())  # near the mean: R² near 0, away from its clamp at -1
    monkeypatch.setattr(algo.model, "reward", lambda features: mean + 0.01 * features[..., 0])
    rng_state = torch.get_rng_state()
    seeing = algo.reward_fit()
    assert torch.equal(torch.get_rng_state(), rng_state)  # training streams untouched
    assert seeing["model/fit_reward_r2"] != seeing["model/fit_reward_r2_other_actions"]
    step = algo.model.rssm.deterministic_step
    monkeypatch.setattr(algo.model.rssm, "deterministic_step", lambda state, action: step(state, action * 0))
    blind = algo.reward_fit()
    assert blind["model/fit_reward_r2"] == blind["model/fit_reward_r2_other_actions"]


@pytest.mark.parametrize("decode_from_frame", [False, True])
def test_reward_read_from_the_frame_cannot_depend_on_the_action_history(tmp_path, cartpole, decode_from_frame):
    """``reward_from_frame``: the posterior reads the frame alone and the reward head the stochastic state,
    so filtering the same frames with other actions (same draws) gives the same rewards, while the
    deterministic state (the dynamics) still uses the actions; the reward-fit check says so; a run trains.
    With ``decode_from_frame`` the decoded images do not depend on the actions either."""
    store = load_store(cartpole[32])
    torch.manual_seed(0)
    settings = {**PRESETS["tiny"], "reward_from_frame": True, "decode_from_frame": decode_from_frame}
    algo = Lompo(LompoConfig(**settings), store)
    batch = batch_to_torch(algo.model_sampler.sample(), algo.device)
    with torch.no_grad():
        embed = algo.model.encoder(batch["image"])
        torch.manual_seed(1)
        own = algo.model.rssm.observe(embed, batch["action"], batch["is_first"])
        torch.manual_seed(1)
        other = algo.model.rssm.observe(embed, batch["action"].roll(1, 0), batch["is_first"])
        rewards = [algo.model.reward(torch.cat([p["deter"], p["stoch"]], -1)) for p in (own, other)]
        images = [algo.model.decode(torch.cat([p["deter"], p["stoch"]], -1)) for p in (own, other)]
    assert torch.equal(rewards[0], rewards[1])
    assert torch.equal(images[0], images[1]) == decode_from_frame
    assert not torch.equal(own["deter"], other["deter"])
    fit = algo.reward_fit()
    assert fit["model/fit_reward_r2"] == fit["model/fit_reward_r2_other_actions"]
    loss, _ = algo.world_model_loss(batch)
    loss.backward()
    assert algo.model.reward_head[0].weight.grad.abs().sum() > 0
    assert algo.model.rssm.posterior_net[0].in_features == algo.model.encoder.embed_dim
    run = new_run(tmp_path / "run", cartpole[32], video="false", reward_from_frame="true",
                  decode_from_frame=str(decode_from_frame).lower())  # fmt: skip
    assert run.train(log=lambda *a: None)["return_mean"] is not None


def test_reward_scale_weights_only_the_reward_likelihood(cartpole):
    """``reward_scale`` multiplies the reward term of eq. 8 and nothing else (same model, batch and draws)."""
    store = load_store(cartpole[32])
    torch.manual_seed(0)
    algo = Lompo(LompoConfig(**PRESETS["tiny"]), store)
    batch = batch_to_torch(algo.model_sampler.sample(), algo.device)
    members = torch.zeros(batch["image"].shape[1], dtype=torch.long)
    losses = {}
    for scale in (1.0, 10.0):
        algo.config.reward_scale = scale
        torch.manual_seed(1)
        losses[scale] = world_model_loss(algo.model, batch, algo.config, members)
    reward_term = float(losses[1.0][1]["model/reward_nll"])
    assert reward_term > 0
    assert (losses[10.0][0] - losses[1.0][0]).item() == pytest.approx(9 * reward_term, rel=1e-4)
    with pytest.raises(Exception, match="reward_scale"):
        LompoConfig(**{**PRESETS["tiny"], "reward_scale": 0.0}).validate()
