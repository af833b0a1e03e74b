"""A report gets its dashboard when it is created, whichever way it is created."""

import pytest
from django.core.management import call_command

from dashboards.models import Dashboard, DashboardView, ReportConfiguration
from dashboards.services.building import build_dashboard
from reports.models import ReportDefinition
from reports.services.reports import create_report
from tests.factories.reports import ReportDefinitionFactory

pytestmark = pytest.mark.django_db


def widget_kinds(dashboard):
    return [
        (v.view_type, v.chart_configurations.get("chart"))
        for v in DashboardView.objects.filter(report_configuration__dashboard=dashboard)
    ]


def test_creating_a_report_creates_its_dashboard_from_the_template(analyst, instance, catalogue):
    report = create_report(
        user=analyst,
        name="Acme performance",
        template=catalogue["campaign-performance-daily"],
        instance=instance,
    )

    dashboard = report.dashboard
    assert dashboard.name == "Acme performance"
    assert dashboard.instance == instance and dashboard.dashboard_type == "performance"
    configuration = dashboard.configuration
    assert configuration.report == report and configuration.query_template == report.template
    widgets = catalogue["campaign-performance-daily"].report_config["widgets"]
    assert [v.view_name for v in configuration.views.order_by("position")] == [
        w["title"] for w in widgets
    ]
    assert widget_kinds(dashboard) == [
        ("metric_card", None),
        ("metric_card", None),
        ("metric_card", None),
        ("chart", "line"),
        ("chart", "bar"),
        ("table", None),
        ("insight", None),
    ]
    assert ReportDefinition.objects.get(pk=report.pk).dashboard == dashboard


def test_the_funnel_template_gets_a_funnel_chart(analyst, instance, catalogue):
    report = create_report(
        user=analyst,
        name="Funnel",
        template=catalogue["impressions-to-purchase-funnel"],
        instance=instance,
    )
    assert report.dashboard.dashboard_type == "funnel"
    assert ("chart", "funnel") in widget_kinds(report.dashboard)


def test_creating_a_report_through_the_api_creates_its_dashboard(api, instance, catalogue):
    response = api.post(
        "/api/reports/",
        {"name": "API report", "template": "new-to-brand", "instance": str(instance.pk)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    report = ReportDefinition.objects.get(report_id=response.json()["report_id"])
    assert report.dashboard.dashboard_type == "attribution"


def test_submitting_the_builder_creates_the_reports_dashboard(api, instance, catalogue):
    response = api.post(
        "/api/builder/submit/",
        {
            "template": "impressions-to-purchase-funnel",
            "instance": str(instance.pk),
            "name": "Builder funnel",
            "parameters": {},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    report = ReportDefinition.objects.get(name="Builder funnel")
    assert response.json()["report"]["dashboard"] == str(report.dashboard_id)
    assert report.dashboard.dashboard_type == "funnel"


def test_building_twice_keeps_one_dashboard(instance, analyst, catalogue):
    report = ReportDefinitionFactory(
        instance=instance, owner=analyst, template=catalogue["campaign-performance-daily"]
    )
    first = build_dashboard(report=report)
    second = build_dashboard(report=report)
    assert first.dashboard == second.dashboard
    assert (first.created, second.created, second.rebuilt) == (True, False, False)
    assert Dashboard.objects.count() == 1 and ReportConfiguration.objects.count() == 1


def test_a_changed_template_rebuilds_the_views(report, sent_refreshes):
    dashboard = build_dashboard(report=report).dashboard
    template = report.template
    template.report_config = {
        "widgets": [{"type": "metric_card", "title": "Clicks", "metric": "clicks"}]
    }
    template.save()

    result = build_dashboard(report=report)

    assert result.rebuilt and result.dashboard == dashboard
    assert [v.view_name for v in dashboard.configuration.views.all()] == ["Clicks"]
    assert sent_refreshes  # its data is recomputed for the new views


def test_a_customised_layout_is_kept_unless_forced(report, sent_refreshes):
    dashboard = build_dashboard(report=report).dashboard
    view = dashboard.configuration.views.get(view_name="Sales by campaign")
    view.view_name = "Top campaigns for the client"
    view.save()
    template = report.template
    template.report_config = {
        "widgets": [{"type": "metric_card", "title": "Clicks", "metric": "clicks"}]
    }
    template.save()

    kept = build_dashboard(report=report)
    assert (kept.rebuilt, kept.skipped_reason) == (False, "customised")
    assert dashboard.configuration.views.filter(view_name="Top campaigns for the client").exists()

    forced = build_dashboard(report=report, force=True)
    assert forced.rebuilt
    assert [v.view_name for v in dashboard.configuration.views.all()] == ["Clicks"]


def test_the_command_builds_dashboards_for_reports_that_have_none(instance, analyst, catalogue):
    reports = [
        ReportDefinitionFactory(instance=instance, owner=analyst, template=template)
        for template in catalogue.values()
    ]
    assert not Dashboard.objects.exists()

    call_command("build_dashboards")
    call_command("build_dashboards")

    assert Dashboard.objects.count() == len(reports)
    for report in reports:
        report.refresh_from_db()
        assert report.dashboard.configuration.report == report


def test_the_demo_reports_have_dashboards(settings):
    call_command("seed_demo", password="demo-password-1")
    reports = ReportDefinition.objects.all()
    assert reports.count() >= 3
    assert all(r.dashboard_id for r in reports)
