"""Fixtures shared by the test files (helper functions live in helpers.py)."""

import pytest

from helpers import random_cartpole


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test packs stores into its own cache folder."""
    monkeypatch.setenv("LOMPO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _session_assets(tmp_path_factory):
    """Fetched model files (ROBEL's D'Claw) land in one folder per test session, not the user's cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("LOMPO_ASSETS", str(tmp_path_factory.mktemp("assets")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Three episodes at 32 px."""
    return random_cartpole(tmp_path_factory.mktemp("data"), episodes=3, size=32, seed=0)
