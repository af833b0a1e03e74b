"""AMC functions DuckDB does not speak, translated (amc_sql.TRANSLATIONS and rewrite())."""

from datetime import date

from recomamp.amc_simulator.amc_sql import TRANSLATIONS

from .helpers import run


def test_each_translation_is_documented():
    assert all(t.amc and t.duckdb for t in TRANSLATIONS)
    names = {t.duckdb.split("(")[0] for t in TRANSLATIONS}
    assert {"built_in_parameter", "seconds_between", "dayofweek", "nvl", "collect"} <= names


def test_scalar_translations(amc_sim, amc_headers):
    sql = """
    SELECT SECONDS_BETWEEN(TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 01:00:30')
             AS seconds,
           DAYOFWEEK(DATE '2026-11-22') AS sunday,
           DAYOFWEEK(DATE '2026-11-28') AS saturday,
           NVL(NULL, 'fallback') AS nvl,
           NVL2('x', 'set', 'unset') AS nvl2,
           CHARINDEX('b', 'abcb') AS charindex,
           TO_DATE('2026-05-04') AS plain_date,
           TO_DATE('04/05/2026', 'dd/MM/yyyy') AS java_date,
           EPOCH_TO_UTC_TIMESTAMP(1767225600) AS from_seconds,
           EPOCH_TO_UTC_TIMESTAMP(1767225600000) AS from_millis,
           CONVERT_TIME_ZONE_FROM_UTC(TIMESTAMP '2026-07-01 12:00:00', 'America/New_York')
             AS new_york,
           EXTRACT(HOUR FROM TIMESTAMP '2026-07-01 12:34:00') AS hour,
           DATE_TRUNC('MONTH', TIMESTAMP '2026-07-15 12:00:00') AS month_start,
           IF(1 > 0, 'yes', 'no') AS if_value,
           CARDINALITY(ARRAY[1, 2, 3]) AS cardinality
    """
    row = run(amc_sim, amc_headers(), sql)[0]
    assert row["seconds"] == "3630"
    assert (row["sunday"], row["saturday"]) == ("1", "7")
    assert row["nvl"] == "fallback" and row["nvl2"] == "set"
    assert row["charindex"] == "2"
    assert row["plain_date"] == "2026-05-04"
    assert row["java_date"] == str(date(2026, 5, 4))
    assert row["from_seconds"].startswith("2026-01-01 00:00:00")
    assert row["from_millis"].startswith("2026-01-01 00:00:00")
    assert row["new_york"].startswith("2026-07-01 08:00:00")
    assert row["hour"] == "12"
    assert row["month_start"].startswith("2026-07-01")
    assert row["if_value"] == "yes"
    assert row["cardinality"] == "3"


def test_collect_and_percentiles_aggregate(amc_sim, amc_headers):
    sql = """
    SELECT ad_product_type,
           CARDINALITY(COLLECT(DISTINCT campaign)) AS campaigns,
           PERCENTILE(spend, 0.5) AS median_spend,
           APPROX_PERCENTILE(spend, 0.9) AS p90_spend
    FROM sponsored_ads_traffic
    GROUP BY ad_product_type
    """
    rows = {row["ad_product_type"]: row for row in run(amc_sim, amc_headers(), sql)}
    assert int(rows["sponsored_products"]["campaigns"]) >= 4
    assert float(rows["sponsored_products"]["p90_spend"]) >= 0
