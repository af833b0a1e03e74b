"""The execution engine end to end: real Celery workers, PostgreSQL, Redis and the AMC simulator
over HTTP. These are the engine's acceptance and fault tests."""

import csv
import io
import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from reports import engine
from reports.models import ExecutionResultRow, ExecutionSlot, ExecutionStatus, ReportExecution
from reports.services.executions import cancel_execution, run_report
from tests.fixtures import servers
from tests.fixtures.workers import ENGINE_ENV

pytestmark = pytest.mark.slow

CAMPAIGN_SQL = """
SELECT campaign, SUM(impressions) AS impressions, SUM(clicks) AS clicks
FROM sponsored_ads_traffic
WHERE impressions >= {{min_impressions}}
GROUP BY campaign
ORDER BY campaign
""".strip()


@pytest.fixture
def engine_settings(settings):
    for name, value in ENGINE_ENV.items():
        setattr(settings, name, float(value))
    settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE = 1000
    settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = 1000
    return settings


@pytest.fixture
def make_report(simulated_report, engine_settings):
    """A report on a fresh instance registered with the simulator."""

    def make(*, cap=5, pending=0.3, running=0.7, sql=CAMPAIGN_SQL, **faults):
        return simulated_report(sql=sql, cap=cap, pending=pending, running=running, **faults)

    return make


def run_many(report, count):
    return [run_report(report=report, user=report.owner) for _ in range(count)]


def wait_until_finished(executions, *, timeout=150.0):
    """Wait for the executions to end, running the sweeper as beat would."""
    pks = [e.pk for e in executions]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.sweep()
        statuses = list(ReportExecution.objects.filter(pk__in=pks).values_list("status", flat=True))
        if all(status in engine.TERMINAL_STATUSES for status in statuses):
            return ReportExecution.objects.filter(pk__in=pks)
        time.sleep(0.5)
    pending = ReportExecution.objects.filter(pk__in=pks).exclude(
        status__in=engine.TERMINAL_STATUSES
    )
    raise AssertionError(f"not finished: {list(pending.values('execution_id', 'status'))}")


def wait_until_one_runs(timeout=30.0):
    deadline = time.monotonic() + timeout
    while not ReportExecution.objects.filter(status=ExecutionStatus.RUNNING).exists():
        assert time.monotonic() < deadline, "nothing started"
        time.sleep(0.1)


def instance_stats(amc_simulator, instance):
    return amc_simulator.stats()["instances"][instance.instance_id]


def test_cap_of_five_holds_across_two_workers_and_every_execution_completes(
    amc_simulator, make_report, celery_workers
):
    report = make_report(cap=5)
    celery_workers(count=2, concurrency=8)

    executions = wait_until_finished(run_many(report, 50))

    assert {e.status for e in executions} == {ExecutionStatus.COMPLETED}
    stats = instance_stats(amc_simulator, report.instance)
    assert stats["max_concurrency"] == 5
    assert stats["submits"] == 50
    assert not ExecutionSlot.objects.filter(instance=report.instance, execution__isnull=False)


def test_a_completed_execution_stores_its_csv_and_loads_its_rows(
    amc_simulator, make_report, celery_workers
):
    report = make_report()
    celery_workers(count=1, concurrency=2)

    (execution,) = wait_until_finished(run_many(report, 1))

    assert execution.status == ExecutionStatus.COMPLETED, execution.error_message
    assert execution.amc_execution_id
    with default_storage.open(execution.output_location) as stored:
        rows = list(csv.DictReader(io.TextIOWrapper(stored, encoding="utf-8")))
    assert rows and execution.row_count == len(rows)
    assert execution.size_bytes > 0
    loaded = ExecutionResultRow.objects.filter(execution=execution).order_by("row_number")
    assert [row.data["campaign"] for row in loaded] == [row["campaign"] for row in rows]
    assert isinstance(loaded[0].data["impressions"], int)


