"""AMC SQL as agencies write it, run on the simulator: each query returns plausible rows.

Thirty queries of our own in the style of AMC's instructional queries (CTEs, window functions,
COLLECT and ARRAY_*, SECONDS_BETWEEN, BUILT_IN_PARAMETER, CUSTOM_PARAMETER, SIMILAR TO,
EXTEND_TIME_WINDOW, VALUES tables, APPROX_PERCENTILE, NTILE/LAG, traffic joined to
conversions). They run once each (module fixture) over the 30 complete days before the data
lag, on the session's test-size data; each test then checks that the numbers are plausible.
"""

from datetime import datetime, timedelta

import pytest

from .helpers import days_ago, executions_url, wait, window

WINDOW = window(44, 14)
DAY = 86_400


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("T", " ").rstrip("Z"))


QUERIES: dict[str, tuple[str, dict]] = {
    # DSP cost columns are millicents: divide by 100,000 (AMC's instructional query).
    "dsp_ecpm": (
        """
        SELECT campaign, campaign_id_string,
               SUM(impressions) AS impressions,
               SUM(total_cost) / 100000.0 AS total_cost_dollars,
               (SUM(total_cost) / 100000.0) / SUM(impressions) * 1000 AS ecpm
        FROM dsp_impressions
        GROUP BY campaign, campaign_id_string
        """,
        {},
    ),
    "dsp_cost_breakdown": (
        """
        SELECT CONCAT('cid_', campaign_id_string) AS campaign_id, campaign, currency_iso_code,
               SUM(impression_cost / 100000) AS impression_cost,
               SUM(total_cost / 100000) AS total_cost,
               SUM(supply_cost / 100000000) AS supply_cost,
               SUM(platform_fee / 100000000) AS platform_fee
        FROM dsp_impressions
        GROUP BY 1, 2, 3
        """,
        {},
    ),
    # Sponsored ads spend is microcents: divide by 100,000,000.
    "sponsored_ctr_cpc": (
        """
        SELECT ad_product_type, line_item_price_type,
               SUM(impressions) AS impressions, SUM(clicks) AS clicks,
               SUM(spend / 100000000) AS spend,
               SUM(clicks) * 1.0 / SUM(impressions) AS ctr,
               SUM(spend / 100000000) / NULLIF(SUM(clicks), 0) AS cpc,
               SUM(spend / 100000000) / SUM(impressions) * 1000 AS ecpm
        FROM sponsored_ads_traffic
        GROUP BY 1, 2
        """,
        {},
    ),
    "dsp_click_through": (
        """
        WITH imps AS (
          SELECT campaign_id, SUM(impressions) AS impressions FROM dsp_impressions
          GROUP BY campaign_id
        ), clks AS (
          SELECT campaign_id, SUM(clicks) AS clicks FROM dsp_clicks GROUP BY campaign_id
        )
        SELECT i.campaign_id, i.impressions, COALESCE(c.clicks, 0) AS clicks,
               COALESCE(c.clicks, 0) * 1.0 / i.impressions AS ctr
        FROM imps i LEFT JOIN clks c ON c.campaign_id = i.campaign_id
        """,
        {},
    ),
    "daily_spend_cte": (
        """
        WITH daily AS (
          SELECT campaign, event_date, SUM(spend) AS spend, SUM(impressions) AS impressions
          FROM sponsored_ads_traffic
          GROUP BY campaign, event_date
        )
        SELECT event_date, COUNT(campaign) AS campaigns,
               SUM(spend) / 100000000.0 AS spend, SUM(impressions) AS impressions
        FROM daily
        GROUP BY event_date
        """,
        {},
    ),
    "running_total": (
        """
        SELECT campaign, event_date, SUM(impressions) AS impressions,
               SUM(SUM(impressions)) OVER (PARTITION BY campaign ORDER BY event_date
                                           ROWS UNBOUNDED PRECEDING) AS cumulative
        FROM sponsored_ads_traffic
        WHERE ad_product_type = 'sponsored_products'
        GROUP BY campaign, event_date
        """,
        {},
    ),
    "rank_by_spend": (
        """
        SELECT campaign, SUM(spend) / 100000000.0 AS spend,
               RANK() OVER (ORDER BY SUM(spend) DESC) AS spend_rank
        FROM sponsored_ads_traffic
        GROUP BY campaign
        """,
        {},
    ),
    "ntile_quartiles": (
        """
        WITH per_term AS (
          SELECT customer_search_term, SUM(impressions) AS impressions
          FROM sponsored_ads_traffic
          WHERE customer_search_term IS NOT NULL
          GROUP BY customer_search_term
        )
        SELECT customer_search_term, impressions,
               NTILE(4) OVER (ORDER BY impressions DESC) AS quartile
        FROM per_term
        """,
        {},
    ),
    "lag_day_over_day": (
        """
        WITH daily AS (
          SELECT impression_date, SUM(impressions) AS impressions
          FROM dsp_impressions
          GROUP BY impression_date
        )
        SELECT impression_date, impressions,
               LAG(impressions, 1) OVER (ORDER BY impression_date) AS previous_day,
               impressions - LAG(impressions, 1) OVER (ORDER BY impression_date) AS change
        FROM daily
        """,
        {},
    ),
    "collect_and_arrays": (
        """
        SELECT campaign,
               ARRAY_TO_STRING(ARRAY_SORT(COLLECT(DISTINCT match_type)), ',') AS match_types,
               CARDINALITY(COLLECT(DISTINCT ad_group)) AS ad_groups,
               ARRAY_CONTAINS(COLLECT(DISTINCT match_type), 'EXACT') AS has_exact,
               CARDINALITY(ARRAY_DISTINCT(COLLECT(placement_type))) AS placements
        FROM sponsored_ads_traffic
        WHERE ad_product_type = 'sponsored_products'
        GROUP BY campaign
        """,
        {},
    ),
    "seconds_between": (
        """
        SELECT CASE
                 WHEN SECONDS_BETWEEN(traffic_event_dt_utc, conversion_event_dt_utc) < 3600
                   THEN '1 under an hour'
                 WHEN SECONDS_BETWEEN(traffic_event_dt_utc, conversion_event_dt_utc) < 86400
                   THEN '2 same day'
                 WHEN SECONDS_BETWEEN(traffic_event_dt_utc, conversion_event_dt_utc) < 259200
                   THEN '3 one to three days'
                 ELSE '4 over three days' END AS delay_bucket,
               SUM(total_purchases) AS purchases,
               MAX(SECONDS_BETWEEN(traffic_event_dt_utc, conversion_event_dt_utc))
                 AS longest_seconds
        FROM amazon_attributed_events_by_traffic_time
        WHERE total_purchases > 0
        GROUP BY 1
        """,
        {},
    ),
    "built_in_parameter": (
        """
        SELECT COUNT(DISTINCT event_date_utc) AS days,
               MIN(event_dt_utc) AS first_event,
               MAX(event_dt_utc) AS last_event,
               BUILT_IN_PARAMETER('TIME_WINDOW_START') AS window_start,
               BUILT_IN_PARAMETER('TIME_WINDOW_END') AS window_end
        FROM sponsored_ads_traffic
        WHERE event_dt_utc >= BUILT_IN_PARAMETER('TIME_WINDOW_START')
          AND event_dt_utc < BUILT_IN_PARAMETER('TIME_WINDOW_END')
        """,
        {},
    ),
    "custom_parameter_string": (
        """
        SELECT ad_product_type, campaign, SUM(clicks) AS clicks
        FROM sponsored_ads_traffic
        WHERE ad_product_type = CUSTOM_PARAMETER('ad_product')
        GROUP BY 1, 2
        """,
        {"ad_product": "sponsored_brands"},
    ),
    "custom_parameter_numbers": (
        """
        SELECT campaign, SUM(impressions) AS impressions
        FROM sponsored_ads_traffic
        GROUP BY campaign
        HAVING SUM(impressions) >= CUSTOM_PARAMETER('min_impressions')
        """,
        {"min_impressions": 1000},
    ),
    "custom_parameter_list": (
        """
        SELECT match_type, SUM(clicks) AS clicks, COUNT(DISTINCT user_id) AS users
        FROM sponsored_ads_traffic
        WHERE match_type IN (CUSTOM_PARAMETER('match_types'))
          AND CUSTOM_PARAMETER('include_keywords')
        GROUP BY match_type
        """,
        {"match_types": ["EXACT", "PHRASE"], "include_keywords": True},
    ),
    # AMC's SIMILAR TO finds the pattern anywhere (a full match would need '.*').
    "similar_to_prefix": (
        """
        SELECT campaign, SUM(impressions) AS impressions
        FROM sponsored_ads_traffic
        WHERE campaign SIMILAR TO '^(SP|SB|SD)'
        GROUP BY campaign
        """,
        {},
    ),
    "similar_to_anywhere": (
        """
        SELECT CASE WHEN campaign SIMILAR TO '(?i)retargeting' THEN 'retargeting'
                    ELSE 'prospecting' END AS campaign_group,
               SUM(impressions) AS impressions
        FROM dsp_impressions
        GROUP BY 1
        """,
        {},
    ),
    "extend_time_window": (
        """
        WITH earlier AS (
          SELECT user_id, MIN(event_dt_utc) AS first_seen
          FROM
            TABLE(
              EXTEND_TIME_WINDOW(
                'sponsored_ads_traffic',
                -- thirty days of lookback before the window
                'P30D',
                'P0D'
              )
            )
          GROUP BY user_id
        ), buyers AS (
          SELECT user_id, MIN(conversion_event_dt_utc) AS bought
          FROM amazon_attributed_events_by_conversion_time
          WHERE total_purchases > 0
          GROUP BY user_id
        )
        SELECT COUNT(DISTINCT b.user_id) AS buyers,
               MIN(e.first_seen) AS earliest_touch,
               BUILT_IN_PARAMETER('TIME_WINDOW_START') AS window_start
        FROM buyers b JOIN earlier e ON e.user_id = b.user_id
        """,
        {},
    ),
    "values_table": (
        """
        WITH prefixes (prefix, ad_product_label) AS (
          VALUES ('SP', 'Sponsored Products'), ('SB', 'Sponsored Brands'),
                 ('SD', 'Sponsored Display'), ('STV', 'Sponsored TV')
        ), traffic AS (
          SELECT campaign, SUM(impressions) AS impressions, COUNT(DISTINCT user_id) AS users
          FROM sponsored_ads_traffic
          GROUP BY campaign
        )
        SELECT p.ad_product_label, SUM(t.impressions) AS impressions, SUM(t.users) AS reach
        FROM traffic t
        JOIN prefixes p ON t.campaign LIKE p.prefix || ' |%'
        GROUP BY p.ad_product_label
        """,
        {},
    ),
    "approx_percentile_order_value": (
        """
        SELECT ad_product_type,
               APPROX_PERCENTILE(total_product_sales, 0.5) AS median_order,
               APPROX_PERCENTILE(total_product_sales, 0.9) AS p90_order,
               PERCENTILE(total_product_sales, 0.5) AS exact_median
        FROM amazon_attributed_events_by_conversion_time
        WHERE total_purchases > 0 AND ad_product_type IS NOT NULL
        GROUP BY ad_product_type
        """,
        {},
    ),
    "roas_traffic_x_conversions": (
        """
        WITH traffic AS (
          SELECT campaign_id_string, campaign, SUM(spend) / 100000000.0 AS spend
          FROM sponsored_ads_traffic
          GROUP BY campaign_id_string, campaign
        ), sales AS (
          SELECT campaign_id_string, SUM(total_product_sales) AS sales,
                 SUM(total_purchases) AS purchases
          FROM amazon_attributed_events_by_traffic_time
          WHERE ad_product_type IS NOT NULL
          GROUP BY campaign_id_string
        )
        SELECT t.campaign, t.spend, s.sales, s.purchases, s.sales / t.spend AS roas
        FROM traffic t JOIN sales s ON s.campaign_id_string = t.campaign_id_string
        WHERE t.spend > 0
        """,
        {},
    ),
    "clicks_joined_to_purchases": (
        """
        WITH clicks AS (
          SELECT user_id, campaign_id, event_dt_utc, customer_search_term
          FROM sponsored_ads_traffic
          WHERE clicks > 0 AND ad_product_type = 'sponsored_products'
        ), orders AS (
          SELECT user_id, campaign_id, traffic_event_dt_utc, total_purchases
          FROM amazon_attributed_events_by_traffic_time
          WHERE traffic_event_subtype = 'AD_CLICK' AND total_purchases > 0
        )
        SELECT c.customer_search_term, COUNT(*) AS attributed_orders,
               COUNT(DISTINCT c.user_id) AS buyers
        FROM orders o
        JOIN clicks c ON c.user_id = o.user_id AND c.campaign_id = o.campaign_id
         AND c.event_dt_utc = o.traffic_event_dt_utc
        GROUP BY c.customer_search_term
        """,
        {},
    ),
    "first_touch_row_number": (
        """
        WITH touches AS (
          SELECT user_id, ad_product_type, MIN(event_dt_utc) AS first_dt
          FROM sponsored_ads_traffic
          GROUP BY user_id, ad_product_type
        ), ranked AS (
          SELECT user_id, ad_product_type,
                 ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY first_dt) AS touch_order
          FROM touches
        )
        SELECT ad_product_type AS first_touch, COUNT(DISTINCT user_id) AS users
        FROM ranked
        WHERE touch_order = 1
        GROUP BY ad_product_type
        """,
        {},
    ),
    "new_to_brand_share": (
        """
        SELECT campaign,
               SUM(total_purchases) AS purchases,
               SUM(IF(new_to_brand, total_purchases, 0)) * 1.0 / SUM(total_purchases)
                 AS ntb_share,
               SUM(new_to_brand_total_product_sales) AS ntb_sales
        FROM amazon_attributed_events_by_conversion_time
        WHERE total_purchases > 0
        GROUP BY campaign
        """,
        {},
    ),
    "dsp_frequency": (
        """
        WITH per_user AS (
          SELECT user_id, SUM(impressions) AS impressions FROM dsp_impressions GROUP BY user_id
        )
        SELECT CASE WHEN impressions >= 10 THEN 10 ELSE impressions END AS frequency,
               COUNT(DISTINCT user_id) AS users
        FROM per_user
        GROUP BY 1
        """,
        {},
    ),
    "hour_of_day": (
        """
        SELECT event_hour, SUM(impressions) AS impressions, SUM(clicks) AS clicks
        FROM sponsored_ads_traffic
        GROUP BY event_hour
        """,
        {},
    ),
    "day_of_week": (
        """
        SELECT DAYOFWEEK(event_date) AS weekday, SUM(impressions) AS impressions
        FROM sponsored_ads_traffic
        GROUP BY 1
        """,
        {},
    ),
    "all_vs_attributed_purchases": (
        """
        WITH everything AS (
          SELECT SUM(total_units_sold) AS units, SUM(conversions) AS conversions,
                 COUNT(DISTINCT user_id) AS shoppers
          FROM conversions WHERE event_category = 'purchase'
        ), attributed AS (
          SELECT SUM(total_units_sold) AS units, COUNT(DISTINCT user_id) AS shoppers
          FROM amazon_attributed_events_by_conversion_time
          WHERE total_purchases > 0
        )
        SELECT e.units AS all_units, a.units AS attributed_units,
               e.shoppers AS all_shoppers, a.shoppers AS attributed_shoppers
        FROM everything e CROSS JOIN attributed a
        """,
        {},
    ),
    "conversion_time_reaches_back": (
        """
        SELECT MIN(traffic_event_dt_utc) AS earliest_traffic,
               MIN(conversion_event_dt_utc) AS earliest_conversion,
               MAX(conversion_event_date) AS last_conversion_date,
               SUM(conversions) AS conversions
        FROM amazon_attributed_events_by_conversion_time
        """,
        {},
    ),
    "funnel_union": (
        """
        WITH engaged AS (
          SELECT user_id, MAX(detail_page_view) AS viewed, MAX(add_to_cart) AS carted,
                 MAX(total_purchases) AS bought
          FROM amazon_attributed_events_by_traffic_time
          GROUP BY user_id
        )
        SELECT 1 AS step, 'detail_page_view' AS stage, COUNT(DISTINCT user_id) AS users
        FROM engaged WHERE viewed > 0
        UNION ALL
        SELECT 2, 'add_to_cart', COUNT(DISTINCT user_id) FROM engaged WHERE carted > 0
        UNION ALL
        SELECT 3, 'purchase', COUNT(DISTINCT user_id) FROM engaged WHERE bought > 0
        """,
        {},
    ),
}


