"""Benchmark of the parameter engine: validate + render the largest realistic template.

Runs as `.venv/bin/python bench/bench_parameters.py [iterations]` with no Django setup. Each
iteration calls render_sql with the definitions as stored (JSON) and the values as a form sends
them (12 parameters, 1,000 ASINs), so definition parsing, validation, rendering and the snapshot
are all timed. The template scan is cached per SQL text, as in production; the first, uncached
call is reported separately. Ends with one line of JSON.

Each call is timed twice: by the thread's CPU clock (everything the call costs, garbage
collection included, but not the time the process waits while other processes run) and by the
wall clock. The headline p50/p95/p99 and the ratio to the target are CPU time, so that a busy
machine does not pass for a slow engine; the wall-clock percentiles and the load average are
reported beside them (on an idle machine the two agree).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.parameters import render_sql  # noqa: E402
from reports.parameters.rendering import _check, _parse_json_definitions  # noqa: E402
from reports.parameters.template import compile_template  # noqa: E402

TARGET_P99_MS = 10.0

SQL = """\
-- ASIN and campaign performance with conversions, new-to-brand and a search-term filter.
WITH traffic AS (
  SELECT campaign_id, campaign, creative_asin, customer_search_term, match_type,
         SUM(impressions) AS impressions, SUM(clicks) AS clicks, SUM(spend) AS spend
  FROM sponsored_ads_traffic
  WHERE event_dt >= {{window.start}} AND event_dt < {{window.end}}
    AND event_dt >= {{since}}
    AND ad_product_type IN ({{ad_products}})
    AND creative_asin IN ({{asins}})
    AND ({{campaigns.is_empty}} OR campaign IN ({{campaigns}}))
    AND LOWER(customer_search_term) LIKE LOWER('%{{term}}%')
    AND match_type = {{match_type}}
  GROUP BY 1, 2, 3, 4, 5
),
conversions AS (
  SELECT campaign_id, tracked_asin, SUM(purchases) AS purchases,
         SUM(product_sales) AS sales,
         SUM(CASE WHEN new_to_brand THEN purchases ELSE 0 END) AS ntb_purchases
  FROM amazon_attributed_events_by_traffic_time
  WHERE traffic_event_dt >= {{window.start}} AND traffic_event_dt < {{window.end}}
    AND tracked_asin IN ({{asins}})
    AND (new_to_brand = {{ntb_only}} OR NOT {{ntb_only}})
  GROUP BY 1, 2
)
SELECT t.*, c.purchases, c.sales, c.ntb_purchases,
       c.sales / NULLIF(t.spend / 100000000, 0) AS roas
FROM traffic t
LEFT JOIN conversions c ON c.campaign_id = t.campaign_id AND c.tracked_asin = t.creative_asin
WHERE t.impressions >= {{min_impressions}}
  AND t.clicks / NULLIF(t.impressions, 0) >= {{min_ctr}}
  AND c.sales / NULLIF(t.spend / 100000000, 0) >= {{min_roas}}
ORDER BY t.spend DESC
LIMIT {{row_limit}}
"""

DEFINITIONS = [
    {
        "name": "window",
        "type": "date_range",
        "label": "Window",
        "default": {"start": "today-44d", "end": "today-14d"},
        "max_days": 425,
    },
    {"name": "since", "type": "datetime", "default": "today-60d"},
    {
        "name": "ad_products",
        "type": "string_list",
        "default": ["sponsored_products", "sponsored_brands", "sponsored_display"],
    },
    {"name": "asins", "type": "asin_list", "label": "ASINs", "max_items": 5000},
    {"name": "campaigns", "type": "campaign_list", "required": False},
    {"name": "term", "type": "string", "required": False, "max_length": 200},
    {"name": "match_type", "type": "enum", "options": ["BROAD", "PHRASE", "EXACT"]},
    {"name": "ntb_only", "type": "boolean", "default": False},
    {"name": "min_impressions", "type": "integer", "min": 0, "default": 100},
    {"name": "min_ctr", "type": "percentage", "default": "0.1%"},
    {"name": "min_roas", "type": "number", "min": 0, "default": 0},
    {"name": "row_limit", "type": "integer", "min": 1, "max": 100000, "default": 5000},
]

VALUES = {
    "window": {"start": "today-100d", "end": "today-14d"},
    "since": "2026-08-01T00:00:00Z",
    "asins": [f"b0{i:08d}" if i % 2 else f"B0{i:08X}" for i in range(1000)],
    "campaigns": "Brand – Exact\nMen's Shoes, Broad\n123456789\n987654321",
    "term": "men's running shoes",
    "match_type": "exact",
    "ntb_only": "yes",
    "min_impressions": "1000",
    "min_ctr": "0.5%",
    "min_roas": "1.25",
    "row_limit": 10000,
}

TODAY = date(2026, 11, 23)


def render_once() -> tuple[float, float]:
    """(CPU ms, wall ms) of one validate + render."""
    cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
    render_sql(sql=SQL, definitions=DEFINITIONS, values=VALUES, today=TODAY)
    return (time.thread_time_ns() - cpu) / 1e6, (time.perf_counter_ns() - wall) / 1e6


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for cache in (compile_template, _check, _parse_json_definitions):
        cache.cache_clear()
    cold_cpu, cold_wall = render_once()
    for _ in range(50):
        render_once()
    timings = [render_once() for _ in range(iterations)]
    cpu = [c for c, _ in timings]
    wall = [w for _, w in timings]
    rendered = render_sql(sql=SQL, definitions=DEFINITIONS, values=VALUES, today=TODAY)
    p50, p95, p99 = (percentile(cpu, q) for q in (50, 95, 99))
    w50, w95, w99 = (percentile(wall, q) for q in (50, 95, 99))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"template: {len(SQL)} chars, {len(DEFINITIONS)} parameters, 1,000 ASINs")
    print(f"rendered: {len(rendered.sql)} chars; iterations: {iterations}")
    print(f"first call (nothing cached): {cold_cpu:.3f} ms CPU, {cold_wall:.3f} ms wall")
    mean = statistics.fmean(cpu)
    print(f"CPU  p50 {p50:.3f} ms, p95 {p95:.3f} ms, p99 {p99:.3f} ms, mean {mean:.3f} ms")
    print(f"wall p50 {w50:.3f} ms, p95 {w95:.3f} ms, p99 {w99:.3f} ms, max {max(wall):.3f} ms")
    print(f"load average (1 min): {load}; target p99 {TARGET_P99_MS} ms")
    print(
        json.dumps(
            {
                "bench": "parameters",
                "iterations": iterations,
                "p50_ms": round(p50, 4),
                "p95_ms": round(p95, 4),
                "p99_ms": round(p99, 4),
                "target_p99_ms": TARGET_P99_MS,
                "ratio_to_target": round(p99 / TARGET_P99_MS, 4),
                "clock": "thread_cpu",
                "wall_p50_ms": round(w50, 4),
                "wall_p99_ms": round(w99, 4),
                "load_avg_1m": load,
            }
        )
    )


if __name__ == "__main__":
    main()
