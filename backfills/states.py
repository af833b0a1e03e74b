"""The lifecycles of a backfill and of its segments: one table of allowed moves each, one writer.

A segment:

    pending ──claim──▶ running ──▶ completed
       │  ▲               │ │
       │  └─ retry, or ───┘ └────▶ failed ──retry failed──▶ pending
       │     claim given back  └─▶ cancelled
       └──cancel──▶ cancelled

A backfill (its ended status is derived from its segment rows by `refresh_backfill`):

    pending ──start──▶ in_progress ──▶ completed | failed | partial
       │                  │                        │        │
       └──────cancel──────┴──▶ cancelled           └─retry──┴──▶ in_progress

`move` is the only writer of either status: one conditional UPDATE of the rows given that are
in an allowed source state, for one row or a whole backfill's segments at once. Callers that
change a backfill's segments hold the backfill's row lock (`select_for_update`).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from backfills.models import Backfill, BackfillSegment, BackfillStatus, SegmentStatus

SEGMENT_MOVES: dict[str, frozenset[str]] = {
    SegmentStatus.PENDING: frozenset({SegmentStatus.RUNNING, SegmentStatus.CANCELLED}),
    SegmentStatus.RUNNING: frozenset(
        {
            SegmentStatus.COMPLETED,
            SegmentStatus.FAILED,
            SegmentStatus.CANCELLED,
            SegmentStatus.PENDING,  # an automatic retry, or a claim given back by the sweep
        }
    ),
    SegmentStatus.FAILED: frozenset({SegmentStatus.PENDING}),  # retried on demand
    SegmentStatus.COMPLETED: frozenset(),
    SegmentStatus.CANCELLED: frozenset(),
}

BACKFILL_MOVES: dict[str, frozenset[str]] = {
    BackfillStatus.PENDING: frozenset({BackfillStatus.IN_PROGRESS, BackfillStatus.CANCELLED}),
    BackfillStatus.IN_PROGRESS: frozenset(
        {
            BackfillStatus.COMPLETED,
            BackfillStatus.FAILED,
            BackfillStatus.PARTIAL,
            BackfillStatus.CANCELLED,
        }
    ),
    BackfillStatus.FAILED: frozenset({BackfillStatus.IN_PROGRESS}),  # failed segments retried
    BackfillStatus.PARTIAL: frozenset({BackfillStatus.IN_PROGRESS}),
    BackfillStatus.COMPLETED: frozenset(),
    BackfillStatus.CANCELLED: frozenset(),
}

MOVES: dict[type, dict[str, frozenset[str]]] = {
    Backfill: BACKFILL_MOVES,
    BackfillSegment: SEGMENT_MOVES,
}


class IllegalMove(ValueError):
    pass


def sources_of(model: type, target: str) -> frozenset[str]:
    """The states the table lets a row of `model` move from to `target`."""
    return frozenset(state for state, targets in MOVES[model].items() if target in targets)


def move(rows: QuerySet, to: str, *, sources=None, **fields) -> int:
    """Move the `rows` (backfills or segments) that are in one of `sources` (default: every
    state the table allows to move to `to`) to `to`, writing `fields` with it; how many moved.

    Asking for a move the table does not allow raises IllegalMove; rows in another state are
    left as they are (the count says so).
    """
    allowed = sources_of(rows.model, to)
    if sources is None:
        sources = allowed
    elif not set(sources) <= allowed:
        illegal = sorted(str(source) for source in set(sources) - allowed)
        raise IllegalMove(f"{rows.model.__name__}: not allowed: {illegal} -> {to}")
    if not sources:
        raise IllegalMove(f"{rows.model.__name__}: nothing moves to {to}")
    fields.setdefault("updated_at", timezone.now())
    if len(sources) == 1:
        (source,) = sources
        rows = rows.filter(status=source)
    else:
        rows = rows.filter(status__in=sorted(sources))
    return rows.update(status=to, **fields)
