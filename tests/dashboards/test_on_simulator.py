"""Acceptance: every catalogue template run on the simulator's demo data through real workers
(and a 30-day daily backfill of the time-series template) gives a dashboard whose cards,
charts and tables are full and agree with a direct computation from the stored rows."""

import time
from collections import defaultdict

import pytest

from backfills import services as backfill_services
from backfills.models import BackfillStatus
from dashboards import selectors
from dashboards.models import Dashboard
from reports import engine
from reports.catalogue import TEMPLATES
from reports.models import ExecutionStatus, ReportExecution
from reports.services.executions import run_report
from reports.services.reports import create_report
from reports.services.templates import upsert_catalogue
from tests.dashboards.simulated import simulated_demo_instance, template_parameters
from tests.fixtures.workers import ENGINE_ENV

pytestmark = pytest.mark.slow

TIME_SERIES = {"campaign-performance-daily"}
WORKER_ENV = {"RECOMAMP_DASHBOARD_REFRESH_DELAY_SECONDS": "1"}


@pytest.fixture
def fast_engine(settings):
    for name, value in ENGINE_ENV.items():
        setattr(settings, name, float(value))
    settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE = 1000
    settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = 1000
    settings.RECOMAMP_DASHBOARD_REFRESH_DELAY_SECONDS = 1.0
    return settings


def wait_for_everything(reports, collection, timeout=240.0):
    """Runs ended, the backfill ended, and every dashboard refreshed after its last run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.sweep()
        backfill_services.sweep_backfills()
        runs = ReportExecution.objects.filter(report__in=reports)
        collection.refresh_from_db()
        if (
            not runs.exclude(status__in=engine.TERMINAL_STATUSES).exists()
            and collection.status in {BackfillStatus.COMPLETED, BackfillStatus.PARTIAL}
            and _all_refreshed(reports)
        ):
            return
        time.sleep(1)
    raise AssertionError("runs or refreshes did not finish in time")


def _all_refreshed(reports) -> bool:
    for report in reports:
        dashboard = Dashboard.objects.get(pk=report.dashboard_id)
        last = (
            ReportExecution.objects.filter(report=report, status=ExecutionStatus.COMPLETED)
            .order_by("-completed_at")
            .values_list("completed_at", flat=True)
            .first()
        )
        if (
            dashboard.data_refreshed_at is None
            or dashboard.data_dirty_at is not None
            or dashboard.refresh_started_at is not None
            or (last and dashboard.data_refreshed_at < last)
        ):
            return False
    return True


def rows_shown(report, content, time_column):
    """The stored rows the dashboard stands for: per day (or window) the latest completed run
    wins; for a time series only the days of the period shown."""
    runs = ReportExecution.objects.filter(report=report, status=ExecutionStatus.COMPLETED)
    if time_column is None:
        latest = runs.order_by("-completed_at").first()
        return list(latest.rows.values_list("data", flat=True))
    owner = {}
    for run in runs.order_by("completed_at"):
        first = run.time_window_start.date()
        last = (run.time_window_end - run.time_window_end.resolution).date()
        day = first
        while day <= last:
            owner[day.isoformat()] = run.pk
            day = day.fromordinal(day.toordinal() + 1)
    start, end = content.window["start"], content.window["end"]
    chosen = []
    for run in runs:
        for row in run.rows.values_list("data", flat=True):
            day = str(row[time_column])[:10]
            if owner.get(day) == run.pk and start <= day <= end:
                chosen.append(row)
    return chosen


def total(rows, column):
    return sum(row[column] or 0 for row in rows if isinstance(row.get(column), int | float))


def expected_card(widget, rows, derived):
    config = widget.config
    spec = derived.get(config["metric"])
    if spec:
        numerator, denominator = spec["ratio"]
        bottom = min(total(rows, name) for name in denominator.split("|"))
        return total(rows, numerator) / bottom * spec.get("scale", 1)
    return total(rows, config["metric"])


def test_every_catalogue_template_gives_a_full_and_correct_dashboard(
    amc_sim, analyst, fast_engine, celery_workers
):
    instance = simulated_demo_instance(amc_sim, users=[analyst])
    templates = {t.template_id: t for t in upsert_catalogue()}
    parameters = template_parameters(instance)
    celery_workers(count=1, concurrency=4, env=WORKER_ENV)

    reports = []
    collection = None
    for spec in TEMPLATES:
        report = create_report(
            user=analyst,
            name=spec["name"],
            template=templates[spec["template_id"]],
            instance=instance,
            parameters=parameters.get(spec["template_id"], {}),
            lookback_days=30,
        )
        reports.append(report)
        run_report(report=report, user=analyst)
        if spec["template_id"] in TIME_SERIES:
            collection = backfill_services.create_backfill(
                report=report,
                user=analyst,
                lookback_config={"type": "relative", "value": 30, "unit": "days"},
                segmentation_config={"type": "daily"},
            )
    wait_for_everything(reports, collection)

    failed = ReportExecution.objects.filter(report__in=reports).exclude(status="completed")
    assert not failed.exists(), list(failed.values("report__name", "error_message"))
    for report in reports:
        dashboard = Dashboard.objects.get(pk=report.dashboard_id)
        plan = dashboard.configuration.data_aggregation_settings
        content = selectors.dashboard_content(dashboard=dashboard)
        name = report.template.template_id
        assert content.status == "ready", name
        rows = rows_shown(report, content, plan["time_column"])
        assert rows, name
        for card in content.cards:
            assert card.data["value"] is not None, (name, card.title)
            assert card.data["value"] == pytest.approx(
                expected_card(card, rows, plan["derived"]), rel=1e-9
            ), (name, card.title)
        assert content.charts, name
        for chart in content.charts:
            assert chart.data["rows"], (name, chart.title)
            assert chart.svg.startswith("<svg") and ("<path" in chart.svg), (name, chart.title)
            shown = defaultdict(float)
            for point in chart.data["rows"]:
                shown[point["measure"]] += point["value"] or 0
            if not chart.config.get("limit") and chart.config["y"][0] in plan["measures"]:
                measure = chart.config["y"][0]
                assert shown[measure] == pytest.approx(total(rows, measure)), (name, chart.title)
        assert content.tables, name
        for table in content.tables:
            assert table.data["rows"], (name, table.title)
            for column, value in table.data["totals"].items():
                if column in plan["measures"]:
                    assert value == pytest.approx(total(rows, column)), (name, column)
        if plan["time_column"]:
            days = {str(r[plan["time_column"]])[:10] for r in rows}
            assert len(days) >= 28, name  # the 30-day backfill fills the period
