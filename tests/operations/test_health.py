"""Liveness and readiness, including a real PostgreSQL and Redis going away and coming back."""

import time

import pytest
from django.db import connection
from django.utils import timezone

from operations import heartbeats
from tests.fixtures import servers

pytestmark = pytest.mark.django_db(transaction=True)


def ready(client):
    response = client.get("/readyz")
    return response.status_code, response.json()


@pytest.fixture
def ticking(db):
    for name in (heartbeats.DISPATCHER, heartbeats.EXECUTION_SWEEPER):
        heartbeats.record(name)


def test_liveness_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_when_database_broker_storage_and_periodic_tasks_are_fine(client, ticking):
    status, body = ready(client)
    assert status == 200, body
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "storage", "dispatcher", "sweeper"}
    assert body["checks"]["dispatcher"]["detail"].startswith("ran ")


def test_a_fresh_install_whose_beat_never_ran_is_still_ready(client):
    status, body = ready(client)
    assert status == 200, body
    assert body["checks"]["dispatcher"]["detail"] == "never ran"


def test_a_stale_dispatcher_makes_readiness_fail_naming_it(client, ticking, settings):
    heartbeats.record(heartbeats.DISPATCHER, at=timezone.now() - timezone.timedelta(minutes=10))
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["dispatcher"]
    assert "last ran 600 s ago" in body["checks"]["dispatcher"]["detail"]


def test_the_dispatcher_and_sweeper_tasks_record_their_heartbeats(client):
    from reports.tasks import sweep_executions
    from schedules.tasks import dispatch_due_schedules

    dispatch_due_schedules.apply()
    sweep_executions.apply()
    ages = heartbeats.ages()
    assert ages[heartbeats.DISPATCHER] < 5 and ages[heartbeats.EXECUTION_SWEEPER] < 5


def _until_ready(client, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        status, body = ready(client)
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def test_readiness_follows_postgresql_stopping_and_starting(client, ticking):
    assert ready(client)[0] == 200
    servers.stop_postgresql()
    try:
        status, body = ready(client)
        assert status == 503
        assert "database" in body["failing"]
        assert body["checks"]["dispatcher"]["ok"] is None
    finally:
        servers.start_postgresql()
    status, body = _until_ready(client)
    assert status == 200, body
    connection.close()


def test_readiness_follows_redis_stopping_and_starting(client, ticking):
    assert ready(client)[0] == 200
    servers.stop_redis()
    try:
        status, body = ready(client)
        assert status == 503
        assert body["failing"] == ["broker"]
    finally:
        servers.start_redis()
    status, body = _until_ready(client)
    assert status == 200, body


def test_the_probe_command_exits_1_naming_a_stale_dispatcher(ticking):
    from django.core.management import call_command

    call_command("probe")  # ready: returns without exiting
    heartbeats.record(heartbeats.DISPATCHER, at=timezone.now() - timezone.timedelta(hours=1))
    with pytest.raises(SystemExit) as exit_:
        call_command("probe")
    assert exit_.value.code == 1


def test_the_probe_command_asks_the_running_web_server(live_server):
    from urllib.parse import urlparse

    from django.core.management import call_command

    port = urlparse(live_server.url).port
    with pytest.raises(SystemExit) as exit_:
        call_command("probe", url="/healthz", port=port)
    assert exit_.value.code == 0
    with pytest.raises(SystemExit) as exit_:
        call_command("probe", url="/no-such-page", port=port)
    assert exit_.value.code == 1


def test_compose_checks_the_health_of_every_long_running_service():
    from pathlib import Path

    import yaml
    from django.conf import settings

    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "/readyz" in services["web"]["healthcheck"]["test"]
    assert "probe" in services["beat"]["healthcheck"]["test"]
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]
    assert services["prometheus"]["profiles"] == ["ops"]
    assert services["grafana"]["profiles"] == ["ops"]


def test_metrics_still_answer_with_postgresql_down(client, ticking):
    servers.stop_postgresql()
    try:
        response = client.get("/metrics")
    finally:
        servers.start_postgresql()
    assert response.status_code == 200
    assert b"recomamp_domain_up 0.0" in response.content
    _until_ready(client)
    assert b"recomamp_domain_up 1.0" in client.get("/metrics").content
    connection.close()
