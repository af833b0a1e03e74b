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
from django.db import connection, transaction
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
    if connection.vendor == "postgresql":
        ensure_slots(instance_pk, cap)
        dispatched = _dispatch_in_one_statement(instance_pk, cap)  # atomic on its own
    else:
        with transaction.atomic(savepoint=False):
            ensure_slots(instance_pk, cap)
            dispatched = _dispatch_in_a_transaction(instance_pk, cap)
    for pk in dispatched:
        queue.run_here_or_send(steps.start, start_execution, pk)
    return len(dispatched)


def _dispatch_in_a_transaction(instance_pk, cap: int) -> list:
    dispatched: list = []
    free = _free_slots(instance_pk, cap, limit=cap)
    if not free:
        return dispatched
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
    return dispatched


#: Free slots and the oldest waiting executions, both claimed with SKIP LOCKED, paired in
#: order; each pair's execution moves queued -> dispatched (with its event, as `states.move`
#: writes it) and its slot records it. FOR UPDATE re-checks the phase against the newest row.
_DISPATCH_SQL = """
WITH free AS (
    SELECT id, slot_number, row_number() OVER (ORDER BY slot_number) AS n FROM (
        SELECT id, slot_number FROM amc_execution_slots
        WHERE instance_id = %(instance)s AND slot_number < %(cap)s AND execution_id IS NULL
        ORDER BY slot_number LIMIT %(cap)s FOR UPDATE SKIP LOCKED
    ) AS slots
), ready AS (
    SELECT id, status, phase, row_number() OVER (ORDER BY created_at) AS n FROM (
        SELECT id, status, phase, created_at FROM report_executions
        WHERE instance_id = %(instance)s AND phase = %(queued)s
            AND (next_poll_at IS NULL OR next_poll_at <= %(now)s)
        ORDER BY created_at LIMIT (SELECT count(*) FROM free) FOR UPDATE SKIP LOCKED
    ) AS queued
), pairs AS (
    SELECT free.id AS slot_id, free.slot_number, ready.id, ready.status, ready.phase
    FROM free JOIN ready USING (n)
), moved AS (
    UPDATE report_executions AS r
    SET status = %(status)s, phase = %(phase)s, updated_at = %(now)s,
        lease_expires_at = %(lease)s, next_poll_at = NULL
    FROM pairs WHERE r.id = pairs.id
    RETURNING r.id, pairs.status, pairs.phase, pairs.slot_id, pairs.slot_number
), taken AS (
    UPDATE amc_execution_slots AS s SET execution_id = moved.id, lease_expires_at = %(lease)s
    FROM moved WHERE s.id = moved.slot_id
), logged AS (
    INSERT INTO report_execution_events
        (execution_id, from_status, from_phase, to_status, to_phase, at, worker, user_id, detail)
    SELECT id, status, phase, %(status)s, %(phase)s, %(now)s, %(worker)s, NULL,
        jsonb_build_object('slot', slot_number)
    FROM moved
)
SELECT id FROM moved ORDER BY slot_number
"""


def _dispatch_in_one_statement(instance_pk, cap: int) -> list:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _DISPATCH_SQL,
            {
                "instance": instance_pk,
                "cap": cap,
                "queued": states.QUEUED.phase,
                "now": now,
                "lease": now + lease(),
                "status": states.DISPATCHED.status,
                "phase": states.DISPATCHED.phase,
                "worker": states.worker_name(),
            },
        )
        return [row[0] for row in cursor.fetchall()]


def _free_slots(instance_pk, cap: int, *, limit: int) -> list[ExecutionSlot]:
    return list(
        ExecutionSlot.objects.select_for_update(skip_locked=True)
        .filter(instance_id=instance_pk, slot_number__lt=cap, execution__isnull=True)
        .order_by("slot_number")[:limit]
    )


def release_slot(execution_pk, instance_pk, *, cap: int | None = None, dispatch=True) -> bool:
    """Give the execution's slot back (if it has one) and, unless told not to (the caller
    dispatches itself), start the next waiting execution after commit."""
    released = ExecutionSlot.objects.filter(execution_id=execution_pk).update(
        execution=None, lease_expires_at=None
    )
    if released and dispatch:
        transaction.on_commit(lambda: dispatch_waiting(instance_pk=instance_pk, cap=cap))
    return bool(released)


def slots_in_use(instance: AmcInstance) -> int:
    return ExecutionSlot.objects.filter(instance=instance, execution__isnull=False).count()
