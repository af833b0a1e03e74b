import pytest

pytest_plugins = ["tests.fixtures.workers", "tests.fixtures.simulator"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Stored results go to a per-test directory; passwords hash fast."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
