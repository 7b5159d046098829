"""Proprioception beside images in LOMPO's world model: both modalities receive gradient, the default
follows the task (on for adroit-pen, off for DMC) and is written to config.json, evaluation feeds the
policy both, and data without proprioception is refused by name."""

import json

import numpy as np
import pytest
import torch

from lompo.algos.world_model import batch_to_torch
from lompo.collect import collect_random
from lompo.data import write_episode
from lompo.data.dataset import write_metadata
from lompo.errors import ConfigError
from lompo.testing import synthetic_episode

from helpers import new_run


def test_both_modalities_receive_gradient_from_one_model_step(tiny_dataset, tmp_path):
    run = new_run(tmp_path / "run", tiny_dataset, proprio="true")  # lompo collect stores it as "state"
    store = run.open_store()
    algo = run.spec.build(run.config, store, seed=0)
    batch = batch_to_torch(algo.model_sampler.sample(), algo.device)
    assert batch["proprio"].shape[-1] == store["state"].shape[-1]
    algo.model.zero_grad()
    loss, metrics = algo.world_model_loss(batch)
    loss.backward()
    encoder = algo.model.encoder
    for name, module in [("conv", encoder.net), ("proprio MLP", encoder.proprio), ("head", algo.model.proprio_head)]:
        norm = sum(float(p.grad.norm()) for p in module.parameters() if p.grad is not None)
        assert norm > 0, name
    assert metrics["model/proprio_nll"] > 0
    # the embedding changes with the proprioception alone
    image = batch["image"][:, :2]
    a = encoder(image, batch["proprio"][:, :2])
    b = encoder(image, batch["proprio"][:, :2] + 1.0)
    assert not torch.allclose(a, b)
    with pytest.raises(ConfigError, match="proprioception"):
        encoder(image)


@pytest.fixture(scope="module")
def pen_dataset(tmp_path_factory):
    (folder,) = collect_random(
        "adroit-pen", tmp_path_factory.mktemp("pen"), episodes=2, image_sizes=(32,), render_profile="fast",
        episode_length=40, progress=False,
    )  # fmt: skip
    return folder


@pytest.mark.parametrize("algo", ["lompo", "offline_dv2", "bc"])
def test_the_default_follows_the_task_and_evaluation_feeds_both(tmp_path, tiny_dataset, pen_dataset, algo):
    dmc = new_run(tmp_path / "dmc", tiny_dataset, algo=algo)
    assert json.loads(dmc.config_path.read_text())["algo"]["proprio"] is False
    run = new_run(tmp_path / "pen", pen_dataset, algo=algo, eval_episodes=1)
    assert json.loads(run.config_path.read_text())["algo"]["proprio"] is True
    result = run.train()
    assert np.isfinite(result["return_mean"]) and "success_rate" in result
    assert run.policy(run.trained_algorithm(run.open_store())[0]).observation == "dict"


def test_offline_dv2_and_drq_encoders_take_both(tiny_dataset, tmp_path):
    for algo in ("offline_dv2", "drqbc"):
        run = new_run(tmp_path / algo, tiny_dataset, algo=algo, proprio="true")
        store = run.open_store()
        built = run.spec.build(run.config, store, seed=0)
        if algo == "offline_dv2":
            batch = batch_to_torch(built.model_sampler.sample(), built.device)
            loss, metrics = built.world_model_loss(batch)
            loss.backward()
            grads = [built.model.encoder.proprio, built.model.proprio_head]
            assert metrics["model/proprio_nll"] > 0
        else:
            batch = built.batch()
            rows = store["state"]
            assert batch["proprio"].shape == (built.config.batch_size, rows.shape[1])
            assert built.encoder.repr_dim == built.encoder(batch["obs"], batch["proprio"]).shape[1]
            built.train_step("agent", 0)
            grads = [built.critic]
        for module in grads:
            assert sum(float(p.grad.norm()) for p in module.parameters() if p.grad is not None) > 0, algo


def test_proprio_on_data_without_it_is_refused_by_name(tmp_path):
    folder = tmp_path / "images-only"
    folder.mkdir()
    for i in range(2):
        write_episode(folder, synthetic_episode(12, 32, 1, seed=i), name=f"{i}-13.npz")
    write_metadata(folder, {"task": "cartpole-swingup"})
    run = new_run(tmp_path / "run", folder, proprio="true")
    with pytest.raises(ConfigError, match="proprio=true needs proprioception"):
        run.train()


