"""SIGKILL a training process at random moments, resume, and finish as if nothing happened."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lompo.runtime import Run, latest_checkpoint, load_checkpoint
from lompo.runtime.checkpoint import verify_checkpoint

from helpers import metric_lines, new_run


def _start(args, env):
    return subprocess.Popen(
        [sys.executable, "-m", "lompo.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_sigkill_at_random_moments_then_resume(tmp_path, tiny_dataset):
    reference = new_run(tmp_path / "reference", tiny_dataset).train()

    run_dir = tmp_path / "killed"
    new_run(run_dir, tiny_dataset)  # config.json only; the process below trains it
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    rng = np.random.default_rng(0)
    kills = 0
    metrics = run_dir / "metrics.jsonl"
    for attempt in range(12):
        process = _start(["train", "--resume", str(run_dir), "--no-progress"], env)
        if attempt < 4:
            # Wait until this process writes to the log (it is training), then kill it a random moment later.
            before = metrics.read_bytes() if metrics.exists() else b""
            while process.poll() is None and (metrics.read_bytes() if metrics.exists() else b"") == before:
                time.sleep(0.005)
            time.sleep(float(rng.uniform(0.0, 0.4)))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
                latest = run_dir / "checkpoints" / "latest"
                print("killed; latest checkpoint:", latest.read_text() if latest.exists() else None)
        _, err = process.communicate(timeout=300)
        assert process.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        for checkpoint in (run_dir / "checkpoints").glob("[0-9]*"):
            assert verify_checkpoint(checkpoint) is None, checkpoint  # never a half-written visible checkpoint
        if Run(run_dir).finished:
            break
    assert Run(run_dir).finished
    result = json.loads((run_dir / "final.json").read_text())
    assert result["returns"] == reference["returns"]
    assert kills >= 1


def test_sigkill_during_collection_then_rerun(tmp_path):
    """`lompo collect` killed while its behaviour agent trains and while it renders; the rerun finishes
    with the same agent and the same episodes as an uninterrupted run."""
    args = [
        "collect",
        "--task",
        "cartpole-swingup",
        "--recipe",
        "expert",
        "--episode-length",
        "100",
        "--episodes",
        "3",
        "--image-size",
        "24",
        "--render",
        "fast",
        "--sac-frames",
        "1200",
        "--medium-threshold",
        "-1",
        "--threads",
        "1",
        "--no-progress",
    ]
    for setting in (
        "seed_frames=200",
        "checkpoint_every=200",
        "eval_episodes=1",
        "sac.hidden=16",
        "sac.batch_size=16",
        "medium_window=1",
    ):
        args += ["--behaviour", setting]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    reference = tmp_path / "reference"
    assert (
        subprocess.run(
            [sys.executable, "-m", "lompo.cli", *args, "--out", str(reference)], env=env, capture_output=True
        ).returncode
        == 0
    )

    out = tmp_path / "killed"
    agent = out / "cartpole_swingup" / "behaviour" / "seed0"
    expert = out / "cartpole_swingup" / "expert" / "24px"
    rng = np.random.default_rng(1)
    kills = 0
    for attempt in range(12):
        process = _start([*args, "--out", str(out)], env)
        if attempt < 3:
            # kill once training has checkpointed at least once more, or once rendering has started
            evaluations = agent / "evaluations.jsonl"
            seen = evaluations.read_bytes() if evaluations.exists() else b""
            while (
                process.poll() is None
                and (evaluations.read_bytes() if evaluations.exists() else b"") == seen
                and not any(expert.glob("*.npz"))
            ):
                time.sleep(0.005)
            time.sleep(float(rng.uniform(0.0, 0.3)))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
        _, err = process.communicate(timeout=300)
        assert process.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        if process.returncode == 0:
            break
    assert kills >= 1 and process.returncode == 0

    def evaluations(root):
        return (root / "cartpole_swingup" / "behaviour" / "seed0" / "evaluations.jsonl").read_text()

    def episodes(root):
        folder = root / "cartpole_swingup" / "expert" / "24px"
        found = {}
        for path in sorted(folder.glob("*.npz")):
            uid = path.name.split("-")[1]  # names carry the write time; the uid is the episode's identity
            with np.load(path) as data:
                found[uid] = (data["action"].tobytes(), data["image"].tobytes())
        return found

    assert evaluations(out) == evaluations(reference)
    assert episodes(out) == episodes(reference) and len(episodes(out)) == 3


# A training process that SIGKILLs itself at a chosen point of its first checkpoint write.
_KILL_DRIVER = """
import os, signal, sys
import lompo.runtime.checkpoint as ck
from lompo.cli import main

point, run_dir = sys.argv[1], sys.argv[2]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def when(original, condition):
    def wrapped(*args, **kwargs):
        if condition(*args):
            die()
        return original(*args, **kwargs)
    return wrapped

if point == "tensors_written":  # weights file written, arrays file half-created
    ck.np.savez = when(ck.np.savez, lambda f, *a: ".tmp-" in getattr(f, "name", ""))
elif point == "before_rename":  # complete temporary folder, not yet visible
    ck.os.replace = when(ck.os.replace, lambda src, *a: ".tmp-" in str(src))
elif point == "before_pointer":  # new checkpoint visible, `latest` still names the previous one
    ck.write_pointer = when(ck.write_pointer, lambda *a: True)
elif point == "during_prune":  # pointer moved, old checkpoints not yet removed
    ck._prune = die
sys.exit(main(["train", "--resume", run_dir, "--no-progress"]))
"""

KILL_POINTS = ("tensors_written", "before_rename", "before_pointer", "during_prune")


@pytest.mark.parametrize("algo", ["lompo", "drqbc"])
def test_sigkill_inside_checkpoint_writes_then_resume(tmp_path, tiny_dataset, algo):
    """Kill the process at each point of a checkpoint write in turn (each time in the first write after
    the resume); after every kill the latest checkpoint loads, and the resumed run ends exactly like an
    uninterrupted one."""
    reference_run = new_run(tmp_path / "reference", tiny_dataset, algo=algo)
    reference = reference_run.train()
    run_dir = tmp_path / "killed"
    new_run(run_dir, tiny_dataset, algo=algo)
    driver = tmp_path / "driver.py"
    driver.write_text(_KILL_DRIVER)
    for point in KILL_POINTS:
        process = subprocess.run([sys.executable, str(driver), point, str(run_dir)], capture_output=True)
        assert process.returncode == -signal.SIGKILL, (point, process.stderr.decode()[-2000:])
        for checkpoint in (run_dir / "checkpoints").glob("[0-9]*"):
            assert verify_checkpoint(checkpoint) is None, (point, checkpoint)
        latest = latest_checkpoint(run_dir / "checkpoints")
        if latest is not None:
            load_checkpoint(latest)  # never unreadable
    process = subprocess.run(
        [sys.executable, "-m", "lompo.cli", "train", "--resume", str(run_dir), "--no-progress"], capture_output=True
    )
    assert process.returncode == 0, process.stderr.decode()[-2000:]
    result = json.loads((run_dir / "final.json").read_text())
    assert result["returns"] == reference["returns"]
    assert metric_lines(Run(run_dir)) == metric_lines(reference_run)
