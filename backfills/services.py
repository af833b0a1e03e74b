"""Backfills: plan, create, start, run, retry and cancel a report's history in segments.

How a backfill runs (state lives in PostgreSQL, never in a chord callback):

- ``start_backfill`` moves the backfill to in_progress and `release_next` sends a Celery
  group of ``run_segment`` tasks for as many due segments as the backfill's parallel limit
  leaves free.
- ``run_segment`` locks the backfill row, checks that fewer than ``parallel_limit`` of its
  segments are running and claims the segment with a conditional update (pending and due ->
  running, attempts + 1); then it creates the execution and links it only if the claim is
  still unlinked: a task that runs twice finds the segment no longer pending, so an attempt
  never gets two executions.
- The engine holds an instance slot per execution, so the instance's cap holds across every
  backfill, schedule and ad-hoc run; the backfill's limit only bounds its own share.
- When an execution ends, ``segment_finished`` (a receiver of ``execution_finished``) records
  the outcome on the segment, schedules a retry with backoff while attempts remain, derives the
  backfill's status from its segment rows, and starts the next segment in the same worker.
- ``sweep_backfills`` (beat) repairs what a lost task or a killed worker left behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from celery import group
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from backfills import segments as segment_math
from backfills.models import (
    Backfill,
    BackfillSegment,
    BackfillStatus,
    SegmentStatus,
)
from backfills.selectors import (
    TERMINAL_BACKFILL_STATUSES,
    effective_parallel_limit,
    segments_at_amc,
    typical_segment_seconds,
)
from backfills.states import move
from recomamp.errors import Conflict, DomainError
from reports import engine
from reports.models import (
    TERMINAL_STATUSES,
    AuditStep,
    ExecutionStatus,
    ReportDefinition,
    ReportExecution,
    TriggeredBy,
)
from reports.services.executions import create_execution
from reports.services.reports import record_audit, require_write
from reports.windows import today_in, window_for_days

logger = logging.getLogger(__name__)

#: Automatic retries of a failed segment wait RECOMAMP_BACKFILL_RETRY_SECONDS * 2^(attempt - 1)
#: seconds, up to the max.
RETRY_MAX_SECONDS = 900.0
#: Failed segments the backfill's error message names (the rest are counted).
NAMED_FAILURES = 10


# -- plan and preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill would do: its window, segments, settings and estimated duration."""

    window: segment_math.DateWindow
    segments: list[segment_math.Segment]
    config: segment_math.SegmentationConfig
    instance_cap: int
    typical_segment_seconds: float
    estimated_seconds: float


def plan_backfill(
    *, report: ReportDefinition, lookback_config, segmentation_config=None
) -> BackfillPlan:
    """Validate the configs (errors name the field) and cut the window into segments."""
    cap = report.instance.concurrency_cap
    config = segment_math.validate_segmentation_config(segmentation_config or {}, instance_cap=cap)
    window = segment_math.resolve_lookback(
        lookback_config,
        today=today_in(report.timezone),
        data_lag_days=settings.AMC_DATA_LAG_DAYS,
        retention_days=settings.AMC_RETENTION_DAYS,
        max_days=settings.AMC_MAX_LOOKBACK_DAYS,
    )
    segments = segment_math.segments_for_window(window, config.type)
    typical = typical_segment_seconds(instance=report.instance)
    return BackfillPlan(
        window=window,
        segments=segments,
        config=config,
        instance_cap=cap,
        typical_segment_seconds=typical,
        estimated_seconds=segment_math.estimate_duration(
            segment_count=len(segments),
            concurrency=config.parallel_limit,
            typical_segment_seconds=typical,
        ),
    )


def preview_backfill(
    *, report: ReportDefinition, lookback_config, segmentation_config=None
) -> BackfillPlan:
    """The segments and estimated duration of a backfill, writing nothing."""
    return plan_backfill(
        report=report, lookback_config=lookback_config, segmentation_config=segmentation_config
    )


# -- create and start ------------------------------------------------------------------------


