"""Known truth: on the simulator's data (over real HTTP, the test-size dataset), the dashboard
refresh of the campaign performance report finds the planted trend, the promotion week and the
anomalous day with confidence >= 0.8, and no insight contradicts them (the planted shapes are
documented in recomamp/amc_simulator/dataset.py).

The test-size data have about a tenth of the demo's users: a campaign-day has a few purchases
at most, so sales are too sparse for the shapes to be told from noise there, and the insights
rightly publish nothing about them; traffic (impressions) and spend carry the shapes."""

from datetime import date

import pytest
import requests

from dashboards.insights import store as insight_store
from dashboards.models import DashboardInsight
from dashboards.services import refresh
from instances.models import AmcAccount
from recomamp.amc_simulator import engine as simulator_engine
from reports.amc import client_for_instance
from reports.parameters import render_sql
from reports.windows import lookback_window
from tests.dashboards.conftest import completed_run
from tests.fixtures.simulator import run_on_simulator

pytestmark = pytest.mark.django_db
DAYS = 365
ANCHOR = date(2026, 12, 1)
SEED = 7


def typed(row: dict) -> dict:
    """A CSV row as the engine stores it: numbers as numbers, empty cells as None."""
    out = {}
    for key, value in row.items():
        try:
            out[key] = float(value) if value != "" else None
        except ValueError:
            out[key] = value
    return out


@pytest.fixture
def demo_insights(amc_sim, make_amc_instance, report, sent_refreshes, monkeypatch):
    """The campaign performance report's last 365 complete days from a simulated instance
    (seed 7, anchored on ANCHOR so that the data are the same every day the test runs), loaded
    as one completed run and refreshed: (insights, the dataset's dates)."""
    monkeypatch.setattr(simulator_engine, "today_utc", lambda: ANCHOR)
    monkeypatch.setattr(insight_store, "today_in", lambda tz_name: ANCHOR)
    simulated = make_amc_instance(seed=SEED)
    instance = report.instance
    AmcAccount.objects.filter(pk=instance.account_id).update(
        account_id=simulated.advertiser_id,
        api_base_url=amc_sim.url,
        token_url=f"{amc_sim.url}/auth/o2/token",
        lwa_refresh_token="Atzr|demo",
    )
    instance.refresh_from_db()
    instance.instance_id = simulated.instance_id
    instance.save(update_fields=["instance_id"])
    window = lookback_window(lookback_days=DAYS, tz_name="UTC", today=ANCHOR)
    sql = render_sql(
        sql=report.template.sql_query,
        definitions=report.template.parameter_definitions,
        values={"min_impressions": 0, "ad_product": "all"},
        today=ANCHOR,
    ).sql
    rows = run_on_simulator(client_for_instance(instance), instance.instance_id, sql, window)
    rows = [typed(row) for row in rows]
    completed_run(report, start=window.start.date(), days=DAYS, rows=rows)
    refresh.refresh_dashboard(report.dashboard_id)
    info = requests.get(
        f"{amc_sim.url}/_simulator/instances/{instance.instance_id}",
        params={"dataset": 1},
        timeout=10,
    ).json()["dataset"]
    assert info["anchor_date"] == ANCHOR.isoformat()
    insights = list(
        DashboardInsight.objects.filter(
            dashboard_view__report_configuration__dashboard_id=report.dashboard_id
        )
    )
    return insights, info


def _window(insight):
    start, end = insight.source_data["window"]
    return date.fromisoformat(start), date.fromisoformat(end)


def _overlaps(insight, days):
    start, end = _window(insight)
    return any(start <= day <= end for day in days)


def test_demo_trend_promotion_and_anomalous_day_are_found_and_not_contradicted(demo_insights):
    insights, info = demo_insights
    promotion = [date.fromisoformat(d) for d in info["promotion_days"]]
    anomaly_day = date.fromisoformat(info["anomaly_day"])
    assert all(i.confidence_score >= 0.8 for i in insights)
    trends = [i for i in insights if i.insight_type == "trend"]
    anomalies = [i for i in insights if i.insight_type == "anomaly"]

    # The trend (x0.78 to x1.28 over 14 months): a rising total, and no falling trend anywhere.
    assert any(t.source_data["group"] == "" and t.source_data["direction"] == 1 for t in trends), [
        t.insight_text for t in insights
    ]
    assert all(t.source_data["direction"] == 1 for t in trends), [
        t.insight_text for t in trends if t.source_data["direction"] != 1
    ]
    # The promotion week (traffic up to x2.5, peak on July 11): total traffic unusually high.
    assert any(
        a.source_data["group"] == "" and a.source_data["direction"] == 1 and _overlaps(a, promotion)
        for a in anomalies
    ), [a.insight_text for a in anomalies]
    # The anomalous day (traffic x2.2, costs x3.2): total spend unusually high on it.
    assert any(
        a.source_data["metric"] == "spend"
        and a.source_data["group"] == ""
        and a.source_data["direction"] == 1
        and _overlaps(a, [anomaly_day])
        for a in anomalies
    ), [a.insight_text for a in anomalies]
    # Nothing says the opposite: no "unusually low" on the promotion or the anomalous day.
    contradicting = [
        a.insight_text
        for a in anomalies
        if a.source_data["direction"] == -1 and _overlaps(a, [*promotion, anomaly_day])
    ]
    assert not contradicting
    # Every insight is recorded with its method, raw score, n and window.
    for insight in insights:
        assert insight.ai_model and insight.prompt_version
        assert {"n", "window"} <= set(insight.source_data)
