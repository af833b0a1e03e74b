"""Reads for dashboards: the ones a user may see, and everything a dashboard shows.

`dashboard_content(dashboard=, filters=)` is the one read behind the page, the API and the
exports: cards, charts (Vega-Lite spec and SVG), tables, insights, the "data as of" time and the
AMC window. The default view comes straight from each view's precomputed `processed_data`; a
filtered view is computed from the daily aggregates (never the raw rows) and cached until the
next refresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, F, OuterRef, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.html import escape
from django.utils.safestring import mark_safe

from dashboards import aggregates, charts
from dashboards.models import (
    Dashboard,
    DashboardFavorite,
    DashboardInsight,
    DashboardView,
    ReportConfiguration,
)
from dashboards.widgets import FILTER_COLUMNS, DataPlan
from instances.selectors import can_write, restrict_to_user
from recomamp.errors import FieldError, NotFound, ValidationFailed

FILTERED_CACHE_SECONDS = 600
#: Keys of a view's processed_data beside its data.
CONTENT_EXTRAS = {"spec", "svg", "period", "format", "formatted"}


# -- which dashboards ------------------------------------------------------------------------


def dashboards_for_user(
    *,
    user,
    instance_id=None,
    dashboard_type: str | None = None,
    favorites_only: bool = False,
    search: str | None = None,
) -> QuerySet[Dashboard]:
    """The user's dashboards, favorites first, then by name."""
    favorite = DashboardFavorite.objects.filter(dashboard=OuterRef("pk"), user=user)
    dashboards = (
        restrict_to_user(Dashboard.objects.all(), user=user)
        .select_related("instance", "configuration__report")
        .annotate(is_favorite=Exists(favorite))
    )
    if instance_id:
        dashboards = dashboards.filter(instance_id=instance_id)
    if dashboard_type:
        dashboards = dashboards.filter(dashboard_type=dashboard_type)
    if favorites_only:
        dashboards = dashboards.filter(is_favorite=True)
    if search:
        dashboards = dashboards.filter(name__icontains=search)
    return dashboards.order_by("-is_favorite", "name", "pk")


def dashboard_for_user(*, user, pk) -> Dashboard:
    """One dashboard, or NotFound (a 404) when it is not under an instance the user may see."""
    try:
        return dashboards_for_user(user=user).get(pk=pk)
    except (Dashboard.DoesNotExist, DjangoValidationError, ValueError, TypeError):
        raise NotFound("No such dashboard.") from None


def can_rebuild(*, user, dashboard: Dashboard) -> bool:
    """Refreshing and rebuilding change shared state: analysts and admins, not viewers."""
    return can_write(user=user, instance=dashboard.instance)


# -- filters ---------------------------------------------------------------------------------


def parse_filters(params, *, plan: DataPlan | None = None) -> aggregates.Filters:
    """Filters from URL parameters (`start`, `end`, `campaign`, `ad_product`); a bad date is a
    400 naming its parameter."""
    errors = []
    days: dict[str, date | None] = {}
    for name in ("start", "end"):
        raw = (params.get(name) or "").strip()
        if not raw:
            days[name] = None
            continue
        try:
            days[name] = date.fromisoformat(raw)
        except ValueError:
            errors.append(FieldError(name, "invalid", "Enter a date as YYYY-MM-DD."))
    if not errors and days["start"] and days["end"] and days["start"] > days["end"]:
        errors.append(FieldError("end", "invalid", "The end date is before the start date."))
    if errors:
        raise ValidationFailed(errors)
    dimensions = {}
    for name in FILTER_COLUMNS:
        value = (params.get(name) or "").strip()[:300]
        if value and (plan is None or name in plan.filters):
            dimensions[name] = value
    return aggregates.Filters(start=days["start"], end=days["end"], dimensions=dimensions)


# -- what a dashboard shows ------------------------------------------------------------------

CONFIDENCE_WORDS = ((0.9, "very likely"), (0.75, "likely"), (0.5, "possible"), (0.0, "unlikely"))


def confidence_word(score: float) -> str:
    return next(word for floor, word in CONFIDENCE_WORDS if score >= floor)


