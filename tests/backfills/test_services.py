"""Backfill services on PostgreSQL, with the engine's steps played by hand (no workers)."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from backfills import services
from backfills.models import Backfill, BackfillSegment, BackfillStatus, SegmentStatus
from backfills.segments import LookbackError, SegmentationConfigError
from backfills.selectors import backfill_progress, report_time_series, segment_result_rows
from backfills.services import running
from instances.models import AmcInstance
from recomamp.errors import Conflict, PermissionDenied
from reports.models import (
    ExecutionPhase,
    ExecutionResultRow,
    ExecutionStatus,
    ReportExecution,
    TriggeredBy,
)
from reports.windows import today_in
from tests.backfills.conftest import end_execution
from tests.factories.reports import ReportExecutionFactory

pytestmark = pytest.mark.django_db

DAILY = {"type": "daily"}


def last_days(n):
    return {"type": "relative", "value": n, "unit": "days"}


def backfill(report, analyst, days=5, **config):
    return services.create_backfill(
        report=report,
        user=analyst,
        lookback_config=last_days(days),
        segmentation_config={**DAILY, **config},
    )


def run_all(collection):
    """Play the run_segment group for every segment, in order."""
    return [
        services.run_segment(segment_pk=pk)
        for pk in collection.segments.order_by("sequence").values_list("pk", flat=True)
    ]


def statuses(collection):
    return list(collection.segments.order_by("sequence").values_list("status", flat=True))


# -- create and preview ----------------------------------------------------------------------


def test_create_writes_the_collection_and_every_segment(report, analyst, engine_tasks):
    collection = services.create_backfill(
        report=report,
        user=analyst,
        lookback_config=last_days(30),
        segmentation_config={"type": "weekly", "parallel_limit": 4},
    )
    segments = list(collection.segments.order_by("sequence"))
    newest = today_in(report.timezone) - dt.timedelta(days=14)
    assert (collection.start_date, collection.end_date) == (
        newest - dt.timedelta(days=29),
        newest,
    )
    assert collection.status == BackfillStatus.IN_PROGRESS
    assert collection.total_segments == len(segments)
    assert segments[0].window_start == collection.start_date
    assert segments[-1].window_end == collection.end_date
    # Inner segments are whole ISO weeks, Monday to Sunday.
    for segment in segments[1:-1]:
        assert segment.window_start.weekday() == 0
        assert (segment.window_end - segment.window_start).days == 6
    assert collection.segmentation_config == {
        "type": "weekly",
        "parallel_limit": 4,
        "retry_failed": True,
        "max_attempts": 3,
    }


def test_create_without_start_stays_pending(report, analyst):
    collection = services.create_backfill(
        report=report, user=analyst, lookback_config=last_days(3), start=False
    )
    assert collection.status == BackfillStatus.PENDING
    assert services.run_segment(segment_pk=collection.segments.first().pk) is None


@pytest.mark.parametrize(
    "lookback, field",
    [
        (last_days(366), "lookback_config.value"),
        ({"type": "relative", "value": 53, "unit": "weeks"}, "lookback_config.value"),
        ({"type": "custom", "start_date": "2026-02-10", "end_date": "2026-02-01"}, "end_date"),
    ],
)
def test_invalid_lookback_writes_nothing(report, analyst, lookback, field):
    with pytest.raises(LookbackError) as error:
        services.create_backfill(report=report, user=analyst, lookback_config=lookback)
    assert error.value.field.endswith(field)
    assert not Backfill.objects.exists()


def test_lookback_past_retention_names_the_start_date(report, analyst):
    today = today_in(report.timezone)
    lookback = {
        "type": "custom",
        "start_date": (today - dt.timedelta(days=430)).isoformat(),
        "end_date": (today - dt.timedelta(days=400)).isoformat(),
    }
    with pytest.raises(LookbackError) as error:
        services.create_backfill(report=report, user=analyst, lookback_config=lookback)
    assert error.value.field == "lookback_config.start_date"


def test_parallel_limit_may_not_exceed_the_instance_cap(report, analyst):
    AmcInstance.objects.filter(pk=report.instance_id).update(concurrency_cap=4)
    report.instance.refresh_from_db()
    with pytest.raises(SegmentationConfigError) as error:
        backfill(report, analyst, parallel_limit=5)
    assert error.value.field == "segmentation_config.parallel_limit"


def test_create_is_all_or_nothing(report, analyst, monkeypatch):
    def broken_bulk_create(*args, **kwargs):
        raise IntegrityError("segments could not be written")

    monkeypatch.setattr(BackfillSegment.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(IntegrityError):
        backfill(report, analyst)
    assert not Backfill.objects.exists()


def test_viewers_may_not_create(report, viewer):
    with pytest.raises(PermissionDenied):
        backfill(report, viewer)


def test_preview_estimates_from_recent_runs_and_writes_nothing(report, analyst):
    now = timezone.now()
    for _ in range(3):
        ReportExecutionFactory(
            report=report,
            status=ExecutionStatus.COMPLETED,
            started_at=now - dt.timedelta(seconds=60),
            completed_at=now,
        )
    plan = services.preview_backfill(
        report=report,
        lookback_config=last_days(30),
        segmentation_config={"type": "daily", "parallel_limit": 10},
    )
    assert len(plan.segments) == 30
    assert plan.typical_segment_seconds == pytest.approx(60)
    assert plan.estimated_seconds == pytest.approx(3 * 60)  # three waves of ten
    assert not Backfill.objects.exists()
    assert ReportExecution.objects.count() == 3


# -- running ---------------------------------------------------------------------------------


def test_run_segment_keeps_the_parallel_limit(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=5, parallel_limit=2)
    started = [execution for execution in run_all(collection) if execution]
    assert len(started) == 2
    assert statuses(collection) == ["running", "running", "pending", "pending", "pending"]
    execution = started[0]
    assert execution.triggered_by == TriggeredBy.BACKFILL
    assert execution.collection_id == collection.pk
    first = collection.segments.get(sequence=0)
    assert first.execution_id == execution.pk
    assert first.attempts == 1
    # The AMC window is the segment's day, half-open, in the report's timezone.
    assert execution.time_window_end - execution.time_window_start == dt.timedelta(days=1)
    assert execution.time_window_start.date() == first.window_start


def test_a_segment_run_twice_gets_one_execution(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=2)
    segment = collection.segments.get(sequence=0)
    assert services.run_segment(segment_pk=segment.pk) is not None
    assert services.run_segment(segment_pk=segment.pk) is None
    assert ReportExecution.objects.filter(collection=collection).count() == 1
    segment.refresh_from_db()
    assert segment.attempts == 1


def test_a_finished_segment_starts_the_next(
    report, analyst, engine_tasks, sent_segments, django_capture_on_commit_callbacks
):
    collection = backfill(report, analyst, days=3, parallel_limit=1)
    first = run_all(collection)[0]
    with django_capture_on_commit_callbacks(execute=True):
        end_execution(first, ExecutionStatus.COMPLETED)
    assert statuses(collection) == ["completed", "running", "pending"]
    assert collection.segments.get(sequence=1).execution is not None
    assert sent_segments == []  # started in the finishing worker, not queued
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.IN_PROGRESS
    assert collection.completed_segments == 1


def test_the_next_segment_starts_when_amc_is_done_with_one_before_its_download(
    report, analyst, engine_tasks, sent_segments
):
    """The parallel limit bounds the segments AMC runs: one that AMC reported SUCCEEDED holds
    no instance slot while it downloads, so the next segment goes to AMC meanwhile."""
    from reports.signals import execution_left_amc

    collection = backfill(report, analyst, days=3, parallel_limit=1)
    first = run_all(collection)[0]
    assert statuses(collection) == ["running", "pending", "pending"]

    ReportExecution.objects.filter(pk=first.pk).update(
        status=ExecutionStatus.RUNNING, phase=ExecutionPhase.DOWNLOADING
    )
    execution_left_amc.send(
        sender=ReportExecution,
        execution_pk=first.pk,
        instance_pk=first.instance_id,
        backfill_pk=collection.pk,
    )

    assert statuses(collection) == ["running", "running", "pending"]
    assert collection.segments.get(sequence=1).execution is not None
    assert sent_segments == []  # started in the worker that saw AMC finish
    assert services.run_segment(segment_pk=collection.segments.get(sequence=2).pk) is None


def test_a_claim_whose_execution_cannot_be_written_is_not_kept(
    report, analyst, engine_tasks, monkeypatch
):
    collection = backfill(report, analyst, days=1)
    segment = collection.segments.get()

    def database_gone(executions, **kwargs):
        raise OperationalError("the connection was lost")

    monkeypatch.setattr(running, "create_executions", database_gone)
    with pytest.raises(OperationalError):
        services.run_segment(segment_pk=segment.pk)
    segment.refresh_from_db()
    assert (segment.status, segment.attempts, segment.execution) == (SegmentStatus.PENDING, 0, None)
    monkeypatch.undo()
    execution = services.run_segment(segment_pk=segment.pk)
    assert ReportExecution.objects.filter(collection=collection).get() == execution
    segment.refresh_from_db()
    assert (segment.status, segment.attempts) == (SegmentStatus.RUNNING, 1)


def test_a_segment_whose_execution_was_deleted_by_hand_runs_again(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=1)
    segment = collection.segments.get()
    services.run_segment(segment_pk=segment.pk).delete()
    # A lease later the sweep gives the claim back and sends the segment again.
    stale = timezone.now() - dt.timedelta(seconds=settings.RECOMAMP_LEASE_SECONDS + 1)
    BackfillSegment.objects.filter(pk=segment.pk).update(updated_at=stale)
    assert services.sweep_backfills()["orphaned"] == 1
    segment.refresh_from_db()
    assert (segment.status, segment.attempts) == (SegmentStatus.PENDING, 0)


def test_a_report_that_no_longer_renders_fails_its_segments(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=3, parallel_limit=2)
    report.template.sql_query = "SELECT {{ missing }} FROM sponsored_ads_traffic"
    report.template.save()
    assert run_all(collection) == [None, None, None]
    assert statuses(collection) == ["failed"] * 3
    assert not ReportExecution.objects.filter(collection=collection).exists()
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.FAILED
    assert "segment 0" in collection.error_message


def test_start_sends_a_group_of_the_first_segments(
    report, analyst, sent_segments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        collection = backfill(report, analyst, days=7, parallel_limit=3)
    first_three = collection.segments.order_by("sequence").values_list("pk", flat=True)[:3]
    assert sent_segments == [str(pk) for pk in first_three]


def test_all_segments_completed_completes_the_collection(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=3)
    for execution in run_all(collection):
        end_execution(execution, ExecutionStatus.COMPLETED)
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.COMPLETED
    assert collection.completed_at is not None
    assert backfill_progress(backfill=collection).percent == 100.0


def test_failed_segment_is_retried_with_backoff_then_fails(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=3, max_attempts=2)
    executions = run_all(collection)
    before = timezone.now()
    end_execution(executions[1], ExecutionStatus.FAILED, error="Query timed out")
    segment = collection.segments.get(sequence=1)
    assert segment.status == SegmentStatus.PENDING
    assert segment.attempts == 1
    assert segment.next_attempt_at >= before + dt.timedelta(seconds=services.retry_delay(1))
    assert "Query timed out" in segment.error_message
    # Not due yet: a run_segment that comes early does nothing.
    assert services.run_segment(segment_pk=segment.pk) is None
    BackfillSegment.objects.filter(pk=segment.pk).update(next_attempt_at=timezone.now())
    retry = services.run_segment(segment_pk=segment.pk)
    assert retry is not None and retry.pk != executions[1].pk
    end_execution(retry, ExecutionStatus.FAILED, error="Query timed out")
    end_execution(executions[0], ExecutionStatus.COMPLETED)
    end_execution(executions[2], ExecutionStatus.COMPLETED)
    segment.refresh_from_db()
    collection.refresh_from_db()
    assert (segment.status, segment.attempts) == (SegmentStatus.FAILED, 2)
    assert collection.status == BackfillStatus.PARTIAL
    assert f"segment 1 ({segment.window_start}..{segment.window_end})" in collection.error_message
    assert (collection.completed_segments, collection.failed_segments) == (2, 1)


def test_every_segment_failing_fails_the_collection(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=2, retry_failed=False)
    for execution in run_all(collection):
        end_execution(execution, ExecutionStatus.FAILED, error="bad SQL")
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.FAILED
    assert collection.failed_segments == 2


def test_retry_backoff_doubles_up_to_a_limit():
    assert services.retry_delay(1) == settings.RECOMAMP_BACKFILL_RETRY_SECONDS
    assert services.retry_delay(2) == 2 * settings.RECOMAMP_BACKFILL_RETRY_SECONDS
    assert services.retry_delay(20) == services.RETRY_MAX_SECONDS


# -- retry and cancel ------------------------------------------------------------------------


def test_retry_failed_runs_failed_segments_again(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=2, retry_failed=False)
    first, second = run_all(collection)
    end_execution(first, ExecutionStatus.COMPLETED)
    end_execution(second, ExecutionStatus.FAILED, error="boom")
    assert services.retry_failed(backfill=collection, user=analyst) == 1
    assert collection.status == BackfillStatus.IN_PROGRESS
    segment = collection.segments.get(sequence=1)
    assert (segment.status, segment.attempts) == (SegmentStatus.PENDING, 0)
    again = services.run_segment(segment_pk=segment.pk)
    end_execution(again, ExecutionStatus.COMPLETED)
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.COMPLETED
    with pytest.raises(Conflict):
        services.retry_failed(backfill=collection, user=analyst)


def test_cancel_stops_new_segments_and_cancels_running_ones(
    report, analyst, engine_tasks, django_capture_on_commit_callbacks
):
    collection = backfill(report, analyst, days=4, parallel_limit=2)
    running = [execution for execution in run_all(collection) if execution]
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_backfill(backfill=collection, user=analyst)
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.CANCELLED
    assert statuses(collection) == ["cancelled"] * 4
    for execution in running:
        execution.refresh_from_db()
        assert execution.status == ExecutionStatus.CANCELLED
    assert services.run_segment(segment_pk=collection.segments.last().pk) is None
    with pytest.raises(Conflict):
        services.cancel_backfill(backfill=collection, user=analyst)


def test_viewers_may_not_cancel_or_retry(report, analyst, viewer, engine_tasks):
    collection = backfill(report, analyst, days=2)
    with pytest.raises(PermissionDenied):
        services.cancel_backfill(backfill=collection, user=viewer)
    with pytest.raises(PermissionDenied):
        services.retry_failed(backfill=collection, user=viewer)


# -- the sweep -------------------------------------------------------------------------------


def test_sweep_settles_a_segment_whose_execution_ended_unnoticed(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=1)
    (execution,) = run_all(collection)
    # The worker died between the engine's transition and the signal.
    ReportExecution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.COMPLETED)
    result = services.sweep_backfills()
    assert result["settled"] == 1
    collection.refresh_from_db()
    assert collection.status == BackfillStatus.COMPLETED


def test_sweep_resends_segments_whose_task_was_lost(report, analyst, sent_segments):
    collection = backfill(report, analyst, days=4, parallel_limit=3)  # the group never ran
    result = services.sweep_backfills()
    assert result["released"] == 3
    assert sent_segments == [
        str(pk) for pk in collection.segments.order_by("sequence").values_list("pk", flat=True)[:3]
    ]


def test_sweep_cancels_in_flight_runs_of_a_cancelled_backfill(
    report, analyst, engine_tasks, django_capture_on_commit_callbacks
):
    collection = backfill(report, analyst, days=1)
    (execution,) = run_all(collection)
    # Cancelled, but the process died before telling the engine.
    Backfill.objects.filter(pk=collection.pk).update(status=BackfillStatus.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_backfills()["cancelled"] == 1
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED
    assert statuses(collection) == ["cancelled"]


# -- progress and the time series ------------------------------------------------------------


def test_progress_counts_segments_and_estimates_time_left(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=4, parallel_limit=2)
    first, second, *_ = run_all(collection)
    end_execution(first, ExecutionStatus.COMPLETED)
    progress = backfill_progress(backfill=collection)
    assert (progress.done, progress.total, progress.percent) == (1, 4, 25.0)
    # The finished segment's place went to the next one at once.
    assert (progress.running, progress.pending) == (2, 1)
    assert progress.time_left_seconds > 0


def test_time_series_keys_rows_by_segment_window(report, analyst, engine_tasks):
    collection = backfill(report, analyst, days=3)
    executions = run_all(collection)
    for day, execution in enumerate(executions):
        ExecutionResultRow.objects.create(
            execution=execution, row_number=1, data={"campaign": "A", "impressions": day}
        )
        end_execution(execution, ExecutionStatus.COMPLETED if day != 1 else ExecutionStatus.FAILED)
    points = report_time_series(report=report)
    segments = list(collection.segments.order_by("sequence"))
    assert [(p.window_start, p.window_end) for p in points] == [
        (segments[0].window_start, segments[0].window_end),
        (segments[2].window_start, segments[2].window_end),
    ]
    assert [p.rows for p in points] == [
        [{"campaign": "A", "impressions": 0}],
        [{"campaign": "A", "impressions": 2}],
    ]
    rows = list(segment_result_rows(report=report))
    assert [(row.window_start, row.data["impressions"]) for row in rows] == [
        (segments[0].window_start, 0),
        (segments[2].window_start, 2),
    ]
