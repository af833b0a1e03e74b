"""A template's `report_config`: its schema, the columns its widgets use, and the data plan.

A widget is a dict; the kinds and their keys:

- ``metric_card``: ``title``, ``metric``; ``aggregate`` (sum); ``ratio`` ``[numerator,
  denominator]`` for a ratio of sums; ``format`` (number, currency, percent, ratio).
- ``chart``: ``title``, ``chart`` (line, bar, pie, funnel, area), ``x``, ``y`` (a list);
  ``series``, ``limit``, ``order_by``.
- ``table``: ``title``, ``group_by`` and ``columns`` (lists); ``limit``.
- ``insight``: ``title``, ``metric``; ``time``.

Every column a widget names must be an output column of the template's SQL. The data plan
(`data_plan`) says which columns become dimensions and measures of the precomputed daily
aggregates (`DashboardFact`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

WIDGET_TYPES = ("metric_card", "chart", "table", "insight")
CHART_KINDS = ("line", "bar", "pie", "funnel", "area")
FORMATS = ("number", "currency", "percent", "ratio")
AGGREGATES = ("sum",)
#: Slots of the aggregate table (`DashboardFact`): d0..d3 and m0..m15.
MAX_DIMENSIONS = 4
MAX_MEASURES = 16
#: Output columns that hold a day, in the order we prefer them as the time axis.
TIME_COLUMNS = ("event_date", "date", "day", "report_date")
#: Columns users filter by where the data has them (filter name -> column).
FILTER_COLUMNS = {"campaign": "campaign", "ad_product": "ad_product_type"}

#: Rate columns of the catalogue, recomputed from sums so that a total is a ratio of sums,
#: never a sum or a mean of ratios: column -> (numerator, denominator(s), scale). A
#: template's report_config may add its own under "derived".
DERIVED_COLUMNS: dict[str, dict] = {
    "roas": {"ratio": ["sales", "spend"], "scale": 1},
    "ntb_purchase_share": {"ratio": ["ntb_purchases", "purchases"], "scale": 100},
    "conversion_rate": {"ratio": ["converted_users", "users"], "scale": 100},
    "overlap_pct": {"ratio": ["users_both", "users_a|users_b"], "scale": 100},
    "ctr": {"ratio": ["clicks", "impressions"], "scale": 100},
    "cpc": {"ratio": ["spend", "clicks"], "scale": 1},
    "acos": {"ratio": ["spend", "sales"], "scale": 100},
}

_PLACEHOLDER = re.compile(r"\{\{\s*\w+\s*\}\}")


class ConfigError(ValueError):
    """A report_config that does not fit the schema; `errors` name the fields (dotted)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


# -- the SQL's output columns ----------------------------------------------------------------


def _parse(sql: str) -> exp.Expression:
    # Placeholders stand for literals (inside quotes or not); a zero parses in both places.
    return sqlglot.parse_one(_PLACEHOLDER.sub("0", sql))


def output_columns(sql: str) -> list[str]:
    """The names of the columns the template's SQL returns, in order."""
    return [name.lower() for name in _parse(sql).named_selects]


def measure_columns(sql: str) -> set[str]:
    """Output columns computed by an aggregate or arithmetic: numbers to add up."""
    tree = _parse(sql)
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.left
    measures = set()
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if inner.find(exp.AggFunc) or isinstance(inner, exp.Binary | exp.Case | exp.Coalesce):
            measures.add(projection.alias_or_name.lower())
    return measures


# -- the schema ------------------------------------------------------------------------------


def widget_columns(widget: dict) -> list[str]:
    """Every column a widget names."""
    names: list[str] = []
    for key in ("metric", "x", "series", "order_by", "time"):
        if widget.get(key):
            names.append(widget[key])
    for key in ("y", "group_by", "columns", "ratio"):
        names.extend(widget.get(key) or [])
    return names


def _is_list_of_names(value) -> bool:
    return isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)