@dataclass
class Widget:
    """One view as shown: its data, and for a chart the spec and the SVG."""

    view_id: str
    type: str
    title: str
    width: str
    config: dict
    data: dict
    spec: dict | None = None
    svg: str = ""
    display: dict = field(default_factory=dict)
    insights: list[dict] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        if self.type == "chart":
            return not self.data.get("rows")
        if self.type == "table":
            return not self.data.get("rows")
        if self.type == "metric_card":
            return self.data.get("value") is None
        return False


@dataclass
class DashboardContent:
    dashboard: Dashboard
    status: str  # ready | building | empty
    filters: aggregates.Filters
    period: dict
    as_of: datetime | None
    window: dict
    filter_options: dict
    widgets: list[Widget]
    refreshing: bool

    @property
    def filter_choices(self) -> list[dict]:
        """Each dimension filter with its options, the chosen one marked (for the page)."""
        labels = {"campaign": "Campaign", "ad_product": "Ad product"}
        return [
            {
                "name": name,
                "label": labels.get(name, name.capitalize()),
                "options": [
                    (value, value == self.filters.dimensions.get(name)) for value in options
                ],
                "options_html": _options_html(options, self.filters.dimensions.get(name)),
                "chosen": next(
                    (v for v in options if v == self.filters.dimensions.get(name)), None
                ),
            }
            for name, options in self.filter_options.items()
        ]

    @property
    def cards(self) -> list[Widget]:
        return [w for w in self.widgets if w.type == "metric_card"]

    @property
    def charts(self) -> list[Widget]:
        return [w for w in self.widgets if w.type == "chart"]

    @property
    def tables(self) -> list[Widget]:
        return [w for w in self.widgets if w.type == "table"]

    @property
    def insights(self) -> list[dict]:
        return [i for w in self.widgets if w.type == "insight" for i in w.insights]


def dashboard_content(
    *, dashboard: Dashboard, filters: aggregates.Filters | None = None
) -> DashboardContent:
    """Everything the dashboard shows, for the page, the API and the exports alike."""
    filters = filters or aggregates.Filters()
    configuration = ReportConfiguration.objects.get(dashboard=dashboard)
    plan = DataPlan.from_dict(configuration.data_aggregation_settings)
    dashboard.refresh_from_db(
        fields=[
            "summary",
            "data_refreshed_at",
            "data_dirty_at",
            "refresh_queued_at",
            "refresh_started_at",
        ]
    )
    summary = dashboard.summary or {}
    views = list(configuration.views.order_by("position"))
    refreshing = bool(
        dashboard.data_dirty_at or dashboard.refresh_queued_at or dashboard.refresh_started_at
    )
    if dashboard.data_refreshed_at is None:
        status = "building" if refreshing or _has_results(configuration) else "empty"
    else:
        status = "ready" if summary.get("first_day") else "empty"
    if status == "ready" and not filters.is_default:
        contents, period = _filtered_contents(dashboard, views, plan, summary, filters)
    else:
        contents = {view.pk: view.processed_data or {} for view in views}
        period = summary.get("period") or {}
    formats = _column_formats(views, plan)
    insights = _insights_by_view([v for v in views if v.view_type == "insight"])
    widgets = []
    for view in views:
        content = contents.get(view.pk) or {}
        widget = Widget(
            view_id=str(view.pk),
            type=view.view_type,
            title=view.view_name,
            width=(view.layout_settings or {}).get("width", "half"),
            config=view.chart_configurations,
            data={k: v for k, v in content.items() if k not in CONTENT_EXTRAS},
            spec=content.get("spec"),
            svg=content.get("svg") or "",
            insights=insights.get(view.pk, []),
        )
        widget.display = _display(widget, formats)
        widgets.append(widget)
    return DashboardContent(
        dashboard=dashboard,
        status=status,
        filters=filters,
        period=period,
        as_of=dashboard.data_refreshed_at,
        window={
            "start": period.get("start"),
            "end": period.get("end"),
            "timezone": summary.get("timezone", "UTC"),
            "first_day": summary.get("first_day"),
            "last_day": summary.get("last_day"),
        },
        filter_options=summary.get("filter_options") or {},
        widgets=widgets,
        refreshing=refreshing,
    )


