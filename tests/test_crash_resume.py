"""SIGKILL a training process at random moments, resume, and finish as if nothing happened."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from lompo.runtime import Run
from lompo.runtime.checkpoint import verify_checkpoint
from test_runtime import new_run, tiny_dataset  # noqa: F401  (the fixture)


def _start(args, env):
    return subprocess.Popen([sys.executable, "-m", "lompo.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_at_random_moments_then_resume(tmp_path, tiny_dataset):  # noqa: F811
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
