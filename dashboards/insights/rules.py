"""Recommendations: explicit rules over findings and facts.

A recommendation's confidence is the lowest confidence of the findings it rests on (facts
computed exactly from the data count as 1). Each rule is a function with the sentence it
produces; `source_data["rests_on"]` lists what it rests on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dashboards.insights.model import (
    ANOMALY,
    METHOD,
    RECOMMENDATION,
    TREND,
    VERSION,
    Finding,
    SeriesKey,
)

LOW_ROAS = 1.0
LOW_ROAS_DAYS = 14
LOW_ROAS_SPEND_SHARE = 0.10
RECENT_DAYS = 7


def recommendations(
    findings: list[Finding],
    *,
    daily: Mapping[SeriesKey, Any],
    spend_metric: str = "spend",
    sales_metric: str = "sales",
    publish_at: float = 0.8,
) -> list[Finding]:
    published = [f for f in findings if f.confidence >= publish_at]
    out = low_roas_taking_spend(daily, spend_metric, sales_metric)
    out += sales_falling_while_spend_is_not(published, spend_metric, sales_metric)
    out += recent_spend_spike(published, daily, spend_metric)
    return out


def _recommendation(text: str, rests_on: list[dict], extra: dict) -> Finding:
    return Finding(
        insight_type=RECOMMENDATION,
        text=text,
        confidence=min(r["confidence"] for r in rests_on),
        source_data={"method": METHOD, "version": VERSION, "rests_on": rests_on, **extra},
    )


def _basis(finding: Finding) -> dict:
    return {
        "insight_type": finding.insight_type,
        "text": finding.text,
        "confidence": finding.confidence,
    }


def low_roas_taking_spend(daily, spend_metric: str, sales_metric: str) -> list[Finding]:
    """ "ROAS under 1 for 14 days while taking over 10% of spend": review the group."""
    spend = {k.group: d for k, d in daily.items() if k.metric == spend_metric and k.group}
    sales = {k.group: d for k, d in daily.items() if k.metric == sales_metric and k.group}
    if not spend or not sales:
        return []
    end = max(d.last for d in spend.values())
    start = end - timedelta(days=LOW_ROAS_DAYS - 1)

    def window_sum(d) -> float:
        if d is None:
            return 0.0
        lo, hi = max(0, (start - d.first).days), (end - d.first).days + 1
        return float(d.values[lo:hi].sum()) if hi > 0 else 0.0

    spent = {g: window_sum(d) for g, d in spend.items()}
    total = sum(spent.values())
    out = []
    if total <= 0:
        return out
    for group in sorted(spent):
        share = spent[group] / total
        sold = window_sum(sales.get(group))
        if share <= LOW_ROAS_SPEND_SHARE or spent[group] <= 0:
            continue
        ratio = sold / spent[group]
        if ratio >= LOW_ROAS:
            continue
        span = f"{start.strftime('%-d %b')} to {end.strftime('%-d %b %Y')}"
        fact = {
            "insight_type": "summary",
            "text": f"ROAS of {group} was {ratio:.2f} from {span} on {share * 100:.0f}% of spend.",
            "confidence": 1.0,
        }
        out.append(
            _recommendation(
                f"Review {group}: its ROAS was {ratio:.2f} over the {LOW_ROAS_DAYS} days "
                f"from {span} (under {LOW_ROAS:g}) while it took {share * 100:.0f}% of spend.",
                [fact],
                {
                    "rule": "roas_under_1_for_14_days_over_10pct_of_spend",
                    "group": group,
                    "roas": ratio,
                    "spend_share": share,
                    "n": LOW_ROAS_DAYS,
                    "window": [start.isoformat(), end.isoformat()],
                },
            )
        )
    return out


def sales_falling_while_spend_is_not(
    published: list[Finding], spend_metric: str, sales_metric: str
) -> list[Finding]:
    trends = {(f.key.metric, f.key.group): f for f in published if f.insight_type == TREND}
    out = []
    for (metric, group), finding in sorted(trends.items()):
        if metric != sales_metric or finding.direction >= 0:
            continue
        spend_trend = trends.get((spend_metric, group))
        if spend_trend is not None and spend_trend.direction < 0:
            continue
        name = group or "the account"
        weekly = abs(finding.source_data.get("weekly_change", 0.0)) * 100
        basis = [_basis(finding)] + ([_basis(spend_trend)] if spend_trend else [])
        out.append(
            _recommendation(
                f"Check {name}: sales are falling {weekly:.1f}% a week while spend is not.",
                basis,
                {
                    "rule": "sales_falling_spend_not",
                    "group": group,
                    "n": finding.source_data.get("n"),
                    "window": finding.source_data.get("window"),
                },
            )
        )
    return out


def recent_spend_spike(published: list[Finding], daily, spend_metric: str) -> list[Finding]:
    out = []
    for finding in published:
        if (
            finding.insight_type != ANOMALY
            or finding.key is None
            or finding.key.metric != spend_metric
            or finding.direction <= 0
            or finding.window is None
        ):
            continue
        series = daily.get(finding.key)
        if series is None or finding.window[1] < series.last - timedelta(days=RECENT_DAYS - 1):
            continue
        name = finding.key.group or "the account"
        out.append(
            _recommendation(
                f"Check the bids and budgets of {name}: spend was unusually high on "
                f"{finding.window[1].strftime('%-d %b %Y')}.",
                [_basis(finding)],
                {
                    "rule": "recent_spend_spike",
                    "group": finding.key.group,
                    "n": finding.source_data.get("n"),
                    "window": finding.source_data.get("window"),
                },
            )
        )
    return out
