import os

import pytest

pytest_plugins = ["tests.fixtures.workers", "tests.fixtures.simulator"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """One test database per pytest process, so runs side by side on one server never meet."""
    from django.conf import settings

    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = f"test_recomamp_{os.getpid()}"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Stored results go to a per-test directory; passwords hash fast."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
