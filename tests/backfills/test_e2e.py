"""Backfills end to end: real Celery workers, PostgreSQL, Redis and the AMC simulator over HTTP.

The tests run both sweepers (the engine's and the backfills') every second, as beat would.
"""

import datetime as dt
import time

import pytest
from django.db.models import Max, Min

from backfills import services
from backfills.models import Backfill, BackfillSegment, BackfillStatus, SegmentStatus
from backfills.selectors import report_time_series
from recomamp.celery import app as celery_app
from reports import engine
from reports.models import ExecutionStatus, ReportExecution
from reports.windows import today_in
from tests.fixtures.servers import restart_redis
from tests.fixtures.workers import ENGINE_ENV

pytestmark = pytest.mark.slow

SQL = (
    "SELECT campaign, SUM(impressions) AS impressions FROM sponsored_ads_traffic "
    "WHERE impressions >= {{min_impressions}} GROUP BY campaign ORDER BY campaign"
)
WORKER_ENV = {"RECOMAMP_BACKFILL_RETRY_SECONDS": "0.5"}  # fast automatic retries
TERMINAL = {
    BackfillStatus.COMPLETED,
    BackfillStatus.FAILED,
    BackfillStatus.PARTIAL,
    BackfillStatus.CANCELLED,
}


@pytest.fixture
def e2e_settings(settings):
    for name, value in ENGINE_ENV.items():
        setattr(settings, name, float(value))
    settings.RECOMAMP_BACKFILL_RETRY_SECONDS = 0.5
    return settings


@pytest.fixture
def make_report(simulated_report, e2e_settings):
    """A report on a fresh instance with `cap`, registered with the simulator (whose own
    limit is set well above the cap, so that it measures the cap instead of enforcing it)."""

    def make(*, cap, pending=0.2, running=0.3):
        return simulated_report(
            sql=SQL, cap=cap, simulator_limit=50, pending=pending, running=running
        )

    return make


def backfill(report, days, *, start=True, **config):
    return services.create_backfill(
        report=report,
        user=report.owner,
        lookback_config={"type": "relative", "value": days, "unit": "days"},
        segmentation_config={"type": "daily", **config},
        start=start,
    )


def sweep():
    engine.sweep()
    services.sweep_backfills()


def wait_until_ended(*collections, timeout=90.0, while_waiting=None):
    pks = [c.pk for c in collections]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if while_waiting is not None:
            while_waiting()
        ended = Backfill.objects.filter(pk__in=pks, status__in=TERMINAL)
        if ended.count() == len(pks):
            return list(Backfill.objects.filter(pk__in=pks).order_by("created_at"))
        sweep()
        time.sleep(1)
    left = BackfillSegment.objects.filter(backfill_id__in=pks).exclude(
        status__in=[SegmentStatus.COMPLETED, SegmentStatus.FAILED]
    )
    details = left.values("sequence", "status", "attempts", "execution__status")
    raise AssertionError(f"not ended: {list(details)}")


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def stats_of(amc_sim, report):
    return amc_sim.stats()["instances"][report.instance.instance_id]


def assert_every_segment_ran_once(collection):
    segments = list(collection.segments.all())
    assert {s.status for s in segments} == {SegmentStatus.COMPLETED}
    assert {s.attempts for s in segments} == {1}
    executions = ReportExecution.objects.filter(collection=collection)
    assert executions.count() == len(segments)
    assert {e.status for e in executions} == {ExecutionStatus.COMPLETED}