def validate_widget(widget, path: str) -> list[str]:
    if not isinstance(widget, dict):
        return [f"{path}: must be an object"]
    errors = []
    kind = widget.get("type")
    if kind not in WIDGET_TYPES:
        return [f"{path}.type: must be one of {', '.join(WIDGET_TYPES)}"]
    if not isinstance(widget.get("title"), str) or not widget["title"].strip():
        errors.append(f"{path}.title: required")
    required = {
        "metric_card": ("metric",),
        "chart": ("chart", "x", "y"),
        "table": ("group_by", "columns"),
        "insight": ("metric",),
    }[kind]
    for key in required:
        if key not in widget:
            errors.append(f"{path}.{key}: required")
    for key in ("metric", "x", "series", "order_by", "time"):
        if key in widget and not (isinstance(widget[key], str) and widget[key]):
            errors.append(f"{path}.{key}: must be a column name")
    for key in ("y", "group_by", "columns"):
        if key in widget and not _is_list_of_names(widget[key]):
            errors.append(f"{path}.{key}: must be a non-empty list of column names")
    if "ratio" in widget and not (_is_list_of_names(widget["ratio"]) and len(widget["ratio"]) == 2):
        errors.append(f"{path}.ratio: must be [numerator, denominator]")
    if kind == "chart" and "chart" in widget and widget["chart"] not in CHART_KINDS:
        errors.append(f"{path}.chart: must be one of {', '.join(CHART_KINDS)}")
    if "format" in widget and widget["format"] not in FORMATS:
        errors.append(f"{path}.format: must be one of {', '.join(FORMATS)}")
    if "aggregate" in widget and widget["aggregate"] not in AGGREGATES:
        errors.append(f"{path}.aggregate: must be one of {', '.join(AGGREGATES)}")
    if "limit" in widget and not (
        isinstance(widget["limit"], int) and not isinstance(widget["limit"], bool)
    ):
        errors.append(f"{path}.limit: must be an integer")
    elif "limit" in widget and not 1 <= widget["limit"] <= 100:
        errors.append(f"{path}.limit: must be between 1 and 100")
    return errors


def validate_report_config(config, *, sql: str | None = None) -> list[str]:
    """Errors of a report_config (empty when valid); with `sql`, also columns it lacks."""
    if not isinstance(config, dict):
        return ["report_config: must be an object"]
    widgets = config.get("widgets")
    if widgets is None:
        return []  # no widgets: the dashboard type's defaults apply
    if not isinstance(widgets, list):
        return ["report_config.widgets: must be a list"]
    errors = []
    for index, widget in enumerate(widgets):
        errors.extend(validate_widget(widget, f"report_config.widgets[{index}]"))
    if errors or sql is None:
        return errors
    columns = set(output_columns(sql))
    for index, widget in enumerate(widgets):
        for name in widget_columns(widget):
            if name not in columns:
                errors.append(
                    f"report_config.widgets[{index}]: '{name}' is not an output column of the SQL"
                )
    return errors


# -- defaults per dashboard type -------------------------------------------------------------


def default_widgets(dashboard_type: str, sql: str) -> list[dict]:
    """Widgets for a template whose report_config has none, after its dashboard type."""
    columns = output_columns(sql)
    measures = [c for c in columns if c in measure_columns(sql)]
    dimensions = [c for c in columns if c not in measures and c not in TIME_COLUMNS]
    time = next((c for c in TIME_COLUMNS if c in columns), None)
    first_dim = dimensions[0] if dimensions else None
    widgets: list[dict] = []
    if not measures:
        return [{"type": "table", "title": "Rows", "group_by": columns[:4], "columns": []}]
    cards = measures[:1] if dashboard_type in ("funnel", "custom") else measures[:4]
    if dashboard_type != "funnel":
        widgets += [
            {"type": "metric_card", "title": _title(m), "metric": m, "aggregate": "sum"}
            for m in cards
        ]
    if dashboard_type == "funnel" and first_dim:
        widgets.append(
            {"type": "chart", "chart": "funnel", "title": "Funnel", "x": first_dim,
             "y": measures[:1]}
        )  # fmt: skip
    if time and dashboard_type in ("performance", "custom"):
        widgets.append(
            {"type": "chart", "chart": "line", "title": "By day", "x": time, "y": measures[:2]}
        )
    if first_dim and dashboard_type != "funnel":
        widgets.append(
            {"type": "chart", "chart": "bar", "title": f"{_title(measures[0])} by "
             f"{_title(first_dim).lower()}", "x": first_dim, "y": measures[:1], "limit": 10}
        )  # fmt: skip
    if dimensions:
        widgets.append(
            {"type": "table", "title": "Details", "group_by": dimensions[:2], "columns": measures}
        )
    if time and dashboard_type in ("performance", "attribution"):
        widgets.append(
            {"type": "insight", "title": "Insights", "metric": measures[0], "time": time}
        )
    return widgets


