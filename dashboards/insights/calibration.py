"""From raw scores to calibrated confidences, with the tables that build_tables.py simulated.

For each kind of finding the table holds:
- `null`: the survival function of the raw score on null series (block bootstraps of real-shaped
  series' residuals, no effect), per size bucket, as log10 P(score >= s). Beyond the simulated
  range the tail is extended log-linearly. This gives each test a p-value for
  Benjamini–Hochberg across one refresh.
- `curve`: P(the statement is true | raw score), an isotonic fit on simulated series where
  effects of known size were planted in a known share of them.
The confidence of a finding is min(curve(score), 1 - q), q its BH-adjusted p-value in the
refresh: never 1 - p.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

TABLES_PATH = Path(__file__).with_name("calibration_tables.json")


@cache
def tables() -> dict:
    return json.loads(TABLES_PATH.read_text())


def _bucket(table: dict, size: int) -> dict:
    """The bucket for the largest size not above `size` (the smallest when none is)."""
    keys = sorted(int(k) for k in table)
    chosen = keys[0]
    for key in keys:
        if key <= size:
            chosen = key
    return table[str(chosen)]


def p_value(kind: str, score: float, *, size: int) -> float:
    """P(a null series scores at least `score`), from the simulated null distribution."""
    return float(p_values(kind, np.array([score]), size=size)[0])


def anomaly_bucket(tail: float) -> dict:
    """The anomaly table for series whose own residual tails are this heavy (99th pct |z|)."""
    buckets = tables()["anomaly"]["buckets"]
    chosen = buckets[0]
    for bucket in buckets:
        if bucket["tail_from"] <= tail:
            chosen = bucket
    return chosen


def p_values(kind: str, raw: np.ndarray, *, size: int = 0, null: dict | None = None) -> np.ndarray:
    """p_value for many scores at once (`null`: a survival table chosen by the caller)."""
    null = null or _bucket(tables()[kind]["null"], size)
    grid = np.asarray(null["score"])
    log_sf = np.asarray(null["log10_sf"])
    raw = np.asarray(raw, dtype=float)
    inside = np.interp(raw, grid, log_sf)
    # Past the simulated range: extend the last decade of the tail log-linearly.
    tail = max(2, len(grid) // 10)
    slope = (log_sf[-1] - log_sf[-tail]) / max(grid[-1] - grid[-tail], 1e-9)
    slope = min(slope, -1e-3)
    beyond = log_sf[-1] + slope * (raw - grid[-1])
    log_p = np.where(raw <= grid[0], 0.0, np.where(raw <= grid[-1], inside, beyond))
    return np.clip(10.0 ** np.maximum(log_p, -300.0), 1e-300, 1.0)


def p_true(raw: np.ndarray, curve: dict) -> np.ndarray:
    """The calibrated probability that a statement with this raw score is true."""
    return np.clip(np.interp(raw, curve["score"], curve["p_true"]), 0.0, 1.0)


def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (the smallest FDR at which each is rejected)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return q


def isotonic(scores: np.ndarray, truth: np.ndarray, *, bins: int = 60) -> dict:
    """A non-decreasing fit of P(true | score) (pool-adjacent-violators on quantile bins)."""
    order = np.argsort(scores)
    scores, truth = np.asarray(scores)[order], np.asarray(truth, dtype=float)[order]
    groups = [g for g in np.array_split(np.arange(scores.size), bins) if g.size]
    xs = [float(np.mean(scores[g])) for g in groups]
    values = [float(np.mean(truth[g])) for g in groups]
    weights = [float(g.size) for g in groups]
    blocks: list[list[float]] = []  # [value, weight, first x, last x]
    for x, v, w in zip(xs, values, weights, strict=True):
        blocks.append([v, w, x, x])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, x2a, _ = blocks.pop(-2)
            v1, w1, _, x1b = blocks[-1]
            blocks[-1] = [(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, x2a, x1b]
    out_x, out_y = [], []
    for value, _, first, last in blocks:
        out_x += [first, last] if last > first else [first]
        out_y += [value, value] if last > first else [value]
    return {"score": [round(x, 4) for x in out_x], "p_true": [round(y, 4) for y in out_y]}


def survival(scores: np.ndarray, *, points: int = 80) -> dict:
    """log10 P(S >= s) of a null sample on a grid that is dense in the tail."""
    scores = np.sort(np.asarray(scores, dtype=float))
    n = scores.size
    # Grid at quantiles 1 - 10^-k spaced evenly in k, down to the 5th-largest value.
    top = np.log10(n / 5)
    ks = np.linspace(0.05, top, points)
    grid = np.unique(np.quantile(scores, 1 - 10.0**-ks, method="higher"))
    sf = np.array([(np.sum(scores >= g)) / n for g in grid])
    return {
        "score": [round(float(g), 4) for g in grid],
        "log10_sf": [round(float(np.log10(s)), 4) for s in sf],
        "n": int(n),
    }
