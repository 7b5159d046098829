"""Helper functions shared by the test files (fixtures live in conftest.py)."""

import json

from lompo.collect import collect_random
from lompo.runtime import Run, latest_checkpoint, load_checkpoint


def new_run(path, data, algo="lompo", **overrides):
    """A run of ``algo`` at the ``tiny`` preset on ``data`` with ``--set`` style overrides."""
    return Run.new(path, algo, data, preset="tiny", overrides={k: str(v) for k, v in overrides.items()})


def metric_lines(run):
    """The run's metrics.jsonl lines without the fields that differ between identical runs."""
    lines = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    for line in lines:
        line.pop("wall_time")
        line.pop("rss_mib")
        line.pop("rss_anon_mib")
    return lines


def final_weights(run):
    return load_checkpoint(latest_checkpoint(run.checkpoints))["algo"]["sac"]["actor"]


def random_cartpole(out, episodes: int, size: int, seed: int):
    """``episodes`` rendered random-action cartpole-swingup episodes of 100 simulator steps (fast profile)."""
    (folder,) = collect_random(
        "cartpole-swingup",
        out,
        episodes=episodes,
        image_sizes=(size,),
        render_profile="fast",
        seed=seed,
        episode_length=100,
        progress=False,
    )
    return folder


def interrupted_run(path, data, monkeypatch, phase="agent", step=4, **overrides):
    """A LOMPO ``tiny`` run stopped, as a crash would stop it, when ``train_step(phase, step)`` begins."""
    import pytest

    from lompo.algos.lompo import Lompo

    run = new_run(path, data, **overrides)
    original = Lompo.train_step

    def crash(self, at_phase, at_step):
        if at_phase == phase and at_step == step:
            raise KeyboardInterrupt
        return original(self, at_phase, at_step)

    monkeypatch.setattr(Lompo, "train_step", crash)
    with pytest.raises(KeyboardInterrupt):
        run.train()
    monkeypatch.setattr(Lompo, "train_step", original)
    return run