def _has_results(configuration: ReportConfiguration) -> bool:
    from reports.models import ExecutionStatus

    report = configuration.report
    return bool(report) and report.executions.filter(status=ExecutionStatus.COMPLETED).exists()


def _filtered_contents(dashboard, views, plan, summary, filters):
    """A filtered view from the daily aggregates, cached until the next refresh."""
    key_source = json.dumps(
        [str(dashboard.pk), str(dashboard.data_refreshed_at), filters.as_query()], sort_keys=True
    )
    key = "dashboards:filtered:" + hashlib.sha256(key_source.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    from dashboards.services.refresh import view_content

    reader = aggregates.FactReader(dashboard_pk=dashboard.pk, plan=plan, filters=filters)
    period = aggregates.resolve_period(summary=summary, plan=plan, filters=filters)
    contents = {
        view.pk: view_content(view, reader=reader, period=period, plan=plan) for view in views
    }
    result = (contents, period.as_dict())
    cache.set(key, result, FILTERED_CACHE_SECONDS)
    return result


def _column_formats(views: list[DashboardView], plan: DataPlan) -> dict:
    formats = {}
    for name, spec in plan.derived.items():
        formats[name] = "percent" if spec.get("scale") == 100 else "ratio"
    for view in views:
        config = view.chart_configurations
        if view.view_type == "metric_card" and config.get("format"):
            formats[config["metric"]] = config["format"]
    return formats


def _display(widget: Widget, formats: dict) -> dict:
    data = widget.data
    if widget.type == "metric_card":
        fmt = widget.config.get("format") or formats.get(widget.config.get("metric"))
        change = data.get("change_pct")
        return {
            "value": charts.format_value(data.get("value"), fmt),
            "previous": charts.format_value(data.get("previous"), fmt)
            if data.get("previous") is not None
            else "",
            "change": charts.format_change(change),
            "trend": "up" if (change or 0) > 0 else "down" if (change or 0) < 0 else "flat",
        }
    if widget.type == "table":
        columns = data.get("columns") or []
        measures = set(widget.config.get("columns") or [])
        totals = data.get("totals") or {}

        def cell(column, value):
            return {
                "text": charts.format_value(value, formats.get(column)),
                "num": column in measures,
            }

        return {
            "headers": [
                {"text": c.replace("_", " ").capitalize(), "num": c in measures} for c in columns
            ],
            "rows": [[cell(c, row.get(c)) for c in columns] for row in data.get("rows") or []],
            "totals": [
                cell(c, totals[c])
                if c in totals
                else {"text": "Total" if i == 0 else "", "num": False}
                for i, c in enumerate(columns)
            ]
            if totals
            else [],
        }
    return {}


#: Insights shown per view, the most confident first (the rest stay in the database).
MAX_INSIGHTS_SHOWN = 12


def _insights_by_view(views: list[DashboardView]) -> dict:
    """The MAX_INSIGHTS_SHOWN most confident insights of each view, ranked in the database (a
    refresh may store hundreds per view)."""
    found: dict = {}
    rank = Window(
        RowNumber(),
        partition_by=[F("dashboard_view_id")],
        order_by=[F("confidence_score").desc(), F("generated_at").desc()],
    )
    shown = (
        DashboardInsight.objects.filter(dashboard_view__in=views)
        .annotate(rank=rank)
        .filter(rank__lte=MAX_INSIGHTS_SHOWN)
        .order_by("dashboard_view_id", "rank")
    )
    for insight in shown:
        score = float(insight.confidence_score)
        found.setdefault(insight.dashboard_view_id, []).append(
            {
                "id": str(insight.pk),
                "type": insight.insight_type,
                "text": insight.insight_text,
                "confidence": score,
                "confidence_word": confidence_word(score),
                "method": insight.ai_model,
                "generated_at": insight.generated_at,
            }
        )
    return found


def _options_html(values, chosen) -> str:
    """<option>s of a filter: hundreds of campaigns, joined here rather than looped over in the
    template (a few ms of every page)."""
    parts = []
    for value in values:
        text = escape(value)
        selected = " selected" if value == chosen else ""
        parts.append(f'<option value="{text}"{selected}>{text}</option>')
    return mark_safe("".join(parts))
