"""Server-rendered charts: well-formed SVG that scales with its container, whatever the labels."""

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.charts import render_svg

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
