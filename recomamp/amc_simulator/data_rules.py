"""AMC's data rules, in one place: the time window, data lag, retention and the aggregation
threshold. (The choices behind them are listed in config.py, points 5-7.)

- Time window: every table a query sees is a TEMP VIEW over the stored table restricted to the
  window by its own event-time column (WINDOW_COLUMNS), created per query connection. Windows
  are converted from `timeWindowTimeZone` to UTC; the event-time columns are UTC. A window
  written with a trailing Z is accepted but every view is empty, as AMC returns empty results.
- Data lag: rows are visible only before `visible_until(today)` (the end of the UTC day
  `lag_days` before today), on the table's availability column(s).
- Retention: a window starting more than `retention_days` before today fails (see engine).
- Aggregation threshold: apply_threshold() rewrites the parsed query so that each output row
  carries the distinct users behind it (OUTPUT_USERS_COLUMN); the engine drops rows under
  `threshold` from the final output, after the query (window functions included) has run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from .amc_sql import ExtendedTable, base_table, timestamp_literal
from .dataset import RAW_SCHEMA, TABLES

# table -> (column the time window applies to, columns that must be before the lag cut)
WINDOW_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sponsored_ads_traffic": ("event_dt_utc", ("event_dt_utc",)),
    "dsp_impressions": ("impression_dt_utc", ("impression_dt_utc",)),
    "dsp_clicks": ("click_dt_utc", ("click_dt_utc",)),
    "amazon_attributed_events_by_traffic_time": (
        "traffic_event_dt_utc",
        ("traffic_event_dt_utc", "conversion_event_dt_utc"),
    ),
    "amazon_attributed_events_by_conversion_time": (
        "conversion_event_dt_utc",
        ("traffic_event_dt_utc", "conversion_event_dt_utc"),
    ),
    "conversions": ("event_dt_utc", ("event_dt_utc",)),
}

TIME_WINDOW_TYPES = (
    "EXPLICIT",
    "MOST_RECENT_DAY",
    "MOST_RECENT_WEEK",
    "CURRENT_MONTH",
    "PREVIOUS_MONTH",
)
_TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z)?$")


class WindowError(ValueError):
    """The request's time window is invalid (a 400 at submit)."""


@dataclass(frozen=True)
class TimeWindow:
    window_type: str
    start_local: datetime  # naive, in `timezone`
    end_local: datetime
    timezone: str
    start_utc: datetime  # naive UTC
    end_utc: datetime
    zulu: bool  # a timestamp carried a trailing Z: AMC returns empty results
    start_original: str
    end_original: str

    def as_api(self) -> dict:
        return {
            "timeWindowType": self.window_type,
            "timeWindowStart": self.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeWindowEnd": self.end_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeWindowStartOriginal": self.start_original,
            "timeWindowEndOriginal": self.end_original,
            "timeWindowTimeZoneOriginal": self.timezone,
        }


