"""Properties of the insights that hold for any input."""

from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.insights import GroupTotals, SeriesKey, find_insights, summary_findings
from dashboards.insights.calibration import bh_qvalues
from dashboards.insights.synthetic import Effect, ad_series

AS_OF = date(2026, 12, 1)
KINDS = ("trend", "anomaly", "comparison", "summary", "recommendation")
# Amounts of money: nothing, or at least a millionth of a unit (a subnormal float such as
# 5e-324 is not an amount anyone spends, and scaled by 1e-8 it becomes 0).
money = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e7))


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.tuples(money, money), min_size=1))
def test_summary_roas_is_total_sales_over_total_spend(groups):
    totals = {name: GroupTotals(spend=s, sales=v) for name, (s, v) in groups.items()}
    fact = summary_findings(totals)[0]
    spend = sum(s for s, _ in groups.values())
    sales = sum(v for _, v in groups.values())
    if spend > 0:
        assert np.isclose(fact.source_data["roas"], sales / spend)
    else:
        assert fact.source_data["roas"] is None
    assert fact.confidence == 1.0


@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.tuples(money, money), min_size=1),
    st.sampled_from([0.01, 100.0, 1e8, 1 / 1e8]),
)
def test_summary_roas_does_not_depend_on_the_currency_unit(groups, scale):
    before = summary_findings({n: GroupTotals(s, v) for n, (s, v) in groups.items()})[0]
    after = summary_findings(
        {n: GroupTotals(s * scale, v * scale) for n, (s, v) in groups.items()}
    )[0]
    if before.source_data["roas"] is None:
        assert after.source_data["roas"] is None
    else:
        assert np.isclose(before.source_data["roas"], after.source_data["roas"], rtol=1e-9)


def _report(seed: int, days: int = 120) -> dict:
    rng = np.random.default_rng(seed)
    last = AS_OF - timedelta(days=14)
    dates = [last - timedelta(days=days - 1 - i) for i in range(days)]
    effects = {
        "A": (Effect("spike", 3.0, days - 20),),
        "B": (Effect("trend", 0.006),),
        "C": (Effect("step", 1.5, days - 7),),
    }
    series = {}
    for group, planted in effects.items():
        for metric in ("spend", "sales"):
            values = ad_series(rng, days, noise=0.05, effects=planted if metric == "spend" else ())
            series[SeriesKey(metric, group)] = list(zip(dates, values, strict=True))
    return series


def _signature(findings):
    return [
        (f.insight_type, f.key, f.direction, f.window, round(f.confidence, 3)) for f in findings
    ]


@settings(max_examples=6, deadline=None)
@given(st.sampled_from([1e-8, 0.01, 100.0, 1e8]))
def test_insights_do_not_depend_on_the_currency_unit(scale):
    series = _report(7)
    scaled = {k: [(d, v * scale) for d, v in points] for k, points in series.items()}
    assert _signature(find_insights(scaled, as_of=AS_OF)) == _signature(
        find_insights(series, as_of=AS_OF)
    )


values = st.one_of(
    st.floats(min_value=-10, max_value=1e9),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.integers(min_value=0, max_value=10**6),
    st.none(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 200), values), max_size=150),
        min_size=1,
        max_size=3,
    ),
    st.integers(0, 30),
)
def test_any_input_gives_confidences_in_0_1_and_nothing_from_inside_the_lag(raw, lag):
    series = {
        SeriesKey(metric, "G"): [(AS_OF - timedelta(days=back), v) for back, v in points]
        for metric, points in zip(("spend", "sales", "clicks"), raw, strict=False)
    }
    cutoff = AS_OF - timedelta(days=lag)
    for finding in find_insights(series, as_of=AS_OF, lag_days=lag, publish_at=0.0):
        assert 0.0 <= finding.confidence <= 1.0
        assert finding.insight_type in (
            "trend",
            "anomaly",
            "comparison",
            "summary",
            "recommendation",
        )
        if finding.window is not None:
            assert finding.window[1] <= cutoff


def test_days_inside_the_data_lag_change_nothing():
    series = _report(11)
    noisy = {
        k: points + [(AS_OF - timedelta(days=d), 1e9) for d in range(14)]
        for k, points in series.items()
    }
    assert _signature(find_insights(noisy, as_of=AS_OF)) == _signature(
        find_insights(series, as_of=AS_OF)
    )


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=200))
def test_bh_adjusted_p_values_are_at_least_p_and_keep_its_order(p):
    q = bh_qvalues(np.array(p))
    assert np.all(q >= np.array(p) - 1e-12) and np.all(q <= 1)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-12)
