"""What a dashboard shows, as the plain structure the renderers read (cards, charts, tables,
insights), taken from `dashboards.selectors.dashboard_content`: the page, the API and the files
read the same thing, so they cannot drift.

Raw rows (CSV, the Excel data sheet) come from the report's newest completed execution.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse

from dashboards.models import ReportConfiguration
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


def latest_completed_execution(*, configuration: ReportConfiguration) -> ReportExecution | None:
    if configuration.report_id is None:
        return None
    return (
        ReportExecution.objects.filter(
            report_id=configuration.report_id, status=ExecutionStatus.COMPLETED
        )
        .order_by("-completed_at")
        .first()
    )


def raw_columns(*, execution: ReportExecution | None) -> list[str]:
    if execution is None:
        return []
    first = ExecutionResultRow.objects.filter(execution=execution).order_by("row_number").first()
    return list(first.data) if first else []


def raw_rows(*, execution: ReportExecution | None, chunk_size: int = 2000) -> Iterator[dict]:
    """The execution's rows in order, read in chunks (never all in memory)."""
    if execution is None:
        return iter(())
    return (
        ExecutionResultRow.objects.filter(execution=execution)
        .order_by("row_number")
        .values_list("data", flat=True)
        .iterator(chunk_size=chunk_size)
    )
