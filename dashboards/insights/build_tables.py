"""Regenerate calibration_tables.json by simulation (deterministic: fixed seed).

    .venv/bin/python -m dashboards.insights.build_tables [--quick]

1. A library of realistic ad series (synthetic.ad_series: weekly seasonality, AR(1) noise, heavy
   tails, Poisson counts) is decomposed with STL; each one's de-seasonalised, de-trended log
   residuals are its own noise.
2. Null series: the series' seasonal pattern and level plus a moving-block bootstrap (blocks of
   14 days) of its own residuals. No effect: every statement about them is false.
3. Effect series: the same null series with an effect of known size planted, in a known share
   of them (the prior, recorded in the table): trends, week-over-week steps, one-day spikes.
4. For each kind: the null survival function of the raw score (for p-values and BH), the
   screening threshold (anomalies), and P(true | score) by isotonic regression.
Takes about a minute on one core (`--quick`: a tenth of the series, for a look).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from dashboards.insights import calibration, scores, synthetic
from dashboards.insights.model import VERSION

SEED = 20261201
TREND_BUCKETS = (28, 56, 91)
COMPARISON_LENGTHS = (63, 120, 224)  # history of 43, 100 and 182 (capped) changes
ANOMALY_DAYS = 365
TREND_PRIOR = 0.5  # share of series with a real trend
COMPARISON_PRIOR = 0.5  # share of series with a real change in the last week
ANOMALY_PRIOR = 0.003  # share of days that are real anomalies (about 1 a year)
ANOMALY_TAIL_BUCKETS = 5
ANOMALY_FALSE_FLAGS = 5e-4  # the threshold flags at most one null day in two thousand


class ResidualLibrary:
    def __init__(self, rng: np.random.Generator, size: int, n: int = 455):
        self.items = []
        for _ in range(size):
            values = synthetic.ad_series(rng, n)
            logs = scores.log_values(values)
            fit = scores.decompose(logs)
            deseasonalised = logs - fit.seasonal
            days = np.arange(n)
            line = np.polyval(np.polyfit(days, deseasonalised, 1), days)
            self.items.append(
                (float(np.median(deseasonalised)), fit.seasonal, deseasonalised - line)
            )

    def null_series(self, rng: np.random.Generator, n: int) -> np.ndarray:
        level, seasonal, residuals = self.items[int(rng.integers(len(self.items)))]
        noise = synthetic.block_bootstrap(rng, residuals, n)
        return np.exp(level + seasonal[-n:] + noise)


def _log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def build_trend(rng, library, count):
    out = {"null": {}, "prior": TREND_PRIOR}
    all_scores, all_truth = [], []
    for n in TREND_BUCKETS:
        null_scores = []
        for _ in range(count):
            values = library.null_series(rng, n)
            has_effect = rng.random() < TREND_PRIOR
            sign = 1 if rng.random() < 0.5 else -1
            weekly = _log_uniform(rng, 0.005, 0.08) * sign
            if has_effect:
                values = values * np.exp(np.log1p(weekly) / 7 * (np.arange(n) - (n - 1)))
            score = scores.trend_score(values)
            if score is None:
                continue
            raw = abs(score.t) if score.direction else 0.0
            if has_effect:
                all_truth.append(score.direction == sign)
            else:
                null_scores.append(raw)
                all_truth.append(False)
            all_scores.append(raw)
        out["null"][str(n)] = calibration.survival(np.array(null_scores))
    out["curve"] = calibration.isotonic(np.array(all_scores), np.array(all_truth))
    return out


def build_anomaly(rng, library, count):
    """Per bucket of tail heaviness (99th percentile of a series' own |z|): null survival,
    threshold and P(true | z), so a heavy-tailed series needs a larger z than a calm one."""
    rows = []  # (tail, |z| of null days, |z| of candidate days, truth of candidate days)
    for _ in range(count):
        values = library.null_series(rng, ANOMALY_DAYS)
        planted = np.zeros(ANOMALY_DAYS, dtype=int)
        spikes = rng.random(ANOMALY_DAYS) < ANOMALY_PRIOR
        for day in np.flatnonzero(spikes):
            factor = _log_uniform(rng, 1.5, 3.0)
            if rng.random() < 0.4:
                factor = 1 / factor
            values[day] *= factor
            planted[day] = 1 if factor > 1 else -1
        result = scores.anomaly_scores(values)
        if result is None:
            continue
        candidates = np.abs(result.z) >= 2.0
        rows.append(
            (
                result.tail,
                np.abs(result.z[planted == 0]),
                np.abs(result.z[candidates]),
                planted[candidates] == result.direction[candidates],
            )
        )
    tails = np.array([r[0] for r in rows])
    edges = np.quantile(tails, np.linspace(0, 1, ANOMALY_TAIL_BUCKETS + 1))[:-1]
    edges[0] = 0.0
    buckets = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else np.inf
        chosen = [r for r in rows if low <= r[0] < high]
        null = np.concatenate([r[1] for r in chosen])
        buckets.append(
            {
                "tail_from": round(float(low), 4),
                "series": len(chosen),
                "threshold": round(float(np.quantile(null, 1 - ANOMALY_FALSE_FLAGS)), 3),
                "null": calibration.survival(null),
                "curve": calibration.isotonic(
                    np.concatenate([r[2] for r in chosen]), np.concatenate([r[3] for r in chosen])
                ),
            }
        )
    return {
        "buckets": buckets,
        "false_flags_per_1000_days": ANOMALY_FALSE_FLAGS * 1000,
        "prior": ANOMALY_PRIOR,
    }


def build_comparison(rng, library, count):
    out = {"null": {}, "prior": COMPARISON_PRIOR}
    all_scores, all_truth = [], []
    for n in COMPARISON_LENGTHS:
        null_scores, history = [], 0
        for _ in range(count):
            values = library.null_series(rng, n)
            has_effect = rng.random() < COMPARISON_PRIOR
            factor = _log_uniform(rng, 1.1, 1.6)
            if rng.random() < 0.5:
                factor = 1 / factor
            if has_effect:
                start = n - 1 - int(rng.integers(7))
                values = values.copy()
                values[start:] *= factor
            score = scores.comparison_score(values)
            if score is None:
                continue
            history = score.history
            raw = abs(score.z) if score.direction else 0.0
            if has_effect:
                all_truth.append(score.direction == (1 if factor > 1 else -1))
            else:
                null_scores.append(raw)
                all_truth.append(False)
            all_scores.append(raw)
        out["null"][str(history)] = calibration.survival(np.array(null_scores))
    out["curve"] = calibration.isotonic(np.array(all_scores), np.array(all_truth))
    return out


def build(quick: bool = False) -> dict:
    rng = np.random.default_rng(SEED)
    scale = 0.1 if quick else 1.0
    started = time.perf_counter()
    library = ResidualLibrary(rng, size=int(400 * scale) or 20)
    result = {
        "version": VERSION,
        "seed": SEED,
        "null_model": "moving-block bootstrap (14 days) of STL-deseasonalised, detrended log "
        "residuals of simulated ad series; effects planted in a known share (prior)",
        "trend": build_trend(rng, library, int(2000 * scale)),
        "anomaly": build_anomaly(rng, library, int(2500 * scale)),
        "comparison": build_comparison(rng, library, int(3000 * scale)),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(calibration.TABLES_PATH))
    args = parser.parse_args()
    result = build(quick=args.quick)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
        handle.write("\n")
    print(
        f"wrote {args.out} in {result['seconds']} s; anomaly thresholds "
        f"{[b['threshold'] for b in result['anomaly']['buckets']]}"
    )


if __name__ == "__main__":
    main()
