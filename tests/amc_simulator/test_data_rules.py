"""Time window, data lag, retention and the aggregation threshold."""

from datetime import datetime, timedelta

import pytest
import sqlglot

from recomamp.amc_simulator import data_rules

from .helpers import days_ago, run, submit, today, wait

BOUNDS = """
SELECT MIN(event_dt_utc) AS first_event, MAX(event_dt_utc) AS last_event, COUNT(*) AS events
FROM sponsored_ads_traffic
"""


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_every_table_is_cut_to_the_window_in_utc(amc_sim, amc_headers):
    start, end = days_ago(40), days_ago(33)
    rows = run(
        amc_sim,
        amc_headers(),
        BOUNDS,
        timeWindowStart=start,
        timeWindowEnd=end,
        timeWindowTimeZone="America/New_York",
    )
    first, last = _ts(rows[0]["first_event"]), _ts(rows[0]["last_event"])
    # New York midnight is 04:00 or 05:00 UTC.
    assert _ts(start) + timedelta(hours=4) <= first < _ts(start) + timedelta(hours=6)
    assert _ts(end) - timedelta(hours=1) <= last < _ts(end) + timedelta(hours=5)

    sql = """
    SELECT 'dsp' AS t, MIN(impression_dt_utc) AS lo, MAX(impression_dt_utc) AS hi
    FROM dsp_impressions
    UNION ALL SELECT 'clicks', MIN(click_dt_utc), MAX(click_dt_utc) FROM dsp_clicks
    UNION ALL SELECT 'conv', MIN(event_dt_utc), MAX(event_dt_utc) FROM conversions
    UNION ALL SELECT 'by_traffic', MIN(traffic_event_dt_utc), MAX(traffic_event_dt_utc)
    FROM amazon_attributed_events_by_traffic_time
    UNION ALL SELECT 'by_conversion', MIN(conversion_event_dt_utc), MAX(conversion_event_dt_utc)
    FROM amazon_attributed_events_by_conversion_time
    """
    for row in run(
        amc_sim,
        amc_headers(),
        sql,
        timeWindowStart=start,
        timeWindowEnd=end,
        timeWindowTimeZone="UTC",
    ):
        assert _ts(start) <= _ts(row["lo"]) <= _ts(row["hi"]) < _ts(end), row


def test_built_in_parameters_are_the_window(amc_sim, amc_headers):
    sql = """
    SELECT BUILT_IN_PARAMETER('TIME_WINDOW_START') AS window_start,
           BUILT_IN_PARAMETER('TIME_WINDOW_END') AS window_end
    """
    rows = run(
        amc_sim,
        amc_headers(),
        sql,
        timeWindowStart="2026-06-01T00:00:00",
        timeWindowEnd="2026-06-08T00:00:00",
        timeWindowTimeZone="America/New_York",
    )
    assert _ts(rows[0]["window_start"]) == datetime(2026, 6, 1, 4)
    assert _ts(rows[0]["window_end"]) == datetime(2026, 6, 8, 4)


def test_trailing_z_is_accepted_but_returns_nothing(amc_sim, amc_headers):
    # AMC returns an empty file: an aggregate of nobody is no row (and no user).
    rows = run(
        amc_sim,
        amc_headers(),
        BOUNDS,
        timeWindowStart=days_ago(40) + "Z",
        timeWindowEnd=days_ago(33) + "Z",
    )
    assert rows == []
    assert run(
        amc_sim, amc_headers(), BOUNDS, timeWindowStart=days_ago(40), timeWindowEnd=days_ago(33)
    )
    grouped = run(
        amc_sim,
        amc_headers(),
        "SELECT campaign, COUNT(*) AS n FROM sponsored_ads_traffic GROUP BY campaign",
        timeWindowStart=days_ago(40) + "Z",
        timeWindowEnd=days_ago(33) + "Z",
    )
    assert grouped == []


def test_window_older_than_retention_fails(amc_sim, amc_headers):
    headers = amc_headers()
    response = submit(
        amc_sim, headers, BOUNDS, timeWindowStart=days_ago(430), timeWindowEnd=days_ago(400)
    )
    assert response.status_code == 200
    execution = wait(amc_sim, headers, response.json()["workflowExecutionId"])
    assert execution["status"] == "FAILED"
    assert execution["errorCode"] == execution["failureReason"] == "INVALID_TIME_WINDOW"
    assert (today() - timedelta(days=425)).isoformat() in execution["errorMessage"]


def test_window_at_the_retention_limit_runs(amc_sim, amc_headers):
    rows = run(
        amc_sim, amc_headers(), BOUNDS, timeWindowStart=days_ago(425), timeWindowEnd=days_ago(418)
    )
    assert int(rows[0]["events"]) > 0


def test_window_inside_the_data_lag_returns_no_rows(amc_sim, amc_headers):
    rows = run(
        amc_sim,
        amc_headers(),
        BOUNDS,
        timeWindowStart=days_ago(10),
        timeWindowEnd=days_ago(3),
        timeWindowTimeZone="UTC",
    )
    assert rows == []


