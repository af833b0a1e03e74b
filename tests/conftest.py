import os

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from instances.models import AccessRole
from reports.engine import queue
from reports.services.templates import upsert_catalogue
from tests.factories.instances import (
    AmcAccountFactory,
    AmcInstanceFactory,
    InstanceAccessFactory,
    UserFactory,
)
from tests.factories.reports import QueryTemplateFactory, ReportDefinitionFactory

pytest_plugins = [
    "tests.fixtures.workers",
    "tests.fixtures.simulator",
    "tests.fixtures.browser",
    "tests.fixtures.http",
]

# In CI every property test draws the same examples on every run, so a result can be
# reproduced; locally they explore anew each time.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """One test database per pytest process, so runs side by side on one server never meet."""
    from django.conf import settings

    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = f"test_recomamp_{os.getpid()}"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Stored results go to a per-test directory; passwords hash fast; a fresh cache (login
    throttles) per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }


@pytest.fixture
def analyst(db):
    return UserFactory()


@pytest.fixture
def instance(analyst):
    """An instance the analyst may run reports on."""
    return InstanceAccessFactory(user=analyst, role=AccessRole.ANALYST).instance


@pytest.fixture
def foreign_instance(db):
    """An instance of another client that the analyst has no access to."""
    return AmcInstanceFactory()


@pytest.fixture
def viewer(instance):
    """A user with read-only access to the analyst's instance."""
    return InstanceAccessFactory(instance=instance, role=AccessRole.VIEWER).user


@pytest.fixture
def api(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    return client


@pytest.fixture
def catalogue(db):
    return {template.template_id: template for template in upsert_catalogue()}


@pytest.fixture
def report(instance, analyst, catalogue):
    return ReportDefinitionFactory(
        instance=instance,
        owner=analyst,
        template=catalogue["campaign-performance-daily"],
        parameters={"min_impressions": 10},
    )


@pytest.fixture
def engine_tasks(monkeypatch):
    """Engine follow-up tasks (start, poll, cancel at AMC) recorded instead of sent, for
    service tests that stop at the engine's door (end-to-end tests use real workers)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        queue,
        "enqueue",
        lambda task, pk, countdown=0: sent.append((task.name.split(".")[-1], str(pk))),
    )
    return sent


@pytest.fixture
def simulated_report(amc_sim, settings):
    """`simulated_report(sql=, cap=, simulator_limit=, pending=, running=, **faults)`: a report on
    a fresh instance whose account points at the simulator, registered there with its own
    latencies, concurrency limit and faults. The simulator is the configured one (its result
    URLs may be fetched over http, on loopback)."""
    settings.AMC_SIMULATOR_URL = amc_sim.url

    def make(*, sql, cap, simulator_limit=10, pending=0.3, running=0.7, **faults):
        account = AmcAccountFactory(
            api_base_url=amc_sim.url,
            token_url=f"{amc_sim.url}/auth/o2/token",
            lwa_refresh_token="Atzr|test-refresh-token",
        )
        instance = AmcInstanceFactory(account=account, concurrency_cap=cap)
        amc_sim.add_instance(
            instance.instance_id,
            advertiser_id=account.account_id,
            marketplace_id=account.marketplace_id,
            seed=1,
            concurrency_limit=simulator_limit,
            pending_seconds=pending,
            running_seconds=running,
        )
        if faults:
            amc_sim.set_faults(instance.instance_id, **faults)
        return ReportDefinitionFactory(
            template=QueryTemplateFactory(sql_query=sql),
            instance=instance,
            owner=UserFactory(is_superuser=True),
            parameters={"min_impressions": 0},
        )

    return make
