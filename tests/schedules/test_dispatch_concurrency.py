"""Two dispatcher processes over the same due schedules: every run exists exactly once."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from instances.models import AmcAccount, AmcInstance
from reports.models import ReportDefinition, ReportExecution
from schedules.models import ReportSchedule, ScheduleType
from tests.factories.instances import UserFactory
from tests.factories.reports import QueryTemplateFactory
from tests.fixtures.workers import ROOT, _test_database_url

DUE = 1000
NOW = datetime(2026, 6, 1, 9, 0, 2, tzinfo=UTC)

# A dispatcher process: Django on the test database, engine follow-ups not sent to a broker.
# It says "ready", waits for the go file (so both start together), dispatches, prints JSON.
DISPATCHER = """
import json, os, sys, time
from datetime import datetime
import django

django.setup()
from reports.engine import queue

queue.enqueue = lambda *args, **kwargs: None
from schedules import services

go, now, batch = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
print(json.dumps(services.dispatch_due_schedules(now=now, batch_size=batch).as_dict()))
"""


def due_schedules(count: int) -> None:
    account = AmcAccount.objects.create(
        account_id="CONCURRENT", marketplace_id="ATVPDKIKX0DER", name="Concurrent"
    )
    instance = AmcInstance.objects.create(
        account=account, instance_id="amcconcurrent", instance_name="Concurrent"
    )
    template, owner = QueryTemplateFactory(), UserFactory()
    reports = ReportDefinition.objects.bulk_create(
        ReportDefinition(name=f"R{i}", template=template, instance=instance, owner=owner)
        for i in range(count)
    )
    ReportSchedule.objects.bulk_create(
        ReportSchedule(
            report=report,
            schedule_type=ScheduleType.DAILY,
            cron_expression="0 9 * * *",
            timezone="UTC",
            next_run_at=NOW.replace(second=0),
        )
        for report in reports
    )


def start_dispatcher(go: Path, batch: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "recomamp.settings",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", DISPATCHER, str(go), NOW.isoformat(), str(batch)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_two_dispatcher_processes_create_each_run_exactly_once(transactional_db, tmp_path):
    due_schedules(DUE)
    go = tmp_path / "go"
    processes = [start_dispatcher(go, batch=25) for _ in range(2)]
    for process in processes:
        line = process.stdout.readline()
        assert line.strip() == "ready", process.stderr.read()
    go.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert ReportExecution.objects.count() == DUE
    per_schedule = ReportExecution.objects.values("schedule").annotate(n=Count("id"))
    assert {row["n"] for row in per_schedule} == {1}
    assert per_schedule.count() == DUE
    # No row was claimed by both: the claims add up to the due rows exactly.
    assert sum(r["claimed"] for r in results) == DUE
    assert sum(r["created"] for r in results) == DUE
    assert not ReportSchedule.objects.filter(next_run_at__lte=NOW).exists()
    assert set(ReportSchedule.objects.values_list("next_run_at", flat=True)) == {
        datetime(2026, 6, 2, 9, tzinfo=UTC)
    }
    assert set(ReportDefinition.objects.values_list("execution_count", flat=True)) == {1}
