"""The shared runtime with LOMPO: end to end, resume, world-model reuse, checkpoints, divergence."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lompo.algos.lompo import Lompo
from lompo.cli import main
from lompo.data.store import load_store
from lompo.errors import CheckpointError, ConfigError, DivergenceError
from lompo.runtime import Run, algorithm_spec, build_configs, latest_checkpoint, load_checkpoint, save_checkpoint

from helpers import final_weights, interrupted_run, metric_lines, new_run


def test_tiny_lompo_end_to_end(tmp_path, tiny_dataset):
    run = new_run(tmp_path / "run", tiny_dataset)
    result = run.train()
    assert run.finished
    assert np.isfinite(result["return_mean"]) and result["episodes"] == 1
    assert result["score_vd4rl"] == pytest.approx(result["return_mean"] / 10)
    assert (run.videos / "policy.gif").stat().st_size > 0
    strip = run.videos / "model_strip.png"
    import imageio.v3 as iio

    image = iio.imread(strip)
    assert image.shape == (3 * 32, 8 * 32, 3)  # ground truth / posterior / prior rows, 8 frames
    phases = [line["phase"] for line in metric_lines(run)]
    assert phases.index("model") < phases.index("buffers") < phases.index("agent")
    evals = [json.loads(line) for line in run.eval_path.read_text().splitlines()]
    assert [e["phase"] for e in evals] == ["agent", "final"]  # eval_every=4 of 8 updates, then final
    config = json.loads(run.config_path.read_text())
    assert config["run"]["preset"] == "tiny" and config["algo"]["ensemble"] == 3
    # A finished run is not retrained.
    assert Run(run.path).train() == result


def test_resume_equals_uninterrupted_run(tmp_path, tiny_dataset, monkeypatch):
    reference = new_run(tmp_path / "reference", tiny_dataset)
    expected = reference.train()

    # Interrupt at the 4th agent update (after the checkpoint at 3), as a crash would.
    interrupted = interrupted_run(tmp_path / "interrupted", tiny_dataset, monkeypatch, "agent", 4)
    assert not interrupted.finished
    assert latest_checkpoint(interrupted.checkpoints).name == "2-000000003"

    resumed = Run(interrupted.path).train()
    for key in ("return_mean", "returns", "score_vd4rl"):
        assert resumed[key] == expected[key]
    assert metric_lines(interrupted) == metric_lines(reference)  # lines after the checkpoint were redone once
    for name, tensor in final_weights(reference).items():
        assert torch.equal(tensor, final_weights(interrupted)[name]), name


def test_ablations_are_configurations(tmp_path, tiny_dataset):
    spec = algorithm_spec("lmbrl")
    _, config = build_configs("lmbrl", spec.config_cls, spec.presets, spec.variants, "tiny", {})
    assert config.penalty_scale == 0.0
    _, config = build_configs("offline_slac", spec.config_cls, spec.presets, spec.variants, "tiny", {})
    assert config.model_rollouts is False
    with pytest.raises(ConfigError, match="lmbrl fixes penalty_scale"):
        build_configs("lmbrl", spec.config_cls, spec.presets, spec.variants, "tiny", {"penalty_scale": "5"})
    with pytest.raises(ConfigError, match="unknown setting 'penalty_scal'"):
        build_configs("lompo", spec.config_cls, spec.presets, spec.variants, "tiny", {"penalty_scal": "5"})


def test_world_model_reuse_skips_model_training(tmp_path, tiny_dataset, monkeypatch):
    source = new_run(tmp_path / "lompo", tiny_dataset)
    source.train()
    source_model = load_checkpoint(latest_checkpoint(source.checkpoints))["algo"]["model"]

    def no_model_training(self):
        raise AssertionError("the model phase must be skipped")

    monkeypatch.setattr(Lompo, "model_step", no_model_training)
    for algo in ("lmbrl", "offline_slac"):
        run = new_run(tmp_path / algo, tiny_dataset, algo=algo, world_model=source.path)
        run.train()
        model = load_checkpoint(latest_checkpoint(run.checkpoints))["algo"]["model"]
        for name, tensor in source_model.items():
            assert torch.equal(tensor, model[name]), name
        assert "model" not in {line["phase"] for line in metric_lines(run)}

    # Incompatible shapes are refused with the differing field named.
    bad = new_run(tmp_path / "bad", tiny_dataset, world_model=source.path, deter=32)
    with pytest.raises(ConfigError, match="deter: 16 there, 32 here"):
        bad.train()


def test_world_model_source_must_have_finished_its_model(tmp_path, tiny_dataset, monkeypatch):
    source = interrupted_run(tmp_path / "source", tiny_dataset, monkeypatch, "model", 4, model_steps=6)
    run = new_run(tmp_path / "user", tiny_dataset, world_model=source.path)
    with pytest.raises(ConfigError, match="has not finished training its world model"):
        run.train()


def poison_model_step(monkeypatch, nan) -> dict:
    """LOMPO's 5th model step reports ``model/loss = nan``; returns the call counter."""
    original = Lompo.model_step
    calls = {"n": 0}

    def poisoned(self):
        calls["n"] += 1
        metrics = original(self)
        if calls["n"] == 5:
            metrics["model/loss"] = nan
        return metrics

    monkeypatch.setattr(Lompo, "model_step", poisoned)
    return calls


