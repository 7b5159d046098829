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
