"""The instance's concurrency cap: slot rows handed to waiting executions, oldest first.

An execution takes a slot when it is dispatched (queued -> dispatched, in the same
transaction) and gives it back when AMC reports it ended: SUCCEEDED (before the download,
since AMC's limit counts running executions only and a download costs AMC nothing), FAILED or
CANCELLED, or when it ends on our side before AMC has it. A cancel of an execution AMC may
hold keeps the slot until AMC has been told (phase cancelling). Slots are rows claimed with
SELECT ... FOR UPDATE SKIP LOCKED, so the cap holds across every worker and process.

When a slot frees up in a worker, the same worker dispatches the next waiting execution and
submits it directly (queue.run_here_or_send); a web request sends a task instead.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from instances.models import AmcInstance
from reports.engine import queue, states
from reports.models import ExecutionPhase, ExecutionSlot, ReportExecution


def lease() -> timedelta:
    return timedelta(seconds=settings.RECOMAMP_LEASE_SECONDS)


_ensured: set = set()


def ensure_slots(instance_pk, cap: int) -> None:
    """The instance's slot rows exist (checked once per process and cap)."""
    if (instance_pk, cap) in _ensured:
        return
    existing = set(
        ExecutionSlot.objects.filter(instance_id=instance_pk).values_list("slot_number", flat=True)
    )
    missing = [n for n in range(cap) if n not in existing]
    if missing:
        ExecutionSlot.objects.bulk_create(
            [ExecutionSlot(instance_id=instance_pk, slot_number=n) for n in missing],
            ignore_conflicts=True,
        )
    transaction.on_commit(lambda: _ensured.add((instance_pk, cap)))


def waiting(instance_pk):
    """Queued executions of an instance that may start now, oldest first."""
    return ReportExecution.objects.filter(
        instance_id=instance_pk, phase=ExecutionPhase.QUEUED
    ).filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=timezone.now()))


def dispatch_waiting(*, instance_pk, cap: int | None = None) -> int:
    """Give the instance's free slots to its oldest waiting executions and start them."""
    from reports.engine import steps
    from reports.tasks import start_execution

    if cap is None:
        cap = AmcInstance.objects.values_list("concurrency_cap", flat=True).get(pk=instance_pk)
    dispatched: list = []
    with transaction.atomic(savepoint=False):
        ensure_slots(instance_pk, cap)
        free = _free_slots(instance_pk, cap, limit=cap)
        if not free:
            return 0
        pks = list(
            waiting(instance_pk)
            .order_by("created_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[: len(free)]
        )
        now = timezone.now()
        for slot, pk in zip(free, pks, strict=False):
            moved = states.move(
                pk,
                states.DISPATCHED,
                sources={states.QUEUED},
                detail={"slot": slot.slot_number},
                lease_expires_at=now + lease(),
                next_poll_at=None,
            )
            if moved:
                ExecutionSlot.objects.filter(pk=slot.pk).update(
                    execution_id=pk, lease_expires_at=now + lease()
                )
                dispatched.append(pk)
    for pk in dispatched:
        queue.run_here_or_send(steps.start, start_execution, pk)
    return len(dispatched)


def _free_slots(instance_pk, cap: int, *, limit: int) -> list[ExecutionSlot]:
    return list(
        ExecutionSlot.objects.select_for_update(skip_locked=True)
        .filter(instance_id=instance_pk, slot_number__lt=cap, execution__isnull=True)
        .order_by("slot_number")[:limit]
    )


def release_slot(execution_pk, instance_pk) -> None:
    """Give the execution's slot back (if it has one) and start the next waiting execution."""
    released = ExecutionSlot.objects.filter(execution_id=execution_pk).update(
        execution=None, lease_expires_at=None
    )
    if released:
        transaction.on_commit(lambda: dispatch_waiting(instance_pk=instance_pk))


def slots_in_use(instance: AmcInstance) -> int:
    return ExecutionSlot.objects.filter(instance=instance, execution__isnull=False).count()
