"""Running a backfill: start it, release its due segments under its parallel limit, run each
segment as an execution, record each execution's end and derive the backfill's status.

- ``start_backfill`` moves the backfill to in_progress and `release_next` sends a Celery
  group of ``run_segment`` tasks for as many due segments as the backfill's parallel limit
  leaves free.
- ``start_segments``, under the backfill's row lock, claims as many due segments as fewer
  than ``parallel_limit`` at AMC leave room for (pending and due -> running, attempts + 1),
  creates their executions and links them, in one transaction: a task that runs twice finds
  the segment no longer pending, so an attempt never gets two executions, and a worker that
  dies mid-way leaves no claim behind. ``run_segment`` (the task) starts one segment this way.
- The engine holds an instance slot per execution, so the instance's cap holds across every
  backfill, schedule and ad-hoc run; the backfill's limit only bounds its own share.
- When an execution ends, ``segment_finished`` (a receiver of ``execution_finished``) records
  the outcome on the segment, schedules a retry with backoff while attempts remain, derives the
  backfill's status from its segment rows, and starts the next segment in the same
  transaction; a segment whose execution AMC reported done starts the next one even before its
  download (``release_next(inline=True)``, on ``execution_left_amc``).
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
from reports.models import TERMINAL_STATUSES, ExecutionStatus, ReportExecution, TriggeredBy
from reports.services.executions import create_executions, new_execution, render_for_report
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
    """Run the due segments the parallel limit leaves room for: here and now (`inline`, in a
    worker whose segment has just left AMC), or as a group of run_segment tasks (a web
    request, the sweep).

    Sending too many is harmless (run_segment re-checks under the backfill's lock); the
    sweep sends again whatever a lost task left waiting.
    """
    from backfills import tasks

    if inline:
        with transaction.atomic():
            backfill = lock_backfill(backfill_pk)
            return len(start_segments(backfill)) if backfill is not None else 0
    backfill = (
        Backfill.objects.select_related("report__instance")
        .filter(pk=backfill_pk, status=BackfillStatus.IN_PROGRESS)
        .first()
    )
    if backfill is None:
        return 0
    pks = list(_due_segments(backfill).values_list("pk", flat=True)[: _room(backfill)])
    if pks:
        group(tasks.run_segment.si(str(pk)) for pk in pks).apply_async()
    return len(pks)


def release_after_commit(backfill_pk) -> None:
    transaction.on_commit(lambda: release_next(backfill_pk=backfill_pk))


def run_segment(*, segment_pk) -> ReportExecution | None:
    """Start one due segment (a run_segment task), if the backfill's limit has room.

    Idempotent: a task that runs twice finds the segment no longer pending.
    """
    backfill_pk = (
        BackfillSegment.objects.filter(pk=segment_pk).values_list("backfill_id", flat=True).first()
    )
    if backfill_pk is None:
        return None
    with transaction.atomic():
        backfill = lock_backfill(backfill_pk)
        started = start_segments(backfill, segment_pk=segment_pk) if backfill else []
    return started[0] if started else None


def _due_segments(backfill: Backfill):
    return backfill.segments.filter(_due(), status=SegmentStatus.PENDING).order_by("sequence")


def _room(backfill: Backfill) -> int:
    """How many more segments the backfill's parallel limit lets go to AMC now."""
    if backfill.status != BackfillStatus.IN_PROGRESS:
        return 0
    return max(0, effective_parallel_limit(backfill) - segments_at_amc(backfill))


def start_segments(backfill: Backfill, *, segment_pk=None) -> list[ReportExecution]:
    """Claim the due segments there is room for (or just `segment_pk`) and create their
    executions, in the caller's transaction under the backfill's row lock (`lock_backfill`).

    Claim (pending and due -> running, attempts + 1), executions and links are written
    together or not at all, so an attempt never gets two executions and a crash leaves no
    claim behind. The engine starts the executions after commit.
    """
    room = _room(backfill)
    segments = _due_segments(backfill)
    if segment_pk is not None:
        segments = segments.filter(pk=segment_pk)
    segments = list(segments[:room]) if room else []
    if not segments:
        return []
    move(
        BackfillSegment.objects.filter(pk__in=[segment.pk for segment in segments]),
        SegmentStatus.RUNNING,
        sources={SegmentStatus.PENDING},
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        execution=None,
        updated_at=timezone.now(),
    )
    report = backfill.report
    try:
        rendered = render_for_report(report=report)
    except DomainError as exc:
        # The report no longer renders (template or parameters changed): retrying the same
        # SQL cannot help, so the segments fail for good.
        move(
            BackfillSegment.objects.filter(pk__in=[segment.pk for segment in segments]),
            SegmentStatus.FAILED,
            sources={SegmentStatus.RUNNING},
            error_message=str(exc),
            updated_at=timezone.now(),
        )
        refresh_backfill(backfill)
        release_after_commit(backfill.pk)
        return []
    executions = create_executions(
        [
            new_execution(
                report=report,
                user=backfill.user,
                triggered_by=TriggeredBy.BACKFILL,
                window=window_for_days(segment.window_start, segment.window_end, report.timezone),
                sql=rendered[0],
                snapshot=rendered[1],
                collection=backfill,
            )
            for segment in segments
        ]
    )
    for segment, execution in zip(segments, executions, strict=True):
        segment.attempts += 1
        segment.execution = execution
        logger.info(
            "backfill %s segment %s attempt %s: %s",
            backfill.pk,
            segment.sequence,
            segment.attempts,
            execution.execution_id,
        )
    BackfillSegment.objects.bulk_update(segments, ["execution"])
    return executions


# -- a segment's execution ended -------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    """Backoff before the next automatic attempt, after `attempts` tries."""
    base = settings.RECOMAMP_BACKFILL_RETRY_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


def segment_finished(*, execution_pk, execution: ReportExecution | None = None) -> None:
    """Record an ended execution on its segment, retry or settle it, and release the next.

    Once per execution (the segment update is conditional on the segment still running this
    execution). `execution`: the ended execution, when the caller has it loaded (the signal).
    """
    if execution is None or execution.status not in TERMINAL_STATUSES:
        execution = ReportExecution.objects.filter(pk=execution_pk).first()
    if execution is None or execution.collection_id is None:
        return
    retry_in = None
    with transaction.atomic():
        backfill = lock_backfill(execution.collection_id)
        segment = BackfillSegment.objects.filter(
            execution_id=execution_pk, status=SegmentStatus.RUNNING
        ).first()
        if backfill is None or segment is None:
            return
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
        start_segments(backfill)
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
