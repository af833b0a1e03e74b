"""Crash recovery, run every few seconds by beat: one small repair per stuck phase.

Each repair only sends the step that owns the phase; the step's own claim (a conditional
move on a lapsed lease, or the poll's turn) decides whether it still has work to do, so a
repair that races a live worker does nothing.
"""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from reports.engine import queue, slots, states
from reports.models import ExecutionPhase, ExecutionSlot, ReportExecution


def _tasks():
    from reports import tasks

    return tasks


def _lapsed(phase: str):
    return ReportExecution.objects.filter(phase=phase, lease_expires_at__lte=timezone.now())


def free_orphaned_slots() -> int:
    """Slots held by executions that no longer need one (ended, queued, downloading)."""
    return (
        ExecutionSlot.objects.filter(execution__isnull=False)
        .exclude(execution__phase__in=states.SLOT_PHASES)
        .update(execution=None, lease_expires_at=None)
    )


def resend_lost_starts() -> int:
    """Dispatched, but the start task was lost: send it again."""
    return _resend(_lapsed(ExecutionPhase.DISPATCHED), _tasks().start_execution)


def reconcile_dead_submits() -> int:
    """Submitting, and the submitter went silent: look the submit up at AMC (start does)."""
    return _resend(_lapsed(ExecutionPhase.SUBMITTING), _tasks().start_execution)


def resume_lost_polls() -> int:
    """At AMC, and the poll chain was lost (worker died, message lost): poll again."""
    return _resend(_lapsed(ExecutionPhase.SUBMITTED), _tasks().poll_execution)


def resume_dead_downloads() -> int:
    """Downloading, and the downloader went silent: another worker takes it over."""
    return _resend(_lapsed(ExecutionPhase.DOWNLOADING), _tasks().poll_execution)


def tell_amc_of_cancels() -> int:
    """Cancelled while at AMC, and AMC was never told (the worker died): tell it now."""
    return _resend(_lapsed(ExecutionPhase.CANCELLING), _tasks().cancel_at_amc)


def start_waiting() -> int:
    """Queued executions where their instance has free slots."""
    started = 0
    for row in (
        ReportExecution.objects.filter(phase=ExecutionPhase.QUEUED)
        .values("instance_id", "instance__concurrency_cap")
        .annotate(n=Count("pk"))
    ):
        started += slots.dispatch_waiting(
            instance_pk=row["instance_id"], cap=row["instance__concurrency_cap"]
        )
    return started


def _resend(executions, task) -> int:
    pks = list(executions.values_list("pk", flat=True)[:1000])
    for pk in pks:
        queue.enqueue(task, pk)
    return len(pks)


REPAIRS = {
    "slots_freed": free_orphaned_slots,
    "starts_resent": resend_lost_starts,
    "submits_reconciled": reconcile_dead_submits,
    "polls_resumed": resume_lost_polls,
    "downloads_resumed": resume_dead_downloads,
    "cancels_told": tell_amc_of_cancels,
    "started": start_waiting,
}


def sweep() -> dict[str, int]:
    return {name: repair() for name, repair in REPAIRS.items()}
