"""Offline DV2 through the shared runtime: CLI end to end, resume, world-model reuse."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from lompo.algos.offline_dv2 import OfflineDV2
from lompo.cli import main
from lompo.errors import ConfigError
from lompo.runtime import Run, latest_checkpoint, load_checkpoint

from helpers import metric_lines, new_run


def test_tiny_offline_dv2_end_to_end_through_the_cli(tmp_path, tiny_dataset, capsys):
    out = tmp_path / "run"
    flags = ["--algo", "offline_dv2", "--preset", "tiny", "--no-progress"]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(out), *flags]) == 0
    run = Run(out)
    result = run.final()
    assert np.isfinite(result["return_mean"]) and result["algo"] == "offline_dv2"
    assert result["steps"] == {"model": 6, "agent": 6}
    assert iio.imread(run.videos / "model_strip.png").shape == (3 * 32, 8 * 32, 3)
    assert (run.videos / "policy.gif").stat().st_size > 0
    lines = metric_lines(run)
    assert [line["phase"] for line in lines] == ["model"] * 6 + ["agent"] * 6
    agent = [line for line in lines if line["phase"] == "agent"]
    assert all(line["agent/penalty"] > 0 for line in agent)  # the penalty is on by default
    for name in ("std", "first_step", "last_step", "random_actions", "std_across_actions"):
        assert all(np.isfinite(line[f"agent/penalty_{name}"]) for line in agent), name
    config = json.loads(run.config_path.read_text())["algo"]
    assert config["penalty_scale"] == 10.0 and config["stoch"] == 4 and config["ensemble"] == 3
    assert main(["evaluate", str(out), "--episodes", "1", "--json", "--no-progress"]) == 0


def test_resume_equals_uninterrupted_run(tmp_path, tiny_dataset, monkeypatch):
    reference = new_run(tmp_path / "reference", tiny_dataset, "offline_dv2", checkpoint_every=2)
    expected = reference.train()
    original = OfflineDV2.train_step

    def crash(self, phase, step):
        if phase == "agent" and step == 3:  # after the checkpoint at agent step 2
            raise KeyboardInterrupt
        return original(self, phase, step)

    interrupted = new_run(tmp_path / "interrupted", tiny_dataset, "offline_dv2", checkpoint_every=2)
    monkeypatch.setattr(OfflineDV2, "train_step", crash)
    with pytest.raises(KeyboardInterrupt):
        interrupted.train()
    monkeypatch.setattr(OfflineDV2, "train_step", original)
    assert latest_checkpoint(interrupted.checkpoints).name == "1-000000002"
    resumed = Run(interrupted.path).train()
    for key in ("return_mean", "returns"):
        assert resumed[key] == expected[key]
    assert metric_lines(interrupted) == metric_lines(reference)
    final = [load_checkpoint(latest_checkpoint(r.checkpoints))["algo"] for r in (reference, interrupted)]
    for part in ("actor", "critic", "target_critic", "model"):
        for name, tensor in final[0][part].items():
            assert torch.equal(tensor, final[1][part][name]), (part, name)


def test_world_model_reuse(tmp_path, tiny_dataset, monkeypatch):
    source = new_run(tmp_path / "source", tiny_dataset, "offline_dv2")
    source.train()
    monkeypatch.setattr(OfflineDV2, "model_step", lambda self: pytest.fail("the model phase must be skipped"))
    run = new_run(tmp_path / "reuse", tiny_dataset, "offline_dv2", world_model=source.path, penalty_scale=3)
    run.train()
    expected = load_checkpoint(latest_checkpoint(source.checkpoints))["algo"]["model"]
    model = load_checkpoint(latest_checkpoint(run.checkpoints))["algo"]["model"]
    assert all(torch.equal(expected[name], model[name]) for name in expected)
    # a LOMPO world model is not a DV2 world model
    lompo_run = new_run(tmp_path / "lompo", tiny_dataset, "lompo")
    lompo_run.train()
    wrong = new_run(tmp_path / "wrong", tiny_dataset, "offline_dv2", world_model=lompo_run.path)
    with pytest.raises(ConfigError, match="cannot use"):
        wrong.train()
