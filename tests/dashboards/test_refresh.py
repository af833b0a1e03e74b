"""The refresh: daily aggregates and every widget precomputed from the winning runs, coalesced."""

import datetime as dt

import pytest
from django.utils import timezone

from dashboards import selectors
from dashboards.aggregates import Filters
from dashboards.models import Dashboard, DashboardFact
from dashboards.services import refresh
from reports import engine
from reports.models import ExecutionPhase, ExecutionStatus, ReportExecution
from reports.signals import execution_finished
from tests.dashboards.conftest import backfilled, campaign_rows, completed_run, overlapping_history

pytestmark = pytest.mark.django_db

START = dt.date(2026, 9, 1)


def rows_between(report, first, last):
    """The rows a person would add up: each day's rows from the run that covered it last."""
    by_day = {}
    for execution in ReportExecution.objects.filter(report=report).order_by("completed_at"):
        for row in execution.rows.values_list("data", flat=True):
            by_day.setdefault(row["event_date"], {})[execution.pk] = by_day.get(
                row["event_date"], {}
            ).get(execution.pk, []) + [row]
    chosen = []
    for day, runs in by_day.items():
        if first.isoformat() <= day <= last.isoformat():
            chosen += list(runs.values())[-1]
    return chosen


def widgets_by_title(content):
    return {w.title: w for w in content.widgets}


@pytest.fixture
def performance(report, sent_refreshes):
    backfilled(report, start=START, days=40, rows_for_day=campaign_rows)
    refresh.refresh_dashboard(report.dashboard_id)
    return report


def test_cards_are_sums_and_ratios_of_sums_over_the_last_30_days(performance):
    content = selectors.dashboard_content(dashboard=performance.dashboard)
    widgets = widgets_by_title(content)
    last = START + dt.timedelta(days=39)
    first = last - dt.timedelta(days=29)
    rows = rows_between(performance, first, last)
    spend = sum(r["spend"] for r in rows)
    sales = sum(r["sales"] for r in rows)

    assert content.status == "ready"
    assert (content.window["start"], content.window["end"]) == (first.isoformat(), last.isoformat())
    assert widgets["Spend"].data["value"] == pytest.approx(spend)
    assert widgets["Sales"].data["value"] == pytest.approx(sales)
    assert widgets["ROAS"].data["value"] == pytest.approx(sales / spend)
    mean_of_ratios = sum(r["roas"] for r in rows) / len(rows)
    assert widgets["ROAS"].data["value"] != pytest.approx(mean_of_ratios)
    # The 30 days before are only partly covered by data: no comparison with a sliver.
    assert widgets["Sales"].data["previous"] is None
    assert widgets["Sales"].display["change"] == ""
    # The last 10 days, against the 10 days before them.
    filters = Filters(start=last - dt.timedelta(days=9), end=last)
    ten = widgets_by_title(
        selectors.dashboard_content(dashboard=performance.dashboard, filters=filters)
    )
    current = sum(r["sales"] for r in rows_between(performance, filters.start, last))
    before = rows_between(
        performance, filters.start - dt.timedelta(days=10), filters.start - dt.timedelta(days=1)
    )
    previous_sales = sum(r["sales"] for r in before)
    assert ten["Sales"].data["previous"] == pytest.approx(previous_sales)
    assert ten["Sales"].data["change_pct"] == pytest.approx(
        (current - previous_sales) / previous_sales * 100
    )
    assert widgets["ROAS"].display["value"] == f"{sales / spend:,.2f}"


def test_charts_and_tables_hold_the_periods_data_and_an_svg(performance):
    widgets = widgets_by_title(selectors.dashboard_content(dashboard=performance.dashboard))
    last = START + dt.timedelta(days=39)
    first = last - dt.timedelta(days=29)
    rows = rows_between(performance, first, last)

    line = widgets["Spend and sales by day"]
    assert line.spec["mark"]["type"] == "line" and line.spec["data"]["values"] == line.data["rows"]
    points = {(p["event_date"], p["measure"]): p["value"] for p in line.data["rows"]}
    assert len(points) == 60
    assert points[(last.isoformat(), "sales")] == pytest.approx(
        sum(r["sales"] for r in rows if r["event_date"] == last.isoformat())
    )
    assert line.svg.startswith("<svg") and "viewBox" in line.svg and "<path" in line.svg

    bar = widgets["Sales by campaign"]
    assert [p["campaign"] for p in bar.data["rows"]] == ["Campaign 2", "Campaign 1", "Campaign 0"]
    assert bar.svg.count("<path") >= 3

    table = widgets["Campaigns"]
    assert table.data["total_rows"] == 3
    top = table.data["rows"][0]
    assert top["campaign"] == "Campaign 2"
    assert top["clicks"] == sum(r["clicks"] for r in rows if r["campaign"] == "Campaign 2")
    assert table.data["totals"]["spend"] == pytest.approx(sum(r["spend"] for r in rows))
    assert table.display["totals"][0]["text"] == "Total"


