"""Schedules: 10,000 due at once, an idle tick over 100,000, and django-celery-beat side by side.

Run with `scripts/bench.sh schedules` (throwaway PostgreSQL and Redis, migrated), or
`DATABASE_URL=postgres://... .venv/bin/python bench/bench_schedules.py` on a migrated database
(it creates and then deletes its own rows). Needs PostgreSQL. Ends with one line of JSON.

1. dispatch: 10,000 schedules due at the same instant; one dispatcher call until every
   execution exists (target < 5 s). Engine follow-up tasks are recorded, not sent, so no
   broker or worker is involved; the database work of handing runs to the engine is included.
2. idle tick: 100,000 schedules, none due; time of one dispatcher call (target < 50 ms).
3. the peer: the same 10,000 schedules as one django-celery-beat PeriodicTask each, with a
   CrontabSchedule, under its DatabaseScheduler: time to load the schedule, time until beat
   has sent every due task (tick() until all are sent; sending itself is stubbed out, so this
   is a lower bound: a worker must still run each task; after 60 s the rest is extrapolated
   from the rate so far, and the JSON says so), an idle tick, and the sync of last-run times.
   Dispatch lag is the time from the due instant until every run is created (ours) or sent
   (beat), the tick starting at the due instant; our beat entry ticks every 5 s, which adds
   up to 5 s in the worst case (dispatch_lag_seconds_worst).
"""

import json
import logging
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from common import percentile, setup_django

DUE = 10_000
IDLE = 100_000
IDLE_TICKS = 50
#: beat sends one due task per tick(); past this budget the rest is extrapolated from its rate.
BEAT_BUDGET_SECONDS = 60.0
DISPATCH_INTERVAL_SECONDS = 5
TARGET_DISPATCH_SECONDS = 5.0
TARGET_IDLE_TICK_MS = 50.0
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
PREFIX = "bench-schedule-"


def main() -> None:
    setup_django()
    logging.disable(logging.INFO)
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench_schedules needs PostgreSQL: set DATABASE_URL or use scripts/bench.sh")

    from reports.engine import queue

    sent: list[str] = []
    queue.enqueue = lambda task, pk, countdown=0: sent.append(task.name)

    instance, template, owner = set_up()
    try:
        figures = run(instance, template, owner)
    finally:
        tear_down()
    figures["ok"] = (
        figures["dispatch_seconds"] < TARGET_DISPATCH_SECONDS
        and figures["idle_tick_ms_p99"] < TARGET_IDLE_TICK_MS
    )
    for key, value in figures.items():
        print(f"{key:>34}: {value}")
    print(json.dumps({"bench": "schedules", **figures}))


def set_up():
    from django.contrib.auth import get_user_model

    from instances.models import AmcAccount, AmcInstance
    from reports.models import QueryTemplate

    tear_down()
    account, _ = AmcAccount.objects.get_or_create(
        account_id="BENCHSCHEDULES", marketplace_id="ATVPDKIKX0DER", defaults={"name": "Bench"}
    )
    instance = AmcInstance.objects.create(
        account=account, instance_id="amcbenchschedules", instance_name="Bench schedules"
    )
    template = QueryTemplate.objects.create(
        template_id=f"{PREFIX}template",
        name="Bench schedules",
        sql_query="SELECT campaign, SUM(impressions) AS impressions FROM sponsored_ads_traffic "
        "WHERE impressions >= {{min_impressions}} GROUP BY campaign",
        parameter_definitions=[
            {"name": "min_impressions", "type": "integer", "default": 0, "min": 0}
        ],
    )
    owner, _ = get_user_model().objects.get_or_create(username=f"{PREFIX}owner")
    return instance, template, owner


