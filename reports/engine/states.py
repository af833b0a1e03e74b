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

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports.models import ExecutionEvent, ExecutionPhase, ExecutionStatus, ReportExecution

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class State:
    status: str
    phase: str

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


def move(
    execution_pk,
    to: State,
    *,
    sources: frozenset[State] | set[State] | None = None,
    where: Q | None = None,
    user=None,
    detail: dict[str, Any] | None = None,
    **fields,
) -> State | None:
    """Move an execution to `to` if it is in one of `sources` (default: every state the table
    allows to move there) and matches `where`; the state it left when this call moved it,
    else None.

    The row is locked, updated and the event written in one transaction.
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
    with transaction.atomic(savepoint=False):
        rows = ReportExecution.objects.select_for_update(of=("self",)).filter(
            pk=execution_pk, phase__in=phases
        )
        if where is not None:
            rows = rows.filter(where)
        current = rows.values_list("status", "phase").first()
        if current is None:
            return None
        ReportExecution.objects.filter(pk=execution_pk).update(
            status=to.status, phase=to.phase, updated_at=now, **fields
        )
        ExecutionEvent.objects.create(
            execution_id=execution_pk,
            from_status=current[0],
            from_phase=current[1],
            to_status=to.status,
            to_phase=to.phase,
            at=now,
            worker="" if user is not None else worker_name(),
            user=user,
            detail=_clean(detail),
        )
    return State(*current)


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