def test_a_date_and_campaign_filter_is_computed_from_the_aggregates(performance):
    first, last = START + dt.timedelta(days=5), START + dt.timedelta(days=11)
    filters = Filters(start=first, end=last, dimensions={"campaign": "Campaign 1"})
    widgets = widgets_by_title(
        selectors.dashboard_content(dashboard=performance.dashboard, filters=filters)
    )
    rows = [r for r in rows_between(performance, first, last) if r["campaign"] == "Campaign 1"]
    assert widgets["Sales"].data["value"] == pytest.approx(sum(r["sales"] for r in rows))
    assert widgets["ROAS"].data["value"] == pytest.approx(
        sum(r["sales"] for r in rows) / sum(r["spend"] for r in rows)
    )
    assert len(widgets["Spend and sales by day"].data["rows"]) == 14
    assert widgets["Spend and sales by day"].svg.startswith("<svg")
    assert [r["campaign"] for r in widgets["Campaigns"].data["rows"]] == ["Campaign 1"]


def test_the_campaign_filter_offers_every_campaign_escaped_with_the_chosen_one_selected(
    performance,
):
    filters = Filters(dimensions={"campaign": "Campaign 1"})
    content = selectors.dashboard_content(dashboard=performance.dashboard, filters=filters)
    [campaign] = content.filter_choices
    html = str(campaign["options_html"])
    assert html.count("<option") == 3
    assert '<option value="Campaign 1" selected>Campaign 1</option>' in html
    assert '<option value="Campaign 2">Campaign 2</option>' in html
    escaped = str(selectors._options_html(['<b>"A&B"</b>'], None))
    assert escaped == (
        '<option value="&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;">'
        "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;</option>"
    )


def test_the_latest_completed_run_wins_each_day(report, sent_refreshes):
    overlapping_history(report, start=START)
    refresh.refresh_dashboard(report.dashboard_id)

    widgets = widgets_by_title(selectors.dashboard_content(dashboard=report.dashboard))
    expected = sum(r["spend"] for r in rows_between(report, START, START + dt.timedelta(days=9)))
    assert widgets["Spend"].data["value"] == pytest.approx(expected)
    assert expected == pytest.approx(3 * 30 + 7 * 60)  # 3 days at 30, 7 doubled days at 60


def test_the_aggregates_hold_one_row_per_day_and_campaign_plus_daily_totals(performance):
    facts = DashboardFact.objects.filter(dashboard_id=performance.dashboard_id)
    assert facts.filter(grain=1).count() == 40 * 3
    assert facts.filter(grain=0).count() == 40


def test_results_of_a_window_template_become_one_point_per_run(
    instance, analyst, catalogue, sent_refreshes
):
    from reports.services.reports import create_report

    report = create_report(
        user=analyst, name="NTB", template=catalogue["new-to-brand"], instance=instance
    )
    rows = [
        {"campaign": f"C{c}", "campaign_id": c, "ad_product_type": "sponsored_products",
         "purchases": 10 * (c + 1), "sales": 100.0 * (c + 1), "ntb_purchases": 3 * (c + 1),
         "ntb_sales": 30.0 * (c + 1), "ntb_purchase_share": 30.0}
        for c in range(4)
    ]  # fmt: skip
    completed_run(report, start=START, days=30, rows=[{**r, "sales": 1.0} for r in rows])
    completed_run(report, start=START + dt.timedelta(days=30), days=30, rows=rows)
    refresh.refresh_dashboard(report.dashboard_id)

    content = selectors.dashboard_content(dashboard=report.dashboard)
    widgets = widgets_by_title(content)
    # The latest run's whole window, compared with the run before.
    assert (content.window["start"], content.window["end"]) == (
        (START + dt.timedelta(days=30)).isoformat(),
        (START + dt.timedelta(days=59)).isoformat(),
    )
    assert widgets["NTB sales"].data["value"] == pytest.approx(300.0)
    assert widgets["NTB purchase share"].data["value"] == pytest.approx(30.0)
    assert widgets["NTB purchase share"].display["value"] == "30.0%"
    assert widgets["Campaigns"].data["total_rows"] == 4
    assert widgets["NTB vs repeat sales by campaign"].svg.startswith("<svg")


# -- coalescing and claiming -----------------------------------------------------------------


def finish(execution):
    execution_finished.send(sender=ReportExecution, execution=execution)


