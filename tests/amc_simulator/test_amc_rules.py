"""What AMC refuses, refused the AMC way; the threshold on final rows; the schema endpoint."""

import pytest
import requests

from recomamp.amc_simulator import RuntimeSettings, SimulatorConfig, cli, schema
from recomamp.amc_simulator.engine import Simulator

from .helpers import assert_amc_error, run, submit, window


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("SELECT user_id, SUM(impressions) AS n FROM dsp_impressions GROUP BY user_id", "user_id"),
        ("SELECT DISTINCT user_id FROM sponsored_ads_traffic", "user_id"),
        ("SELECT DISTINCT LOWER(user_id) AS user_id FROM dsp_clicks", "user_id"),
        (
            "WITH u AS (SELECT user_id FROM dsp_clicks) SELECT u.user_id AS shopper FROM u",
            "user_id",
        ),
        ("SELECT * FROM sponsored_ads_traffic", "SELECT *"),
        (
            "WITH t AS (SELECT * FROM dsp_clicks) SELECT campaign, COUNT(*) AS n FROM t "
            "GROUP BY campaign",
            "SELECT *",
        ),
        ("SELECT t.* FROM dsp_clicks t", "SELECT *"),
        (
            "SELECT c.campaign, SUM(i.impressions) AS impressions FROM dsp_clicks c "
            "RIGHT JOIN dsp_impressions i ON i.campaign_id = c.campaign_id GROUP BY c.campaign",
            "RIGHT JOIN",
        ),
    ],
)
def test_privacy_rules_are_refused_at_submit(amc_sim, amc_headers, sql, rule):
    error = assert_amc_error(submit(amc_sim, amc_headers(), sql), 400, "BAD_REQUEST")
    assert error["message"].startswith("Invalid query: ")
    assert rule in error["message"]
    assert error["details"]
    assert amc_sim.stats()["instances"]["amcrecodemo01"]["submits"] == 0  # nothing ran


def test_user_id_may_be_used_inside_the_query(amc_sim, amc_headers):
    sql = """
    WITH per_user AS (SELECT user_id, COUNT(*) AS n FROM dsp_clicks GROUP BY user_id)
    SELECT COUNT(DISTINCT user_id) AS users, SUM(n) AS clicks FROM per_user
    """
    (row,) = run(amc_sim, amc_headers(), sql)
    assert int(row["users"]) > 0
    counted = "SELECT COUNT(DISTINCT user_id) AS user_id FROM dsp_clicks"
    assert int(run(amc_sim, amc_headers(), counted)[0]["user_id"]) > 0


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT EXPLODE(COLLECT(campaign)) AS c FROM dsp_clicks", "EXPLODE"),
        ("SELECT campaign, NAMED_ROW('a', 1) AS r FROM dsp_clicks", "NAMED_ROW"),
        ("SELECT campaign, COUNT(*) AS n FROM TABLE(SOMETHING('dsp_clicks'))", "SOMETHING"),
        ("SELECT NO_SUCH_FUNCTION(campaign) AS x FROM dsp_clicks", "NO_SUCH_FUNCTION"),
    ],
)
def test_unsupported_function_is_named(amc_sim, amc_headers, sql, name):
    error = assert_amc_error(submit(amc_sim, amc_headers(), sql), 400, "BAD_REQUEST")
    assert f"Unsupported function {name}" in error["message"]
    assert "syntax error" not in error["details"]


def test_extend_time_window_with_a_bad_duration_is_refused(amc_sim, amc_headers):
    sql = (
        "SELECT COUNT(DISTINCT user_id) AS users "
        "FROM TABLE(EXTEND_TIME_WINDOW('dsp_clicks', '30 days', 'P0D'))"
    )
    error = assert_amc_error(submit(amc_sim, amc_headers(), sql), 400)
    assert "ISO-8601" in error["details"]


def test_missing_custom_parameter_value_is_named(amc_sim, amc_headers):
    sql = (
        "SELECT campaign, SUM(clicks) AS clicks FROM sponsored_ads_traffic "
        "WHERE ad_product_type = CUSTOM_PARAMETER('ad_product') GROUP BY campaign"
    )
    error = assert_amc_error(submit(amc_sim, amc_headers(), sql), 400)
    assert "CUSTOM_PARAMETER('ad_product')" in error["details"]
    bad = submit(amc_sim, amc_headers(), sql, parameterValues=["sponsored_brands"])
    assert "parameterValues" in assert_amc_error(bad, 400)["details"]