@pytest.fixture(scope="module")
def results(amc_simulator):
    """Every query submitted (at most 8 at a time, under the instance's limit) and read."""
    from tests.amc_simulator.helpers import download

    amc_simulator.restore_config()
    headers = {
        "Authorization": f"Bearer {amc_simulator.issue_token()}",
        "Amazon-Advertising-API-ClientId": amc_simulator.client_id,
        "Amazon-Advertising-API-AdvertiserId": "ENTITYDEMO1A",
        "Amazon-Advertising-API-MarketplaceId": "ATVPDKIKX0DER",
    }
    import requests

    names = list(QUERIES)
    found = {}
    for start in range(0, len(names), 8):
        batch = {}
        for name in names[start : start + 8]:
            sql, values = QUERIES[name]
            body = {"workflow": {"sqlQuery": sql}, **WINDOW}
            if values:
                body["parameterValues"] = values
            response = requests.post(
                executions_url(amc_simulator), headers=headers, json=body, timeout=30
            )
            assert response.status_code == 200, (name, response.text)
            batch[name] = response.json()["workflowExecutionId"]
        for name, execution_id in batch.items():
            execution = wait(amc_simulator, headers, execution_id)
            assert execution["status"] == "SUCCEEDED", (name, execution)
            found[name] = download(amc_simulator, headers, execution_id)
    return found


