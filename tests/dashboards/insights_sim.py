"""Simulated refreshes for the insights tests: series with and without planted effects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.stats import beta

from dashboards.insights import SeriesKey, find_insights
from dashboards.insights.synthetic import Effect, ad_series

AS_OF = date(2026, 12, 1)
CUTOFF = AS_OF - timedelta(days=14)
STATISTICAL = ("trend", "anomaly", "comparison")


def day_of(n: int, index: int) -> date:
    return CUTOFF - timedelta(days=n - 1 - index)


def planted_effect(rng: np.random.Generator, n: int, kind: str) -> Effect:
    up = rng.random() < 0.5
    if kind == "step":  # +25% (or -20%) for the whole last week
        return Effect("step", 1.25 if up else 0.8, n - 7)
    if kind == "spike":  # x1.8 (or x0.4) on one day of the last four months
        return Effect("spike", 1.8 if up else 0.4, int(rng.integers(n - 120, n - 3)))
    return Effect("trend", (1 if up else -1) * np.log1p(0.03) / 7)  # 3% a week


def is_true(finding, effect: Effect | None, n: int) -> bool:
    """A statistical finding is true when it states the planted effect's direction (for an
    anomaly: on the planted day)."""
    if effect is None or finding.direction != effect.direction:
        return False
    if effect.kind == "spike":
        return finding.insight_type == "anomaly" and (
            finding.window[0] <= day_of(n, effect.day) <= finding.window[1]
        )
    if effect.kind == "step" and finding.insight_type == "anomaly":
        return abs((finding.window[0] - day_of(n, effect.day)).days) <= 2
    return True


@dataclass
class Tally:
    series: int = 0
    planted: int = 0
    found: int = 0
    published: int = 0
    false: int = 0

    def false_share_upper(self, level: float = 0.95) -> float:
        """One-sided Clopper–Pearson upper bound of the share of false published findings."""
        return upper_bound(self.false, self.published, level)

    def false_per_series_upper(self, level: float = 0.95) -> float:
        return upper_bound(self.false, self.series, level)


def upper_bound(successes: int, trials: int, level: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper confidence bound of a binomial proportion."""
    if trials == 0:
        return 0.0
    if successes >= trials:
        return 1.0
    return float(beta.ppf(level, successes + 1, trials - successes))


def run_refreshes(
    seed: int, *, refreshes: int, per_refresh: int, days: int, kinds: tuple, noise=(0.04, 0.08)
) -> Tally:
    """`kinds` cycles over the series of a refresh; None = a null series."""
    rng = np.random.default_rng(seed)
    tally = Tally()
    for r in range(refreshes):
        series, truth = {}, {}
        for i in range(per_refresh):
            kind = kinds[i % len(kinds)]
            effect = planted_effect(rng, days, kind) if kind else None
            values = ad_series(
                rng, days, noise=float(rng.uniform(*noise)), effects=(effect,) if effect else ()
            )
            key = SeriesKey("spend", f"R{r} S{i}")
            series[key] = [(day_of(days, k), float(v)) for k, v in enumerate(values)]
            truth[key] = effect
        findings = [f for f in find_insights(series, as_of=AS_OF) if f.insight_type in STATISTICAL]
        tally.series += per_refresh
        tally.planted += sum(e is not None for e in truth.values())
        found = set()
        for finding in findings:
            tally.published += 1
            if is_true(finding, truth[finding.key], days):
                found.add(finding.key)
            else:
                tally.false += 1
        tally.found += len(found)
    return tally
