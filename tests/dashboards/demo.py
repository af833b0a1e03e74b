"""Demo dashboards for export tests: one per catalogue template, with a completed execution's
rows and each widget's precomputed data (cards, server SVG charts, tables) and an insight."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils import timezone

from dashboards.models import DashboardInsight, DashboardView
from reports.catalogue import TEMPLATES
from reports.models import ExecutionResultRow, ExecutionStatus, ReportExecution, TriggeredBy
from tests.factories.dashboards import DashboardFactory, ReportConfigurationFactory
from tests.factories.reports import ReportDefinitionFactory

TEXT_FIELDS = {
    "campaign",
    "campaign_a",
    "campaign_b",
    "customer_search_term",
    "match_type",
    "tracked_asin",
    "stage",
    "path",
    "ad_product_type",
}


def _fields(widgets: list[dict]) -> tuple[list[str], list[str]]:
    dims, metrics = [], []
    for widget in widgets:
        for name in [widget.get("x"), widget.get("series"), *widget.get("group_by", [])]:
            if name and name not in dims:
                dims.append(name)
        for name in [
            widget.get("metric"),
            *widget.get("y", []),
            *widget.get("columns", []),
            *widget.get("ratio", []),
        ]:
            if name and name not in metrics and name not in dims:
                metrics.append(name)
    return dims, metrics


def _rows(template_id: str, dims: list[str], metrics: list[str], count: int) -> list[dict]:
    rng = random.Random(template_id)
    start = date(2026, 9, 1)
    rows = []
    for i in range(count):
        row = {}
        for dim in dims:
            if dim == "event_date":
                row[dim] = (start + timedelta(days=i)).isoformat()
            elif dim in ("frequency", "touchpoints", "stage_order"):
                row[dim] = i + 1
            else:
                row[dim] = f"{dim.replace('_', ' ').title()} {i + 1:03d}"
        for metric in metrics:
            row[metric] = (
                round(rng.uniform(10, 5000), 2)
                if metric
                in (
                    "spend",
                    "sales",
                    "ntb_sales",
                    "roas",
                    "conversion_rate",
                    "overlap_pct",
                    "ntb_purchase_share",
                )
                else rng.randint(1, 20000)
            )
        rows.append(row)
    return rows


def bar_svg(title: str, labels: list[str], values: list[float]) -> str:
    """A small vector bar chart, as the refresh's server renderer would produce."""
    width, bar = 480, 16
    top = max(values) or 1
    height = len(values) * (bar + 4) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * (bar + 4)
        parts.append(
            f'<rect x="160" y="{y}" width="{300 * value / top:.1f}" height="{bar}" '
            f'fill="#4c78a8"/><text x="0" y="{y + 12}" font-size="10">'
            f"{escape(str(label))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _card_value(widget: dict, rows: list[dict]) -> float:
    if widget.get("ratio"):
        num, den = widget["ratio"]
        return sum(r[num] for r in rows) / sum(r[den] for r in rows)
    return sum(r[widget["metric"]] for r in rows)


def build_demo_dashboard(*, template, instance, owner, row_count: int = 60):
    widgets = template.report_config["widgets"]
    dims, metrics = _fields(widgets)
    rows = _rows(template.template_id, dims, metrics, row_count)
    report = ReportDefinitionFactory(template=template, instance=instance, owner=owner)
    dashboard = DashboardFactory(name=template.name, instance=instance, owner=owner)
    configuration = ReportConfigurationFactory(dashboard=dashboard, report=report)
    now = timezone.now()
    execution = ReportExecution.objects.create(
        report=report,
        template=template,
        instance=instance,
        user=owner,
        triggered_by=TriggeredBy.MANUAL,
        status=ExecutionStatus.COMPLETED,
        row_count=len(rows),
        time_window_start=now - timedelta(days=21),
        time_window_end=now - timedelta(days=14),
        completed_at=now,
    )
    ExecutionResultRow.objects.bulk_create(
        ExecutionResultRow(execution=execution, row_number=i, data=row)
        for i, row in enumerate(rows)
    )
    cards = {}
    for position, widget in enumerate(widgets):
        kind = widget["type"]
        data: dict = {}
        if kind == "metric_card":
            value = _card_value(widget, rows)
            fmt = widget.get("format", "number")
            data = {"value": value, "format": fmt}
            cards[widget["title"]] = value
        elif kind == "chart":
            y = widget["y"][0]
            shown = rows[: widget.get("limit", 12)]
            data = {
                "svg": bar_svg(
                    widget["title"], [r[widget["x"]] for r in shown], [r[y] for r in shown]
                )
            }
        elif kind == "table":
            columns = [*widget["group_by"], *widget["columns"]]
            data = {"columns": columns, "rows": [{c: r[c] for c in columns} for r in rows]}
        view = DashboardView.objects.create(
            report_configuration=configuration,
            view_name=widget["title"],
            view_type=kind,
            position=position,
            processed_data=data,
            data_updated_at=now,
        )
        if kind == "insight":
            DashboardInsight.objects.create(
                dashboard_view=view,
                insight_type="summary",
                insight_text=f"{widget['title']} held steady over the window.",
                confidence_score=Decimal("0.91"),
            )
    return configuration, cards


def demo_templates(catalogue: dict) -> list:
    return [catalogue[entry["template_id"]] for entry in TEMPLATES]
