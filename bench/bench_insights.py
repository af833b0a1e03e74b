"""Benchmark of the insights: one refresh of a 365-day x 50-campaign report.

Runs as `.venv/bin/python bench/bench_insights.py [repeats]` with no Django or database. The
report has spend, sales, impressions and clicks per campaign and day (200 series) plus the
four totals: 204 series of 365 complete days (and 14 more inside AMC's data lag, dropped).
Effects are planted in a few campaigns so that findings are produced as in a real refresh.
Times `find_insights` after one warm-up call (imports, tables): the headline is CPU time (as in
bench_parameters.py, so a busy machine does not pass for a slow method), the wall clock is
reported beside it. Target: <= 2 s. Ends with one line of JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from dashboards.insights import SeriesKey, find_insights  # noqa: E402
from dashboards.insights.synthetic import Effect, ad_series  # noqa: E402

TARGET_SECONDS = 2.0
DAYS = 365
CAMPAIGNS = 50
METRICS = ("spend", "sales", "impressions", "clicks")
AS_OF = date(2026, 12, 1)


def report() -> dict:
    rng = np.random.default_rng(365)
    last = AS_OF  # rows up to the refresh day: the last 14 are inside the lag
    n = DAYS + 14
    days = [last - timedelta(days=n - 1 - i) for i in range(n)]
    series, totals = {}, {m: np.zeros(n) for m in METRICS}
    for c in range(CAMPAIGNS):
        for metric in METRICS:
            effects = ()
            if c % 10 == 0:
                effects = (Effect("spike", 2.5, n - 40),)
            elif c % 10 == 1:
                effects = (Effect("trend", 0.004),)
            values = ad_series(rng, n, effects=effects)
            totals[metric] += values
            series[SeriesKey(metric, f"Campaign {c:02d}")] = list(zip(days, values, strict=True))
    for metric, values in totals.items():
        series[SeriesKey(metric)] = list(zip(days, values, strict=True))
    return series


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    series = report()
    started = time.perf_counter()
    find_insights(series, as_of=AS_OF)
    first_wall = time.perf_counter() - started
    cpu, wall, published = [], [], 0
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        findings = find_insights(series, as_of=AS_OF)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        published = len(findings)
    cpu_s, wall_s = statistics.median(cpu), statistics.median(wall)
    kinds = {}
    for finding in findings:
        kinds[finding.insight_type] = kinds.get(finding.insight_type, 0) + 1
    load = os.getloadavg()[0]
    print(f"series: {len(series)} of {DAYS} days (+14 in the lag)")
    print(f"first call (warm-up, tables loaded): {first_wall:.2f} s wall")
    print(f"find_insights: {cpu_s:.2f} s CPU (median of {repeats}), {wall_s:.2f} s wall")
    print(f"published findings: {published} {kinds}")
    print(f"ratio to the {TARGET_SECONDS} s target: {cpu_s / TARGET_SECONDS:.2f}; load {load:.1f}")
    print(
        json.dumps(
            {
                "bench": "insights",
                "series": len(series),
                "days": DAYS,
                "campaigns": CAMPAIGNS,
                "cpu_seconds": round(cpu_s, 3),
                "wall_seconds": round(wall_s, 3),
                "first_call_wall_seconds": round(first_wall, 3),
                "target_seconds": TARGET_SECONDS,
                "ratio": round(cpu_s / TARGET_SECONDS, 3),
                "published": published,
                "load_average": round(load, 2),
                "ok": cpu_s <= TARGET_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