def test_365_runs_finishing_queue_one_refresh(
    report, sent_refreshes, django_capture_on_commit_callbacks
):
    executions = ReportExecution.objects.bulk_create(
        ReportExecution(
            report=report,
            instance=report.instance,
            triggered_by="backfill",
            status=ExecutionStatus.COMPLETED,
        )
        for _ in range(365)
    )
    with django_capture_on_commit_callbacks(execute=True):
        for execution in executions:
            finish(execution)

    assert sent_refreshes == [(str(report.dashboard_id), refresh.refresh_delay())]
    dashboard = Dashboard.objects.get(pk=report.dashboard_id)
    assert dashboard.data_dirty_at and dashboard.refresh_queued_at


def test_runs_ending_during_a_refresh_queue_exactly_one_more(
    report, sent_refreshes, django_capture_on_commit_callbacks
):
    execution = completed_run(report, start=START, days=1, rows=campaign_rows(START))
    with django_capture_on_commit_callbacks(execute=True):
        finish(execution)
    # The refresh claims the dashboard; two more runs end while it works.
    now = timezone.now()
    assert Dashboard.objects.filter(pk=report.dashboard_id, refresh_started_at=None).update(
        refresh_started_at=now, refresh_queued_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        finish(execution)
        finish(execution)
    assert len(sent_refreshes) == 2

    # The queued task finds the refresh still running: it waits its turn, queuing itself again.
    assert refresh.refresh_dashboard(report.dashboard_id).status == "busy"
    assert len(sent_refreshes) == 3
    Dashboard.objects.filter(pk=report.dashboard_id).update(refresh_started_at=None)
    assert refresh.refresh_dashboard(report.dashboard_id).status == "refreshed"
    dashboard = Dashboard.objects.get(pk=report.dashboard_id)
    assert dashboard.data_dirty_at is None and dashboard.refresh_started_at is None


def test_a_refresh_whose_worker_died_is_taken_over(report, sent_refreshes):
    long_ago = timezone.now() - dt.timedelta(seconds=refresh.REFRESH_LEASE_SECONDS + 1)
    Dashboard.objects.filter(pk=report.dashboard_id).update(refresh_started_at=long_ago)
    assert refresh.refresh_dashboard(report.dashboard_id).status == "refreshed"


def test_failed_runs_do_not_refresh(report, sent_refreshes, django_capture_on_commit_callbacks):
    execution = completed_run(report, start=START, days=1, rows=[])
    ReportExecution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.FAILED)
    execution.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        finish(execution)
    assert sent_refreshes == []


def test_the_engine_finishing_a_run_queues_the_refresh_after_commit(
    report, sent_refreshes, django_capture_on_commit_callbacks
):
    execution = completed_run(report, start=START, days=1, rows=campaign_rows(START))
    ReportExecution.objects.filter(pk=execution.pk).update(
        status=ExecutionStatus.RUNNING, phase=ExecutionPhase.DOWNLOADING
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        engine.finish(execution.pk, engine.states.COMPLETED)
    assert sent_refreshes == []  # nothing before the commit
    with django_capture_on_commit_callbacks(execute=True):  # the commit: receivers run
        for callback in callbacks:
            callback()
    assert [pk for pk, _ in sent_refreshes] == [str(report.dashboard_id)]


def test_a_dashboard_waiting_for_its_first_refresh_is_building(report, sent_refreshes):
    content = selectors.dashboard_content(dashboard=report.dashboard)
    assert content.status == "empty"
    refresh.mark_dirty(dashboard_pk=report.dashboard_id)
    assert selectors.dashboard_content(dashboard=report.dashboard).status == "building"


def test_insights_series_follow_the_largest_campaigns_and_the_rest_adds_up(
    report, sent_refreshes, monkeypatch
):
    from dashboards.insights import store
    from dashboards.insights.model import SeriesKey
    from dashboards.models import DashboardView

    monkeypatch.setattr(store, "MAX_GROUPS", 2)
    backfilled(report, start=START, days=10, rows_for_day=lambda d: campaign_rows(d, campaigns=5))
    refresh.refresh_dashboard(report.dashboard_id)
    view = DashboardView.objects.get(
        report_configuration__dashboard_id=report.dashboard_id, view_type="insight"
    )
    series = store.view_series(view=view)
    groups = {key.group for key in series if key.metric == "spend"}
    # Campaigns 4 and 3 spend the most; 0, 1 and 2 are summed as one group.
    assert groups == {"", "Campaign 4", "Campaign 3", store.ALL_OTHERS}
    for day, total in series[SeriesKey("spend")]:
        parts = [dict(series[SeriesKey("spend", g)])[day] for g in groups - {""}]
        assert sum(parts) == pytest.approx(total)
    assert dict(series[SeriesKey("spend", store.ALL_OTHERS)])[START] == pytest.approx(5 + 10 + 15)
