"""The synthetic dataset: exact schema, determinism and the shapes a demo should show.

Generation time is reported (see the simulator's start-up output), never asserted.
"""

import re
from datetime import date, timedelta

import duckdb
import pytest

from recomamp.amc_simulator import dataset

ANCHOR = date(2026, 11, 23)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    directory = tmp_path_factory.mktemp("datasets")
    info = dataset.ensure_dataset(directory, seed=7, anchor=ANCHOR, size="test")
    return info


@pytest.fixture(scope="module")
def con(generated):
    connection = duckdb.connect(str(generated.path), read_only=True)
    yield connection
    connection.close()


def test_same_seed_and_date_give_the_same_data(generated, tmp_path):
    again = dataset.generate(tmp_path / "again.duckdb", seed=7, anchor=ANCHOR, size="test")
    assert dataset.checksum(again.path) == dataset.checksum(generated.path)
    assert again.row_counts == generated.row_counts


def test_another_seed_gives_other_data(generated, tmp_path):
    other = dataset.generate(tmp_path / "other.duckdb", seed=8, anchor=ANCHOR, size="test")
    assert dataset.checksum(other.path) != dataset.checksum(generated.path)


def test_cached_file_is_reused(generated):
    again = dataset.ensure_dataset(generated.path.parent, seed=7, anchor=ANCHOR, size="test")
    assert again.path == generated.path
    assert again.generated_seconds == generated.generated_seconds


def test_tables_and_columns_are_exactly_amcs(con):
    for table, columns in dataset.TABLES.items():
        described = con.execute(f"DESCRIBE amc_raw.{table}").fetchall()
        assert [(row[0], row[1]) for row in described] == columns, table


def test_fourteen_months_of_data_end_on_the_anchor_date(con, generated):
    first, last = con.execute(
        "SELECT MIN(event_date_utc), MAX(event_date) FROM amc_raw.sponsored_ads_traffic"
    ).fetchone()
    assert first <= ANCHOR - timedelta(days=425)
    assert last == ANCHOR
    assert generated.first_day == ANCHOR - timedelta(days=dataset.DAYS - 1)


def test_dimensions_look_like_amcs(con):
    asins = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT creative_asin FROM amc_raw.sponsored_ads_traffic"
        ).fetchall()
    ]
    assert asins and all(re.fullmatch(r"B0[0-9A-Z]{8}", asin) for asin in asins)
    products = {
        row[0]
        for row in con.execute(
            "SELECT DISTINCT ad_product_type FROM amc_raw.sponsored_ads_traffic"
        ).fetchall()
    }
    assert products == {
        "sponsored_products",
        "sponsored_brands",
        "sponsored_display",
        "sponsored_television",
    }
    matches = {
        row[0]
        for row in con.execute(
            "SELECT DISTINCT match_type FROM amc_raw.sponsored_ads_traffic "
            "WHERE match_type IS NOT NULL"
        ).fetchall()
    }
    assert matches == {"BROAD", "PHRASE", "EXACT"}
    terms = con.execute(
        "SELECT COUNT(DISTINCT customer_search_term) FROM amc_raw.sponsored_ads_traffic"
    ).fetchone()[0]
    assert terms >= 15
    dsp = con.execute("SELECT COUNT(DISTINCT campaign) FROM amc_raw.dsp_impressions").fetchone()
    assert dsp[0] >= 2


def test_spend_is_in_microcents_and_dsp_costs_in_millicents(con):
    cpc = con.execute(
        "SELECT AVG(spend) / 100000000.0 FROM amc_raw.sponsored_ads_traffic "
        "WHERE clicks = 1 AND ad_product_type = 'sponsored_products'"
    ).fetchone()[0]
    assert 0.5 < cpc < 3.0  # dollars per click
    ecpm = con.execute(
        "SELECT SUM(total_cost) / 100000.0 / SUM(impressions) * 1000 FROM amc_raw.dsp_impressions"
    ).fetchone()[0]
    assert 1 < ecpm < 50  # dollars per thousand impressions


def _daily(con, where: str = "") -> dict[date, int]:
    return dict(
        con.execute(
            f"SELECT event_date, SUM(impressions) FROM amc_raw.sponsored_ads_traffic {where} "
            "GROUP BY event_date"
        ).fetchall()
    )


def test_weekly_seasonality_upward_trend_promotion_and_anomaly(con, generated):
    daily = _daily(con)
    by_weekday = {}
    for day, value in daily.items():
        by_weekday.setdefault(day.weekday(), []).append(value)
    mean = {k: sum(v) / len(v) for k, v in by_weekday.items()}
    assert mean[5] > mean[1] * 1.1  # Saturday above Tuesday

    days = sorted(daily)
    first_quarter = sum(daily[d] for d in days[:90] if d not in generated.promo_days)
    last_quarter = sum(daily[d] for d in days[-104:-14])
    assert last_quarter > first_quarter * 1.2

    promo = sum(daily[d] for d in generated.promo_days) / len(generated.promo_days)
    before = [generated.promo_days[0] - timedelta(days=k) for k in range(8, 22)]
    assert promo > 1.5 * sum(daily[d] for d in before) / len(before)

    anomaly = daily[generated.anomaly_day]
    neighbours = [daily[generated.anomaly_day + timedelta(days=k)] for k in (-7, 7)]
    assert anomaly > 1.6 * max(neighbours)


