"""A report's dashboard, built from its template's `report_config` and dashboard type.

`build_dashboard` is called by the report creation service, so every way of creating a report
(API, admin, builder) gets one. It is idempotent: a second call returns the same dashboard, and
rebuilds its views only when the template's configuration changed and nobody customised them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.db import transaction

from dashboards.models import Dashboard, DashboardView, ReportConfiguration, ViewType
from dashboards.widgets import data_plan, widgets_for_template
from reports.models import ReportDefinition

logger = logging.getLogger(__name__)

VIEW_TYPES = {
    "metric_card": ViewType.METRIC_CARD,
    "chart": ViewType.CHART,
    "table": ViewType.TABLE,
    "insight": ViewType.INSIGHT,
}


def fingerprint(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def template_fingerprint(report: ReportDefinition) -> str:
    template = report.template
    return fingerprint(
        [template.report_config, template.default_dashboard_type, template.sql_query]
    )


def layout_of(configuration: ReportConfiguration) -> list:
    """The views as they stand: what a customisation changes."""
    return [
        [view.view_type, view.view_name, view.chart_configurations, view.layout_settings]
        for view in configuration.views.order_by("position")
    ]


@dataclass(frozen=True)
class BuildResult:
    dashboard: Dashboard
    created: bool
    rebuilt: bool
    skipped_reason: str = ""


@transaction.atomic
def build_dashboard(*, report: ReportDefinition, force: bool = False) -> BuildResult:
    """The report's dashboard: created when missing, rebuilt when its template changed.

    A dashboard whose views were customised (their layout no longer matches what was built)
    is left as it is unless `force`.
    """
    result = _build(
        ReportDefinition.objects.select_for_update().select_related("template").get(pk=report.pk),
        force=force,
    )
    report.dashboard = result.dashboard
    return result


def _build(report: ReportDefinition, *, force: bool) -> BuildResult:
    configuration = (
        ReportConfiguration.objects.filter(report=report).select_related("dashboard").first()
    )
    if configuration is None:
        dashboard = Dashboard.objects.create(
            name=report.name,
            description=report.description,
            instance_id=report.instance_id,
            owner_id=report.owner_id,
            dashboard_type=report.template.default_dashboard_type,
        )
        configuration = ReportConfiguration.objects.create(
            dashboard=dashboard,
            report=report,
            query_template=report.template,
            dashboard_type=dashboard.dashboard_type,
        )
        _build_views(configuration, report)
        ReportDefinition.objects.filter(pk=report.pk).update(dashboard=dashboard)
        report.dashboard = dashboard
        logger.info("dashboard built for %s", report.report_id)
        return BuildResult(dashboard, created=True, rebuilt=False)

    dashboard = configuration.dashboard
    if report.dashboard_id != dashboard.pk:
        ReportDefinition.objects.filter(pk=report.pk).update(dashboard=dashboard)
    if configuration.template_fingerprint == template_fingerprint(report) and not force:
        return BuildResult(dashboard, created=False, rebuilt=False, skipped_reason="up to date")
    if fingerprint(layout_of(configuration)) != configuration.layout_fingerprint and not force:
        return BuildResult(dashboard, created=False, rebuilt=False, skipped_reason="customised")
    configuration.views.all().delete()
    configuration.dashboard_type = report.template.default_dashboard_type
    configuration.query_template = report.template
    _build_views(configuration, report)
    Dashboard.objects.filter(pk=dashboard.pk).update(dashboard_type=configuration.dashboard_type)
    from dashboards.services.refresh import mark_dirty

    mark_dirty(dashboard_pk=dashboard.pk)
    return BuildResult(dashboard, created=False, rebuilt=True)


def _build_views(configuration: ReportConfiguration, report: ReportDefinition) -> None:
    template = report.template
    widgets = widgets_for_template(
        report_config=template.report_config,
        dashboard_type=template.default_dashboard_type,
        sql=template.sql_query,
    )
    plan = data_plan(widgets=widgets, sql=template.sql_query, report_config=template.report_config)
    DashboardView.objects.bulk_create(
        [
            DashboardView(
                report_configuration=configuration,
                view_name=widget["title"],
                view_type=VIEW_TYPES[widget["type"]],
                position=position,
                chart_configurations=widget,
                layout_settings={"width": _width(widget)},
            )
            for position, widget in enumerate(widgets)
        ]
    )
    configuration.visualization_settings = {"widgets": widgets}
    configuration.data_aggregation_settings = plan.as_dict()
    configuration.template_fingerprint = template_fingerprint(report)
    configuration.layout_fingerprint = fingerprint(layout_of(configuration))
    configuration.save()


def _width(widget: dict) -> str:
    """Grid width: cards are small, tables and line charts take the whole row."""
    if widget["type"] == "metric_card":
        return "quarter"
    if widget["type"] == "table" or widget.get("chart") == "line":
        return "full"
    return "half"


def build_missing_dashboards() -> int:
    """Dashboards for reports that have none (reports created before dashboards existed)."""
    built = 0
    for report in ReportDefinition.objects.filter(configurations__isnull=True).select_related(
        "template"
    ):
        if build_dashboard(report=report).created:
            built += 1
    return built