def create_backfill(
    *,
    report: ReportDefinition,
    user,
    lookback_config,
    segmentation_config=None,
    start: bool = True,
) -> Backfill:
    """The backfill and all its segment rows, atomically (or nothing); started unless asked."""
    require_write(user=user, instance=report.instance)
    if not report.is_active:
        raise Conflict("The report is inactive; activate it to backfill it.", field="report")
    plan = plan_backfill(
        report=report, lookback_config=lookback_config, segmentation_config=segmentation_config
    )
    with transaction.atomic():
        backfill = Backfill.objects.create(
            report=report,
            user=user,
            lookback_config=dict(lookback_config),
            segment_type=str(plan.config.type),
            segmentation_config=plan.config.as_json(),
            max_lookback_days=settings.AMC_MAX_LOOKBACK_DAYS,
            start_date=plan.window.start,
            end_date=plan.window.end,
            total_segments=len(plan.segments),
        )
        BackfillSegment.objects.bulk_create(
            BackfillSegment(
                backfill=backfill,
                sequence=segment.index,
                window_start=segment.start,
                window_end=segment.end,
            )
            for segment in plan.segments
        )
        record_audit(
            report=report,
            user=user,
            step=AuditStep.SUBMIT,
            action="backfill created",
            configuration={
                "collection": str(backfill.pk),
                "lookback_config": backfill.lookback_config,
                "segmentation_config": backfill.segmentation_config,
                "window": [plan.window.start.isoformat(), plan.window.end.isoformat()],
                "segments": len(plan.segments),
            },
        )
        if start:
            _start(backfill)
    return backfill


def start_backfill(*, backfill: Backfill, user) -> Backfill:
    require_write(user=user, instance=backfill.report.instance)
    with transaction.atomic():
        before = _audit_state(backfill)
        if not _start(backfill):
            raise Conflict(f"The backfill is already {backfill.status}.", field="status")
        _audit_change(backfill, user=user, action="backfill started", before=before)
    backfill.refresh_from_db()
    return backfill


def _audit_state(backfill: Backfill) -> dict:
    return {
        "collection": str(backfill.pk),
        "status": backfill.status,
        "lookback_config": backfill.lookback_config,
        "segmentation_config": backfill.segmentation_config,
    }


def _audit_change(backfill: Backfill, *, user, action: str, before: dict) -> None:
    backfill.refresh_from_db(fields=["status"])
    record_audit(
        report=backfill.report,
        user=user,
        step=AuditStep.CHANGE,
        action=action,
        configuration=_audit_state(backfill),
        before=before,
    )


def _start(backfill: Backfill) -> bool:
    now = timezone.now()
    started = move(
        Backfill.objects.filter(pk=backfill.pk),
        BackfillStatus.IN_PROGRESS,
        sources={BackfillStatus.PENDING},
        started_at=now,
        updated_at=now,
    )
    if started:
        backfill.status = BackfillStatus.IN_PROGRESS
        _release_after_commit(backfill.pk)
    return bool(started)


# -- running segments ------------------------------------------------------------------------


def _due() -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())


def _lock(backfill_pk) -> Backfill | None:
    """The backfill row, locked: every change to its segments' states happens under it."""
    return (
        Backfill.objects.select_for_update(of=("self",))
        .select_related("report__instance", "report__template", "user")
        .filter(pk=backfill_pk)
        .first()
    )


def release_next(*, backfill_pk, inline: bool = False) -> int:
    """Run the due segments the parallel limit leaves room for: a group of run_segment tasks,
    or here and now (`inline`, when a segment has just finished in this worker).

    Sending too many is harmless (run_segment re-checks under the backfill's lock); the
    sweep sends again whatever a lost task left waiting.
    """
    from backfills import tasks

    backfill = (
        Backfill.objects.select_related("report__instance")
        .filter(pk=backfill_pk, status=BackfillStatus.IN_PROGRESS)
        .first()
    )
    if backfill is None:
        return 0
    running = segments_at_amc(backfill)
    free = effective_parallel_limit(backfill) - running
    if free <= 0:
        return 0
    pks = list(
        backfill.segments.filter(_due(), status=SegmentStatus.PENDING)
        .order_by("sequence")
        .values_list("pk", flat=True)[:free]
    )
    if inline:
        for pk in pks:
            run_segment(segment_pk=pk)
    elif pks:
        group(tasks.run_segment.si(str(pk)) for pk in pks).apply_async()
    return len(pks)


def _release_after_commit(backfill_pk, *, inline: bool = False) -> None:
    transaction.on_commit(lambda: release_next(backfill_pk=backfill_pk, inline=inline))