def test_there_are_at_least_25_queries():
    assert len(QUERIES) >= 25


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_returns_rows(results, name):
    assert results[name], name


def test_dsp_ecpm_computed_the_public_way_is_plausible(results):
    for row in results["dsp_ecpm"]:
        assert 1 <= float(row["ecpm"]) <= 50, row
        assert row["campaign_id_string"].isdigit()


def test_dsp_impression_cost_is_the_sum_of_its_fees(results):
    for row in results["dsp_cost_breakdown"]:
        fees = float(row["supply_cost"]) + float(row["platform_fee"])
        assert float(row["impression_cost"]) == pytest.approx(fees, rel=0.01)
        assert float(row["total_cost"]) >= float(row["impression_cost"])
        assert row["campaign_id"].startswith("cid_") and row["currency_iso_code"] == "USD"


def test_sponsored_ads_ctr_cpc_and_ecpm_are_plausible(results):
    rows = results["sponsored_ctr_cpc"]
    assert {row["line_item_price_type"] for row in rows} == {"CPC", "VCPM"}
    for row in rows:
        assert 0 < float(row["ctr"]) < 0.05, row
        assert 1 <= float(row["ecpm"]) <= 50, row
        assert 0.2 <= float(row["cpc"]) <= 20, row


def test_dsp_click_through_is_under_two_percent(results):
    assert all(0 <= float(row["ctr"]) < 0.02 for row in results["dsp_click_through"])


