"""Running a backfill: start it, release its due segments under its parallel limit, run each
segment as an execution, record each execution's end and derive the backfill's status.

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
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import group
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from backfills.models import Backfill, BackfillSegment, BackfillStatus, SegmentStatus
from backfills.selectors import (
    TERMINAL_BACKFILL_STATUSES,
    effective_parallel_limit,
    segments_at_amc,
)
from backfills.services.audit import audit_state, record_change
from backfills.states import move
from recomamp.errors import Conflict, DomainError
from reports.models import ExecutionStatus, ReportExecution, TriggeredBy
from reports.services.executions import create_execution
from reports.services.reports import require_write
from reports.windows import window_for_days

logger = logging.getLogger(__name__)

#: Automatic retries of a failed segment wait RECOMAMP_BACKFILL_RETRY_SECONDS * 2^(attempt - 1)
#: seconds, up to the max.
RETRY_MAX_SECONDS = 900.0
#: Failed segments the backfill's error message names (the rest are counted).
NAMED_FAILURES = 10


# -- start -----------------------------------------------------------------------------------


def start_backfill(*, backfill: Backfill, user) -> Backfill:
    require_write(user=user, instance=backfill.report.instance)
    with transaction.atomic():
        before = audit_state(backfill)
        if not start_pending(backfill):
            raise Conflict(f"The backfill is already {backfill.status}.", field="status")
        record_change(backfill, user=user, action="backfill started", before=before)
    backfill.refresh_from_db()
    return backfill


def start_pending(backfill: Backfill) -> bool:
    """Move a pending backfill to in_progress and release its first segments after commit."""
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
        release_after_commit(backfill.pk)
    return bool(started)


# -- release and run segments ----------------------------------------------------------------


def _due() -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())


def lock_backfill(backfill_pk) -> Backfill | None:
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


def release_after_commit(backfill_pk, *, inline: bool = False) -> None:
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
        backfill = lock_backfill(backfill_pk)
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
        backfill = lock_backfill(segment.backfill_id)
        failed = move(
            _this_attempt(segment),
            SegmentStatus.FAILED,
            sources={SegmentStatus.RUNNING},
            error_message=message,
            updated_at=timezone.now(),
        )
        if failed:
            refresh_backfill(backfill)
            release_after_commit(backfill.pk)


# -- a segment's execution ended -------------------------------------------------------------


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
        backfill = lock_backfill(segment.backfill_id)
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
        release_after_commit(backfill.pk, inline=True)
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