def run_segment(*, segment_pk) -> ReportExecution | None:
    """Claim a due segment and create its execution, if the backfill's limit has room.

    Idempotent. The claim (pending and due -> running, attempts + 1) is a conditional update
    under the backfill's row lock, held only for that; the execution is then created in a
    transaction that links it to the segment only while the segment is still running this
    attempt without an execution, or rolls back: one attempt never gets two executions.
    """
    claim = _claim(segment_pk)
    if claim is None:
        return None
    backfill, segment = claim
    report = backfill.report
    try:
        with transaction.atomic():
            execution = create_execution(
                report=report,
                user=backfill.user,
                triggered_by=TriggeredBy.BACKFILL,
                window=window_for_days(segment.window_start, segment.window_end, report.timezone),
                collection=backfill,
            )
            linked = _this_attempt(segment).update(execution=execution)
            if not linked:
                transaction.set_rollback(True)  # the sweep took the claim back meanwhile
                return None
    except DomainError as exc:
        # The report no longer renders (template or parameters changed): retrying the same
        # SQL cannot help, so the segment fails for good.
        _fail_unstarted(segment, str(exc))
        return None
    logger.info(
        "backfill %s segment %s attempt %s: %s",
        backfill.pk,
        segment.sequence,
        segment.attempts,
        execution.execution_id,
    )
    return execution


def _claim(segment_pk) -> tuple[Backfill, BackfillSegment] | None:
    segments = BackfillSegment.objects.filter(pk=segment_pk)
    backfill_pk = segments.values_list("backfill_id", flat=True).first()
    if backfill_pk is None:
        return None
    with transaction.atomic():
        backfill = _lock(backfill_pk)
        if backfill is None or backfill.status != BackfillStatus.IN_PROGRESS:
            return None
        running = segments_at_amc(backfill)
        if running >= effective_parallel_limit(backfill):
            return None  # a finishing segment releases it
        claimed = move(
            segments.filter(_due()),
            SegmentStatus.RUNNING,
            sources={SegmentStatus.PENDING},
            attempts=F("attempts") + 1,
            next_attempt_at=None,
            execution=None,
            updated_at=timezone.now(),
        )
        if not claimed:
            return None
        return backfill, segments.get()


def _this_attempt(segment: BackfillSegment):
    return BackfillSegment.objects.filter(
        pk=segment.pk,
        status=SegmentStatus.RUNNING,
        attempts=segment.attempts,
        execution__isnull=True,
    )


def _fail_unstarted(segment: BackfillSegment, message: str) -> None:
    with transaction.atomic():
        backfill = _lock(segment.backfill_id)
        failed = move(
            _this_attempt(segment),
            SegmentStatus.FAILED,
            sources={SegmentStatus.RUNNING},
            error_message=message,
            updated_at=timezone.now(),
        )
        if failed:
            refresh_backfill(backfill)
            _release_after_commit(backfill.pk)


def retry_delay(attempts: int) -> float:
    """Backoff before the next automatic attempt, after `attempts` tries."""
    base = settings.RECOMAMP_BACKFILL_RETRY_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


def segment_finished(*, execution_pk) -> None:
    """Record an ended execution on its segment, retry or settle it, and release the next.

    Runs in the engine's transaction when called by the signal; once per execution (the segment
    update is conditional on the segment still running this execution).
    """
    segment = (
        BackfillSegment.objects.filter(execution_id=execution_pk, status=SegmentStatus.RUNNING)
        .only("pk", "backfill_id")
        .first()
    )
    if segment is None:
        return
    retry_in = None
    with transaction.atomic():
        backfill = _lock(segment.backfill_id)
        segment = BackfillSegment.objects.filter(
            pk=segment.pk, execution_id=execution_pk, status=SegmentStatus.RUNNING
        ).first()
        if segment is None:
            return
        execution = ReportExecution.objects.get(pk=execution_pk)
        now = timezone.now()
        fields = {"updated_at": now, "next_attempt_at": None}
        if execution.status == ExecutionStatus.COMPLETED:
            to = SegmentStatus.COMPLETED
            fields.update(error_message="")
        elif execution.status == ExecutionStatus.CANCELLED:
            to = SegmentStatus.CANCELLED
            fields.update(error_message=execution.error_message)
        elif execution.status == ExecutionStatus.FAILED:
            config = backfill.segmentation_config
            max_attempts = int(config.get("max_attempts") or 1)
            may_retry = config.get("retry_failed", True) and segment.attempts < max_attempts
            if may_retry and backfill.status == BackfillStatus.IN_PROGRESS:
                retry_in = retry_delay(segment.attempts)
                to = SegmentStatus.PENDING
                fields.update(
                    next_attempt_at=now + timedelta(seconds=retry_in),
                    error_message=f"Attempt {segment.attempts} failed: {execution.error_message}",
                )
            else:
                to = SegmentStatus.FAILED
                fields.update(error_message=execution.error_message)
        else:
            return  # not ended: nothing to record
        move(
            BackfillSegment.objects.filter(pk=segment.pk, execution_id=execution_pk),
            to,
            sources={SegmentStatus.RUNNING},
            **fields,
        )
        refresh_backfill(backfill)
        # The freed place goes to the next segment at once, in this process: no queue between
        # one segment's end and the next one's start.
        _release_after_commit(backfill.pk, inline=True)
        if retry_in is not None:
            segment_pk = str(segment.pk)
            transaction.on_commit(lambda: _send_run_segment(segment_pk, countdown=retry_in))


