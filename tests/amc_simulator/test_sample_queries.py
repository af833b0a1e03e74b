"""The eight demo queries run on the simulator and give plausible rows (test size, with the
session's lowered aggregation threshold; demo size is checked by hand, see the report)."""

import re

import pytest

from recomamp.amc_simulator.sample_queries import (
    ASIN_FILTER_MARKER,
    SAMPLE_QUERIES,
    with_asin_filter,
)

from .helpers import days_ago, run, window

AD_PRODUCTS = {
    "sponsored_products",
    "sponsored_brands",
    "sponsored_display",
    "sponsored_television",
}


@pytest.fixture(scope="module")
def results(amc_simulator):
    """Each sample query run once over the 30 complete days before the data lag."""
    from tests.fixtures.simulator import AMC_SIMULATOR_TEST_THRESHOLD

    amc_simulator.restore_config()
    assert amc_simulator.simulator.runtime.aggregation_threshold == AMC_SIMULATOR_TEST_THRESHOLD
    token = amc_simulator.issue_token()
    headers = {
        "Authorization": f"Bearer {token}",
        "Amazon-Advertising-API-ClientId": amc_simulator.client_id,
        "Amazon-Advertising-API-AdvertiserId": "ENTITYDEMO1A",
        "Amazon-Advertising-API-MarketplaceId": "ATVPDKIKX0DER",
    }
    return {
        name: run(amc_simulator, headers, sql, **window(44, 14))
        for name, sql in SAMPLE_QUERIES.items()
    }


def test_there_are_the_eight_queries():
    assert set(SAMPLE_QUERIES) == {
        "campaign_performance_by_day",
        "search_term_performance",
        "path_to_conversion",
        "new_to_brand",
        "frequency_distribution",
        "campaign_overlap",
        "funnel",
        "asin_conversions",
    }


@pytest.mark.parametrize("name", sorted(SAMPLE_QUERIES))
def test_every_sample_query_returns_rows(results, name):
    assert results[name], name


def test_campaign_performance_by_day(results):
    rows = results["campaign_performance_by_day"]
    assert {row["ad_product_type"] for row in rows} == AD_PRODUCTS
    assert len({row["report_date"] for row in rows}) >= 28
    for row in rows:
        assert int(row["impressions"]) > int(row["clicks"]) >= 0
        assert float(row["spend"]) >= 0
    assert sum(int(row["purchases"]) for row in rows) > 0
    assert sum(float(row["sales"]) for row in rows) > sum(float(row["spend"]) for row in rows)


def test_search_term_performance(results):
    rows = results["search_term_performance"]
    assert {row["match_type"] for row in rows} <= {"BROAD", "PHRASE", "EXACT"}
    assert len(rows) >= 10
    assert sum(int(row["clicks"]) for row in rows) > 0
    assert sum(int(row["purchases"]) for row in rows) > 0
    clicks = [int(row["clicks"]) for row in rows]
    assert clicks == sorted(clicks, reverse=True)


def test_path_to_conversion(results):
    rows = results["path_to_conversion"]
    known = AD_PRODUCTS | {"amazon_dsp"}
    for row in rows:
        steps = row["path"].split(" > ")
        assert set(steps) - {"..."} <= known, row
        assert int(row["touchpoints"]) >= 1
    assert any(" > " in row["path"] for row in rows)


def test_new_to_brand(results):
    rows = results["new_to_brand"]
    for row in rows:
        assert int(row["ntb_purchases"]) + int(row["repeat_purchases"]) == int(row["purchases"])
        assert float(row["ntb_sales"]) <= float(row["sales"])
    assert sum(int(row["ntb_purchases"]) for row in rows) > 0


def test_frequency_distribution(results):
    rows = {row["frequency_bucket"]: row for row in results["frequency_distribution"]}
    assert {"01", "02", "03"} <= set(rows)
    assert int(rows["01"]["users"]) > int(rows["03"]["users"])
    top = max(rows)
    assert float(rows[top]["conversion_rate_pct"]) > float(rows["01"]["conversion_rate_pct"])


def test_campaign_overlap(results):
    for row in results["campaign_overlap"]:
        both = int(row["users_both"])
        assert 0 < both <= min(int(row["users_a"]), int(row["users_b"]))
        assert row["campaign_a"] < row["campaign_b"]


def test_funnel(results):
    rows = results["funnel"]
    assert [row["stage"] for row in rows] == [
        "impression",
        "click",
        "detail_page_view",
        "add_to_cart",
        "purchase",
    ]
    users = [int(row["users"]) for row in rows]
    assert users == sorted(users, reverse=True) and users[-1] > 0


def test_asin_conversions_with_and_without_a_filter(amc_sim, amc_headers, results):
    rows = results["asin_conversions"]
    assert all(re.fullmatch(r"B0[0-9A-Z]{8}", row["tracked_asin"]) for row in rows)
    assert sum(int(row["purchases"]) for row in rows) > 0
    chosen = [row["tracked_asin"] for row in rows[:2]]
    sql = with_asin_filter(SAMPLE_QUERIES["asin_conversions"], chosen)
    assert ASIN_FILTER_MARKER not in sql
    filtered = run(amc_sim, amc_headers(), sql, **window(44, 14))
    assert sorted(row["tracked_asin"] for row in filtered) == sorted(chosen)
    with pytest.raises(ValueError):
        with_asin_filter(sql, ["B0'; DROP"])


def test_demo_window_defaults_are_complete_days():
    assert days_ago(14).endswith("T00:00:00")
