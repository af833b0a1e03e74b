"""find_insights: every series of one dashboard refresh in, published findings out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from dashboards.insights import calibration, scores
from dashboards.insights.model import (
    ANOMALY,
    COMPARISON,
    METHOD,
    PUBLISH_AT,
    TREND,
    VERSION,
    Finding,
    SeriesKey,
)
from dashboards.insights.rules import recommendations
from dashboards.insights.summary import GroupTotals, summary_findings

AMC_LAG_DAYS = 14
SUMMARY_DAYS = 28


@dataclass(frozen=True)
class Daily:
    """One series made complete: every day from `first` to `last`, missing days as 0."""

    key: SeriesKey
    first: date
    values: np.ndarray
    dropped_in_lag: int  # days given that were inside the data lag and left out

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.values.size - 1)

    def day(self, index: int) -> date:
        return self.first + timedelta(days=int(index))


def as_key(key: Any) -> SeriesKey:
    if isinstance(key, SeriesKey):
        return key
    if isinstance(key, str):
        return SeriesKey(metric=key)
    metric, group = key
    return SeriesKey(metric=str(metric), group=str(group or ""))


def complete_daily(key: SeriesKey, points: Sequence[tuple[date, Any]], *, cutoff: date):
    """Sum duplicate days, drop days after `cutoff` (inside AMC's lag), fill gaps with 0."""
    totals: dict[date, float] = {}
    dropped = set()
    for day, value in points:
        if value is None:
            continue
        number = float(value)
        if not math.isfinite(number):
            continue
        if day > cutoff:
            dropped.add(day)
            continue
        totals[day] = totals.get(day, 0.0) + number
    if not totals:
        return None
    first, last = min(totals), max(totals)
    values = np.zeros((last - first).days + 1)
    for day, value in totals.items():
        values[(day - first).days] = value
    return Daily(key=key, first=first, values=values, dropped_in_lag=len(dropped))


def find_insights(
    series: Mapping[SeriesKey | tuple[str, str] | str, Sequence[tuple[date, Any]]],
    *,
    as_of: date,
    lag_days: int = AMC_LAG_DAYS,
    publish_at: float = PUBLISH_AT,
    spend_metric: str = "spend",
    sales_metric: str = "sales",
) -> list[Finding]:
    """Published findings (confidence >= publish_at) of one refresh, most confident first.

    See the package docstring for the contract.
    """
    cutoff = as_of - timedelta(days=lag_days)
    prepared = []
    for raw_key, points in series.items():
        daily = complete_daily(as_key(raw_key), points, cutoff=cutoff)
        if daily is not None:
            prepared.append(daily)
    # Every series runs to the report's last day: a campaign missing from the last days of a
    # report had none (a paused campaign must not be read as it was when it last ran).
    if prepared:
        end = max(d.last for d in prepared)
        prepared = [
            d
            if d.last == end
            else Daily(
                key=d.key,
                first=d.first,
                values=np.concatenate([d.values, np.zeros((end - d.last).days)]),
                dropped_in_lag=d.dropped_in_lag,
            )
            for d in prepared
        ]
    context = {"as_of": as_of.isoformat(), "lag_days": lag_days, "cutoff": cutoff.isoformat()}

    findings = _trends(prepared, context, publish_at)
    findings += _comparisons(prepared, context, publish_at)
    findings += _anomalies(prepared, context, publish_at)
    findings += _summaries(prepared, context, spend_metric, sales_metric)
    findings += recommendations(
        findings,
        daily={d.key: d for d in prepared},
        spend_metric=spend_metric,
        sales_metric=sales_metric,
    )
    findings = [f for f in findings if f.confidence >= publish_at]
    findings.sort(key=lambda f: (-f.confidence, f.insight_type, f.text))
    return findings


def _source(daily: Daily, context: dict, **extra) -> dict:
    return {
        "method": METHOD,
        "version": VERSION,
        "metric": daily.key.metric,
        "group": daily.key.group,
        **context,
        "dropped_days_in_lag": daily.dropped_in_lag,
        **extra,
    }


def _confidences(kind: str, raw: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min(P(true | score), 1 - BH q) for every test of one kind in the refresh."""
    q = calibration.bh_qvalues(p)
    p_true = calibration.p_true(raw, calibration.tables()[kind]["curve"])
    return np.minimum(p_true, 1.0 - q), q


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _day(value: date) -> str:
    return value.strftime("%-d %b %Y")


def _trends(prepared: list[Daily], context: dict, publish_at: float) -> list[Finding]:
    tests = []
    for daily in prepared:
        score = scores.trend_score(daily.values)
        if score is None or score.direction == 0:
            continue
        raw = abs(score.t)
        tests.append((daily, score, raw, calibration.p_value(TREND, raw, size=score.n)))
    if not tests:
        return []
    confidence, q = _confidences(
        TREND, np.array([t[2] for t in tests]), np.array([t[3] for t in tests])
    )
    findings = []
    for (daily, score, raw, p), conf, q_value in zip(tests, confidence, q, strict=True):
        if conf < publish_at:
            continue
        start = daily.last - timedelta(days=score.n - 1)
        low, high = score.weekly_interval
        verb = "rising" if score.direction > 0 else "falling"
        text = (
            f"{_sentence(daily.key.label)} is {verb} {abs(score.weekly_change) * 100:.1f}% a "
            f"week (90% interval {_pct(low)} to {_pct(high)}) over the {score.n} days to "
            f"{_day(daily.last)}, after weekly seasonality."
        )
        findings.append(
            Finding(
                insight_type=TREND,
                text=text,
                confidence=round(float(conf), 4),
                key=daily.key,
                direction=score.direction,
                window=(start, daily.last),
                source_data=_source(
                    daily,
                    context,
                    direction=score.direction,
                    raw_score=round(raw, 4),
                    score="|t| of the slope, GLSAR with AR(1) errors",
                    p_value=p,
                    q_value=round(float(q_value), 6),
                    n=score.n,
                    window=[start.isoformat(), daily.last.isoformat()],
                    weekly_change=round(score.weekly_change, 6),
                    weekly_interval=[round(low, 6), round(high, 6)],
                    theil_sen_slope_per_day=score.slope_per_day,
                    ar1_rho=round(score.rho, 4),
                ),
            )
        )
    return findings


def _comparisons(prepared: list[Daily], context: dict, publish_at: float) -> list[Finding]:
    tests = []
    for daily in prepared:
        score = scores.comparison_score(daily.values)
        if score is None or score.direction == 0:
            continue
        raw = abs(score.z)
        tests.append((daily, score, raw, calibration.p_value(COMPARISON, raw, size=score.history)))
    if not tests:
        return []
    confidence, q = _confidences(
        COMPARISON, np.array([t[2] for t in tests]), np.array([t[3] for t in tests])
    )
    findings = []
    for (daily, score, raw, p), conf, q_value in zip(tests, confidence, q, strict=True):
        if conf < publish_at:
            continue
        start = daily.last - timedelta(days=6)
        previous_start = start - timedelta(days=7)
        word = "higher" if score.direction > 0 else "lower"
        change = "" if math.isinf(score.change) else f"{abs(score.change) * 100:.0f}% "
        text = (
            f"{_sentence(daily.key.label)} was {change}{word} in the week to "
            f"{_day(daily.last)} than the week before ({_amount(score.current)} against "
            f"{_amount(score.previous)}), a larger change than {100 * (1 - score.rank_p):.0f}% "
            f"of its week-long changes over the previous {score.history} days."
        )
        findings.append(
            Finding(
                insight_type=COMPARISON,
                text=text,
                confidence=round(float(conf), 4),
                key=daily.key,
                direction=score.direction,
                window=(previous_start, daily.last),
                source_data=_source(
                    daily,
                    context,
                    direction=score.direction,
                    raw_score=round(raw, 4),
                    score="|robust z| of the week-over-week log change against its own history",
                    p_value=p,
                    q_value=round(float(q_value), 6),
                    rank_p=round(score.rank_p, 6),
                    n=score.history,
                    window=[previous_start.isoformat(), daily.last.isoformat()],
                    current=score.current,
                    previous=score.previous,
                    change=None if math.isinf(score.change) else round(score.change, 6),
                ),
            )
        )
    return findings


def _anomalies(prepared: list[Daily], context: dict, publish_at: float) -> list[Finding]:
    tested = []
    for daily in prepared:
        result = scores.anomaly_scores(daily.values)
        if result is not None:
            tested.append((daily, result, calibration.anomaly_bucket(result.tail)))
    if not tested:
        return []
    p = np.concatenate(
        [calibration.p_values(ANOMALY, np.abs(r.z), null=b["null"]) for _, r, b in tested]
    )
    p_true = np.concatenate([calibration.p_true(np.abs(r.z), b["curve"]) for _, r, b in tested])
    above = np.concatenate([np.abs(r.z) >= b["threshold"] for _, r, b in tested])
    q = calibration.bh_qvalues(p)
    confidence = np.where(above, np.minimum(p_true, 1.0 - q), 0.0)
    findings, offset = [], 0
    for daily, result, bucket in tested:
        n = result.n
        conf, qs, ps = (
            confidence[offset : offset + n],
            q[offset : offset + n],
            p[offset : offset + n],
        )
        offset += n
        first_index = daily.values.size - n
        sign = np.sign(result.z).astype(int)
        flagged = np.flatnonzero(conf >= publish_at)
        events: list[list[int]] = []
        for index in flagged:
            if events and index == events[-1][-1] + 1 and sign[index] == sign[events[-1][-1]]:
                events[-1].append(int(index))
            else:
                events.append([int(index)])
        for event in events:
            peak = max(event, key=lambda i: abs(result.z[i]))
            days = [daily.day(first_index + i) for i in event]
            direction = int(sign[peak])
            ratio = float(result.ratio[peak])
            size = f"{ratio:.1f}x" if ratio >= 1 else f"{ratio * 100:.0f}% of"
            when = (
                f"on {_day(days[0])}"
                if len(days) == 1
                else f"from {_day(days[0])} to {_day(days[-1])} (peak on "
                f"{_day(daily.day(first_index + peak))})"
            )
            word = "unusually high" if direction > 0 else "unusually low"
            text = (
                f"{_sentence(daily.key.label)} was {word} {when}: "
                f"{_amount(float(daily.values[first_index + peak]))}, {size} its expected "
                f"{_amount(float(result.expected[peak]))} for that day."
            )
            findings.append(
                Finding(
                    insight_type=ANOMALY,
                    text=text,
                    confidence=round(float(min(conf[i] for i in event)), 4),
                    key=daily.key,
                    direction=direction,
                    window=(days[0], days[-1]),
                    source_data=_source(
                        daily,
                        context,
                        direction=direction,
                        raw_score=round(float(abs(result.z[peak])), 4),
                        score="|MAD z| of the STL residual (log scale)",
                        threshold=bucket["threshold"],
                        residual_tail=round(result.tail, 4),
                        p_value=float(ps[peak]),
                        q_value=round(float(qs[peak]), 6),
                        n=n,
                        window=[days[0].isoformat(), days[-1].isoformat()],
                        series_window=[
                            daily.day(first_index).isoformat(),
                            daily.last.isoformat(),
                        ],
                        days=[
                            {
                                "date": daily.day(first_index + i).isoformat(),
                                "value": float(daily.values[first_index + i]),
                                "expected": round(float(result.expected[i]), 4),
                                "z": round(float(result.z[i]), 3),
                                "confidence": round(float(conf[i]), 4),
                            }
                            for i in event
                        ],
                    ),
                )
            )
    return findings


def _summaries(prepared: list[Daily], context: dict, spend_metric: str, sales_metric: str):
    """Totals of the last 28 complete days and the 28 before, from the spend/sales series."""
    cutoff = date.fromisoformat(context["cutoff"])
    end = min(cutoff, max((d.last for d in prepared), default=cutoff))
    start = end - timedelta(days=SUMMARY_DAYS - 1)
    before_end = start - timedelta(days=1)
    before_start = before_end - timedelta(days=SUMMARY_DAYS - 1)

    def window_sum(daily: Daily, first: date, last: date) -> float:
        lo = max(0, (first - daily.first).days)
        hi = (last - daily.first).days + 1
        return float(daily.values[lo:hi].sum()) if hi > 0 else 0.0

    groups: dict[str, dict[str, float]] = {}
    previous: dict[str, dict[str, float]] = {}
    for daily in prepared:
        if daily.key.metric not in (spend_metric, sales_metric) or not daily.key.group:
            continue
        field_name = "spend" if daily.key.metric == spend_metric else "sales"
        groups.setdefault(daily.key.group, {})[field_name] = window_sum(daily, start, end)
        previous.setdefault(daily.key.group, {})[field_name] = window_sum(
            daily, before_start, before_end
        )
    if not groups:
        return []
    has_previous = any(d.first <= before_start for d in prepared)
    return summary_findings(
        {g: GroupTotals(**v) for g, v in groups.items()},
        previous={g: GroupTotals(**v) for g, v in previous.items()} if has_previous else None,
        period=(start, end),
        context=context,
    )
