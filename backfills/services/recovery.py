"""Recovery: retry a backfill's failed segments, cancel a backfill, and the sweep (run by beat)
that repairs what a lost task or a killed worker left behind."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from backfills.models import Backfill, BackfillSegment, BackfillStatus, SegmentStatus
from backfills.selectors import TERMINAL_BACKFILL_STATUSES
from backfills.services.audit import audit_state, record_change
from backfills.services.running import (
    lock_backfill,
    refresh_backfill,
    release_after_commit,
    release_next,
    segment_finished,
)
from backfills.states import move
from recomamp.errors import Conflict
from reports import engine
from reports.models import TERMINAL_STATUSES
from reports.services.reports import require_write


def retry_failed(*, backfill: Backfill, user) -> int:
    """Give failed segments a fresh set of attempts and run them again; how many."""
    require_write(user=user, instance=backfill.report.instance)
    with transaction.atomic():
        locked = lock_backfill(backfill.pk)
        if locked.status == BackfillStatus.CANCELLED:
            raise Conflict("The backfill was cancelled.", field="status")
        before = audit_state(locked)
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
        record_change(locked, user=user, action="backfill failed segments retried", before=before)
        release_after_commit(locked.pk)
    backfill.refresh_from_db()
    return retried


def cancel_backfill(*, backfill: Backfill, user) -> Backfill:
    """Stop sending segments and cancel the running ones (AMC is told through the engine)."""
    require_write(user=user, instance=backfill.report.instance)
    with transaction.atomic():
        locked = lock_backfill(backfill.pk)
        if locked.status in TERMINAL_BACKFILL_STATUSES:
            raise Conflict(f"The backfill is already {locked.status}.", field="status")
        before = audit_state(locked)
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
        record_change(locked, user=user, action="backfill cancelled", before=before)
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
    - a segment running without an execution for a lease (its execution was deleted by hand;
      a claim and its execution are written together): back to pending;
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
    # Running, but its execution was deleted by hand: give the claim back.
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
            backfill = lock_backfill(backfill_pk)
            if backfill is not None and backfill.status == BackfillStatus.IN_PROGRESS:
                refresh_backfill(backfill)
        released += release_next(backfill_pk=backfill_pk)
    return {
        "settled": settled,
        "orphaned": orphaned,
        "cancelled": cancelled,
        "released": released,
    }