def test_a_query_amc_cannot_compile_fails_with_amcs_details(make_report, celery_workers):
    report = make_report(sql="SELECT no_such_column FROM sponsored_ads_traffic")
    celery_workers(count=1, concurrency=2)

    (execution,) = wait_until_finished(run_many(report, 1))

    assert execution.status == ExecutionStatus.FAILED
    assert "no_such_column" in execution.error_message
    assert not execution.amc_execution_id


def test_kill_9_of_a_worker_while_polling_loses_nothing_and_submits_once(
    amc_simulator, make_report, celery_workers
):
    report = make_report(cap=5, pending=1.0, running=2.0)
    first, _second = celery_workers(count=2, concurrency=4)
    executions = run_many(report, 12)

    wait_until_one_runs()
    first.kill()

    finished = wait_until_finished(executions)

    assert {e.status for e in finished} == {ExecutionStatus.COMPLETED}
    stats = instance_stats(amc_simulator, report.instance)
    assert stats["submits"] == 12
    assert stats["max_concurrency"] <= 5


def test_every_execution_completes_while_amc_fails_30_percent_of_calls(
    amc_simulator, make_report, celery_workers
):
    report = make_report(cap=5, rate_429=0.15, rate_500=0.15)
    celery_workers(count=2, concurrency=4)

    executions = wait_until_finished(run_many(report, 20), timeout=240)

    assert {e.status for e in executions} == {ExecutionStatus.COMPLETED}, [
        (e.execution_id, e.error_message) for e in executions if e.status != "completed"
    ]
    stats = instance_stats(amc_simulator, report.instance)
    assert stats["max_concurrency"] <= 5
    assert stats["submits"] == 20


def test_cancel_reaches_amc_and_frees_the_slot(amc_simulator, make_report, celery_workers):
    report = make_report(cap=2, pending=5.0, running=20.0)
    celery_workers(count=1, concurrency=2)
    (execution,) = run_many(report, 1)
    deadline = time.monotonic() + 30
    while not ReportExecution.objects.get(pk=execution.pk).amc_execution_id:
        assert time.monotonic() < deadline, "never submitted"
        time.sleep(0.1)

    cancel_execution(execution=ReportExecution.objects.get(pk=execution.pk), user=report.owner)

    deadline = time.monotonic() + 30
    while ExecutionSlot.objects.filter(execution=execution).exists():
        assert time.monotonic() < deadline, "slot never freed"
        engine.sweep()
        time.sleep(0.2)
    assert ReportExecution.objects.get(pk=execution.pk).status == ExecutionStatus.CANCELLED
    assert instance_stats(amc_simulator, report.instance)["executions"].get("CANCELLED") == 1


def worker_backends():
    """PostgreSQL sessions other than this test's own: the workers'."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchall()


def test_a_worker_keeps_its_database_connection_from_task_to_task(make_report, celery_workers):
    report = make_report(cap=1, pending=0.1, running=0.2)
    celery_workers(count=1, concurrency=1)
    # The pool process opens its connection as it starts, before any task...
    deadline = time.monotonic() + 30
    while not (connected := worker_backends()):
        assert time.monotonic() < deadline, "the pool process never connected"
        time.sleep(0.1)

    executions = wait_until_finished(run_many(report, 3))

    assert {e.status for e in executions} == {ExecutionStatus.COMPLETED}
    # ...and runs every step of the three runs on it (Celery alone closes it after each task).
    assert worker_backends() == connected
    assert len(connected) == 1


def test_every_run_completes_across_a_postgresql_restart(
    amc_simulator, make_report, celery_workers
):
    report = make_report(cap=2, pending=0.5, running=1.5)
    celery_workers(count=1, concurrency=2)
    executions = run_many(report, 4)
    wait_until_one_runs()

    servers.stop_postgresql()
    servers.start_postgresql()
    connection.close()  # this test's own session went with the server

    finished = wait_until_finished(executions)
    assert {e.status for e in finished} == {ExecutionStatus.COMPLETED}, [
        (e.execution_id, e.error_message) for e in finished if e.status != "completed"
    ]
    assert instance_stats(amc_simulator, report.instance)["submits"] == 4