def test_nan_loss_stops_with_step_phase_and_loss(tmp_path, tiny_dataset, monkeypatch):
    poison_model_step(monkeypatch, float("nan"))
    run = new_run(tmp_path / "run", tiny_dataset)
    with pytest.raises(DivergenceError, match=r"model/loss = nan at step 5 of phase 'model'.*000000003"):
        run.train()
    good = latest_checkpoint(run.checkpoints)
    assert good.name == "0-000000003"
    load_checkpoint(good)  # the last good checkpoint is intact


@pytest.mark.parametrize("nan_type", ["tensor", "float"])
def test_a_nan_between_logged_steps_is_reported_at_its_own_step(tmp_path, tiny_dataset, monkeypatch, nan_type):
    """Steps that are neither logged nor checkpointed keep their metrics on the device and are watched
    there (FiniteWatch): a NaN at step 5 with logs every 4 and checkpoints every 3 steps is reported at
    the next checkpoint step as step 5's, and that checkpoint is not written."""
    nan = torch.tensor(float("nan")) if nan_type == "tensor" else float("nan")
    calls = poison_model_step(monkeypatch, nan)
    run = new_run(tmp_path / "run", tiny_dataset, log_every=4, checkpoint_every=3, model_steps=8)
    with pytest.raises(DivergenceError, match=r"model/loss = nan at step 5 of phase 'model'.*0-000000003"):
        run.train()
    assert calls["n"] == (6 if nan_type == "tensor" else 5)  # a tensor's verdict is read at step 6
    assert latest_checkpoint(run.checkpoints).name == "0-000000003"
    assert [line["step"] for line in metric_lines(run)] == [4]  # logged every 4 steps


def test_metrics_are_read_on_the_host_only_at_logged_evaluated_and_checkpointed_steps(
    tmp_path, tiny_dataset, monkeypatch
):
    from lompo.runtime import trainer

    reads = []
    original = trainer.metric_values

    def counted(metrics):
        reads.append(metrics)
        return original(metrics)

    monkeypatch.setattr(trainer, "metric_values", counted)
    run = new_run(tmp_path / "run", tiny_dataset, log_every=4, checkpoint_every=100, eval_every=0, model_steps=6)
    run.train()
    lines = metric_lines(run)
    assert [(line["phase"], line["step"]) for line in lines] == [
        ("model", 4), ("model", 6), ("buffers", 1), ("agent", 4), ("agent", 8)
    ]  # fmt: skip
    assert len(reads) == len(lines)  # 19 training steps, 5 reads: the logged ones (checkpoints at phase ends)


def test_checkpoint_round_trip_and_corruption(tmp_path):
    state = {
        "w": torch.arange(6.0).reshape(2, 3),
        "a": np.arange(4, dtype=np.int16),
        "n": 3,
        "t": (1, "x"),
        "opt": {"state": {0: {"step": torch.tensor(2.0)}}, "param_groups": [{"lr": 1e-3, "params": [0]}]},
    }
    path = save_checkpoint(tmp_path, "c1", state)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["w"], state["w"]) and loaded["a"].dtype == np.int16
    assert loaded["t"] == (1, "x") and 0 in loaded["opt"]["state"]
    save_checkpoint(tmp_path, "c2", {"n": 4})
    # A truncated newest checkpoint is never used; the previous one is.
    weights = tmp_path / "c2" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:5])
    assert latest_checkpoint(tmp_path).name == "c1"
    with pytest.raises(CheckpointError, match="weights.safetensors does not match"):
        load_checkpoint(tmp_path / "c2")


def test_checkpoint_with_pickle_payload_is_refused(tmp_path):
    path = save_checkpoint(tmp_path, "c1", {"a": np.zeros(2)})
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.savez(path / "arrays.npz", a=np.array([Payload()], dtype=object))
    manifest = json.loads((path / "manifest.json").read_text())
    import hashlib

    manifest["files"]["arrays.npz"] = hashlib.sha256((path / "arrays.npz").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="pickled objects are never loaded"):
        load_checkpoint(path)
    assert not marker.exists()


