"""Server-rendered charts: well-formed SVG that scales with its container, whatever the labels,
and date axes a reader can trust."""

import datetime as dt
import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.charts import DATE_LABELS, chart_spec, render_svg

SVG = "{http://www.w3.org/2000/svg}svg"


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=12),
            st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["bar", "line"]),
)
def test_every_chart_is_well_formed_svg_with_one_view_box_and_no_fixed_size(points, mark):
    # Any text at all, control characters and lone surrogates included: the renderer used to
    # abort the whole worker process on a label XML cannot hold.
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": [{"label": label, "value": value} for label, value in points]},
        "mark": mark,
        "encoding": {
            "x": {"field": "label", "type": "nominal"},
            "y": {"field": "value", "type": "quantitative"},
        },
    }
    svg = render_svg(spec)

    root = ET.fromstring(svg)  # a duplicated attribute would not parse
    assert root.tag == SVG
    assert "width" not in root.attrib and "height" not in root.attrib
    assert len(root.attrib["viewBox"].split()) == 4
    assert svg[: svg.index(">")].count("viewBox=") == 1


DATE_LABEL = re.compile(r"^[A-Z][a-z]{2} (\d\d|\d{4})$")


@settings(max_examples=20, deadline=None)
@given(
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.integers(min_value=1, max_value=400),
    st.sampled_from(["full", "half", "quarter"]),
)
def test_a_daily_chart_labels_each_date_once_and_only_dates_it_covers(first, days, width):
    rows = [
        {"day": (first + dt.timedelta(days=i)).isoformat(), "measure": "sales", "value": i % 5}
        for i in range(days)
    ]
    spec = chart_spec({"chart": "line", "x": "day", "y": ["sales"]}, rows, time_column="day",
                      width=width)  # fmt: skip
    root = ET.fromstring(render_svg(spec))
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    dates = [label for label in labels if label and DATE_LABEL.match(label)]
    assert dates, labels
    assert len(dates) == len(set(dates))  # no day labelled twice (two ticks a day)
    assert len(dates) <= DATE_LABELS[width]  # thinned to what fits
    shown = [first + dt.timedelta(days=i) for i in range(days)]
    for label in dates:
        # A day (or a month) the chart covers, in UTC as stored, whatever the viewer's timezone.
        layout = "%b %Y" if label[-4:].isdigit() else "%b %d"
        assert any(day.strftime(layout) == label for day in shown), (label, first, days)