def test_daily_spend_covers_the_window_days(results):
    rows = results["daily_spend_cte"]
    assert 28 <= len(rows) <= 31
    assert all(float(row["spend"]) > 0 and int(row["campaigns"]) >= 5 for row in rows)


def test_running_totals_only_grow(results):
    by_campaign: dict[str, list] = {}
    for row in results["running_total"]:
        by_campaign.setdefault(row["campaign"], []).append(row)
    for rows in by_campaign.values():
        rows.sort(key=lambda r: r["event_date"])
        cumulative = [int(r["cumulative"]) for r in rows]
        assert cumulative == sorted(cumulative)
        assert cumulative[0] == int(rows[0]["impressions"])


def test_ranks_follow_spend(results):
    rows = sorted(results["rank_by_spend"], key=lambda r: int(r["spend_rank"]))
    spends = [float(r["spend"]) for r in rows]
    assert spends == sorted(spends, reverse=True)
    assert int(rows[0]["spend_rank"]) == 1


def test_ntile_puts_terms_in_four_quartiles(results):
    rows = results["ntile_quartiles"]
    assert {int(r["quartile"]) for r in rows} == {1, 2, 3, 4}
    top = min(int(r["impressions"]) for r in rows if r["quartile"] == "1")
    bottom = max(int(r["impressions"]) for r in rows if r["quartile"] == "4")
    assert top >= bottom