def test_window_across_the_lag_returns_only_complete_days(amc_sim, amc_headers):
    rows = run(
        amc_sim,
        amc_headers(),
        BOUNDS,
        timeWindowStart=days_ago(20),
        timeWindowEnd=days_ago(0),
        timeWindowTimeZone="UTC",
    )
    last = _ts(rows[0]["last_event"])
    assert last < _ts(days_ago(13))
    assert last >= _ts(days_ago(14))


PER_CAMPAIGN_DAY = """
SELECT campaign, event_date_utc, COUNT(DISTINCT user_id) AS users
FROM sponsored_ads_traffic
GROUP BY campaign, event_date_utc
"""


def test_threshold_drops_rows_with_too_few_users(amc_sim, make_amc_instance, amc_headers):
    lenient = make_amc_instance(aggregation_threshold=1)
    all_rows = run(amc_sim, amc_headers(lenient), PER_CAMPAIGN_DAY, lenient.instance_id)
    counts = sorted(int(row["users"]) for row in all_rows)
    cut = counts[len(counts) // 2]
    strict = make_amc_instance(aggregation_threshold=cut)
    kept = run(amc_sim, amc_headers(strict), PER_CAMPAIGN_DAY, strict.instance_id)
    assert 0 < len(kept) < len(all_rows)
    assert all(int(row["users"]) >= cut for row in kept)
    assert len(kept) == sum(1 for c in counts if c >= cut)


def test_threshold_follows_users_through_joined_ctes(amc_sim, make_amc_instance, amc_headers):
    # The product's shape: two aggregated CTEs joined; rows live on the traffic side's users.
    sql = """
    WITH traffic AS (
      SELECT campaign_id, SUM(impressions) AS impressions FROM sponsored_ads_traffic
      GROUP BY campaign_id
    ), sales AS (
      SELECT campaign_id, SUM(purchases) AS purchases
      FROM amazon_attributed_events_by_traffic_time GROUP BY campaign_id
    )
    SELECT t.campaign_id, t.impressions, COALESCE(s.purchases, 0) AS purchases
    FROM traffic t LEFT JOIN sales s ON s.campaign_id = t.campaign_id
    """
    instance = make_amc_instance(aggregation_threshold=100)
    rows = run(amc_sim, amc_headers(instance), sql, instance.instance_id)
    assert rows, "campaign totals have hundreds of users even at test size"
    assert sum(int(row["purchases"]) for row in rows) > 0
    assert all(set(row) == {"campaign_id", "impressions", "purchases"} for row in rows)

    impossible = make_amc_instance(aggregation_threshold=10**9)
    assert run(amc_sim, amc_headers(impossible), sql, impossible.instance_id) == []


def test_event_level_output_is_dropped(amc_sim, amc_headers):
    rows = run(
        amc_sim, amc_headers(), "SELECT campaign, event_dt_utc FROM sponsored_ads_traffic LIMIT 5"
    )
    assert rows == []


def _rewrite(sql: str, threshold: int = 100) -> str:
    statement = sqlglot.parse_one(sql, read="duckdb")
    data_rules.apply_threshold(statement, threshold)
    return statement.sql("duckdb")


OUTPUT_USERS = f"COUNT(DISTINCT user_id) AS {data_rules.OUTPUT_USERS_COLUMN}"


def test_rewrite_counts_users_in_the_outermost_grouped_select():
    # The count is an output column, filtered on once the whole query has run.
    sql = _rewrite("SELECT campaign, SUM(clicks) FROM sponsored_ads_traffic GROUP BY campaign")
    assert f"SUM(clicks), {OUTPUT_USERS} FROM" in sql
    assert "HAVING" not in sql


def test_rewrite_treats_per_user_groups_as_one_user_each():
    sql = _rewrite(
        "WITH u AS (SELECT user_id, SUM(impressions) AS n FROM dsp_impressions GROUP BY user_id)"
        " SELECT n, COUNT(*) AS users FROM u GROUP BY n"
    )
    assert sql.endswith(f"SELECT n, COUNT(*) AS users, {OUTPUT_USERS} FROM u GROUP BY n")


def test_rewrite_applies_to_each_branch_of_a_union():
    sql = _rewrite(
        "SELECT 'a' AS k, COUNT(*) AS n FROM dsp_clicks UNION ALL "
        "SELECT 'b', COUNT(*) FROM dsp_impressions"
    )
    assert sql.count(OUTPUT_USERS) == 2


def test_rewrite_filters_inside_a_union_that_removes_duplicates():
    sql = _rewrite(
        "SELECT 'a' AS k, COUNT(*) AS n FROM dsp_clicks UNION "
        "SELECT 'b', COUNT(*) FROM dsp_impressions"
    )
    assert sql.count("HAVING COUNT(DISTINCT user_id) >= 100") == 2


def test_rewrite_leaves_queries_without_user_data_alone():
    assert _rewrite("SELECT 1 AS one") == "SELECT 1 AS one"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo", "Europe/London"])
def test_parse_window_converts_to_utc(zone):
    window = data_rules.parse_window(
        {
            "timeWindowType": "EXPLICIT",
            "timeWindowStart": "2026-03-08T00:00:00",
            "timeWindowEnd": "2026-03-09T00:00:00",
            "timeWindowTimeZone": zone,
        },
        today=today(),
        lag_days=14,
    )
    assert window.end_utc > window.start_utc
    assert not window.zulu
