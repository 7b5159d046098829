import pytest

from lompo.testing import file_digests  # noqa: F401  (re-exported for tests)
from lompo.testing import synthetic_episode as make_episode  # noqa: F401


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test packs stores into its own cache folder."""
    monkeypatch.setenv("LOMPO_CACHE", str(tmp_path / "cache"))
