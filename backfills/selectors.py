"""Reads for backfills: backfills a user may see, progress, estimates and the time series.

Everything a user can reach goes through `restrict_to_user`, as everywhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Aggregate, Count, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from backfills import segments as segment_math
from backfills.models import (
    Backfill,
    BackfillSegment,
    BackfillStatus,
    SegmentStatus,
)
from instances.models import AmcInstance
from instances.selectors import restrict_to_user
from reports.models import ExecutionResultRow, ExecutionStatus, ReportDefinition, ReportExecution

#: Seconds one segment is expected to take when the instance has no finished runs yet.
DEFAULT_SEGMENT_SECONDS = 180.0
#: How many of the instance's latest completed executions the estimate looks at.
RECENT_EXECUTIONS = 50

TERMINAL_BACKFILL_STATUSES = frozenset(
    {
        BackfillStatus.COMPLETED,
        BackfillStatus.FAILED,
        BackfillStatus.PARTIAL,
        BackfillStatus.CANCELLED,
    }
)


_SEGMENT_STATES = (
    SegmentStatus.COMPLETED,
    SegmentStatus.FAILED,
    SegmentStatus.CANCELLED,
    SegmentStatus.RUNNING,
    SegmentStatus.PENDING,
)


_PROGRESS_FIELDS = ("total", *map(str, _SEGMENT_STATES), "running_since")


class _JsonGroupArray(Aggregate):
    """The values as a JSON array (text): SQLite's ARRAY_AGG, for the embedded default."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()


def _collected(expression):
    if connection.vendor == "postgresql":
        return ArrayAgg(expression)
    return _JsonGroupArray(expression)


def _datetimes(collected) -> list:
    """`_collected` datetimes as a list, whichever database collected them."""
    if not isinstance(collected, str):
        return list(collected or [])
    values = [parse_datetime(value) for value in json.loads(collected) if value]
    return [v if timezone.is_aware(v) else timezone.make_aware(v, UTC) for v in values]


def with_progress(backfills: QuerySet[Backfill]) -> QuerySet[Backfill]:
    """The backfills annotated with all their progress is computed from, in the same query:
    their segment rows counted by state (``segments_total``, ``segments_completed``, ...) and
    when each running segment's execution started (``segments_running_since``)."""
    running_since = (
        BackfillSegment.objects.filter(backfill=OuterRef("pk"), status=SegmentStatus.RUNNING)
        .order_by()
        .values("backfill")
        .annotate(since=_collected(Coalesce("execution__started_at", "execution__created_at")))
        .values("since")
    )
    return backfills.annotate(
        segments_total=Count("segments"),
        **{
            f"segments_{state}": Count("segments", filter=Q(segments__status=state))
            for state in _SEGMENT_STATES
        },
        segments_running_since=Subquery(running_since),
    )


def backfills_for_user(*, user) -> QuerySet[Backfill]:
    """Backfills on the user's instances, annotated with their progress (`with_progress`): one
    query for a whole list, none per row."""
    return with_progress(
        restrict_to_user(Backfill.objects.all(), user=user, instance_path="report__instance")
    ).select_related("report__instance", "user")


def segments_of(*, backfill: Backfill) -> QuerySet[BackfillSegment]:
    return backfill.segments.select_related("execution").order_by("sequence")


def effective_parallel_limit(backfill: Backfill) -> int:
    """The backfill's own limit, never above its instance's cap (which may have been lowered)."""
    configured = int(backfill.segmentation_config.get("parallel_limit") or 1)
    return max(1, min(configured, backfill.report.instance.concurrency_cap))


def segments_at_amc(backfill: Backfill) -> int:
    """The backfill's running segments whose execution AMC may still be running (or will: not
    yet submitted); its parallel limit bounds these. A segment whose execution is downloading
    no longer counts, as it no longer holds an instance slot (reports.engine.slots)."""
    from reports.engine.states import ACTIVE_AT_AMC_PHASES

    return backfill.segments.filter(
        Q(execution__isnull=True) | Q(execution__phase__in=ACTIVE_AT_AMC_PHASES),
        status=SegmentStatus.RUNNING,
    ).count()


def recent_execution_seconds(
    *, instance: AmcInstance, limit: int = RECENT_EXECUTIONS
) -> list[float]:
    """How long the instance's latest completed executions ran at AMC (submit to loaded)."""
    rows = (
        ReportExecution.objects.filter(
            instance=instance,
            status=ExecutionStatus.COMPLETED,
            started_at__isnull=False,
            completed_at__isnull=False,
        )
        .order_by("-completed_at")
        .values_list("started_at", "completed_at")[:limit]
    )
    return [(completed - started).total_seconds() for started, completed in rows]


_typical_cache: dict = {}


