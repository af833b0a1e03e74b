"""Benchmark of dashboard exports: a 3-page PDF, and an Excel workbook of 100,000 rows.

`scripts/bench.sh exports` (throwaway PostgreSQL, migrated), or on a migrated database of your
own: `DATABASE_URL=... .venv/bin/python bench/bench_exports.py` (rows are created and deleted).

1. PDF: `render_pdf` of a dashboard with 3 cards, insights, a 365-point line chart and a bar
   chart as inline SVG, and a 90-row table: 3 A4 pages. The first call in a process (fonts
   loaded) is reported apart; the headline is the median of the next 5. Target <= 1.5 s.
2. Excel: the whole export service (`build_export`: rows read from PostgreSQL in chunks,
   XlsxWriter constant_memory, the file stored) for executions of 10,000 and 100,000 rows,
   each in a fresh process, with its resident memory before the build and its peak after.
   Target <= 10 s for 100,000 rows, and memory that does not grow with the rows.

Times are the process's CPU time (as in bench_parameters), so a machine busy with other work
does not pass for a slow renderer; wall-clock times and the load average are reported beside
them. The Excel CPU time leaves out PostgreSQL's own work of reading the rows.

Ends with one line of JSON.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

TARGET_PDF_SECONDS = 1.5
TARGET_EXCEL_SECONDS = 10.0
EXCEL_ROWS = int(os.environ.get("BENCH_EXCEL_ROWS", "100000"))
SMALL_ROWS = EXCEL_ROWS // 10


def line_svg(points: int) -> str:
    width, height = 700, 260
    values = [1000 + 300 * math.sin(i / 7 * 2 * math.pi) + i * 2 for i in range(points)]
    top, low = max(values), min(values)
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{40 + i * (width - 60) / (points - 1):.1f},"
        f"{20 + (top - v) * (height - 50) / (top - low):.1f}"
        for i, v in enumerate(values)
    )
    ticks = "".join(
        f'<text x="{40 + i * (width - 60) / 12:.0f}" y="{height - 8}" font-size="9">M{i + 1}</text>'
        for i in range(12)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<path d="{path}" fill="none" stroke="#4c78a8" stroke-width="1.5"/>{ticks}</svg>'
    )


def bar_svg(bars: int) -> str:
    rects = "".join(
        f'<rect x="160" y="{10 + i * 20}" width="{40 + (bars - i) * 25}" height="16" '
        f'fill="#f58518"/><text x="0" y="{22 + i * 20}" font-size="10">Campaign {i + 1:02d}</text>'
        for i in range(bars)
    )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="{bars * 20 + 20}">{rects}</svg>'  # noqa: E501


def bench_pdf() -> dict:
    import pypdfium2

    from dashboards.exports.content import (
        Card,
        Chart,
        Column,
        DashboardContent,
        InsightLine,
        Table,
    )
    from dashboards.exports.renderers.pdf import render_pdf

    content = DashboardContent(
        dashboard_id="bench",
        title="Campaign performance by day",
        window="2025-11-01 to 2026-10-31",
        url="https://recomamp.example.com/dashboards/bench/",
        cards=[
            Card("Spend", 182734.5, "182,734.50"),
            Card("Sales", 734511.25, "734,511.25"),
            Card("ROAS", 4.02, "4.02"),
        ],
        insights=[
            InsightLine("trend", "Sales grew 3.1% per week (2.2% to 4.0%).", 0.93, "likely"),
            InsightLine("anomaly", "Spend on 2026-03-14 was 2.4x the expected.", 0.88, "probable"),
        ],
        charts=[Chart("Spend and sales by day", line_svg(365)), Chart("Sales", bar_svg(10))],
        tables=[
            Table(
                "Campaigns",
                [
                    Column("campaign", "Campaign"),
                    Column("impressions", "Impressions", "integer"),
                    Column("clicks", "Clicks", "integer"),
                    Column("spend", "Spend", "currency"),
                    Column("sales", "Sales", "currency"),
                ],
                [
                    [f"Campaign {i:03d}", 100000 + i * 37, 2000 + i, 1500.5 + i, 6100.25 + i * 3]
                    for i in range(90)
                ],
            )
        ],
    )
    started = time.process_time()
    pdf = render_pdf(content)
    first = time.process_time() - started
    runs, walls = [], []
    for _ in range(5):
        started, wall = time.process_time(), time.perf_counter()
        pdf = render_pdf(content)
        runs.append(time.process_time() - started)
        walls.append(time.perf_counter() - wall)
    pages = len(pypdfium2.PdfDocument(pdf))
    median = statistics.median(runs)
    print(
        f"PDF: {pages} pages, {len(pdf):,} bytes; CPU: first call {first:.2f} s, then median "
        f"{median:.3f} s (max {max(runs):.3f} s); wall median {statistics.median(walls):.3f} s; "
        f"target <= {TARGET_PDF_SECONDS} s"
    )
    return {
        "pdf_pages": pages,
        "pdf_first_seconds": round(first, 3),
        "pdf_seconds_median": round(median, 3),
        "pdf_seconds_max": round(max(runs), 3),
        "pdf_wall_seconds_median": round(statistics.median(walls), 3),
        "target_pdf_seconds": TARGET_PDF_SECONDS,
        "pdf_ratio": round(median / TARGET_PDF_SECONDS, 3),
    }


def make_execution(rows: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from dashboards.models import Dashboard, ReportConfiguration
    from instances.models import AmcAccount, AmcInstance
    from reports.models import (
        ExecutionResultRow,
        ExecutionStatus,
        QueryTemplate,
        ReportDefinition,
        ReportExecution,
    )

    tag = f"bench-exports-{os.getpid()}-{rows}"
    user = get_user_model().objects.create(username=tag)
    account = AmcAccount.objects.create(account_id=tag[:40], name=tag)
    instance = AmcInstance.objects.create(account=account, instance_id=tag[:40], instance_name=tag)
    template = QueryTemplate.objects.create(template_id=tag, name=tag, sql_query="SELECT 1")
    report = ReportDefinition.objects.create(
        name=tag, template=template, instance=instance, owner=user
    )
    dashboard = Dashboard.objects.create(name=tag, instance=instance, owner=user)
    configuration = ReportConfiguration.objects.create(dashboard=dashboard, report=report)
    execution = ReportExecution.objects.create(
        report=report,
        instance=instance,
        triggered_by="manual",
        status=ExecutionStatus.COMPLETED,
        completed_at=timezone.now(),
        row_count=rows,
    )
    batch = []
    for i in range(rows):
        batch.append(
            ExecutionResultRow(
                execution=execution,
                row_number=i,
                data={
                    "event_date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "campaign": f"Campaign {i % 300:03d}",
                    "campaign_id": f"cmp-{i % 300:05d}",
                    "impressions": 1000 + i % 977,
                    "clicks": 10 + i % 97,
                    "spend": round(12.5 + (i % 311) * 0.37, 2),
                    "purchases": i % 13,
                    "sales": round(40.0 + (i % 211) * 1.9, 2),
                    "roas": round(3.2 + (i % 17) * 0.1, 2),
                },
            )
        )
        if len(batch) == 5000:
            ExecutionResultRow.objects.bulk_create(batch)
            batch = []
    ExecutionResultRow.objects.bulk_create(batch)
    return user, configuration, [user, account, template]


def current_rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def excel_child(configuration_pk: str, user_pk: int) -> None:
    """In a fresh process: build one Excel export through the service; print JSON."""
    setup_django()
    from dashboards.exports import services
    from dashboards.models import ReportExport

    export = ReportExport.objects.create(
        report_configuration_id=configuration_pk, user_id=user_pk, export_format="excel"
    )
    before = current_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    services.build_export(export_pk=export.pk)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    peak = after.ru_maxrss / 1024
    export.refresh_from_db()
    assert export.status == "completed", export.error_message
    export.file.storage.delete(export.file.name)
    print(
        json.dumps(
            {
                "seconds": cpu,
                "wall_seconds": wall,
                "rss_before_mb": before,
                "rss_peak_mb": peak,
                "bytes": export.file_size,
            }
        )
    )


def bench_excel() -> dict:
    from django.db import connection

    if connection.vendor != "postgresql":
        print("Excel: skipped (needs PostgreSQL: run scripts/bench.sh exports)")
        return {}
    results = {}
    cleanup = []
    try:
        for rows in (SMALL_ROWS, EXCEL_ROWS):
            started = time.perf_counter()
            user, configuration, owned = make_execution(rows)
            cleanup += owned
            print(f"Excel: {rows:,} rows stored in {time.perf_counter() - started:.1f} s")
            out = subprocess.run(
                [sys.executable, __file__, "--excel-child", str(configuration.pk), str(user.pk)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[rows] = json.loads(out.strip().splitlines()[-1])
            r = results[rows]
            print(
                f"Excel: {rows:,} rows in {r['seconds']:.2f} s CPU ({r['wall_seconds']:.2f} s "
                f"wall), {r['bytes']:,} bytes; RSS {r['rss_before_mb']:.0f} MB before the build, "
                f"peak {r['rss_peak_mb']:.0f} MB"
            )
    finally:
        for obj in cleanup:  # users (their reports cascade), accounts, then templates
            type(obj).objects.filter(pk=obj.pk).delete()
    big, small = results[EXCEL_ROWS], results[SMALL_ROWS]
    growth_big = big["rss_peak_mb"] - big["rss_before_mb"]
    growth_small = small["rss_peak_mb"] - small["rss_before_mb"]
    return {
        "excel_rows": EXCEL_ROWS,
        "excel_seconds": round(big["seconds"], 3),
        "target_excel_seconds": TARGET_EXCEL_SECONDS,
        "excel_ratio": round(big["seconds"] / TARGET_EXCEL_SECONDS, 3),
        "excel_rss_peak_mb": round(big["rss_peak_mb"], 1),
        "excel_rss_growth_mb": round(growth_big, 1),
        f"excel_rss_growth_mb_{SMALL_ROWS}_rows": round(growth_small, 1),
        "excel_wall_seconds": round(big["wall_seconds"], 3),
        "excel_seconds_small": round(small["seconds"], 3),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--excel-child":
        excel_child(sys.argv[2], int(sys.argv[3]))
        return
    setup_django()
    result = {"bench": "exports", **bench_pdf(), **bench_excel()}
    result["load_average"] = round(os.getloadavg()[0], 2)
    ok = result["pdf_ratio"] <= 1 and result["pdf_pages"] == 3
    if "excel_ratio" in result:
        # Constant memory: 10x the rows may not cost more than a few MB more.
        small_growth = result[f"excel_rss_growth_mb_{SMALL_ROWS}_rows"]
        ok = ok and result["excel_ratio"] <= 1 and result["excel_rss_growth_mb"] - small_growth < 50
    result["ok"] = ok
    print(json.dumps(result))


if __name__ == "__main__":
    main()
