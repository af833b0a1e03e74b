"""The lifecycle of an execution: its states, the one table of allowed moves, the one mover.

A state is a (status, phase) pair; the status is what users filter on, the phase says where
inside it the execution is:

    pending/queued ─▶ pending/dispatched ─▶ pending/submitting ─▶ running/submitted
          ▲                  │                    │   ▲                 │
          └──────────────────┴────────────────────┘   └─ (adopted)      ▼
                                                               running/downloading
    any active state ─▶ failed/ended | cancelled/ended                  │
    submitting, submitted ─▶ cancelled/cancelling ─▶ cancelled/ended    ▼
                                                               completed/ended

`move` is the only writer of status and phase: one conditional UPDATE under the row's lock
(so two workers never both move it) and one ExecutionEvent row per move, in one transaction.
`finish` is the one public way to end an execution: the terminal move, the slot given back
(except while AMC still has to be told of a cancel) and, after commit, `execution_finished`.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from reports.models import ExecutionEvent, ExecutionPhase, ExecutionStatus, ReportExecution

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class State:
    status: str
    phase: str

    def __post_init__(self) -> None:
        # Plain strings: psycopg looks an Enum subclass's adapter up through its class
        # hierarchy on every statement it is a parameter of.
        object.__setattr__(self, "status", str(self.status))
        object.__setattr__(self, "phase", str(self.phase))

    def __str__(self) -> str:
        return f"{self.status}/{self.phase}"


QUEUED = State(ExecutionStatus.PENDING, ExecutionPhase.QUEUED)
DISPATCHED = State(ExecutionStatus.PENDING, ExecutionPhase.DISPATCHED)
SUBMITTING = State(ExecutionStatus.PENDING, ExecutionPhase.SUBMITTING)
SUBMITTED = State(ExecutionStatus.RUNNING, ExecutionPhase.SUBMITTED)
DOWNLOADING = State(ExecutionStatus.RUNNING, ExecutionPhase.DOWNLOADING)
COMPLETED = State(ExecutionStatus.COMPLETED, ExecutionPhase.ENDED)
FAILED = State(ExecutionStatus.FAILED, ExecutionPhase.ENDED)
CANCELLING = State(ExecutionStatus.CANCELLED, ExecutionPhase.CANCELLING)
CANCELLED = State(ExecutionStatus.CANCELLED, ExecutionPhase.ENDED)

ALL_STATES = (
    QUEUED,
    DISPATCHED,
    SUBMITTING,
    SUBMITTED,
    DOWNLOADING,
    COMPLETED,
    FAILED,
    CANCELLING,
    CANCELLED,
)

#: The allowed moves. A move to the same state records an event (a retry, a new AMC status,
#: a lease taken over) without changing the state.
MOVES: dict[State, frozenset[State]] = {
    QUEUED: frozenset({DISPATCHED, QUEUED, FAILED, CANCELLED}),
    DISPATCHED: frozenset({SUBMITTING, QUEUED, FAILED, CANCELLED}),
    SUBMITTING: frozenset({SUBMITTED, SUBMITTING, QUEUED, FAILED, CANCELLING, CANCELLED}),
    SUBMITTED: frozenset({SUBMITTED, DOWNLOADING, FAILED, CANCELLING, CANCELLED}),
    DOWNLOADING: frozenset({DOWNLOADING, COMPLETED, FAILED, CANCELLED}),
    CANCELLING: frozenset({CANCELLED}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}

#: Phases in which an execution holds one of its instance's slots: from dispatch until AMC
#: reports the execution ended (a cancel: until AMC has been told).
SLOT_PHASES = frozenset(
    {
        ExecutionPhase.DISPATCHED,
        ExecutionPhase.SUBMITTING,
        ExecutionPhase.SUBMITTED,
        ExecutionPhase.CANCELLING,
    }
)
#: Phases of an execution that AMC runs or will run: waiting for a slot, or holding one.
ACTIVE_AT_AMC_PHASES = frozenset({ExecutionPhase.QUEUED, *SLOT_PHASES})
ACTIVE_STATUSES = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
TERMINAL_STATUSES = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
)
TERMINAL_STATES = frozenset(state for state, targets in MOVES.items() if not targets)

_BY_PHASE: dict[str, State] = {}
for _state in ALL_STATES:
    _BY_PHASE.setdefault(_state.phase, _state)


def state_of(execution: ReportExecution) -> State:
    return State(execution.status, execution.phase)


def sources_of(target: State) -> frozenset[State]:
    return frozenset(state for state, targets in MOVES.items() if target in targets)


def worker_name() -> str:
    return _WORKER


_WORKER = f"{socket.gethostname()}:{os.getpid()}"


def _reset_worker_name() -> None:  # after fork, the pid changed
    global _WORKER
    _WORKER = f"{socket.gethostname()}:{os.getpid()}"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_worker_name)


class IllegalMove(ValueError):
    pass


def move(execution_pk, to: State, **options) -> State | None:
    """Move an execution to `to`; the state it left when this call moved it, else None.
    Options as `move_returning_instance`."""
    moved = move_returning_instance(execution_pk, to, **options)
    return None if moved is None else moved[0]


def move_returning_instance(
    execution_pk,
    to: State,
    *,
    sources: frozenset[State] | set[State] | None = None,
    where: Q | None = None,
    user=None,
    detail: dict[str, Any] | None = None,
    **fields,
) -> tuple[State, Any] | None:
    """Move an execution to `to` if it is in one of `sources` (default: every state the table
    allows to move there) and matches `where`; the state it left and its instance (the caller
    gives its slot back) when this call moved it, else None.

    The row is locked, updated and the event written in one statement (PostgreSQL) or one
    transaction; `fields` are written with the move.
    """
    allowed = sources_of(to)
    if sources is None:
        sources = allowed
    elif not set(sources) <= allowed:
        raise IllegalMove(f"not allowed: {sorted(map(str, set(sources) - allowed))} -> {to}")
    # Phases are unique across statuses, except "ended", which never moves.
    phases = [state.phase for state in sources]
    now = timezone.now()
    if to in TERMINAL_STATES or to == CANCELLING:
        fields.setdefault("completed_at", now)
        fields.setdefault("next_poll_at", None)
    rows = ReportExecution.objects.filter(pk=execution_pk, phase__in=phases)
    if where is not None:
        rows = rows.filter(where)
    event = {
        "to_status": to.status,
        "to_phase": to.phase,
        "at": now,
        "worker": "" if user is not None else worker_name(),
        "user_id": user.pk if user is not None else None,
        "detail": _clean(detail),
    }
    values = {"status": to.status, "phase": to.phase, "updated_at": now, **fields}
    if connection.vendor == "postgresql":
        moved = _move_in_one_statement(rows, values, event)
    else:
        moved = _move_in_a_transaction(execution_pk, rows, values, event)
    if moved is None:
        return None
    return State(moved[0], moved[1]), moved[2]


def _move_in_one_statement(rows, values: dict[str, Any], event: dict[str, Any]):
    """Lock the row if it is still where the move starts, update it and write its event: one
    round trip, atomic on its own. FOR UPDATE re-checks the conditions against the newest
    version of the row, so of two concurrent moves only one finds it."""
    locked, params = (
        rows.order_by().values("id", "status", "phase", "instance_id").query.sql_with_params()
    )
    executions = ReportExecution._meta
    assignments, set_params = [], []
    for name, value in values.items():
        field = executions.get_field(name)
        assignments.append(f"{connection.ops.quote_name(field.column)} = %s")
        set_params.append(field.get_db_prep_save(value, connection))
    events = ExecutionEvent._meta
    event_fields = [events.get_field(name) for name in event]
    event_params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(event_fields, event.values(), strict=True)
    ]
    sql = (
        f"WITH claimed AS ({locked} FOR UPDATE), "
        f"moved AS (UPDATE {executions.db_table} AS r SET {', '.join(assignments)} "
        "FROM claimed WHERE r.id = claimed.id "
        "RETURNING r.id, claimed.status, claimed.phase, claimed.instance_id), "
        f"logged AS (INSERT INTO {events.db_table} (execution_id, from_status, from_phase, "
        f"{', '.join(connection.ops.quote_name(field.column) for field in event_fields)}) "
        f"SELECT moved.id, moved.status, moved.phase, {', '.join(['%s'] * len(event_params))} "
        "FROM moved) "
        "SELECT status, phase, instance_id FROM moved"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *set_params, *event_params])
        return cursor.fetchone()


def _move_in_a_transaction(execution_pk, rows, values: dict[str, Any], event: dict[str, Any]):
    with transaction.atomic(savepoint=False):
        current = (
            rows.select_for_update(of=("self",))
            .values_list("status", "phase", "instance_id")
            .first()
        )
        if current is None:
            return None
        ReportExecution.objects.filter(pk=execution_pk).update(**values)
        ExecutionEvent.objects.create(
            execution_id=execution_pk, from_status=current[0], from_phase=current[1], **event
        )
    return current


def _clean(detail: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (detail or {}).items() if value not in (None, "", {})}


def creation_event(execution: ReportExecution, *, at) -> ExecutionEvent:
    """The first event of an execution, written with it by the creation service."""
    return ExecutionEvent(
        execution_id=execution.pk,
        from_status="",
        from_phase="",
        to_status=execution.status,
        to_phase=execution.phase,
        at=at,
        worker="" if execution.user_id else worker_name(),
        user_id=execution.user_id,
        detail=_clean(
            {
                "triggered_by": execution.triggered_by,
                "error": execution.error_message,
            }
        ),
    )
