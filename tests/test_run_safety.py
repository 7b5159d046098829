"""Run directories are safe to share and to resume: one trainer at a time, resume only under the
settings a checkpoint was trained with, settings validated up front, signals end with a resumable
message."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lompo.errors import CheckpointError, ConfigError, DatasetError
from lompo.files import exclusive_lock
from lompo.runtime import Run

from helpers import interrupted_run, metric_lines, new_run


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lompo.cli", *args], capture_output=True, text=True, timeout=300)


def test_a_second_trainer_of_the_same_run_is_refused(tmp_path, tiny_dataset):
    run = new_run(tmp_path / "run", tiny_dataset)
    with exclusive_lock(run.path / ".lock", "held by the test"):
        done = _cli("train", "--resume", str(run.path), "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "is being trained by another process" in done.stderr and f"pid {os.getpid()}" in done.stderr
    assert "Traceback" not in done.stderr and not run.checkpoints.exists()
    with exclusive_lock(run.path / ".lock", "still held"):  # released with the test's block
        pass


def test_resume_refuses_another_algorithm_or_changed_settings(tmp_path, tiny_dataset, monkeypatch):
    run = interrupted_run(tmp_path / "run", tiny_dataset, monkeypatch)
    raw = json.loads(run.config_path.read_text())
    for key, value, message in (("algo", "offline_slac", "holds a lompo run"), ("deter", 32, "algo.deter: 16 then")):
        edited = json.loads(json.dumps(raw))
        if key == "algo":
            edited["run"]["algo"] = value
            edited["algo"]["model_rollouts"] = False
        else:
            edited["algo"][key] = value
        run.config_path.write_text(json.dumps(edited))
        with pytest.raises(CheckpointError, match=message):
            Run(run.path).train()
    raw["run"]["eval_episodes"] = 2  # evaluation and logging cadence may change
    run.config_path.write_text(json.dumps(raw))
    assert Run(run.path).train()["episodes"] == 2


def test_leftover_checkpoints_without_a_config_are_not_trained_over(tmp_path, tiny_dataset, monkeypatch):
    run = interrupted_run(tmp_path / "run", tiny_dataset, monkeypatch)
    run.config_path.unlink()
    with pytest.raises(ConfigError, match="holds checkpoints but no config.json"):
        new_run(run.path, tiny_dataset, algo="lmbrl")


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("checkpoint_every", 0, "checkpoint_every must be >= 1"),
        ("log_every", 0, "log_every must be >= 1"),
        ("threads", -1, "threads must be >= 0"),
        ("seed", -1, "seed must be >= 0"),
        ("device", "tpu", "device must be cpu or cuda"),
        ("model_lr", "nan", "model_lr must be a finite number"),
        ("model_steps", -5, "model_steps must be >= 0"),
    ],
)
def test_settings_are_validated_before_a_run_exists(tmp_path, tiny_dataset, setting, value, message):
    with pytest.raises(ConfigError, match=message):
        new_run(tmp_path / "run", tiny_dataset, **{setting: value})
    assert not (tmp_path / "run").exists()


def test_relative_data_paths_are_stored_absolute(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.chdir(tiny_dataset.parent)
    run = new_run(tmp_path / "run", tiny_dataset.name)
    assert run.settings.data == str(tiny_dataset.resolve())


def test_sigterm_ends_training_with_the_resume_command_and_resumes_exactly(tmp_path, tiny_dataset):
    overrides = {"agent_steps": 60, "checkpoint_every": 5, "log_every": 5, "eval_every": 0, "video": "false"}
    reference = new_run(tmp_path / "reference", tiny_dataset, **overrides)
    expected = reference.train()
    run = new_run(tmp_path / "run", tiny_dataset, **overrides)
    process = subprocess.Popen(
        [sys.executable, "-m", "lompo.cli", "train", "--resume", str(run.path), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 240
    while not (run.checkpoints / "latest").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err  # signalled at its first checkpoint, long before its end
    assert "terminated (SIGTERM)" in err and f"lompo train --resume {run.path}" in err and "Traceback" not in err
    resumed = Run(run.path).train()
    assert resumed["returns"] == expected["returns"]
    assert metric_lines(run) == metric_lines(reference)


def test_store_builds_clean_up_after_dead_processes_and_check_free_space(tmp_path, tiny_dataset, monkeypatch):
    import shutil as shutil_module

    from lompo.data import load_store

    cache = tmp_path / "cache"
    stale = cache / ".abc.tmp-999999999-deadbeef"  # a build whose process is gone
    stale.mkdir(parents=True)
    monkeypatch.setenv("LOMPO_CACHE", str(cache))
    real_usage = shutil_module.disk_usage
    monkeypatch.setattr(shutil_module, "disk_usage", lambda path: real_usage(path)._replace(free=1000))
    with pytest.raises(DatasetError, match="packing this dataset needs about"):
        load_store(tiny_dataset)
    monkeypatch.setattr(shutil_module, "disk_usage", real_usage)
    store = load_store(tiny_dataset)
    assert store.num_episodes == 3 and not stale.exists()


def test_a_full_disk_while_checkpointing_is_a_message_and_the_run_resumes(tmp_path, tiny_dataset, monkeypatch):
    import lompo.runtime.checkpoint as checkpoint

    run = new_run(tmp_path / "run", tiny_dataset, video="false")
    real_save = checkpoint.save_file
    calls = {"n": 0}

    def save_file(tensors, path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_save(tensors, path)

    monkeypatch.setattr(checkpoint, "save_file", save_file)
    with pytest.raises(CheckpointError, match="No space left on device.*the latest complete checkpoint is still"):
        run.train()
    monkeypatch.setattr(checkpoint, "save_file", real_save)
    assert not list(run.checkpoints.glob(".tmp-*"))
    assert Run(run.path).train()["episodes"] == 1


def _rewrite_checkpoint(checkpoint, edit):
    """Edit ``state.json`` of ``checkpoint`` and recompute its manifest, as a determined hand would."""
    from lompo.runtime.checkpoint import FILES, _sha256

    state = json.loads((checkpoint / "state.json").read_text())
    edit(state)
    (checkpoint / "state.json").write_text(json.dumps(state))
    (checkpoint / "manifest.json").write_text(json.dumps({"files": {f: _sha256(checkpoint / f) for f in FILES}}))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop("progress"), r"state.json lacks \['progress'\]"),
        (lambda s: s.update(rng={"python": "garbage"}), "contents do not fit this run"),
        (lambda s: s["progress"].update(step=-3), "progress.step is -3"),
        (lambda s: s["algo"]["model"].pop(next(iter(s["algo"]["model"]))), "contents do not fit this run"),
    ],
    ids=["missing_progress", "rng_garbage", "negative_step", "missing_weights"],
)
def test_a_hand_edited_checkpoint_is_refused_with_its_name(tmp_path, tiny_dataset, monkeypatch, edit, message):
    from lompo.runtime import latest_checkpoint

    run = interrupted_run(tmp_path / "run", tiny_dataset, monkeypatch)
    checkpoint = latest_checkpoint(run.checkpoints)
    _rewrite_checkpoint(checkpoint, edit)
    done = _cli("train", "--resume", str(run.path), "--no-progress")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert str(checkpoint) in done.stderr and re.search(message, done.stderr), done.stderr


@pytest.mark.parametrize(
    "part, key, value, message",
    [
        ("run", "seed", "abc", 'run.seed must be int, got "abc"'),
        ("algo", "deter", "x", 'algo.deter must be int, got "x"'),
        ("algo", "model_lr", True, "algo.model_lr must be float, got true"),
        ("run", "log_every", 0, "log_every must be >= 1"),
        ("algo", "bogus", 1, r"unknown setting\(s\) \['bogus'\]"),
    ],
)
def test_a_hand_edited_config_is_refused_with_the_field_named(tmp_path, tiny_dataset, part, key, value, message):
    run = new_run(tmp_path / "run", tiny_dataset)
    raw = json.loads(run.config_path.read_text())
    raw[part][key] = value
    run.config_path.write_text(json.dumps(raw))
    for command in (["train", "--resume"], ["evaluate"]):
        done = _cli(*command, str(run.path))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert str(run.config_path) in done.stderr and re.search(message, done.stderr), done.stderr


def test_an_unwritable_store_cache_is_a_message(tmp_path, tiny_dataset, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LOMPO_CACHE", str(blocker / "stores"))
    with pytest.raises(DatasetError, match="cannot write the packed store here") as raised:
        new_run(tmp_path / "run", tiny_dataset).train()
    assert "LOMPO_CACHE" in str(raised.value)


def test_an_out_on_or_under_a_file_is_a_message(tmp_path, tiny_dataset, capsys):
    from lompo.cli import main

    (tmp_path / "a_file").write_text("not a run")
    for out, message in ((tmp_path / "a_file", "is a file, not a run directory"), (tmp_path / "a_file" / "run", "")):
        assert main(["train", "--algo", "bc", "--preset", "tiny", "--data", str(tiny_dataset), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and str(out) in err and message in err, err
    assert (tmp_path / "a_file").read_text() == "not a run"


def test_a_run_written_before_settings_were_added_resumes_as_it_was(tmp_path, tiny_dataset, monkeypatch):
    """config.json and checkpoints without fields added since (proprio, validation_fraction, init) resume
    with the values those runs had: proprio off, no held-out episodes, PyTorch's initialisation."""
    from lompo.runtime import Run, latest_checkpoint

    run = interrupted_run(tmp_path / "run", tiny_dataset, monkeypatch)
    config = json.loads(run.config_path.read_text())
    for part, key in (("algo", "proprio"), ("run", "validation_fraction"), ("algo", "init")):
        config[part].pop(key)
    run.config_path.write_text(json.dumps(config))

    def forget(state):
        state["config"]["algo"].pop("proprio")
        state["config"]["run"].pop("validation_fraction")
        state["config"]["algo"].pop("init")

    _rewrite_checkpoint(latest_checkpoint(run.checkpoints), forget)
    old = Run(run.path)
    assert old.settings.validation_fraction == 0.0 and old.config.proprio is False and old.config.init == "torch"
    assert np.isfinite(old.train()["return_mean"])
