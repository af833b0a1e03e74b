"""What a dashboard shows, as the plain structure the renderers read (cards, charts, tables,
insights), taken from `dashboards.selectors.dashboard_content`: the page, the API and the files
read the same thing, so they cannot drift.

Raw rows (CSV, the Excel data sheet) are the full data behind the dashboard: for each AMC
window, the rows of the run that wins it, the same runs and days the dashboard aggregates.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse

from dashboards.models import ReportConfiguration
from dashboards.services.refresh import winning_sources
from dashboards.widgets import DataPlan
from reports.models import ExecutionResultRow, ExecutionStatus, ReportExecution


@dataclass(frozen=True)
class Card:
    title: str
    value: float | None
    formatted: str


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    format: str = "text"  # text, integer, number, currency, ratio, percent, date


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]]  # in column order
    texts: list[list[str]] | None = None  # the cells as the page shows them


@dataclass(frozen=True)
class InsightLine:
    kind: str
    text: str
    confidence: float
    word: str


@dataclass
class DashboardContent:
    dashboard_id: str
    title: str
    description: str = ""
    as_of: datetime | None = None
    window: str = ""
    url: str = ""
    cards: list[Card] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    insights: list[InsightLine] = field(default_factory=list)


def format_value(value: Any, fmt: str = "number") -> str:
    """How a number reads in a file: thousands separators, two decimals for money."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if fmt == "integer" or (fmt == "number" and float(value).is_integer()):
        return f"{round(value):,}"
    if fmt == "ratio":
        return f"{value:,.2f}"
    if fmt == "percent":
        return f"{value * 100:,.1f}%"
    return f"{value:,.2f}"


def dashboard_url(configuration: ReportConfiguration) -> str:
    base = settings.RECOMAMP_PUBLIC_URL.rstrip("/")
    return base + reverse("dashboards:detail", args=[configuration.dashboard_id])


def dashboard_content(*, configuration: ReportConfiguration) -> DashboardContent:
    """Everything the dashboard shows (its default view), for the renderers."""
    from dashboards import selectors

    shown = selectors.dashboard_content(dashboard=configuration.dashboard)
    dashboard = shown.dashboard
    window = shown.window or {}
    content = DashboardContent(
        dashboard_id=str(dashboard.pk),
        title=dashboard.name,
        description=dashboard.description,
        as_of=shown.as_of,
        window=f"{window['start']} to {window['end']}"
        if window.get("start") and window.get("end")
        else "",
        url=dashboard_url(configuration),
    )
    for widget in shown.cards:
        value = widget.data.get("value")
        text = widget.display.get("value") or format_value(value)
        content.cards.append(Card(widget.title, value, text))
    content.charts = [Chart(w.title, w.svg) for w in shown.charts if w.svg]
    content.tables = [_table(w) for w in shown.tables]
    content.insights = [
        InsightLine(
            i.get("type", ""),
            i["text"],
            float(i.get("confidence") or 0),
            i.get("confidence_word") or "",
        )
        for i in shown.insights
    ]
    return content


def _table(widget) -> Table:
    keys = list(widget.data.get("columns") or [])
    rows = widget.data.get("rows") or []
    if rows and isinstance(rows[0], dict):
        if not keys:
            keys = list(rows[0])
        rows = [[row.get(k) for k in keys] for row in rows]
    headers = widget.display.get("headers") or []
    labels = [h["text"] for h in headers] if len(headers) == len(keys) else keys
    columns = [
        _guess_format(Column(key, label), [row[i] for row in rows[:50]])
        for i, (key, label) in enumerate(zip(keys, labels, strict=True))
    ]
    texts = [[cell["text"] for cell in row] for row in widget.display.get("rows") or []]
    return Table(widget.title, columns, [list(r) for r in rows], texts if texts else None)


def _guess_format(column: Column, sample: list) -> Column:
    numbers = [v for v in sample if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers or len(numbers) < len([v for v in sample if v is not None]):
        return column
    fmt = "integer" if all(float(v).is_integer() for v in numbers) else "number"
    return Column(column.key, column.label, fmt)


#: Put in front of every raw row: the AMC window (report-timezone dates) it was collected for.
WINDOW_COLUMNS = ("amc_window_start", "amc_window_end")


@dataclass(frozen=True)
class RawData:
    columns: list[str]
    rows: Iterator[dict]


def raw_data(*, configuration: ReportConfiguration, chunk_size: int = 2000) -> RawData:
    """Every result row behind the dashboard, oldest window first, read in chunks.

    The runs are those the dashboard reads (`refresh.winning_sources`): per window (a backfill
    segment or a run's own window) the run that completed last; with a date column, a day's
    rows come from the run that wins that day. A report whose runs carry no window gives its
    newest completed run's rows as they are.
    """
    report = configuration.report
    if report is None:
        return RawData([], iter(()))
    plan = DataPlan.from_dict(configuration.data_aggregation_settings)
    sources = sorted(
        winning_sources(report=report, plan=plan), key=lambda s: (s.first_day, s.window_start)
    )
    if not sources:
        execution = (
            ReportExecution.objects.filter(report=report, status=ExecutionStatus.COMPLETED)
            .order_by("-completed_at")
            .first()
        )
        rows = _rows_of(execution.pk, chunk_size) if execution else iter(())
        first = next(rows, None)
        return RawData(list(first or ()), itertools.chain([first] if first else [], rows))
    first = (
        ExecutionResultRow.objects.filter(execution_id__in={s.execution_pk for s in sources})
        .order_by("execution_id", "row_number")
        .values_list("data", flat=True)
        .first()
    )
    columns = [*WINDOW_COLUMNS, *(c for c in (first or {}) if c not in WINDOW_COLUMNS)]
    return RawData(columns, _series_rows(sources, plan.time_column, chunk_size))


def _rows_of(execution_pk, chunk_size: int) -> Iterator[dict]:
    return (
        ExecutionResultRow.objects.filter(execution_id=execution_pk)
        .order_by("row_number")
        .values_list("data", flat=True)
        .iterator(chunk_size=chunk_size)
    )


def _series_rows(sources: list, time_column: str | None, chunk_size: int) -> Iterator[dict]:
    """Each winning run's rows once, in the order the runs first win a day.

    With a date column, a row is left out only when another run wins its day; rows dated
    outside every run's window, or not dated, stay with the run that returned them.
    """
    owners: dict[str, object] = {}
    windows: dict[object, dict] = {}
    for source in sources:
        windows.setdefault(
            source.execution_pk,
            dict(zip(WINDOW_COLUMNS, (source.window_start, source.window_end), strict=True)),
        )
        if time_column is not None:
            day = source.first_day
            while day <= source.last_day:
                owners[day.isoformat()] = source.execution_pk
                day += timedelta(days=1)
    for execution_pk, window in windows.items():
        for data in _rows_of(execution_pk, chunk_size):
            if time_column is not None:
                day = str(data.get(time_column) or "")[:10]
                if owners.get(day, execution_pk) != execution_pk:
                    continue  # a later run wins that day
            yield {**window, **data}