def tear_down() -> None:
    """Remove the rows of an earlier run, in SQL (the ORM's cascade would load 100,000 rows)."""
    from django.db import connection, transaction
    from django_celery_beat.models import PeriodicTasks

    # One transaction: the foreign keys are checked (deferred) once everything is gone.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH bench AS (SELECT id FROM amc_instances WHERE instance_id = 'amcbenchschedules'),
            slots AS (DELETE FROM amc_execution_slots WHERE instance_id IN (SELECT id FROM bench)),
            executions AS (
                DELETE FROM report_executions WHERE instance_id IN (SELECT id FROM bench)
            ),
            schedules AS (
                DELETE FROM report_schedules WHERE report_id IN (
                    SELECT id FROM report_definitions WHERE instance_id IN (SELECT id FROM bench)
                )
            )
            SELECT 1
            """
        )
        cursor.execute(
            "DELETE FROM report_definitions WHERE instance_id IN "
            "(SELECT id FROM amc_instances WHERE instance_id = 'amcbenchschedules')"
        )
        cursor.execute("DELETE FROM amc_instances WHERE instance_id = 'amcbenchschedules'")
        cursor.execute("DELETE FROM query_templates WHERE template_id LIKE %s", [f"{PREFIX}%"])
        cursor.execute(
            "WITH tasks AS (DELETE FROM django_celery_beat_periodictask WHERE name LIKE %s"
            " RETURNING crontab_id)"
            " DELETE FROM django_celery_beat_crontabschedule"
            " WHERE id IN (SELECT crontab_id FROM tasks)",
            [f"{PREFIX}%"],
        )
    PeriodicTasks.update_changed()


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def make_schedules(instance, template, owner, *, count: int, next_run_at, expression: str):
    from reports.models import ReportDefinition
    from schedules.models import ReportSchedule, ScheduleType

    reports = ReportDefinition.objects.bulk_create(
        (
            ReportDefinition(
                name=f"Bench {i}",
                template=template,
                instance=instance,
                owner=owner,
                parameters={"min_impressions": i % 100},
                timezone=ZONES[i % len(ZONES)],
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    ReportSchedule.objects.bulk_create(
        (
            ReportSchedule(
                report=report,
                schedule_type=ScheduleType.CUSTOM,
                cron_expression=expression,
                timezone="UTC",
                next_run_at=next_run_at,
            )
            for report in reports
        ),
        batch_size=5000,
    )


def run(instance, template, owner) -> dict:
    from django.db import connection

    from reports.models import ReportExecution
    from schedules import services

    # Every schedule fires daily at the same UTC minute; "due" is that minute today.
    due_at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    expression = f"{due_at.minute} {due_at.hour} * * *"

    # 1. 10,000 due at once.
    progress(f"creating {DUE:,} due schedules")
    make_schedules(instance, template, owner, count=DUE, next_run_at=due_at, expression=expression)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE report_schedules; ANALYZE report_definitions")
    started = time.perf_counter()
    result = services.dispatch_due_schedules(now=due_at + timedelta(seconds=1))
    dispatch_seconds = time.perf_counter() - started
    created = ReportExecution.objects.filter(instance=instance).count()
    assert created == DUE and result.created == DUE, (created, result.as_dict())

    # 2. 100,000 schedules, none due (the 10,000 above now wait for tomorrow).
    progress(f"dispatched in {dispatch_seconds:.2f} s; creating {IDLE - DUE:,} more schedules")
    make_schedules(
        instance,
        template,
        owner,
        count=IDLE - DUE,
        next_run_at=due_at + timedelta(days=1),
        expression=expression,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE report_schedules; ANALYZE report_definitions")
    idle_ms = []
    for _ in range(IDLE_TICKS):
        started = time.perf_counter()
        idle = services.dispatch_due_schedules(now=due_at + timedelta(minutes=1))
        idle_ms.append((time.perf_counter() - started) * 1000)
        assert idle.claimed == 0

    progress(f"idle tick p50 {statistics.median(idle_ms):.1f} ms; django-celery-beat next")
    beat = run_beat(due_at=due_at)
    return {
        "due_schedules": DUE,
        "dispatch_seconds": round(dispatch_seconds, 3),
        "dispatch_batches": result.batches,
        "target_dispatch_seconds": TARGET_DISPATCH_SECONDS,
        "idle_schedules": IDLE,
        "idle_tick_ms_p50": round(statistics.median(idle_ms), 2),
        "idle_tick_ms_p99": round(percentile(idle_ms, 0.99), 2),
        "target_idle_tick_ms": TARGET_IDLE_TICK_MS,
        "dispatch_lag_seconds_worst": round(DISPATCH_INTERVAL_SECONDS + dispatch_seconds, 3),
        **beat,
        "lag_ratio_beat_over_dispatcher": round(
            beat["beat_send_all_seconds"] / dispatch_seconds, 2
        ),
    }


def run_beat(*, due_at: datetime) -> dict:
    """django-celery-beat's DatabaseScheduler over the same 10,000 schedules, all due."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks
    from django_celery_beat.schedulers import DatabaseScheduler

    from recomamp.celery import app

    crontabs = CrontabSchedule.objects.bulk_create(
        (
            CrontabSchedule(
                minute=str(due_at.minute),
                hour=str(due_at.hour),
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
            for _ in range(DUE)
        ),
        batch_size=5000,
    )
    yesterday = due_at - timedelta(days=1)
    PeriodicTask.objects.bulk_create(
        (
            PeriodicTask(
                name=f"{PREFIX}{i}",
                task="reports.start_execution",
                crontab=crontab,
                args=json.dumps([str(i)]),
                last_run_at=yesterday,
            )
            for i, crontab in enumerate(crontabs)
        ),
        batch_size=5000,
    )
    PeriodicTasks.update_changed()

    applied: list[str] = []
    started = time.perf_counter()
    scheduler = DatabaseScheduler(app=app, lazy=False)
    scheduler.__dict__["producer"] = None  # no broker connection: sending is stubbed out
    scheduler.apply_async = lambda entry, producer=None, advance=False, **kw: applied.append(
        entry.name
    )
    scheduler.schedule  # noqa: B018 - loads every enabled PeriodicTask
    load_seconds = time.perf_counter() - started
    progress(f"beat loaded its schedule in {load_seconds:.2f} s; ticking")

    ours = {f"{PREFIX}{i}" for i in range(DUE)}
    started = time.perf_counter()
    ticks = sent_ours = 0
    elapsed = 0.0
    while sent_ours < DUE and elapsed < BEAT_BUDGET_SECONDS:
        before = len(applied)
        scheduler.tick()
        ticks += 1
        sent_ours += sum(1 for name in applied[before:] if name in ours)
        elapsed = time.perf_counter() - started
    # Each tick costs about the same (it walks the whole schedule), so the rate extrapolates.
    send_all_seconds = elapsed if sent_ours == DUE else elapsed * DUE / max(sent_ours, 1)

    progress(f"beat sent {sent_ours:,} in {elapsed:.1f} s ({ticks:,} ticks)")
    idle_ms = []
    for _ in range(IDLE_TICKS):
        started = time.perf_counter()
        scheduler.tick()
        idle_ms.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    scheduler.sync()
    sync_seconds = time.perf_counter() - started
    return {
        "beat_entries": DUE,
        "beat_sent": sent_ours,
        "beat_load_seconds": round(load_seconds, 3),
        "beat_send_all_seconds": round(send_all_seconds, 3),
        "beat_send_all_extrapolated": sent_ours < DUE,
        "beat_ticks": ticks,
        "beat_idle_tick_ms_p50": round(statistics.median(idle_ms), 2),
        "beat_sync_seconds": round(sync_seconds, 3),
    }


if __name__ == "__main__":
    main()
