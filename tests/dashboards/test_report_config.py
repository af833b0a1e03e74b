"""Every catalogue template's report_config fits the widget schema, and names only columns its
SQL returns; every dashboard type has sensible defaults."""

import pytest

from dashboards.widgets import (
    ConfigError,
    data_plan,
    default_widgets,
    output_columns,
    validate_report_config,
    widget_columns,
    widgets_for_template,
)
from reports.catalogue import TEMPLATES
from reports.models import DashboardType

IDS = [spec["template_id"] for spec in TEMPLATES]


@pytest.mark.parametrize("spec", TEMPLATES, ids=IDS)
def test_catalogue_report_config_fits_the_schema_and_the_sql(spec):
    assert validate_report_config(spec["report_config"], sql=spec["sql_query"]) == []
    columns = set(output_columns(spec["sql_query"]))
    for widget in spec["report_config"]["widgets"]:
        assert set(widget_columns(widget)) <= columns, widget


@pytest.mark.parametrize("spec", TEMPLATES, ids=IDS)
def test_catalogue_widgets_fit_the_aggregate_table(spec):
    widgets = widgets_for_template(
        report_config=spec["report_config"],
        dashboard_type=spec["default_dashboard_type"],
        sql=spec["sql_query"],
    )
    plan = data_plan(widgets=widgets, sql=spec["sql_query"])
    assert plan.measures
    assert set(plan.dimensions).isdisjoint(plan.measures)


def test_output_columns_follow_the_outer_select_and_unions():
    sql = "WITH a AS (SELECT x FROM t) SELECT x AS day, SUM(y) AS total FROM a GROUP BY x"
    assert output_columns(sql) == ["day", "total"]
    assert output_columns("SELECT 1 AS a, 'b' AS b UNION ALL SELECT 2, 'c'") == ["a", "b"]
    assert output_columns("SELECT c FROM t WHERE x IN ({{asins}}) AND y = '{{s}}'") == ["c"]


@pytest.mark.parametrize(
    "widget, error",
    [
        ({"type": "gauge", "title": "x"}, "report_config.widgets[0].type"),
        ({"type": "chart", "title": "x", "x": "a"}, "report_config.widgets[0].chart: required"),
        ({"type": "chart", "chart": "donut", "title": "t", "x": "a", "y": ["b"]}, ".chart:"),
        ({"type": "table", "title": "t", "group_by": "a", "columns": ["b"]}, ".group_by:"),
        ({"type": "metric_card", "title": "t", "metric": "a", "ratio": ["a"]}, ".ratio:"),
        ({"type": "metric_card", "title": "t", "metric": "a", "format": "euro"}, ".format:"),
        ({"type": "chart", "chart": "bar", "title": "t", "x": "a", "y": ["b"], "limit": 0}, "lim"),
        ({"type": "metric_card", "metric": "a"}, ".title: required"),
    ],
)
def test_a_bad_widget_is_named_by_its_dotted_path(widget, error):
    errors = validate_report_config({"widgets": [widget]})
    assert any(error in message for message in errors), errors


def test_a_widget_naming_a_column_the_sql_lacks_is_refused():
    config = {"widgets": [{"type": "metric_card", "title": "Sales", "metric": "revenue"}]}
    errors = validate_report_config(config, sql="SELECT SUM(sales) AS sales FROM t")
    assert errors == ["report_config.widgets[0]: 'revenue' is not an output column of the SQL"]


@pytest.mark.parametrize("dashboard_type", DashboardType.values)
@pytest.mark.parametrize("spec", TEMPLATES, ids=IDS)
def test_every_dashboard_type_has_valid_defaults_for_every_template(spec, dashboard_type):
    widgets = default_widgets(dashboard_type, spec["sql_query"])
    assert widgets
    assert validate_report_config({"widgets": widgets}, sql=spec["sql_query"]) == []
    data_plan(widgets=widgets, sql=spec["sql_query"])  # fits the aggregate table


def test_defaults_follow_the_dashboard_type():
    sql = (
        "SELECT event_date, campaign, SUM(clicks) AS clicks, SUM(spend) AS spend "
        "FROM t GROUP BY 1, 2"
    )
    kinds = {t: [w.get("chart", w["type"]) for w in default_widgets(t, sql)] for t in
             DashboardType.values}  # fmt: skip
    assert "funnel" in kinds["funnel"] and "metric_card" not in kinds["funnel"]
    assert {"metric_card", "line", "bar", "table", "insight"} <= set(kinds["performance"])
    assert "bar" in kinds["audience"] and "line" not in kinds["audience"]
    assert "table" in kinds["custom"]


def test_too_many_dimensions_for_the_aggregate_table_is_an_error():
    columns = [f"c{i}" for i in range(6)]
    sql = f"SELECT {', '.join(columns)}, SUM(x) AS x FROM t GROUP BY 1"
    widget = {"type": "table", "title": "t", "group_by": columns, "columns": ["x"]}
    with pytest.raises(ConfigError):
        data_plan(widgets=[widget], sql=sql)