def typical_segment_seconds(*, instance: AmcInstance) -> float:
    """The instance's typical execution time, computed at most once a minute per process (a
    list of backfills on one instance asks once)."""
    key = (instance.pk, int(timezone.now().timestamp() // 60))
    if key not in _typical_cache:
        if len(_typical_cache) > 1000:
            _typical_cache.clear()
        _typical_cache[key] = segment_math.typical_segment_seconds(
            recent_execution_seconds(instance=instance), DEFAULT_SEGMENT_SECONDS
        )
    return _typical_cache[key]


@dataclass(frozen=True)
class Progress:
    total: int
    completed: int
    failed: int
    cancelled: int
    running: int
    pending: int
    time_left_seconds: float | None

    @property
    def done(self) -> int:
        """Segments that ended, whichever way."""
        return self.completed + self.failed + self.cancelled

    @property
    def percent(self) -> float:
        """The one formula of a backfill's progress: its ended segments in percent of all."""
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0


def backfill_progress(*, backfill: Backfill, time_left: bool = True) -> Progress:
    """Counts straight from the segment rows, and the time left (None once it has ended, or
    when not asked for). Reads the annotations of `with_progress` (`backfills_for_user` has
    them), else annotates this one backfill in one query."""
    names = [f"segments_{name}" for name in _PROGRESS_FIELDS]
    if hasattr(backfill, "segments_total"):
        values = [getattr(backfill, name) for name in names]
    else:
        values = with_progress(Backfill.objects.filter(pk=backfill.pk)).values_list(*names).get()
    counts = dict(zip(_PROGRESS_FIELDS, values, strict=True))
    seconds_left = None
    if time_left and backfill.status not in TERMINAL_BACKFILL_STATUSES:
        now = timezone.now()
        elapsed = [
            (now - since).total_seconds() if since else 0.0
            for since in _datetimes(counts["running_since"])
        ]
        seconds_left = segment_math.estimate_time_left(
            remaining=counts["pending"],
            running_elapsed_seconds=elapsed,
            concurrency=effective_parallel_limit(backfill),
            typical_segment_seconds=typical_segment_seconds(instance=backfill.report.instance),
        )
    return Progress(
        total=counts["total"],
        completed=counts["completed"],
        failed=counts["failed"],
        cancelled=counts["cancelled"],
        running=counts["running"],
        pending=counts["pending"],
        time_left_seconds=seconds_left,
    )


# -- the time series -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesPoint:
    """One segment window of a report's history and the result rows AMC gave for it."""

    window_start: date
    window_end: date  # inclusive
    execution_id: str
    rows: list[dict]


def segment_result_rows(
    *, report: ReportDefinition, backfill: Backfill | None = None
) -> QuerySet[ExecutionResultRow]:
    """Result rows of the report's completed segments, each annotated with its segment window.

    Rows carry ``window_start`` and ``window_end`` (inclusive dates) beside ``data``, ordered by
    window then row number, so a dashboard can aggregate per window in the database. When two
    backfills covered the same window, both appear; `report_time_series` keeps the latest.
    """
    segments = BackfillSegment.objects.filter(
        backfill__report=report, status=SegmentStatus.COMPLETED, execution__isnull=False
    )
    if backfill is not None:
        segments = segments.filter(backfill=backfill)
    window = BackfillSegment.objects.filter(execution_id=OuterRef("execution_id"))
    return (
        ExecutionResultRow.objects.filter(
            execution_id__in=segments.values("execution_id"),
            execution__status=ExecutionStatus.COMPLETED,
        )
        .annotate(
            window_start=Subquery(window.values("window_start")[:1]),
            window_end=Subquery(window.values("window_end")[:1]),
        )
        .order_by("window_start", "execution__completed_at", "row_number")
    )


@dataclass(frozen=True)
class SeriesWindow:
    """One segment window and the run that wins it (no rows: see `report_time_series`)."""

    window_start: date
    window_end: date  # inclusive
    execution_pk: object
    execution_id: str
    completed_at: object


def report_series_windows(
    *, report: ReportDefinition, backfill: Backfill | None = None, user=None
) -> list[SeriesWindow]:
    """The windows of the report's history, oldest first, each with the most recently completed
    run that covered it. `report_time_series` adds the rows; dashboards read the rows in SQL.
    With `user`, only executions on instances the user may see are read."""
    latest: dict[tuple[date, date], SeriesWindow] = {}
    segments = (
        BackfillSegment.objects.filter(
            backfill__report=report,
            status=SegmentStatus.COMPLETED,
            execution__status=ExecutionStatus.COMPLETED,
        )
        .values_list(
            "window_start",
            "window_end",
            "execution_id",
            "execution__execution_id",
            "execution__completed_at",
        )
        .order_by("execution__completed_at")
    )
    if backfill is not None:
        segments = segments.filter(backfill=backfill)
    if user is not None:
        segments = segments.filter(
            execution__in=restrict_to_user(ReportExecution.objects.all(), user=user)
        )
    for start, end, execution_pk, execution_id, completed_at in segments:
        latest[(start, end)] = SeriesWindow(start, end, execution_pk, execution_id, completed_at)
    return [latest[key] for key in sorted(latest)]


def report_time_series(
    *, report: ReportDefinition, backfill: Backfill | None = None, user=None
) -> list[SeriesPoint]:
    """The report's history as one point per segment window, oldest first.

    Shape: ``[SeriesPoint(window_start, window_end, execution_id, rows=[{column: value}])]``.
    Windows are the calendar segments of the backfills (a day, an ISO week, a month, a
    quarter); where backfills overlap on the same window the most recently completed run wins.
    With `user`, only executions on instances the user may see are read.
    """
    windows = report_series_windows(report=report, backfill=backfill, user=user)
    rows_by_execution: dict = {window.execution_pk: [] for window in windows}
    for execution_pk, data in (
        ExecutionResultRow.objects.filter(execution_id__in=rows_by_execution)
        .order_by("execution_id", "row_number")
        .values_list("execution_id", "data")
    ):
        rows_by_execution[execution_pk].append(data)
    return [
        SeriesPoint(
            window.window_start,
            window.window_end,
            window.execution_id,
            rows_by_execution[window.execution_pk],
        )
        for window in windows
    ]
