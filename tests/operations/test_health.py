"""Liveness and readiness, including a real PostgreSQL and Redis going away and coming back."""

import os
import subprocess
import time

import pytest
from django.db import connection
from django.utils import timezone

from operations import heartbeats

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


def _pg(*args):
    command = [os.environ["RECOMAMP_TEST_PG_CTL"], "-D", os.environ["RECOMAMP_TEST_PG_DATA"], *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif("RECOMAMP_TEST_PG_CTL" not in os.environ, reason="needs scripts/test.sh")
def test_readiness_follows_postgresql_stopping_and_starting(client, ticking):
    assert ready(client)[0] == 200
    _pg("stop", "-m", "fast", "-w")
    try:
        status, body = ready(client)
        assert status == 503
        assert "database" in body["failing"]
        assert body["checks"]["dispatcher"]["ok"] is None
    finally:
        _pg(
            "start",
            "-w",
            "-l",
            os.environ["RECOMAMP_TEST_PG_LOG"],
            "-o",
            os.environ["RECOMAMP_TEST_PG_OPTIONS"],
        )
    for _ in range(50):
        status, body = ready(client)
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, body
    connection.close()


def _redis_cli(*args):
    port = os.environ["RECOMAMP_TEST_REDIS_PORT"]
    return subprocess.run(
        ["redis-cli", "-p", port, *args], capture_output=True, text=True, timeout=30
    )


@pytest.mark.skipif("RECOMAMP_TEST_REDIS_PORT" not in os.environ, reason="needs scripts/test.sh")
def test_readiness_follows_redis_stopping_and_starting(client, ticking):
    port = os.environ["RECOMAMP_TEST_REDIS_PORT"]
    workdir = os.environ["RECOMAMP_TEST_REDIS_DIR"]
    pidfile = os.environ["RECOMAMP_TEST_REDIS_PIDFILE"]
    assert ready(client)[0] == 200
    _redis_cli("shutdown", "nosave")
    try:
        for _ in range(50):
            if _redis_cli("ping").returncode != 0:
                break
            time.sleep(0.1)
        status, body = ready(client)
        assert status == 503
        assert body["failing"] == ["broker"]
    finally:
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                port,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--pidfile",
                pidfile,
                "--daemonize",
                "yes",
                "--logfile",
                f"{workdir}/redis.log",
            ],
            check=True,
            timeout=30,
        )
    for _ in range(50):
        status, body = ready(client)
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200, body