def test_two_backfills_on_one_instance_share_the_cap(amc_sim, make_report, celery_workers):
    report = make_report(cap=3)
    celery_workers(count=1, concurrency=8, env=WORKER_ENV)

    first = backfill(report, 8, parallel_limit=3)
    second = backfill(report, 8, parallel_limit=3)
    first, second = wait_until_ended(first, second)

    assert (first.status, second.status) == (BackfillStatus.COMPLETED,) * 2
    assert_every_segment_ran_once(first)
    assert_every_segment_ran_once(second)
    stats = stats_of(amc_sim, report)
    assert stats["max_concurrency"] <= 3
    assert stats["submits"] == 16
    # They ran side by side, not one after the other.
    spans = [
        ReportExecution.objects.filter(collection=c).aggregate(
            start=Min("started_at"), end=Max("completed_at")
        )
        for c in (first, second)
    ]
    assert spans[0]["start"] < spans[1]["end"] and spans[1]["start"] < spans[0]["end"]
    # Their results are the report's time series: one point per day.
    series = report_time_series(report=report, backfill=first)
    assert [p.window_start for p in series] == [s.window_start for s in first.segments.all()]
    assert all(point.rows for point in series)


def test_a_segment_failing_every_attempt_ends_the_backfill_partial(
    amc_sim, make_report, celery_workers
):
    report = make_report(cap=3)
    celery_workers(count=1, concurrency=6, env=WORKER_ENV)
    collection = backfill(report, 6, start=False, parallel_limit=3, max_attempts=2)
    # Segment 2's window lies past AMC's retention: AMC fails it every time.
    doomed = collection.segments.get(sequence=2)
    old = today_in(report.timezone) - dt.timedelta(days=440)
    BackfillSegment.objects.filter(pk=doomed.pk).update(window_start=old, window_end=old)
    services.start_backfill(backfill=collection, user=report.owner)

    (collection,) = wait_until_ended(collection)

    assert collection.status == BackfillStatus.PARTIAL
    doomed.refresh_from_db()
    assert (doomed.status, doomed.attempts) == (SegmentStatus.FAILED, 2)
    assert f"segment 2 ({old}..{old})" in collection.error_message
    others = collection.segments.exclude(pk=doomed.pk)
    assert {s.status for s in others} == {SegmentStatus.COMPLETED}
    assert (collection.completed_segments, collection.failed_segments) == (5, 1)
    assert stats_of(amc_sim, report)["submits"] == 7  # five segments, two tries of the doomed


def test_a_redis_restart_mid_backfill_loses_no_segment(amc_sim, make_report, celery_workers):
    report = make_report(cap=4, pending=0.3, running=0.5)
    (worker,) = celery_workers(count=1, concurrency=6, env=WORKER_ENV)
    collection = backfill(report, 16, parallel_limit=4)
    wait_for(lambda: collection.segments.filter(status=SegmentStatus.COMPLETED).count() >= 3)

    restart_redis()
    wait_for(lambda: celery_app.connection().default_channel.client.ping(), timeout=10)
    # kombu sometimes gives up on a connection lost mid-acknowledgement ("Unrecoverable error")
    # and the worker exits, at once or a few seconds later; in production its supervisor starts
    # it again, as we do here whenever no worker is left.
    workers = [worker]

    def supervise():
        if all(w.process.poll() is not None for w in workers):
            workers.extend(celery_workers(count=1, concurrency=6, env=WORKER_ENV))

    (collection,) = wait_until_ended(collection, timeout=120, while_waiting=supervise)
    assert collection.status == BackfillStatus.COMPLETED
    assert_every_segment_ran_once(collection)
    stats = stats_of(amc_sim, report)
    assert stats["submits"] == 16
    assert stats["max_concurrency"] <= 4


def test_kill_9_of_a_worker_mid_backfill_loses_no_segment(amc_sim, make_report, celery_workers):
    report = make_report(cap=4, pending=0.3, running=0.5)
    first, _second = celery_workers(count=2, concurrency=4, env=WORKER_ENV)
    collection = backfill(report, 16, parallel_limit=4)
    wait_for(lambda: collection.segments.filter(status=SegmentStatus.COMPLETED).count() >= 3)

    first.kill()

    (collection,) = wait_until_ended(collection, timeout=120)
    assert collection.status == BackfillStatus.COMPLETED
    assert_every_segment_ran_once(collection)
    stats = stats_of(amc_sim, report)
    assert stats["submits"] == 16
    assert stats["max_concurrency"] <= 4
