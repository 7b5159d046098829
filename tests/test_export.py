"""`lompo export`: a trained latent-model policy as one TorchScript file that runs with torch alone
and acts exactly as the evaluation policy does on the same frames."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from lompo.cli import main
from lompo.data import read_episode
from lompo.data.dataset import episode_files

from helpers import new_run

_LOAD_WITH_TORCH_ONLY = """
import sys, numpy as np, torch
policy = torch.jit.load(sys.argv[1])
frames = np.load(sys.argv[2])
actions = []
for episode in range(2):
    policy.reset()
    actions += [policy.act(torch.from_numpy(frame)).numpy() for frame in frames]
np.save(sys.argv[3], np.stack(actions))
assert not any(name == "lompo" or name.startswith("lompo.") for name in sys.modules), "lompo was imported"
"""


@pytest.mark.parametrize("algo", ["lompo", "offline_dv2"])
def test_the_exported_policy_acts_as_evaluation_does_with_torch_only(tmp_path, tiny_dataset, algo):
    run = new_run(tmp_path / "run", tiny_dataset, algo=algo, eval_every=0, video=False)
    run.train()
    assert main(["export", str(run.path), "--out", str(tmp_path / "exported")]) == 0
    frames = read_episode(episode_files(tiny_dataset)[0])["image"][:12]
    np.save(tmp_path / "frames.npy", frames)
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_WITH_TORCH_ONLY, str(tmp_path / "exported" / "policy.pt"),
         str(tmp_path / "frames.npy"), str(tmp_path / "actions.npy")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    exported = np.load(tmp_path / "actions.npy")
    algo_, _ = run.trained_algorithm(run.open_store())
    policy = run.policy(algo_, latent="mean")
    expected = []
    for _ in range(2):
        policy.reset()
        expected += [policy.act(frame) for frame in frames]
    np.testing.assert_allclose(exported, np.stack(expected), rtol=1e-5, atol=1e-6)
    assert np.abs(np.diff(exported[:12], axis=0)).max() > 0  # the latent state carries over steps
    np.testing.assert_array_equal(exported[:12], exported[12:])  # reset() starts a new episode


def test_an_exported_frame_stack_policy_acts_as_evaluation_does(tmp_path, tiny_dataset):
    """BC (DrQ's backbone, 3 stacked frames): the same actions as its evaluation policy, across a reset."""
    run = new_run(tmp_path / "run", tiny_dataset, algo="bc", eval_every=0, video=False)
    run.train()
    assert main(["export", str(run.path), "--out", str(tmp_path / "exported")]) == 0
    exported = torch.jit.load(str(tmp_path / "exported" / "policy.pt"))
    algo, _ = run.trained_algorithm(run.open_store())
    policy = run.policy(algo)
    frames = read_episode(episode_files(tiny_dataset)[0])["image"][:6]
    for _ in range(2):
        exported.reset()
        policy.reset()
        for frame in frames:
            np.testing.assert_allclose(exported.act(torch.from_numpy(frame)).numpy(), policy.act(frame), atol=1e-6)
