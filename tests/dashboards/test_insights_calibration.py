"""Calibration: published insights (confidence >= 0.8) are rarely false, planted effects are
found. Simulated series (weekly seasonality, AR(1) noise, heavy tails in some, Poisson counts in
small ones) from fixed seeds; they are drawn directly, not from the block bootstrap that built
the calibration tables, so the tables are tested out of sample.
"""

from tests.dashboards.insights_sim import run_refreshes


def test_null_series_almost_never_get_a_published_insight():
    # 400 series with no effect, in 10 refreshes of 40: every statistical insight is false.
    tally = run_refreshes(1, refreshes=10, per_refresh=40, days=180, kinds=(None,))
    # At most 5% of series may carry a false insight, shown with 95% confidence: the one-sided
    # Clopper-Pearson upper bound of the rate must be under 5% (with 400 series that needs an
    # observed rate of about 3% or less; the last run had 6 of 400, 1.5%, bound 2.9%).
    assert tally.false_per_series_upper() <= 0.05, tally


def test_at_most_5_percent_of_published_insights_are_false():
    # 480 series in 12 refreshes: a quarter null, a quarter each with a +25%/-20% step in the
    # last week, a x1.8/x0.4 one-day spike, a 3%-a-week trend.
    tally = run_refreshes(
        2, refreshes=12, per_refresh=40, days=180, kinds=(None, "step", "spike", "trend")
    )
    assert tally.published >= 250, tally
    # At most 5% of published insights are false, with 95% confidence: the one-sided
    # Clopper-Pearson upper bound of the false share is under 5% (last run: 7 false of 343
    # published, 2.0%, bound 3.8%).
    assert tally.false_share_upper() <= 0.05, tally
    # Most planted effects are found: at least 75% of 360 (last run 92.5%; the binomial
    # standard error near 90% is 1.6 points).
    assert tally.found / tally.planted >= 0.75, tally


def test_each_kind_of_planted_effect_is_mostly_found():
    for kind, seed in (("step", 3), ("spike", 4), ("trend", 5)):
        tally = run_refreshes(seed, refreshes=2, per_refresh=40, days=180, kinds=(kind,))
        # 80 series each: more than half found, with at least 2 standard errors (5.6 points)
        # to spare, i.e. at least 62% (last run: steps 90%, spikes 82%, trends 100%).
        assert tally.found / tally.planted >= 0.62, (kind, tally)
