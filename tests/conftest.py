"""Fixtures shared by the test files (helper functions live in helpers.py)."""

import pytest

from lompo.collect import collect_random


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test packs stores into its own cache folder."""
    monkeypatch.setenv("LOMPO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Three short rendered cartpole-swingup episodes (100 simulator steps) at 32 px, fast profile."""
    out = tmp_path_factory.mktemp("data")
    (folder,) = collect_random(
        "cartpole-swingup",
        out,
        episodes=3,
        image_sizes=(32,),
        render_profile="fast",
        seed=0,
        episode_length=100,
        progress=False,
    )
    return folder