def _parse_timestamp(field: str, value) -> tuple[datetime, bool]:
    if not isinstance(value, str):
        raise WindowError(f"{field} must be a string like 2026-10-01T00:00:00")
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise WindowError(f"{field} '{value}' must look like 2026-10-01T00:00:00")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        parsed = datetime(year, month, day, hour, minute, second, micro)
    except ValueError as error:
        raise WindowError(f"{field} '{value}' is not a valid time: {error}") from error
    return parsed, match.group(8) is not None


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def parse_window(body: dict, *, today: date, lag_days: int) -> TimeWindow:
    """The request's window. Relative window types end where complete data ends."""
    window_type = body.get("timeWindowType", "MOST_RECENT_DAY")
    if window_type not in TIME_WINDOW_TYPES:
        raise WindowError(
            f"timeWindowType '{window_type}' must be one of {', '.join(TIME_WINDOW_TYPES)}"
        )
    zone_name = body.get("timeWindowTimeZone") or "UTC"
    if not isinstance(zone_name, str):
        raise WindowError("timeWindowTimeZone must be a time zone name like America/New_York")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise WindowError(f"timeWindowTimeZone '{zone_name}' is not a known time zone") from error

    zulu = False
    if window_type == "EXPLICIT":
        if body.get("timeWindowStart") is None or body.get("timeWindowEnd") is None:
            raise WindowError("timeWindowStart and timeWindowEnd are required for EXPLICIT")
        start, zulu_start = _parse_timestamp("timeWindowStart", body["timeWindowStart"])
        end, zulu_end = _parse_timestamp("timeWindowEnd", body["timeWindowEnd"])
        zulu = zulu_start or zulu_end
        start_original, end_original = body["timeWindowStart"], body["timeWindowEnd"]
    else:
        last_complete = today - timedelta(days=lag_days)
        midnight = time(0, 0)
        if window_type == "MOST_RECENT_DAY":
            start = datetime.combine(last_complete - timedelta(days=1), midnight)
            end = datetime.combine(last_complete, midnight)
        elif window_type == "MOST_RECENT_WEEK":
            start = datetime.combine(last_complete - timedelta(days=7), midnight)
            end = datetime.combine(last_complete, midnight)
        elif window_type == "CURRENT_MONTH":
            start = datetime.combine(today.replace(day=1), midnight)
            end = max(start, datetime.combine(last_complete, midnight))
        else:  # PREVIOUS_MONTH
            first_this = today.replace(day=1)
            start = datetime.combine((first_this - timedelta(days=1)).replace(day=1), midnight)
            end = datetime.combine(first_this, midnight)
        start_original = start.strftime("%Y-%m-%dT%H:%M:%S")
        end_original = end.strftime("%Y-%m-%dT%H:%M:%S")
    if zulu:
        # Taken as UTC for the response; the views are empty whatever the window.
        start_utc, end_utc = start, end
    else:
        start_utc, end_utc = _to_utc(start, zone), _to_utc(end, zone)
    if end_utc <= start_utc and window_type == "EXPLICIT":
        raise WindowError("timeWindowEnd must be after timeWindowStart")
    return TimeWindow(
        window_type=window_type,
        start_local=start,
        end_local=end,
        timezone=zone_name,
        start_utc=start_utc,
        end_utc=end_utc,
        zulu=zulu,
        start_original=start_original,
        end_original=end_original,
    )


def earliest_allowed_start(today: date, retention_days: int) -> date:
    return today - timedelta(days=retention_days)


def retention_violation(window: TimeWindow, *, today: date, retention_days: int) -> str | None:
    """The FAILED message for a window older than retention, or None."""
    earliest = earliest_allowed_start(today, retention_days)
    if window.start_local.date() < earliest:
        return (
            f"Time window start {window.start_original} is outside the data retention period: "
            f"the earliest available date is {earliest.isoformat()} ({retention_days} days)."
        )
    return None


def visible_until(today: date, lag_days: int) -> datetime:
    """Events at or after this UTC instant are not yet complete, hence not visible."""
    return datetime.combine(today - timedelta(days=lag_days - 1), time(0, 0))


def view_statements(
    window: TimeWindow,
    *,
    today: date,
    lag_days: int,
    extended: tuple[ExtendedTable, ...] = (),
) -> list[str]:
    """The query's tables, and the EXTEND_TIME_WINDOW views it reads, as TEMP VIEWs."""
    statements = []
    views = [(table, table, timedelta(0), timedelta(0)) for table in WINDOW_COLUMNS]
    views += [(e.view, e.table, e.before, e.after) for e in extended]
    cut = timestamp_literal(visible_until(today, lag_days))
    for view, table, before, after in views:
        window_column, lag_columns = WINDOW_COLUMNS[table]
        start = timestamp_literal(window.start_utc - before)
        end = timestamp_literal(window.end_utc + after)
        if window.zulu:
            condition = "false"
        else:
            parts = [
                f"{window_column} >= TIMESTAMP '{start}'",
                f"{window_column} < TIMESTAMP '{end}'",
            ] + [f"{column} < TIMESTAMP '{cut}'" for column in lag_columns]
            condition = " AND ".join(parts)
        statements.append(
            f"CREATE OR REPLACE TEMP VIEW {view} AS "
            f"SELECT * FROM {RAW_SCHEMA}.{table} WHERE {condition}"
        )
    return statements


# --- Aggregation threshold ------------------------------------------------------------------

HIDDEN_PREFIX = "__amc_users_"
# The users behind each output row, filtered on after the query has run (engine._write_csv).
OUTPUT_USERS_COLUMN = HIDDEN_PREFIX + "output"
# Aggregates that reach DuckDB as macros or under AMC names (sqlglot sees plain calls).
_AGGREGATE_MACROS = {"COLLECT", "LIST", "PERCENTILE", "APPROX_PERCENTILE"}
_TABLE_COLUMNS = {name: {column for column, _ in columns} for name, columns in TABLES.items()}