def _title(column: str) -> str:
    return column.replace("_", " ").capitalize()


def widgets_for_template(*, report_config: dict, dashboard_type: str, sql: str) -> list[dict]:
    widgets = (report_config or {}).get("widgets")
    if widgets:
        return [dict(widget) for widget in widgets]
    return default_widgets(dashboard_type, sql)


# -- the data plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DataPlan:
    """How result rows become daily aggregates: the time column (None: one point per run
    window), dimensions (d0..), measures (m0..), derived rate columns, filters."""

    time_column: str | None
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    derived: dict
    filters: dict
    #: Dimensions whose rows must not be added up (a funnel's stages): no table totals.
    stages: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "time_column": self.time_column,
            "dimensions": list(self.dimensions),
            "measures": list(self.measures),
            "derived": self.derived,
            "filters": self.filters,
            "stages": list(self.stages),
        }

    @classmethod
    def from_dict(cls, data: dict) -> DataPlan:
        return cls(
            time_column=data.get("time_column"),
            dimensions=tuple(data.get("dimensions") or ()),
            measures=tuple(data.get("measures") or ()),
            derived=data.get("derived") or {},
            filters=data.get("filters") or {},
            stages=tuple(data.get("stages") or ()),
        )

    def dimension_slot(self, column: str) -> str:
        return f"d{self.dimensions.index(column)}"

    def measure_slot(self, column: str) -> str:
        return f"m{self.measures.index(column)}"


def _operands(spec: dict) -> list[str]:
    numerator, denominator = spec["ratio"]
    return [numerator, *denominator.split("|")]


def data_plan(*, widgets: list[dict], sql: str, report_config: dict | None = None) -> DataPlan:
    columns = output_columns(sql)
    time = next((w["time"] for w in widgets if w.get("time") in columns), None)
    time = time or next((c for c in TIME_COLUMNS if c in columns), None)
    derived_specs = {**DERIVED_COLUMNS, **((report_config or {}).get("derived") or {})}
    dimensions: list[str] = []
    wanted: list[str] = []

    def add(target: list[str], name: str | None) -> None:
        if name and name in columns and name != time and name not in target:
            target.append(name)

    for widget in widgets:
        if widget["type"] == "chart":
            add(dimensions, widget["x"])
            add(dimensions, widget.get("series"))
            if widget.get("order_by") and widget["order_by"] not in widget["y"]:
                add(dimensions, widget["order_by"])
        if widget["type"] == "table":
            for name in widget["group_by"]:
                add(dimensions, name)
    for column in FILTER_COLUMNS.values():
        add(dimensions, column)
    for widget in widgets:
        for name in widget_columns(widget):
            if name not in dimensions:
                add(wanted, name)
    derived = {}
    measures: list[str] = []
    for name in wanted:
        card = next((w for w in widgets if w.get("metric") == name and w.get("ratio")), None)
        spec = derived_specs.get(name)
        if card:
            # A percent card shows percent units, like the SQL's own rate columns.
            scale = 100 if card.get("format") == "percent" else 1
            spec = {"ratio": card["ratio"], "scale": scale}
        if spec and all(op in columns for op in _operands(spec)):
            derived[name] = spec
            for op in _operands(spec):
                add(measures, op)
        else:
            add(measures, name)
    measures = [m for m in measures if m not in dimensions]
    if len(dimensions) > MAX_DIMENSIONS or len(measures) > MAX_MEASURES:
        raise ConfigError(
            [
                f"report_config: at most {MAX_DIMENSIONS} dimensions and {MAX_MEASURES} "
                f"measures (has {len(dimensions)} and {len(measures)})"
            ]
        )
    filters = {name: col for name, col in FILTER_COLUMNS.items() if col in dimensions}
    stages = tuple(w["x"] for w in widgets if w["type"] == "chart" and w["chart"] == "funnel")
    return DataPlan(time, tuple(dimensions), tuple(measures), derived, filters, stages)
