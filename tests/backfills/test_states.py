"""The backfill and segment lifecycles: the tables of moves and their one writer."""

import ast
import datetime as dt
import pathlib

import pytest

from backfills import states
from backfills.models import Backfill, BackfillSegment, BackfillStatus, SegmentStatus
from backfills.states import BACKFILL_MOVES, SEGMENT_MOVES, IllegalMove, move
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory


def segments_of(backfill, *statuses):
    days = [backfill.start_date + dt.timedelta(days=n) for n in range(len(statuses))]
    return [
        BackfillSegmentFactory(
            backfill=backfill, sequence=n, window_start=day, window_end=day, status=status
        )
        for n, (day, status) in enumerate(zip(days, statuses, strict=True))
    ]


def status_of(row):
    row.refresh_from_db(fields=["status"])
    return row.status


def test_every_status_has_a_row_in_its_table_and_moves_only_to_real_statuses():
    for table, choices in ((SEGMENT_MOVES, SegmentStatus), (BACKFILL_MOVES, BackfillStatus)):
        assert set(table) == set(choices.values)
        for targets in table.values():
            assert targets <= set(choices.values)


def test_completed_and_cancelled_rows_never_move_again():
    for table, choices in ((SEGMENT_MOVES, SegmentStatus), (BACKFILL_MOVES, BackfillStatus)):
        assert table[choices.COMPLETED] == frozenset()
        assert table[choices.CANCELLED] == frozenset()


@pytest.mark.django_db
def test_asking_to_move_a_completed_segment_back_to_running_is_refused():
    (segment,) = segments_of(BackfillFactory(), SegmentStatus.COMPLETED)
    with pytest.raises(IllegalMove):
        move(
            BackfillSegment.objects.filter(pk=segment.pk),
            SegmentStatus.RUNNING,
            sources={SegmentStatus.COMPLETED},
        )
    # Without naming the source: only pending segments are claimed, so nothing moves.
    assert move(BackfillSegment.objects.filter(pk=segment.pk), SegmentStatus.RUNNING) == 0
    assert status_of(segment) == SegmentStatus.COMPLETED


@pytest.mark.django_db
def test_a_bulk_move_moves_only_the_rows_in_an_allowed_state_and_counts_them():
    backfill = BackfillFactory()
    pending, running, completed, other_pending = segments_of(
        backfill,
        SegmentStatus.PENDING,
        SegmentStatus.RUNNING,
        SegmentStatus.COMPLETED,
        SegmentStatus.PENDING,
    )
    cancelled = move(
        backfill.segments.all(),
        SegmentStatus.CANCELLED,
        sources={SegmentStatus.PENDING},
        error_message="Cancelled by a user.",
    )
    assert cancelled == 2
    assert [status_of(s) for s in (pending, running, completed, other_pending)] == [
        SegmentStatus.CANCELLED,
        SegmentStatus.RUNNING,
        SegmentStatus.COMPLETED,
        SegmentStatus.CANCELLED,
    ]
    pending.refresh_from_db()
    assert pending.error_message == "Cancelled by a user."


@pytest.mark.django_db
def test_an_ended_backfill_is_not_started_or_cancelled_again():
    completed = BackfillFactory(status=BackfillStatus.COMPLETED)
    rows = Backfill.objects.filter(pk=completed.pk)
    with pytest.raises(IllegalMove):
        move(rows, BackfillStatus.IN_PROGRESS, sources={BackfillStatus.COMPLETED})
    assert move(rows, BackfillStatus.IN_PROGRESS) == 0
    assert move(rows, BackfillStatus.CANCELLED) == 0
    assert status_of(completed) == BackfillStatus.COMPLETED


@pytest.mark.django_db
def test_a_partial_backfill_goes_back_in_progress_when_its_failed_segments_are_retried():
    partial = BackfillFactory(status=BackfillStatus.PARTIAL)
    moved = move(Backfill.objects.filter(pk=partial.pk), BackfillStatus.IN_PROGRESS)
    assert moved == 1
    assert status_of(partial) == BackfillStatus.IN_PROGRESS


def test_no_other_backfills_module_writes_a_status():
    """Every status write goes through `states.move`: no `.update(status=...)` elsewhere."""
    package = pathlib.Path(states.__file__).parent
    writers = []
    for path in package.rglob("*.py"):
        if path.name == "states.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"update", "bulk_update", "update_or_create"}
                and any(keyword.arg == "status" for keyword in node.keywords)
            ):
                writers.append(f"{path.relative_to(package)}:{node.lineno}")
    assert writers == []