def _send_run_segment(segment_pk: str, *, countdown: float = 0) -> None:
    from backfills import tasks

    tasks.run_segment.apply_async(args=[segment_pk], countdown=countdown or None)


def refresh_backfill(backfill: Backfill) -> Backfill:
    """Derive counters and status from the segment rows. The caller holds the row lock.

    pending (not started) -> in_progress while any segment is pending or running; then
    completed (all completed), failed (none completed) or partial. A cancelled backfill
    stays cancelled; only its counters move.
    """
    counts = backfill.segments.aggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(status=SegmentStatus.COMPLETED)),
        failed=Count("pk", filter=Q(status=SegmentStatus.FAILED)),
        active=Count("pk", filter=Q(status__in=[SegmentStatus.PENDING, SegmentStatus.RUNNING])),
    )
    status = backfill.status
    if status == BackfillStatus.IN_PROGRESS and not counts["active"]:
        if counts["completed"] == counts["total"]:
            status = BackfillStatus.COMPLETED
        elif counts["completed"] == 0:
            status = BackfillStatus.FAILED
        else:
            status = BackfillStatus.PARTIAL
    ended = status in TERMINAL_BACKFILL_STATUSES
    fields = {
        "total_segments": counts["total"],
        "completed_segments": counts["completed"],
        "failed_segments": counts["failed"],
        "error_message": _failure_summary(backfill) if counts["failed"] else "",
        "completed_at": (backfill.completed_at or timezone.now()) if ended else None,
        "updated_at": timezone.now(),
    }
    rows = Backfill.objects.filter(pk=backfill.pk)
    if status != backfill.status:
        move(rows, status, sources={backfill.status}, **fields)
    else:
        rows.update(**fields)
    for name, value in {"status": status, **fields}.items():
        setattr(backfill, name, value)
    if ended and backfill.status != BackfillStatus.CANCELLED:
        logger.info("backfill %s %s", backfill.pk, status)
    return backfill


def _failure_summary(backfill: Backfill) -> str:
    failed = list(
        backfill.segments.filter(status=SegmentStatus.FAILED)
        .order_by("sequence")
        .values_list("sequence", "window_start", "window_end", "error_message")
    )
    lines = [
        f"segment {sequence} ({start}..{end}): {error or 'failed'}"
        for sequence, start, end, error in failed[:NAMED_FAILURES]
    ]
    if len(failed) > NAMED_FAILURES:
        lines.append(f"and {len(failed) - NAMED_FAILURES} more")
    return f"{len(failed)} segment(s) failed: " + "; ".join(lines)


# -- retry and cancel ------------------------------------------------------------------------