def test_funnel_narrows_from_impressions_to_purchases(con):
    impressions, clicks = con.execute(
        "SELECT COUNT(DISTINCT user_id), COUNT(DISTINCT user_id) FILTER (WHERE clicks > 0) "
        "FROM amc_raw.sponsored_ads_traffic"
    ).fetchone()
    viewed, carted, bought = con.execute(
        "SELECT COUNT(DISTINCT user_id) FILTER (WHERE detail_page_view > 0), "
        "COUNT(DISTINCT user_id) FILTER (WHERE add_to_cart > 0), "
        "COUNT(DISTINCT user_id) FILTER (WHERE purchases > 0) "
        "FROM amc_raw.amazon_attributed_events_by_traffic_time"
    ).fetchone()
    assert impressions > clicks > bought > 0
    assert viewed > carted > bought


def test_purchases_split_into_new_to_brand_and_repeat(con):
    ntb, repeat = con.execute(
        "SELECT SUM(purchases) FILTER (WHERE new_to_brand), "
        "SUM(purchases) FILTER (WHERE NOT new_to_brand) "
        "FROM amc_raw.amazon_attributed_events_by_traffic_time"
    ).fetchone()
    assert ntb > 0 and repeat > 0
    assert 0.15 < ntb / (ntb + repeat) < 0.8


def test_frequency_has_a_long_tail_and_campaigns_overlap(con):
    frequencies = con.execute(
        "SELECT n FROM (SELECT user_id, COUNT(*) AS n FROM amc_raw.dsp_impressions "
        "GROUP BY user_id)"
    ).fetchall()
    values = sorted(v[0] for v in frequencies)
    assert values[len(values) // 2] < values[int(len(values) * 0.99)] / 4
    shared = con.execute(
        "SELECT COUNT(*) FROM (SELECT DISTINCT user_id FROM amc_raw.sponsored_ads_traffic) s "
        "JOIN (SELECT DISTINCT user_id FROM amc_raw.dsp_impressions) d USING (user_id)"
    ).fetchone()[0]
    assert shared > 0


def test_attributed_conversions_follow_their_traffic(con):
    bad = con.execute(
        "SELECT COUNT(*) FROM amc_raw.amazon_attributed_events_by_traffic_time "
        "WHERE conversion_event_dt < traffic_event_dt "
        "OR conversion_event_dt > traffic_event_dt + INTERVAL 14 DAY"
    ).fetchone()[0]
    assert bad == 0
    clicks_match = con.execute(
        "SELECT COUNT(*) FROM amc_raw.amazon_attributed_events_by_traffic_time a "
        "JOIN amc_raw.sponsored_ads_traffic t ON t.user_id = a.user_id "
        "AND t.campaign_id = a.campaign_id AND t.event_dt_utc = a.traffic_event_dt_utc "
        "AND t.clicks = 1 WHERE a.traffic_event_subtype = 'AD_CLICK'"
    ).fetchone()[0]
    assert clicks_match > 0


def test_conversion_delays_are_long_tailed_up_to_the_attribution_window(con):
    seconds = [
        row[0]
        for row in con.execute(
            "SELECT epoch(conversion_event_dt_utc) - epoch(traffic_event_dt_utc) "
            "FROM amc_raw.amazon_attributed_events_by_traffic_time WHERE total_purchases > 0"
        ).fetchall()
    ]
    hour, day = 3600, 86400
    assert min(seconds) < 10 * 60
    assert sum(s < hour for s in seconds) / len(seconds) > 0.1
    assert sum(s > 3 * day for s in seconds) / len(seconds) > 0.03
    assert sum(s > 10 * day for s in seconds) > 0
    assert max(seconds) <= 14 * day


def test_advertiser_time_columns_are_utc_moved_to_new_york(con):
    offsets = con.execute(
        "SELECT DISTINCT epoch(traffic_event_dt_utc) - epoch(traffic_event_dt) "
        "FROM amc_raw.amazon_attributed_events_by_traffic_time"
    ).fetchall()
    assert {row[0] for row in offsets} == {4 * 3600, 5 * 3600}
    same = con.execute(
        "SELECT COUNT(*) FROM amc_raw.amazon_attributed_events_by_traffic_time "
        "WHERE traffic_event_date <> CAST(traffic_event_dt AS DATE) "
        "OR conversion_event_date <> CAST(conversion_event_dt AS DATE) "
        "OR campaign_id_string <> CAST(campaign_id AS VARCHAR)"
    ).fetchone()[0]
    assert same == 0


def test_planted_dates_are_the_documented_ones(generated, con):
    # dataset.py's docstring: promotion July 8-14 of the latest year whose July 30 is on or
    # before the anchor; the anomalous day 37 days before the anchor, with costs x3.2.
    assert generated.promo_days == tuple(date(2026, 7, 8) + timedelta(days=k) for k in range(7))
    assert generated.anomaly_day == ANCHOR - timedelta(days=37)
    cpc = dict(
        con.execute(
            "SELECT event_date, SUM(spend) / SUM(clicks) FROM amc_raw.sponsored_ads_traffic "
            "WHERE ad_product_type = 'sponsored_products' AND event_date IN (?, ?) "
            "GROUP BY event_date",
            [generated.anomaly_day, generated.anomaly_day - timedelta(days=7)],
        ).fetchall()
    )
    ratio = cpc[generated.anomaly_day] / cpc[generated.anomaly_day - timedelta(days=7)]
    assert 2.5 < ratio < 4