def test_the_paper_preset_gives_the_pen_its_wide_rssm(tmp_path, tiny_dataset, pen_dataset):
    from lompo.runtime.trainer import Run

    def sizes(data, algo="lompo", **overrides):
        run = Run.new(tmp_path / f"run{len(list(tmp_path.iterdir()))}", algo, data, preset="paper", overrides=overrides)
        config = json.loads(run.config_path.read_text())["algo"]
        return config.get("deter"), config.get("hidden")

    assert sizes(pen_dataset) == (512, 512)  # LOMPO appendix C
    assert sizes(pen_dataset, algo="lmbrl") == (512, 512)
    assert sizes(tiny_dataset) == (256, 256)  # the other tasks keep the preset
    assert sizes(pen_dataset, deter="300") == (300, 512)  # an explicit setting wins
    assert sizes(pen_dataset, algo="bc")[1] == 1024  # DrQ's hidden is not the RSSM's


@pytest.mark.parametrize("algo", ["lompo", "bc"])
def test_an_exported_policy_reads_proprioception_as_evaluation_does(tmp_path, pen_dataset, algo):
    from lompo.cli import main
    from lompo.data import read_episode
    from lompo.data.dataset import episode_files

    run = new_run(tmp_path / "run", pen_dataset, algo=algo, eval_every=0, video=False, eval_episodes=1)
    run.train()
    assert main(["export", str(run.path), "--out", str(tmp_path / "exported")]) == 0
    assert json.loads((tmp_path / "exported" / "policy.json").read_text())["proprio_dim"] == 48  # the hand's
    exported = torch.jit.load(str(tmp_path / "exported" / "policy.pt"))
    trained = run.trained_algorithm(run.open_store())[0]
    policy = run.policy(trained, latent="mean") if algo == "lompo" else run.policy(trained)
    episode = read_episode(episode_files(pen_dataset)[0])
    for _ in range(2):
        exported.reset()
        policy.reset()
        for image, proprio in zip(episode["image"][:5], episode["proprio"][:5], strict=True):
            action = exported.act(torch.from_numpy(image), torch.from_numpy(proprio)).numpy()
            np.testing.assert_allclose(action, policy.act({"image": image, "proprio": proprio}), atol=1e-5)
    # the proprioception matters, and a call without it is refused
    exported.reset()
    moved = exported.act(torch.from_numpy(episode["image"][0]), torch.from_numpy(episode["proprio"][0]) + 1.0)
    exported.reset()
    assert not torch.allclose(
        moved, exported.act(torch.from_numpy(episode["image"][0]), torch.from_numpy(episode["proprio"][0]))
    )
    with pytest.raises(Exception, match="reads proprioception"):
        exported.act(torch.from_numpy(episode["image"][0]))


def test_a_robot_dataset_stores_the_robots_proprioception_and_refuses_without_it(tmp_path, pen_dataset):
    """A collected pen dataset holds ``proprio`` (the hand's 48 joint values) beside ``state`` (the suite's
    45, the pen's pose included); the models read ``proprio``. A robot dataset with ``state`` alone (as
    collected before the two were apart) is refused by name instead of read as proprioception."""
    from lompo.data import read_episode
    from lompo.data.dataset import episode_files, read_metadata

    episode = read_episode(episode_files(pen_dataset)[0])
    assert episode["proprio"].shape[1:] == (48,) and episode["state"].shape[1:] == (45,)
    np.testing.assert_allclose(episode["proprio"][:, :24], episode["physics_state"][:, :24], atol=1e-6)  # hand qpos
    run = new_run(tmp_path / "run", pen_dataset)
    algo = run.spec.build(run.config, run.open_store(), seed=0)
    assert algo.model_sampler.sample()["proprio"].shape[-1] == 48
    legacy = tmp_path / "legacy"
    for path in episode_files(pen_dataset):
        stored = read_episode(path)
        del stored["proprio"]
        write_episode(legacy, stored, name=path.name)
    write_metadata(legacy, {k: v for k, v in read_metadata(pen_dataset).items() if k != "files"})  # no checksums
    with pytest.raises(ConfigError, match="not the robot's proprioception; collect it again"):
        new_run(tmp_path / "legacy-run", legacy).train()


def test_diagnose_feeds_a_multimodal_world_model_both(tmp_path, pen_dataset):
    """``lompo diagnose`` on a run with proprioception: its windows and the policy's episodes in the
    environment give the encoder both, as training and evaluation do."""
    from lompo.bench.diagnose import diagnose

    run = new_run(tmp_path / "run", pen_dataset, eval_episodes=1, video=False)
    run.train()
    result = json.loads(diagnose(run.path, sequences=4, horizon=3, policy_episodes=1, plots=False).read_text())
    assert result["policy"]["episodes"] == 1 and np.isfinite(result["policy"]["image_mse"])
    final = json.loads((run.path / "final.json").read_text())
    assert result["policy"]["return"][0] == pytest.approx(final["returns"][0], abs=1e-3)
