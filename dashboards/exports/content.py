"""What a dashboard shows, as one structure the renderers read (cards, charts, tables, insights).

The dashboard page and the files must not drift: when `dashboards.selectors.dashboard_content`
exists it is the source; otherwise the widgets' precomputed `processed_data` is read directly:

- metric_card: ``{"value": 1234.5, "formatted": "1,234.50"}`` (``formatted`` optional)
- chart: ``{"svg": "<svg ...>"}`` (the server-rendered vector chart)
- table: ``{"columns": [{"key", "label", "format"}] | ["key", ...], "rows": [{...}] | [[...]]}``
- insights: the dashboard's published insights (confidence >= 0.8), highest first.

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

from dashboards.models import DashboardInsight, ReportConfiguration, ViewType
from reports.models import ExecutionResultRow, ExecutionStatus, ReportExecution

PUBLISHED_CONFIDENCE = Decimal("0.80")


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


def confidence_word(confidence: float) -> str:
    if confidence >= 0.95:
        return "very likely"
    if confidence >= 0.9:
        return "likely"
    return "probable"


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
    return f"{base}/dashboards/{configuration.dashboard_id}/"


def dashboard_content(*, configuration: ReportConfiguration) -> DashboardContent:
    """Everything the dashboard shows, for the renderers."""
    dashboard = configuration.dashboard
    content = DashboardContent(
        dashboard_id=str(dashboard.pk),
        title=dashboard.name,
        description=dashboard.description,
        url=dashboard_url(configuration),
    )
    execution = latest_completed_execution(configuration=configuration)
    if execution is not None:
        content.as_of = execution.completed_at
        if execution.time_window_start and execution.time_window_end:
            content.window = (
                f"{execution.time_window_start:%Y-%m-%d} to {execution.time_window_end:%Y-%m-%d}"
            )
    for view in configuration.views.order_by("position"):
        data = view.processed_data or {}
        if view.view_type == ViewType.METRIC_CARD:
            value = data.get("value")
            fmt = data.get("format") or view.chart_configurations.get("format") or "number"
            content.cards.append(
                Card(view.view_name, value, data.get("formatted") or format_value(value, fmt))
            )
        elif view.view_type == ViewType.CHART and data.get("svg"):
            content.charts.append(Chart(view.view_name, data["svg"]))
        elif view.view_type == ViewType.TABLE:
            content.tables.append(_table(view.view_name, data))
    insights = (
        DashboardInsight.objects.filter(
            dashboard_view__report_configuration=configuration,
            confidence_score__gte=PUBLISHED_CONFIDENCE,
        )
        .order_by("-confidence_score", "-generated_at")
        .values_list("insight_type", "insight_text", "confidence_score")
    )
    content.insights = [
        InsightLine(kind, text, float(score), confidence_word(float(score)))
        for kind, text, score in insights
    ]
    return content


def _table(title: str, data: dict) -> Table:
    columns = [
        Column(c, c.replace("_", " ").capitalize())
        if isinstance(c, str)
        else Column(c["key"], c.get("label") or c["key"], c.get("format") or "text")
        for c in data.get("columns") or []
    ]
    rows = data.get("rows") or []
    if rows and isinstance(rows[0], dict):
        if not columns:
            columns = [Column(k, k.replace("_", " ").capitalize()) for k in rows[0]]
        rows = [[row.get(c.key) for c in columns] for row in rows]
    if columns and all(c.format == "text" for c in columns) and rows:
        columns = [_guess_format(c, [row[i] for row in rows[:50]]) for i, c in enumerate(columns)]
    return Table(title, columns, [list(row) for row in rows])


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