def retry_failed(*, backfill: Backfill, user) -> int:
    """Give failed segments a fresh set of attempts and run them again; how many."""
    require_write(user=user, instance=backfill.report.instance)
    with transaction.atomic():
        locked = _lock(backfill.pk)
        if locked.status == BackfillStatus.CANCELLED:
            raise Conflict("The backfill was cancelled.", field="status")
        before = _audit_state(locked)
        retried = move(
            locked.segments.all(),
            SegmentStatus.PENDING,
            sources={SegmentStatus.FAILED},
            attempts=0,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        # Segments waiting out an automatic retry's backoff go now too.
        locked.segments.filter(status=SegmentStatus.PENDING, next_attempt_at__isnull=False).update(
            next_attempt_at=None
        )
        if not retried:
            raise Conflict("The backfill has no failed segments.", field="status")
        if move(
            Backfill.objects.filter(pk=locked.pk),
            BackfillStatus.IN_PROGRESS,
            sources={BackfillStatus.FAILED, BackfillStatus.PARTIAL},
            completed_at=None,
        ):
            locked.status = BackfillStatus.IN_PROGRESS
        refresh_backfill(locked)
        _audit_change(locked, user=user, action="backfill failed segments retried", before=before)
        _release_after_commit(locked.pk)
    backfill.refresh_from_db()
    return retried


def cancel_backfill(*, backfill: Backfill, user) -> Backfill:
    """Stop sending segments and cancel the running ones (AMC is told through the engine)."""
    require_write(user=user, instance=backfill.report.instance)
    with transaction.atomic():
        locked = _lock(backfill.pk)
        if locked.status in TERMINAL_BACKFILL_STATUSES:
            raise Conflict(f"The backfill is already {locked.status}.", field="status")
        before = _audit_state(locked)
        move(Backfill.objects.filter(pk=locked.pk), BackfillStatus.CANCELLED)
        locked.status = BackfillStatus.CANCELLED
        move(
            locked.segments.all(),
            SegmentStatus.CANCELLED,
            sources={SegmentStatus.PENDING},
            error_message="Cancelled by a user.",
            updated_at=timezone.now(),
        )
        refresh_backfill(locked)
        _audit_change(locked, user=user, action="backfill cancelled", before=before)
    _cancel_running(backfill.pk)
    backfill.refresh_from_db()
    return backfill


def _cancel_running(backfill_pk) -> int:
    """Cancel the in-flight executions of a cancelled backfill; their segments follow."""
    pks = list(
        BackfillSegment.objects.filter(
            backfill_id=backfill_pk,
            backfill__status=BackfillStatus.CANCELLED,
            status=SegmentStatus.RUNNING,
            execution__status__in=engine.ACTIVE_STATUSES,
        ).values_list("execution_id", flat=True)
    )
    for execution_pk in pks:
        engine.request_cancel(execution_pk)
    return len(pks)


# -- the sweep -------------------------------------------------------------------------------


def sweep_backfills() -> dict[str, int]:
    """Crash recovery, run by beat: settle, cancel and restart what a lost task left behind.

    - a segment still running an execution that ended (the worker died after the engine's
      transition, before our receiver): settle it now;
    - a segment claimed but left without an execution for a lease (the worker died between
      claim and creation, or the execution was deleted by hand): back to pending;
    - a cancelled backfill with executions still in flight: cancel them;
    - an in-progress backfill with due segments and room under its limit (the run_segment
      tasks were lost with Redis or a killed worker): send them again.
    """
    settled = 0
    for execution_pk in BackfillSegment.objects.filter(
        status=SegmentStatus.RUNNING, execution__status__in=TERMINAL_STATUSES
    ).values_list("execution_id", flat=True):
        segment_finished(execution_pk=execution_pk)
        settled += 1
    # Claimed, but the worker died before the execution was created (or it was deleted by
    # hand): give the claim back. A late creator finds the claim gone and rolls back.
    stale = timezone.now() - timedelta(seconds=settings.RECOMAMP_LEASE_SECONDS)
    orphaned = move(
        BackfillSegment.objects.filter(execution__isnull=True, updated_at__lt=stale),
        SegmentStatus.PENDING,
        sources={SegmentStatus.RUNNING},
        attempts=Greatest(F("attempts") - 1, 0),
        updated_at=timezone.now(),
    )
    cancelled = 0
    for backfill_pk in (
        BackfillSegment.objects.filter(
            backfill__status=BackfillStatus.CANCELLED,
            status=SegmentStatus.RUNNING,
            execution__status__in=engine.ACTIVE_STATUSES,
        )
        .values_list("backfill_id", flat=True)
        .distinct()
    ):
        cancelled += _cancel_running(backfill_pk)
    released = 0
    for backfill_pk in Backfill.objects.filter(status=BackfillStatus.IN_PROGRESS).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            backfill = _lock(backfill_pk)
            if backfill is not None and backfill.status == BackfillStatus.IN_PROGRESS:
                refresh_backfill(backfill)
        released += release_next(backfill_pk=backfill_pk)
    return {
        "settled": settled,
        "orphaned": orphaned,
        "cancelled": cancelled,
        "released": released,
    }
