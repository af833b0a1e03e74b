"""HTML to PDF with WeasyPrint: vector charts (inline SVG), cards, insights and tables whose
header repeats on every page (`thead` as a table-header-group), capped to keep PDFs short."""

from __future__ import annotations

import logging

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from dashboards.exports.content import DashboardContent, format_value

logger = logging.getLogger(__name__)

NUMERIC_FORMATS = {"integer", "number", "currency", "ratio", "percent"}


def _refuse_fetch(url: str, *args, **kwargs):
    # Nothing in an export may make the renderer fetch a URL (no SSRF through a chart or a
    # title); every image is inline SVG.
    if url.startswith("data:"):
        from weasyprint import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"external resource refused in exports: {url[:80]}")


def dashboard_html(content: DashboardContent, *, max_table_rows: int) -> str:
    tables = []
    for table in content.tables:
        shown = table.rows[:max_table_rows]
        texts = table.texts if table.texts and len(table.texts) == len(table.rows) else None
        numeric = [c.format in NUMERIC_FORMATS for c in table.columns]
        tables.append(
            {
                "title": table.title,
                "columns": [
                    {"label": c.label, "css": "num" if n else ""}
                    for c, n in zip(table.columns, numeric, strict=True)
                ],
                "rows": [
                    [
                        {
                            "text": texts[i][j] if texts else format_value(v, c.format),
                            "css": "num" if n else "",
                        }
                        for j, (v, c, n) in enumerate(
                            zip(row, table.columns, numeric, strict=False)
                        )
                    ]
                    for i, row in enumerate(shown)
                ],
                "capped": len(table.rows) > len(shown),
                "shown": len(shown),
                "total": len(table.rows),
            }
        )
    # The SVG comes from the server's own chart renderer, never from user input.
    charts = [{"title": c.title, "svg": mark_safe(c.svg)} for c in content.charts]  # noqa: S308
    return render_to_string(
        "dashboards/exports/dashboard.html",
        {"content": content, "charts": charts, "tables": tables},
    )


def render_pdf(content: DashboardContent, *, max_table_rows: int = 200) -> bytes:
    from weasyprint import HTML

    html = dashboard_html(content, max_table_rows=max_table_rows)
    return HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
