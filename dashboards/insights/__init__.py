"""Insights with calibrated confidence, computed from daily series by statistics.

Pure Python (numpy, scipy, statsmodels); the statistics import nothing of Django. The Django
side: store.py (`store_view_insights(view=...)`, which the dashboard refresh calls: the view's
daily series from the dashboard's aggregates in, its DashboardInsight rows replaced;
`replace_view_insights(view=..., findings=...)`), services.py and api.py (analysts' feedback).

Interface
---------
    from dashboards.insights import SeriesKey, find_insights

    findings = find_insights(
        {
            SeriesKey("spend", "SP | Brand Defense"): [(date(2026, 9, 1), 812.5), ...],
            SeriesKey("sales", "SP | Brand Defense"): [...],
            SeriesKey("spend"): [...],  # group "" = the report's total
        },
        as_of=date.today(),  # the day of the refresh
        lag_days=14,  # AMC's data lag: days after as_of - lag_days are left out
    )

- Keys: `SeriesKey(metric, group="")`; a (metric, group) tuple or a metric string also works.
  Values: (date, number) pairs in any order; numbers may be int, float, Decimal or None (None
  and non-finite values are skipped; duplicate days are summed; missing days count as 0).
  Spend and sales must be in one currency unit (AMC's spend is microcents: divide by 1e8).
- Returns `Finding`s with confidence >= 0.8 (`publish_at`), most confident first:
  `insight_type` (trend, anomaly, comparison, summary, recommendation), `text`, `confidence`
  in [0, 1], `source_data` (JSON-ready: method, version, raw score, p-value, BH q-value, n,
  window, as_of, lag), `ai_model` and `prompt_version` (method and version), plus `key`,
  `direction` and `window` for callers. These map one to one onto DashboardInsight.
- `summary_findings({group: GroupTotals(spend, sales)}, previous=..., period=...)` gives the
  summary facts (totals, ROAS as a ratio of sums, top contributors, biggest movers) from sums
  the caller already has; find_insights calls it with the last 28 complete days of the
  `spend`/`sales` series of each group.

Method (version in model.VERSION, recorded with every finding)
--------------------------------------------------------------
- Trend (>= 28 days; the last 91): log series, STL (period 7), Theil–Sen slope of the
  de-seasonalised series, significance from GLSAR with AR(1) errors; % a week with a 90%
  interval. Raw score |t|.
- Anomaly (>= 28 days; the last 365): MAD z of non-robust STL residuals; days above the
  threshold found by simulation, consecutive days grouped into one finding. Raw score |z|.
- Comparison (>= 9 weeks): the last 7 days against the 7 before, as a robust z against the
  series' own week-long changes over the previous 26 weeks (and their rank). Raw score |z|.
- Summary: deterministic facts (confidence 1). Recommendation: rules in rules.py; confidence
  = the lowest confidence of what it rests on.
- Confidence = min(P(true | raw score), 1 - q): P(true | score) from a table built by
  simulation (null series from a block bootstrap of series' own residuals, effects of known
  size planted in a known share), q the Benjamini–Hochberg adjusted p-value across all series
  of the refresh (per kind), the p-value from the simulated null distribution. Never 1 - p.
  `python -m dashboards.insights.build_tables` regenerates calibration_tables.json.
"""

from typing import Any

__all__ = [
    "Finding",
    "GroupTotals",
    "SeriesKey",
    "find_insights",
    "replace_view_insights",
    "store_view_insights",
    "summary_findings",
    "view_series",
]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package (e.g. for store.py or the API) does not load statsmodels.
    if name == "find_insights":
        from dashboards.insights.engine import find_insights

        return find_insights
    if name in ("Finding", "SeriesKey"):
        from dashboards.insights import model

        return getattr(model, name)
    if name in ("store_view_insights", "replace_view_insights", "view_series"):
        from dashboards.insights import store

        return getattr(store, name)
    if name in ("GroupTotals", "summary_findings"):
        from dashboards.insights import summary

        return getattr(summary, name)
    raise AttributeError(name)
