"""Findings a person would check by hand: planted shapes, gates, rules, what is recorded."""

from datetime import date, timedelta

import numpy as np

from dashboards.insights import SeriesKey, find_insights
from dashboards.insights.model import METHOD, VERSION
from dashboards.insights.synthetic import Effect, ad_series

AS_OF = date(2026, 12, 1)
LAST = AS_OF - timedelta(days=14)


def series_of(values, *, last=LAST):
    n = len(values)
    return [(last - timedelta(days=n - 1 - i), float(v)) for i, v in enumerate(values)]


def calm(seed, n, **kwargs):
    return ad_series(np.random.default_rng(seed), n, level=1000.0, noise=0.04, phi=0.3, **kwargs)


def of_type(findings, kind, key=None):
    return [f for f in findings if f.insight_type == kind and (key is None or f.key == key)]


def test_a_tripled_day_is_an_anomaly_on_that_day_with_its_size():
    key = SeriesKey("spend", "Brand")
    values = calm(1, 200, effects=(Effect("spike", 3.0, 170),))
    findings = find_insights({key: series_of(values)}, as_of=AS_OF)
    [anomaly] = of_type(findings, "anomaly", key)
    spike_day = LAST - timedelta(days=29)
    assert anomaly.window == (spike_day, spike_day)
    assert anomaly.direction == 1 and anomaly.confidence >= 0.8
    assert "unusually high" in anomaly.text and "2.8x" <= anomaly.text.split(", ")[1][:4] <= "3.2x"
    data = anomaly.source_data
    assert data["raw_score"] >= data["threshold"] and data["n"] == 200
    assert data["window"] == [spike_day.isoformat()] * 2
    assert anomaly.ai_model == METHOD and anomaly.prompt_version == VERSION


def test_a_trend_is_stated_in_percent_a_week_with_an_interval_and_needs_28_days():
    key = SeriesKey("sales", "Launch")
    values = calm(2, 120, effects=(Effect("trend", np.log1p(0.05) / 7),))
    [trend] = of_type(find_insights({key: series_of(values)}, as_of=AS_OF), "trend")
    assert trend.direction == 1 and trend.confidence >= 0.8
    low, high = trend.source_data["weekly_interval"]
    assert low < 0.05 < high and low < trend.source_data["weekly_change"] < high
    assert "rising" in trend.text and "% a week (90% interval" in trend.text
    assert trend.source_data["n"] == 91
    short = {key: series_of(values[-27:])}
    assert not of_type(find_insights(short, as_of=AS_OF), "trend")


def test_week_over_week_needs_nine_weeks_and_ranks_against_its_own_history():
    key = SeriesKey("spend", "Generic")
    values = calm(3, 120, effects=(Effect("step", 1.5, 113),))
    [comparison] = of_type(find_insights({key: series_of(values)}, as_of=AS_OF), "comparison")
    assert comparison.direction == 1 and "higher in the week to" in comparison.text
    assert comparison.source_data["rank_p"] < 0.05
    assert comparison.window == (LAST - timedelta(days=13), LAST)
    assert not of_type(find_insights({key: series_of(values[-62:])}, as_of=AS_OF), "comparison")


def test_last_days_inside_the_amc_lag_are_left_out():
    key = SeriesKey("spend")
    values = calm(4, 120)
    # Data up to the refresh day: the last 14 days are incomplete at AMC and must be ignored,
    # even if they look like a collapse.
    values[-14:] *= 0.1
    findings = find_insights({key: series_of(values, last=AS_OF)}, as_of=AS_OF)
    assert not [f for f in findings if f.direction == -1]
    assert all(f.window is None or f.window[1] <= LAST for f in findings)


def test_low_roas_on_a_big_share_of_spend_is_a_recommendation():
    groups = {"Good": (1000.0, 4000.0), "Bad": (500.0, 300.0), "Tiny": (20.0, 5.0)}
    series = {}
    for group, (spend, sales) in groups.items():
        series[SeriesKey("spend", group)] = series_of(np.full(30, spend))
        series[SeriesKey("sales", group)] = series_of(np.full(30, sales))
    findings = find_insights(series, as_of=AS_OF)
    [rec] = of_type(findings, "recommendation")
    assert rec.text.startswith("Review Bad: its ROAS was 0.60 over the 14 days")
    assert "took 33% of spend" in rec.text and rec.confidence == 1.0
    [totals] = [f for f in of_type(findings, "summary") if f.source_data["fact"] == "totals"]
    assert np.isclose(totals.source_data["roas"], (4000 + 300 + 5) / (1000 + 500 + 20))


def test_a_recommendation_is_as_confident_as_its_weakest_finding():
    key = SeriesKey("spend", "Auto")
    values = calm(5, 150, effects=(Effect("spike", 4.0, 147),))
    findings = find_insights({key: series_of(values)}, as_of=AS_OF)
    [anomaly] = of_type(findings, "anomaly", key)
    [rec] = of_type(findings, "recommendation")
    assert rec.text.startswith("Check the bids and budgets of Auto")
    assert rec.confidence == min(r["confidence"] for r in rec.source_data["rests_on"])
    assert rec.confidence == anomaly.confidence


def test_only_confident_findings_are_published_and_each_records_how_it_was_made():
    rng = np.random.default_rng(6)
    series = {
        SeriesKey("spend", f"C{i}"): series_of(ad_series(rng, 150, noise=0.1)) for i in range(20)
    }
    for finding in find_insights(series, as_of=AS_OF):
        assert finding.confidence >= 0.8
        assert {"method", "version", "n", "window", "as_of", "lag_days"} <= set(finding.source_data)
        if finding.insight_type in ("trend", "anomaly", "comparison"):
            assert {"raw_score", "p_value", "q_value"} <= set(finding.source_data)
