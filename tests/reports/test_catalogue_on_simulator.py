"""Every template of the demo catalogue runs on the AMC simulator and returns rows."""

import pytest

from instances.models import AmcAccount, AmcInstance
from reports.amc import client_for_instance
from reports.catalogue import TEMPLATES
from reports.parameters import render_sql
from reports.windows import lookback_window, today_in
from tests.fixtures.simulator import run_on_simulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_client(amc_sim, settings):
    settings.AMC_SIMULATOR_URL = amc_sim.url
    account = AmcAccount.objects.create(
        name="Demo",
        account_id="ENTITYDEMO1A",
        api_base_url=amc_sim.url,
        token_url=f"{amc_sim.url}/auth/o2/token",
        lwa_refresh_token="Atzr|demo",
    )
    instance = AmcInstance.objects.create(
        account=account, instance_id="amcrecodemo01", instance_name="Demo"
    )
    return client_for_instance(instance)


@pytest.fixture
def top_asins(demo_client):
    window = lookback_window(lookback_days=30, tz_name="UTC")
    rows = run_on_simulator(
        demo_client,
        "amcrecodemo01",
        "SELECT tracked_asin, COUNT(DISTINCT user_id) AS buyers "
        "FROM amazon_attributed_events_by_conversion_time WHERE purchases > 0 "
        "GROUP BY tracked_asin ORDER BY buyers DESC LIMIT 3",
        window,
    )
    return [row["tracked_asin"] for row in rows]


@pytest.mark.parametrize("spec", TEMPLATES, ids=[spec["template_id"] for spec in TEMPLATES])
def test_template_returns_plausible_rows(spec, demo_client, top_asins):
    values = {"asins": top_asins} if spec["template_id"] == "asin-conversions" else {}
    sql = render_sql(
        sql=spec["sql_query"],
        definitions=spec["parameter_definitions"],
        values=values,
        today=today_in("UTC"),
    ).sql
    window = lookback_window(lookback_days=30, tz_name="UTC")

    rows = run_on_simulator(demo_client, "amcrecodemo01", sql, window)

    assert rows, spec["template_id"]
    numbers = [
        float(value)
        for row in rows
        for value in row.values()
        if value not in ("", None) and value.replace(".", "", 1).lstrip("-").isdigit()
    ]
    assert numbers and all(n >= 0 for n in numbers), spec["template_id"]
    if spec["template_id"] == "impressions-to-purchase-funnel":
        users = [int(float(row["users"])) for row in sorted(rows, key=lambda r: r["stage_order"])]
        assert users == sorted(users, reverse=True), "a funnel narrows at each stage"
    if spec["template_id"] in ("campaign-performance-daily", "search-term-performance"):
        # Spend is microcents in AMC, divided by 100,000,000 in the templates: dollars here.
        impressions = sum(float(row["impressions"]) for row in rows)
        clicks = sum(float(row["clicks"]) for row in rows)
        spend = sum(float(row["spend"]) for row in rows)
        assert 0 < clicks / impressions < 0.05, "click-through rate"
        assert 0.2 < spend / clicks < 20, "dollars per click"
    if spec["template_id"] == "asin-conversions":
        assert {row["tracked_asin"] for row in rows} <= set(top_asins)