def is_hidden_column(name: str) -> bool:
    return name.startswith(HIDDEN_PREFIX)


def apply_threshold(statement: exp.Query, threshold: int, *, outermost_only: bool = False) -> bool:
    """Rewrite `statement` in place so that output rows need `threshold` distinct users.

    Each output SELECT gets a hidden column, OUTPUT_USERS_COLUMN, with the users behind its
    row; the rows are filtered on it after the whole query (window functions, ORDER BY and
    LIMIT included) has run, so a row's rank or running total does not depend on which other
    rows survive. Only a UNION that removes duplicates (where an extra column would change
    what is removed) is filtered inside, with HAVING/WHERE on each branch.

    Returns False when the query's rows cannot be traced to users (nothing was added).
    With `outermost_only`, only an outermost SELECT that sees `user_id` is thresholded (the
    fallback when the full rewrite does not bind).
    """
    lineage = _Lineage(statement)
    applied = False
    top = statement
    while isinstance(top, exp.Subquery):
        top = top.this
    as_column = not _removes_duplicates(top)
    for select in _branches(statement):
        if outermost_only:
            aliases = lineage.user_sources(select)
            if not aliases or not lineage.is_aggregated(select):
                continue
            users = lineage.count_users(aliases)
        else:
            if select.args.get("distinct") is not None and not lineage.is_aggregated(select):
                # SELECT DISTINCT groups its rows; say so, so that they can be counted.
                select.set("distinct", None)
                select.set("group", exp.Group(all=True))
            users = lineage.users(select)
            if users is None:
                continue
        if as_column:
            select.select(exp.alias_(users, OUTPUT_USERS_COLUMN), append=True, copy=False)
            applied = True
            continue
        condition = exp.GTE(this=users, expression=exp.Literal.number(threshold))
        if lineage.is_aggregated(select):
            select.having(condition, copy=False)
        else:
            select.where(condition, copy=False)
        applied = True
    return applied


def _removes_duplicates(query: exp.Expression) -> bool:
    if isinstance(query, exp.SetOperation):
        return (
            bool(query.args.get("distinct"))
            or _removes_duplicates(query.this)
            or _removes_duplicates(query.expression)
        )
    return False


def _branches(query: exp.Expression) -> list[exp.Select]:
    """The SELECTs whose rows are the output: one, or each branch of a UNION."""
    while isinstance(query, exp.Subquery):
        query = query.this
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.SetOperation):
        return _branches(query.this) + _branches(query.expression)
    return []