def test_parameter_values_are_echoed_on_the_execution(amc_sim, amc_headers):
    sql = (
        "SELECT campaign, SUM(clicks) AS clicks FROM sponsored_ads_traffic "
        "WHERE ad_product_type = CUSTOM_PARAMETER('ad_product') GROUP BY campaign"
    )
    response = submit(
        amc_sim, amc_headers(), sql, parameterValues={"ad_product": "sponsored_products"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["parameterValues"] == {"ad_product": "sponsored_products"}


# Search terms have a long tail: at threshold 100 the head survives and the tail is dropped.
# Ranked from the smallest, so that dropping the tail first would change every survivor's rank.
RANKED_TERMS = """
SELECT customer_search_term,
       SUM(impressions) AS impressions,
       RANK() OVER (ORDER BY SUM(impressions)) AS term_rank,
       SUM(SUM(impressions)) OVER (ORDER BY SUM(impressions), customer_search_term
                                   ROWS UNBOUNDED PRECEDING) AS running_impressions
FROM sponsored_ads_traffic
WHERE customer_search_term IS NOT NULL
GROUP BY customer_search_term
"""


def test_threshold_applies_to_final_rows_so_ranks_do_not_change(
    amc_sim, make_amc_instance, amc_headers
):
    lenient = make_amc_instance(aggregation_threshold=1)
    strict = make_amc_instance(aggregation_threshold=100)
    every = run(amc_sim, amc_headers(lenient), RANKED_TERMS, lenient.instance_id, **window(21, 14))
    kept = run(amc_sim, amc_headers(strict), RANKED_TERMS, strict.instance_id, **window(21, 14))
    assert 0 < len(kept) < len(every), "some terms must fall under 100 users, some not"
    ranks = {r["customer_search_term"]: (r["term_rank"], r["running_impressions"]) for r in every}
    for row in kept:
        assert (row["term_rank"], row["running_impressions"]) == ranks[row["customer_search_term"]]
    assert min(int(row["term_rank"]) for row in kept) > 1  # ranked among the dropped rows


def test_threshold_below_amcs_minimum_needs_test_mode(tmp_path):
    with pytest.raises(ValueError, match="test mode"):
        Simulator(data_dir=tmp_path, config=SimulatorConfig(runtime=RuntimeSettings(5)))
    demo = Simulator(data_dir=tmp_path, config=SimulatorConfig())
    with pytest.raises(ValueError, match="minimum of 100"):
        demo.update_runtime({"aggregation_threshold": 99})
    assert demo.runtime.aggregation_threshold == 100
    testing = Simulator(data_dir=tmp_path, config=SimulatorConfig(test_mode=True))
    assert testing.update_runtime({"aggregation_threshold": 1}).aggregation_threshold == 1


def test_demo_command_refuses_a_low_threshold_without_test_mode(tmp_path):
    parser = __import__("argparse").ArgumentParser()
    cli.add_arguments(parser, default_data_dir=tmp_path)
    options = vars(parser.parse_args(["--threshold", "5", "--port", "0"]))
    with pytest.raises(SystemExit, match="--test-mode"):
        cli.run(options)


def test_schema_endpoint_lists_every_table_with_units(amc_sim, amc_headers):
    body = requests.get(f"{amc_sim.url}/_simulator/schema", timeout=10).json()
    tables = {t["name"]: t for t in body["tables"]}
    assert set(tables) == set(schema.TABLE_COLUMNS)
    dsp = {c["name"]: c for c in tables["dsp_impressions"]["columns"]}
    assert "millicents" in dsp["total_cost"]["unit"]
    traffic = {c["name"]: c for c in tables["sponsored_ads_traffic"]["columns"]}
    assert "microcents" in traffic["spend"]["unit"]
    attributed = {c["name"] for c in tables["amazon_attributed_events_by_traffic_time"]["columns"]}
    assert {"campaign_id_string", "traffic_event_dt_utc", "conversion_event_dt_utc"} <= attributed
    one = requests.get(f"{amc_sim.url}/_simulator/schema/conversions", timeout=10)
    assert one.json()["name"] == "conversions"
    missing = requests.get(f"{amc_sim.url}/_simulator/schema/nope", timeout=10)
    assert missing.status_code == 404


@pytest.mark.parametrize("table", sorted(schema.TABLE_COLUMNS))
def test_queries_see_exactly_the_served_columns(amc_sim, amc_headers, table):
    # Every served column can be selected (aggregated, so that the rows pass the threshold).
    columns = [c.name for c in schema.TABLE_COLUMNS[table] if c.name != "user_id"]
    sql = "SELECT " + ", ".join(f"COUNT({c}) AS {c}" for c in columns) + f" FROM {table}"
    (row,) = run(amc_sim, amc_headers(), sql)
    assert list(row) == columns
