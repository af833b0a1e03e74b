"""Charts: one Vega-Lite spec per chart widget, drawn to SVG on the server (vl-convert) for the
first paint, and given as is to the vendored vega-embed in the browser, so screen, API and
exports show the same chart.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from datetime import date, timedelta

logger = logging.getLogger(__name__)

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTHS = {"full": 1080, "half": 500, "quarter": 240}
HEIGHT = 240
PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04"]

_warm_lock = threading.Lock()
_warm = False


def _title(column: str) -> str:
    return column.replace("_", " ").capitalize()


#: About how many date labels fit across a chart of each width.
DATE_LABELS = {"full": 14, "half": 7, "quarter": 4}


def _date_axis(rows: list[dict], x: str, width: str) -> dict:
    """Labels on whole days, every so many days or months, as many as fit (never a day
    labelled twice for its two half-day ticks). The days are calendar dates: read and drawn in
    UTC, so a browser in another timezone does not move them a day."""
    days = sorted({date.fromisoformat(row[x]) for row in rows if row.get(x)})
    fit = DATE_LABELS.get(width, DATE_LABELS["half"])
    if not days:
        return {"format": "%b %d", "labelAngle": 0}
    first, last = days[0], days[-1]
    span = (last - first).days + 1
    if span <= fit * 7:
        step = math.ceil(span / fit)
        ticks = [first + timedelta(days=n) for n in range(0, span, step)]
        label = "%b %d"
    else:
        months = math.ceil(span / 30.4 / fit)
        month = date(first.year, first.month, 1)
        ticks = []
        while month <= last:
            if month >= first:
                ticks.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        ticks = ticks[::months]
        label = "%b %Y"
    epoch = date(1970, 1, 1)
    values = [(tick - epoch).days * 86_400_000 for tick in ticks]  # UTC midnights, in ms
    return {"format": label, "labelAngle": 0, "values": values}


def chart_spec(widget: dict, rows: list[dict], *, time_column: str | None, width: str) -> dict:
    """A Vega-Lite spec with the data inline (the rows of `aggregates.chart_rows`)."""
    kind = widget.get("chart", "bar")
    x = widget["x"]
    measures = widget["y"]
    many = len(measures) > 1
    series = widget.get("series")
    color_field = "measure" if many else series
    base: dict = {
        "$schema": VEGA_LITE_SCHEMA,
        "width": WIDTHS.get(width, WIDTHS["half"]),
        "height": HEIGHT,
        "data": {"values": rows},
        "config": {
            "font": "DejaVu Sans",
            "view": {"stroke": None},
            "range": {"category": PALETTE},
            "axis": {"labelFontSize": 11, "titleFontSize": 11, "gridColor": "#e5e7eb"},
            "legend": {"orient": "bottom", "labelFontSize": 11, "title": None},
        },
    }
    value_title = _title(measures[0]) if not many else "Value"
    tooltip = [
        {"field": x, "title": _title(x)},
        *([{"field": series, "title": _title(series)}] if series else []),
        {"field": "measure", "title": "Measure"},
        {"field": "value", "type": "quantitative", "format": ",.2f", "title": "Value"},
    ]
    color = (
        {"color": {"field": color_field, "type": "nominal", "title": None}} if color_field else {}
    )
    if kind in ("line", "area") and x == time_column:
        return {
            **base,
            "mark": {"type": kind, "point": len(rows) <= 62 * max(1, len(measures)),
                     "interpolate": "monotone", "tooltip": True},
            "encoding": {
                "x": {"field": x, "type": "temporal", "title": None,
                      "scale": {"type": "utc"}, "axis": _date_axis(rows, x, width)},
                "y": {"field": "value", "type": "quantitative", "title": value_title},
                **color,
                "tooltip": tooltip,
            },
        }  # fmt: skip
    if kind in ("line", "area"):
        return {
            **base,
            "mark": {"type": kind, "point": True, "tooltip": True},
            "encoding": {
                "x": {"field": x, "type": "ordinal", "title": _title(x), "sort": None,
                      "axis": {"labelAngle": 0}},
                "y": {"field": "value", "type": "quantitative", "title": value_title},
                **color,
                "tooltip": tooltip,
            },
        }  # fmt: skip
    if kind == "pie":
        return {
            **base,
            "width": HEIGHT,
            "mark": {"type": "arc", "innerRadius": 50, "tooltip": True},
            "encoding": {
                "theta": {"field": "value", "type": "quantitative", "stack": True},
                "color": {"field": x, "type": "nominal", "title": None},
                "tooltip": tooltip,
            },
        }
    if kind == "funnel":
        return {
            **base,
            "mark": {"type": "bar", "tooltip": True, "cornerRadiusEnd": 3},
            "encoding": {
                "y": {"field": x, "type": "nominal", "sort": None, "title": None},
                "x": {"field": "value", "type": "quantitative", "title": value_title},
                "color": {"value": PALETTE[0]},
                "tooltip": tooltip,
            },
        }
    # bar: categories on the y axis (long names stay readable), ordered as the rows come
    encoding = {
        "y": {"field": x, "type": "nominal", "sort": None, "title": None,
              "axis": {"labelLimit": 180}},
        "x": {"field": "value", "type": "quantitative", "title": value_title},
        **color,
        "tooltip": tooltip,
    }  # fmt: skip
    if color_field:
        encoding["yOffset"] = {"field": color_field}
    return {**base, "mark": {"type": "bar", "tooltip": True}, "encoding": encoding}


def warm_up() -> None:
    """The first conversion in a process loads Vega (~0.6 s): do it before the first request."""
    global _warm
    with _warm_lock:
        if _warm:
            return
        render_svg(
            {
                "$schema": VEGA_LITE_SCHEMA,
                "data": {"values": [{"a": 1}]},
                "mark": "point",
                "encoding": {"x": {"field": "a", "type": "quantitative"}},
            }
        )
        _warm = True


_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"')


#: Characters XML does not allow. vl-convert aborts the whole process (a Rust panic) on text
#: holding one, so a campaign name with a stray control character must never reach it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(value):
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_xml_safe(key): _xml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_safe(item) for item in value]
    return value


def render_svg(spec: dict) -> str:
    """The chart as an SVG that scales with its container (a viewBox, no fixed size)."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(_xml_safe(spec))
    match = _SIZE.search(svg)
    if match:
        attrs, width, height = match.groups()
        has_view_box = "viewBox=" in svg[: svg.index(">", match.start())]
        view_box = "" if has_view_box else f' viewBox="0 0 {width} {height}"'
        svg = _SIZE.sub(f'<svg{attrs}{view_box} preserveAspectRatio="xMidYMid meet"', svg, count=1)
    return svg


# -- numbers as people read them -------------------------------------------------------------


def format_value(value, fmt: str | None = None) -> str:
    if value is None:
        return "–"
    if not isinstance(value, int | float):
        return str(value)
    if fmt == "currency":
        return f"${value:,.2f}" if abs(value) < 1e6 else f"${value / 1e6:,.2f}M"
    if fmt == "percent":
        return f"{value:,.1f}%"
    if fmt == "ratio":
        return f"{value:,.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_change(change_pct) -> str:
    if change_pct is None:
        return ""
    arrow = "▲" if change_pct > 0 else "▼" if change_pct < 0 else "■"
    return f"{arrow} {abs(change_pct):,.1f}%"