class _Lineage:
    """Traces rows back to users through CTEs, subqueries and joins (config.py point 7)."""

    def __init__(self, root: exp.Expression) -> None:
        self.ctes: dict[str, exp.Expression] = {}
        for cte in root.find_all(exp.CTE):
            self.ctes[cte.alias_or_name.lower()] = cte.this
        self.exposed: dict[int, str | None] = {}
        self.counter = 0

    # What a FROM item is: ("table", name), ("query", node) or ("unknown", None).
    def _target(self, item: exp.Expression) -> tuple[str, exp.Expression | str | None]:
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            name = item.name.lower()
            if not item.args.get("db") and name in self.ctes:
                return "query", self.ctes[name]
            if not item.args.get("db") and base_table(name) in _TABLE_COLUMNS:
                return "table", base_table(name)
            return "unknown", None
        if isinstance(item, exp.Subquery):
            return "query", item.this
        return "unknown", None

    def sources(self, select: exp.Select) -> list[tuple[str, str, exp.Expression | str | None]]:
        items = []
        from_ = select.args.get("from_")
        if from_ is not None:
            items.append(from_.this)
        for join in select.args.get("joins") or []:
            items.append(join.this)
        result = []
        for item in items:
            kind, target = self._target(item)
            result.append((item.alias_or_name, kind, target))
        return result

    def output_columns(self, query: exp.Expression, depth: int = 0) -> set[str]:
        if depth > 50:
            return set()
        while isinstance(query, exp.Subquery):
            query = query.this
        if isinstance(query, exp.SetOperation):
            return self.output_columns(query.this, depth + 1)
        if not isinstance(query, exp.Select):
            return set()
        columns: set[str] = set()
        for projection in query.expressions:
            if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
            ):
                wanted = projection.table if isinstance(projection, exp.Column) else None
                for alias, kind, target in self.sources(query):
                    if wanted and alias.lower() != wanted.lower():
                        continue
                    if kind == "table":
                        columns |= _TABLE_COLUMNS[target]
                    elif kind == "query":
                        columns |= self.output_columns(target, depth + 1)
            else:
                columns.add(projection.alias_or_name.lower())
        return columns

    def user_sources(self, select: exp.Select) -> list[str]:
        aliases = []
        for alias, kind, target in self.sources(select):
            columns = (
                _TABLE_COLUMNS[target]
                if kind == "table"
                else self.output_columns(target)
                if kind == "query"
                else set()
            )
            if "user_id" in columns:
                aliases.append(alias)
        return aliases

    @staticmethod
    def count_users(aliases: list[str]) -> exp.Expression:
        column = exp.column("user_id", table=aliases[0] if len(aliases) > 1 else None)
        return exp.Count(this=exp.Distinct(expressions=[column]))

    @staticmethod
    def is_aggregated(select: exp.Select) -> bool:
        if select.args.get("group") is not None or select.args.get("having") is not None:
            return True
        for projection in select.expressions:
            for func in projection.find_all(exp.AggFunc, exp.Anonymous):
                if isinstance(func, exp.Anonymous) and func.name.upper() not in _AGGREGATE_MACROS:
                    continue
                # Directly in this SELECT: not inside OVER (...) nor inside a subquery.
                if not isinstance(func.parent, exp.Window) and (
                    func.find_ancestor(exp.Select) is select
                ):
                    return True
        return False

    @staticmethod
    def groups_by_user(select: exp.Select) -> bool:
        group = select.args.get("group")
        if group is None:
            return False
        keys = list(group.expressions)
        if group.args.get("all"):
            keys = [p for p in select.expressions if not any(True for _ in p.find_all(exp.AggFunc))]
        for key in keys:
            if isinstance(key, exp.Literal) and not key.is_string:
                position = int(key.name) - 1
                if 0 <= position < len(select.expressions):
                    key = select.expressions[position]
            if isinstance(key, exp.Alias):
                key = key.this
            if isinstance(key, exp.Column) and key.name.lower() == "user_id":
                return True
        return False

    def users(self, select: exp.Select) -> exp.Expression | None:
        """An expression, in `select`'s own scope, for the distinct users behind each row."""
        if self.is_aggregated(select):
            if self.groups_by_user(select):
                return exp.Literal.number(1)
            aliases = self.user_sources(select)
            if aliases:
                return self.count_users(aliases)
            per_row = self.row_users(select)
            return exp.Max(this=per_row) if per_row is not None else None
        return self.row_users(select)

    def row_users(self, select: exp.Select) -> exp.Expression | None:
        """Users behind one input row of `select`: the largest count among joined sides."""
        parts: list[exp.Expression] = []
        for alias, kind, target in self.sources(select):
            if kind == "table" and "user_id" in _TABLE_COLUMNS[target]:
                parts.append(exp.Literal.number(1))
            elif kind == "query":
                hidden = self.expose(target)
                if hidden is not None:
                    parts.append(
                        exp.Coalesce(
                            this=exp.column(hidden, table=alias),
                            expressions=[exp.Literal.number(0)],
                        )
                    )
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return exp.Greatest(this=parts[0], expressions=parts[1:])

    def expose(self, query: exp.Expression) -> str | None:
        """Add a hidden users column to a CTE or subquery; return its name (or None)."""
        key = id(query)
        if key in self.exposed:
            return self.exposed[key]
        self.exposed[key] = None  # guards against cycles
        branches = _branches(query)
        if not branches:
            return None
        distinct = isinstance(query, exp.SetOperation) and bool(query.args.get("distinct"))
        expressions = []
        for branch in branches:
            users = self.users(branch)
            if users is None:
                return None
            row_distinct = branch.args.get("distinct") is not None or distinct
            if row_distinct and not isinstance(users, exp.Literal):
                return None  # an extra varying column would change what DISTINCT removes
            expressions.append(users)
        self.counter += 1
        name = f"{HIDDEN_PREFIX}{self.counter}"
        for branch, users in zip(branches, expressions, strict=True):
            branch.select(exp.alias_(users, name), append=True, copy=False)
        self.exposed[key] = name
        return name
