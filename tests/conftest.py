import pytest

pytest_plugins = []


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Stored results and exports go to a per-test directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
