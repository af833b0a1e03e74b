"""Reads over the precomputed daily aggregates (`DashboardFact`), and each widget's data.

Everything a widget shows is computed here from the aggregates, by the refresh (for the default
view) and per request (for a filtered view): never from the raw result rows. Rates are
recomputed from sums (a ratio of sums), never added up or averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Q, Sum

from dashboards.models import DashboardFact
from dashboards.widgets import DataPlan

#: A time-series dashboard first shows the last this-many days of its data.
DEFAULT_PERIOD_DAYS = 30
TABLE_ROWS = 20


@dataclass(frozen=True)
class Period:
    """Days of the aggregates read (`start`..`end`) and compared with; `shown_end` is the
    last day of the AMC window shown when it differs from `end` (one run's whole window)."""

    start: date | None
    end: date | None
    previous_start: date | None = None
    previous_end: date | None = None
    shown_end: date | None = None

    def as_dict(self) -> dict:
        return {
            "start": _iso(self.start),
            "end": _iso(self.shown_end or self.end),
            "previous_start": _iso(self.previous_start),
            "previous_end": _iso(self.previous_end),
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the dashboard to (all optional); round-trips in the URL."""

    start: date | None = None
    end: date | None = None
    dimensions: dict = field(default_factory=dict)  # filter name -> value, e.g. campaign

    @property
    def is_default(self) -> bool:
        return not (self.start or self.end or any(self.dimensions.values()))

    def as_query(self) -> dict:
        query = {name: value for name, value in self.dimensions.items() if value}
        if self.start:
            query["start"] = self.start.isoformat()
        if self.end:
            query["end"] = self.end.isoformat()
        return query


def resolve_period(*, summary: dict, plan: DataPlan, filters: Filters) -> Period:
    """The period shown and the one before it (for a card's change)."""
    first = _date(summary.get("first_day"))
    last = _date(summary.get("last_day"))
    if first is None or last is None:
        return Period(None, None)
    if plan.time_column:
        end = min(filters.end or last, last) if filters.end is None else filters.end
        start = filters.start or max(first, end - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
        if filters.start and not filters.end:
            end = last
        if start > end:
            start, end = end, start
        length = (end - start).days + 1
        previous_start = start - timedelta(days=length)
        if previous_start < first:
            # Compare only with a period the data covers whole, never with a sliver of it.
            return Period(start, end)
        return Period(start, end, previous_start, start - timedelta(days=1))
    # One point per run window: the latest window, compared with the one before it.
    days = sorted(_date(day) for day in summary.get("window_days") or [])
    ends = {start: _date(end) for start, end in summary.get("windows") or []}
    if filters.start or filters.end:
        start, end = filters.start or first, filters.end or last
        if start > end:
            start, end = end, start
        length = (end - start).days + 1
        return Period(start, end, start - timedelta(days=length), start - timedelta(days=1))
    earlier = [day for day in days if day < last]
    previous = earlier[-1] if earlier else None
    return Period(last, last, previous, previous, shown_end=ends.get(last.isoformat()))


def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class FactReader:
    """Sums of the dashboard's measures over a period, by day or by dimensions."""

    def __init__(self, *, dashboard_pk, plan: DataPlan, filters: Filters):
        self.plan = plan
        self.facts = DashboardFact.objects.filter(dashboard_id=dashboard_pk)
        self.dimension_filter = Q()
        for name, value in filters.dimensions.items():
            column = plan.filters.get(name)
            if column and value:
                self.dimension_filter &= Q(**{plan.dimension_slot(column): value})
        self.filtered = bool(self.dimension_filter)
        self._cache: dict = {}

    def _sums(self) -> dict:
        return {m: Sum(self.plan.measure_slot(m)) for m in self.plan.measures}

    def _base(self, start, end, *, detail: bool):
        grain = 1 if (detail or self.filtered) else 0
        facts = self.facts.filter(grain=grain)
        if start is not None:
            facts = facts.filter(day__gte=start)
        if end is not None:
            facts = facts.filter(day__lte=end)
        return facts.filter(self.dimension_filter) if grain == 1 else facts

    def totals(self, start, end) -> dict | None:
        """Sums over the period; None when no data falls in it."""
        key = ("totals", start, end)
        if key not in self._cache:
            facts = self._base(start, end, detail=False)
            row = facts.aggregate(_rows=Count("id"), **self._sums())
            self._cache[key] = row if row.pop("_rows") else None
        return self._cache[key]

    def by_day(self, start, end) -> list[tuple[date, dict]]:
        key = ("by_day", start, end)
        if key not in self._cache:
            rows = (
                self._base(start, end, detail=False)
                .values("day")
                .annotate(**self._sums())
                .order_by("day")
            )
            self._cache[key] = [(row.pop("day"), row) for row in rows]
        return self._cache[key]

    def by_dimensions(self, start, end, columns: tuple[str, ...]) -> list[tuple[dict, dict]]:
        key = ("by_dims", start, end, columns)
        if key not in self._cache:
            slots = [self.plan.dimension_slot(column) for column in columns]
            rows = self._base(start, end, detail=True).values(*slots).annotate(**self._sums())
            result = []
            for row in rows:
                keys = {column: row.pop(slot) for column, slot in zip(columns, slots, strict=True)}
                result.append((keys, row))
            self._cache[key] = result
        return self._cache[key]

    def distinct(self, column: str) -> list[str]:
        slot = self.plan.dimension_slot(column)
        return list(
            self.facts.filter(grain=1)
            .exclude(**{slot: ""})
            .values_list(slot, flat=True)
            .distinct()
            .order_by(slot)
        )


def value_of(column: str, sums: dict | None, plan: DataPlan) -> float | None:
    """A column's value from sums: a measure's sum, or a rate recomputed from its parts."""
    if sums is None:
        return None
    spec = plan.derived.get(column)
    if spec:
        numerator, denominator = spec["ratio"]
        top = sums.get(numerator)
        bottoms = [sums.get(name) for name in denominator.split("|")]
        if top is None or any(b is None for b in bottoms):
            return None
        bottom = min(bottoms)
        return top / bottom * spec.get("scale", 1) if bottom else None
    return sums.get(column)


def _sort_key(value: str):
    """Dimension values sort as numbers when they are numbers (frequency 2 before 10)."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


# -- widget data -----------------------------------------------------------------------------


def widget_data(widget: dict, *, reader: FactReader, period: Period) -> dict:
    """What one widget shows over the period: plain JSON (no chart spec yet)."""
    kind = widget["type"]
    plan = reader.plan
    if kind == "metric_card":
        current = reader.totals(period.start, period.end)
        previous = (
            reader.totals(period.previous_start, period.previous_end)
            if period.previous_start
            else None
        )
        value = value_of(widget["metric"], current, plan)
        before = value_of(widget["metric"], previous, plan)
        change = None
        if value is not None and before not in (None, 0):
            change = (value - before) / abs(before) * 100
        return {"value": value, "previous": before, "change_pct": change}
    if kind == "chart":
        return {"rows": chart_rows(widget, reader=reader, period=period)}
    if kind == "table":
        return table_data(widget, reader=reader, period=period)
    if kind == "insight":
        metric = widget["metric"]
        series = [
            {"day": day.isoformat(), "value": value_of(metric, sums, plan)}
            for day, sums in reader.by_day(None, None)
        ]
        return {"metric": metric, "series": series}
    return {}


def chart_rows(widget: dict, *, reader: FactReader, period: Period) -> list[dict]:
    """Long-format rows {x, [series], measure, value} ready for a Vega-Lite spec."""
    plan = reader.plan
    x = widget["x"]
    measures = widget["y"]
    if x == plan.time_column:
        return [
            {x: day.isoformat(), "measure": m, "value": value_of(m, sums, plan)}
            for day, sums in reader.by_day(period.start, period.end)
            for m in measures
        ]
    columns = tuple(c for c in (x, widget.get("series"), widget.get("order_by")) if c)
    columns = tuple(c for c in dict.fromkeys(columns) if c in plan.dimensions)
    groups = reader.by_dimensions(period.start, period.end, columns)
    first = measures[0]
    if widget.get("order_by"):
        groups.sort(key=lambda g: _sort_key(g[0].get(widget["order_by"])))
    elif widget.get("chart") in ("line", "area") or not widget.get("limit"):
        groups.sort(key=lambda g: _sort_key(g[0][x]))
    else:
        groups.sort(key=lambda g: -(value_of(first, g[1], plan) or 0))
    if widget.get("limit"):
        groups = groups[: widget["limit"]]
    rows = []
    for keys, sums in groups:
        for m in measures:
            rows.append({**keys, "measure": m, "value": value_of(m, sums, plan)})
    return rows


def table_data(widget: dict, *, reader: FactReader, period: Period) -> dict:
    plan = reader.plan
    group_by = tuple(widget["group_by"])
    columns = widget["columns"]
    groups = reader.by_dimensions(period.start, period.end, group_by)
    first = columns[0] if columns else None
    if first:
        groups.sort(key=lambda g: -(value_of(first, g[1], plan) or 0))
    limit = widget.get("limit") or TABLE_ROWS
    rows = [
        {**keys, **{c: value_of(c, sums, plan) for c in columns}} for keys, sums in groups[:limit]
    ]
    totals = reader.totals(period.start, period.end)
    if set(group_by) & set(plan.stages):
        totals = None  # a funnel's stages hold the same people: their sum means nothing
    return {
        "columns": [*group_by, *columns],
        "rows": rows,
        "totals": {c: value_of(c, totals, plan) for c in columns} if totals else {},
        "total_rows": len(groups),
    }