def test_cli_train_evaluate_and_resume(tmp_path, tiny_dataset, capsys):
    out = tmp_path / "run"
    flags = ["--preset", "tiny", "--set", "agent_steps=4", "--no-progress"]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(out), *flags]) == 0
    assert "final: return" in capsys.readouterr().out
    final = json.loads((out / "final.json").read_text())  # what the run trained on, as it was then
    assert final["data_statistics"] == json.loads((Path(tiny_dataset) / "dataset.json").read_text())["statistics"]
    assert final["data_fingerprint"] == load_store(tiny_dataset).directory.name
    assert main(["train", "--data", str(tiny_dataset), "--preset", "tiny", "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0  # finished: nothing to redo
    assert main(["evaluate", str(out), "--episodes", "1", "--json", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert '"episodes": 1' in printed
    flags = ["--preset", "tiny", "--set", "horizon=zero"]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "x"), *flags]) == 2
    assert "horizon must be a int" in capsys.readouterr().err


@pytest.mark.parametrize(
    "algo, old, new",
    [
        ("lompo", {"agent_updates": 7}, {"agent_steps": 7}),
        ("bc", {"steps": 9}, {"agent_steps": 9}),
        ("offline_dv2", {"grad_clip": 50.0}, {"model_grad_clip": 50.0, "agent_grad_clip": 50.0}),
    ],
)
def test_run_directories_written_under_renamed_settings_still_load(tmp_path, tiny_dataset, algo, old, new):
    run = new_run(tmp_path / "run", tiny_dataset, algo=algo)
    raw = json.loads(run.config_path.read_text())
    for key in new:
        raw["algo"].pop(key)
    raw["algo"].update(old)
    run.config_path.write_text(json.dumps(raw))
    config = Run(run.path).config
    assert all(getattr(config, key) == value for key, value in new.items())


def test_datasets_and_runs_record_the_locked_environment(tmp_path, tiny_dataset):
    """dataset.json and final.json name the requirements.lock they were made under (its SHA-256) and
    whether the installed packages match it."""
    from lompo.files import lock_path, sha256_of

    lock = lock_path()
    assert lock is not None and lock == Path(__file__).resolve().parents[1] / "requirements.lock"
    meta = json.loads((tiny_dataset / "dataset.json").read_text())
    assert meta["lock"]["sha256"] == sha256_of(lock)
    result = new_run(tmp_path / "run", tiny_dataset, algo="bc", video="false").train()
    assert result["lock"]["sha256"] == sha256_of(lock)
    assert isinstance(result["lock"]["matches_installed"], bool)


def test_an_edited_dataset_json_reaches_the_next_run_without_repacking(tmp_path, tiny_dataset):
    """The store cache is keyed by the episode files only; the dataset's metadata is read anew each time
    and the run records which metadata (task, digest) it trained with."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    first = load_store(data)
    meta_path = data / "dataset.json"
    meta = json.loads(meta_path.read_text())
    meta["reference_returns"] = {"random": 1.0, "expert": 2.0}
    meta_path.write_text(json.dumps(meta))
    second = load_store(data)
    assert second.directory == first.directory  # the same packed arrays
    assert second.info["metadata"]["reference_returns"] == {"random": 1.0, "expert": 2.0}
    result = new_run(tmp_path / "run", data, algo="bc", video="false").train()
    assert result["data_task"] == "cartpole-swingup"
    assert result["reference_random"] == 1.0 and result["reference_expert"] == 2.0
    from lompo.runtime.trainer import metadata_digest

    assert result["data_metadata_sha256"] == metadata_digest(second.info["metadata"])


def test_tensorboard_mirrors_the_metrics_also_across_a_resume(tmp_path, tiny_dataset, monkeypatch):
    """`tensorboard=true`: every numeric metrics.jsonl value under one step axis across phases (model
    steps, then agent steps after them), the final return and the model-sample strip; a resumed run
    leaves no duplicate of the steps it repeats."""
    import json

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from helpers import interrupted_run

    run = interrupted_run(tmp_path / "run", tiny_dataset, monkeypatch, tensorboard=True, eval_every=0)
    Run(run.path).train()
    lines = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    events = EventAccumulator(str(run.path / "tb"), size_guidance={"scalars": 0, "images": 0}).Reload()
    model_steps = max(line["step"] for line in lines if line["phase"] == "model")
    expected = [(line["step"] + (model_steps if line["phase"] == "agent" else 0), line["model/loss"])
                for line in lines if "model/loss" in line]  # fmt: skip
    assert [(e.step, round(e.value, 4)) for e in events.Scalars("model/loss")] == [
        (step, round(value, 4)) for step, value in expected
    ]
    critic = next(key for key in lines[-1] if key.endswith("critic_loss"))  # an agent-phase metric
    offset = sum(run.final()["steps"][phase] for phase in ("model", "buffers"))
    agent = [(e.step, round(e.value, 4)) for e in events.Scalars(critic)]
    assert agent == [(offset + line["step"], round(line[critic], 4)) for line in lines if critic in line]
    assert "final/return_mean" in events.Tags()["scalars"] and "model_strip" in events.Tags()["images"]