def test_lag_gives_the_previous_day(results):
    rows = sorted(results["lag_day_over_day"], key=lambda r: r["impression_date"])
    assert rows[0]["previous_day"] == ""
    for before, row in zip(rows, rows[1:], strict=False):
        assert int(row["previous_day"]) == int(before["impressions"])
        assert int(row["change"]) == int(row["impressions"]) - int(before["impressions"])


def test_collect_and_array_functions(results):
    rows = {r["campaign"]: r for r in results["collect_and_arrays"]}
    defense = next(r for name, r in rows.items() if "Brand Defense" in name)
    assert defense["match_types"] == "EXACT" and defense["has_exact"] == "true"
    generic = next(r for name, r in rows.items() if "Category Generic" in name)
    assert generic["match_types"] == "BROAD,PHRASE" and int(generic["ad_groups"]) == 2


def test_conversion_delays_run_from_minutes_to_the_attribution_window(results):
    rows = {r["delay_bucket"]: r for r in results["seconds_between"]}
    assert set(rows) == {
        "1 under an hour",
        "2 same day",
        "3 one to three days",
        "4 over three days",
    }
    assert all(int(r["purchases"]) > 0 for r in rows.values())
    assert int(rows["4 over three days"]["longest_seconds"]) <= 14 * DAY


def test_built_in_parameters_bound_the_events(results):
    (row,) = results["built_in_parameter"]
    assert 29 <= int(row["days"]) <= 31
    assert _ts(row["window_start"]) <= _ts(row["first_event"])
    assert _ts(row["last_event"]) < _ts(row["window_end"])


def test_custom_parameters_are_typed_values(results):
    assert {r["ad_product_type"] for r in results["custom_parameter_string"]} == {
        "sponsored_brands"
    }
    assert all(int(r["impressions"]) >= 1000 for r in results["custom_parameter_numbers"])
    assert {r["match_type"] for r in results["custom_parameter_list"]} == {"EXACT", "PHRASE"}


def test_similar_to_matches_anywhere(results):
    campaigns = [r["campaign"] for r in results["similar_to_prefix"]]
    assert campaigns and all(c.split(" |")[0] in ("SP", "SB", "SD") for c in campaigns)
    groups = {r["campaign_group"] for r in results["similar_to_anywhere"]}
    assert groups == {"retargeting", "prospecting"}


def test_extend_time_window_reads_before_the_window(results):
    (row,) = results["extend_time_window"]
    assert int(row["buyers"]) > 0
    start = _ts(row["window_start"])
    earliest = _ts(row["earliest_touch"])
    assert start - timedelta(days=30) <= earliest < start - timedelta(days=20)


def test_values_table_joins(results):
    labels = {r["ad_product_label"] for r in results["values_table"]}
    assert labels == {"Sponsored Products", "Sponsored Brands", "Sponsored Display", "Sponsored TV"}


def test_order_values_are_shop_prices(results):
    for row in results["approx_percentile_order_value"]:
        assert 10 <= float(row["median_order"]) <= 300, row
        assert float(row["p90_order"]) >= float(row["median_order"]) * 0.99


def test_roas_is_plausible(results):
    rows = results["roas_traffic_x_conversions"]
    assert all(0.05 < float(r["roas"]) < 100 for r in rows), rows
    assert all(int(r["purchases"]) > 0 for r in rows)


def test_purchases_credit_the_clicked_search_term(results):
    rows = results["clicks_joined_to_purchases"]
    assert sum(int(r["attributed_orders"]) for r in rows) > 0


def test_first_touches_are_ad_products(results):
    products = {r["first_touch"] for r in results["first_touch_row_number"]}
    assert "sponsored_products" in products


def test_new_to_brand_share_is_a_share(results):
    shares = [float(r["ntb_share"]) for r in results["new_to_brand_share"]]
    assert all(0 <= s <= 1 for s in shares) and 0 < sum(shares) / len(shares) < 1


def test_dsp_frequency_has_a_tail(results):
    users = {int(r["frequency"]): int(r["users"]) for r in results["dsp_frequency"]}
    assert users[1] > users[max(users)]


def test_hours_and_weekdays(results):
    assert {int(r["event_hour"]) for r in results["hour_of_day"]} <= set(range(24))
    assert {int(r["weekday"]) for r in results["day_of_week"]} == set(range(1, 8))


def test_all_purchases_include_the_attributed_ones(results):
    (row,) = results["all_vs_attributed_purchases"]
    assert int(row["all_units"]) > int(row["attributed_units"]) > 0


def test_conversion_time_table_reaches_back_to_earlier_traffic(results):
    (row,) = results["conversion_time_reaches_back"]
    assert _ts(row["earliest_traffic"]) < _ts(row["earliest_conversion"])
    assert _ts(row["earliest_conversion"]) >= _ts(days_ago(45))


def test_funnel_narrows(results):
    users = [int(r["users"]) for r in sorted(results["funnel_union"], key=lambda r: r["step"])]
    assert users == sorted(users, reverse=True) and users[-1] > 0
