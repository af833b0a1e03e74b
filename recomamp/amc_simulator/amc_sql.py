"""AMC SQL on DuckDB: what DuckDB does not speak natively, and how it is translated.

Most of AMC's SQL (a Spark/Presto-like dialect) runs on DuckDB as written: DATE_TRUNC,
EXTRACT, COUNT(DISTINCT ...), CASE, IF, COALESCE, IFNULL, NULLIF, window functions, SUM/AVG/
MIN/MAX, STDDEV*/VAR*, MEDIAN, HOUR/MINUTE/MONTH/YEAR/WEEK/DAYOFMONTH, LOWER/UPPER/TRIM,
REGEXP_REPLACE, ARRAY_CONTAINS/ARRAY_DISTINCT/ARRAY_SORT/ARRAY_TO_STRING,
STRING_AGG, RANDOM. The rest is below, in two forms:

- TRANSLATIONS: DuckDB macros created on every query connection. The user's SQL is checked
  against them exactly as written, so DuckDB's compile errors point at the user's own lines
  and columns.
- rewrite(): the translations a macro cannot express, applied to the parsed query:
  COLLECT(DISTINCT x) needs an aggregate, not a macro; TO_DATE with a Java date format needs
  the format converted to strftime's while it is still a literal; `a SIMILAR TO 'p'` is a
  regular expression that matches ANYWHERE in `a` on AMC (DuckDB's SIMILAR TO must match the
  whole string), so it becomes regexp_matches(a, 'p'); CUSTOM_PARAMETER('name') becomes the
  typed literal sent in the execution request's `parameterValues` (a list inside `IN (...)`
  becomes its items).
- preprocess(): `FROM TABLE(EXTEND_TIME_WINDOW('table', 'P30D', 'P0D'))` (AMC's instructional
  form: the table, then ISO-8601 durations that move the window's start back and its end
  forward) becomes a per-query view of that table over the extended window, before parsing.

Refused at submit with an error naming the function (UNSUPPORTED_FUNCTIONS): NAMED_ROW,
EXPLODE, STR_TO_MAP, JSON_SERIALIZE, FROM_/TO_VARBINARY, and any other table function in
TABLE(...). A function neither AMC nor DuckDB knows fails to compile, named the same way.

AMC's privacy rules (check_privacy), refused at submit: a final output column that is
`user_id` (directly or with DISTINCT), `SELECT *` (or `t.*`) anywhere, and RIGHT JOIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import sqlglot
from sqlglot import exp

READ_DIALECT = "duckdb"
WINDOW_PARAMETERS = ("TIME_WINDOW_START", "TIME_WINDOW_END")


@dataclass(frozen=True)
class Translation:
    amc: str  # how AMC spells it
    duckdb: str  # the DuckDB macro body ("name(args) AS expression[, (args) AS expression]")


# Every AMC function the simulator translates, in one place. `{start}` and `{end}` are the
# query's time window (UTC, as DuckDB timestamp literals).
TRANSLATIONS: tuple[Translation, ...] = (
    Translation(
        "BUILT_IN_PARAMETER('TIME_WINDOW_START' | 'TIME_WINDOW_END')",
        "built_in_parameter(name) AS CASE upper(name) "
        "WHEN 'TIME_WINDOW_START' THEN TIMESTAMP '{start}' "
        "WHEN 'TIME_WINDOW_END' THEN TIMESTAMP '{end}' END",
    ),
    Translation(
        "SECONDS_BETWEEN(first, second) = second - first, in whole seconds",
        "seconds_between(a, b) AS "
        "CAST(floor(epoch(CAST(b AS TIMESTAMP)) - epoch(CAST(a AS TIMESTAMP))) AS BIGINT)",
    ),
    Translation("NVL(a, b)", "nvl(a, b) AS coalesce(a, b)"),
    Translation(
        "NVL2(a, if_not_null, if_null)",
        "nvl2(a, b, c) AS CASE WHEN a IS NOT NULL THEN b ELSE c END",
    ),
    Translation("DAYOFWEEK(d): 1 = Sunday .. 7 = Saturday", "dayofweek(d) AS (isodow(d) % 7) + 1"),
    Translation(
        "CHARINDEX(substring, string [, start])",
        "charindex(sub, s) AS instr(s, sub), "
        "(sub, s, p) AS CASE WHEN instr(s[p:], sub) = 0 THEN 0 ELSE instr(s[p:], sub) + p - 1 END",
    ),
    Translation(
        "LOCATE(substring, string [, start])",
        "locate(sub, s) AS instr(s, sub), "
        "(sub, s, p) AS CASE WHEN instr(s[p:], sub) = 0 THEN 0 ELSE instr(s[p:], sub) + p - 1 END",
    ),
    Translation(
        "EPOCH_TO_UTC_TIMESTAMP(seconds or milliseconds)",
        "epoch_to_utc_timestamp(x) AS CASE WHEN abs(x) >= 100000000000 "
        "THEN make_timestamp(CAST(x AS BIGINT) * 1000) "
        "ELSE make_timestamp(CAST(CAST(x AS DOUBLE) * 1000000 AS BIGINT)) END",
    ),
    Translation(
        "CONVERT_TIME_ZONE_FROM_UTC(timestamp, 'Zone/Name')",
        "convert_time_zone_from_utc(t, tz) AS timezone(tz, timezone('UTC', CAST(t AS TIMESTAMP)))",
    ),
    Translation(
        "TO_DATE(string) (TO_DATE(string, 'yyyy-MM-dd'): see rewrite())",
        "to_date(x) AS CAST(x AS DATE)",
    ),
    Translation("PERCENTILE(x, p)", "percentile(x, p) AS quantile_cont(x, p)"),
    Translation("APPROX_PERCENTILE(x, p)", "approx_percentile(x, p) AS approx_quantile(x, p)"),
    Translation("HASH64(x)", "hash64(x) AS hash(x)"),
    Translation("CARDINALITY(array)", "cardinality(a) AS len(a)"),
    Translation("COLLECT(x) (COLLECT(DISTINCT x): see rewrite())", "collect(x) AS list(x)"),
    Translation(
        "ARRAY_COMPLEMENT(a, b)",
        "array_complement(a, b) AS list_filter(a, lambda x: NOT list_contains(b, x))",
    ),
)


# AMC functions the simulator cannot run: refused at submit, naming the function.
UNSUPPORTED_FUNCTIONS = (
    "NAMED_ROW",
    "EXPLODE",
    "STR_TO_MAP",
    "STRTOMAP",
    "JSON_SERIALIZE",
    "FROM_VARBINARY",
    "TO_VARBINARY",
)
EXTENDED_VIEW_PREFIX = "__amc_extended_"


class QueryRejected(Exception):
    """The query cannot run: `message` is the summary, `details` the useful text."""

    def __init__(self, message: str, details: str, *, syntax: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.syntax = syntax  # sqlglot could not read the text (DuckDB may still)


def timestamp_literal(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def macro_statements(*, start: datetime, end: datetime) -> list[str]:
    """The TEMP MACROs of AMC's functions for a window (run them with the views, in one go)."""
    values = {"start": timestamp_literal(start), "end": timestamp_literal(end)}
    return [
        "CREATE OR REPLACE TEMP MACRO " + translation.duckdb.format(**values)
        for translation in TRANSLATIONS
    ]


def parse(sql: str) -> exp.Query:
    """The single SELECT statement of `sql`; raise QueryRejected for anything else."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=READ_DIALECT) if s is not None]
    except sqlglot.errors.ParseError as error:
        raise QueryRejected(
            "Query could not be parsed", clean_error(str(error)), syntax=True
        ) from error
    if len(statements) != 1:
        raise QueryRejected(
            "Query must be exactly one statement", f"Found {len(statements)} statements."
        )
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise QueryRejected(
            "Only SELECT queries are allowed",
            f"The statement is a {statement.key.upper()}, not a SELECT.",
        )
    for call in statement.find_all(exp.Anonymous):
        if str(call.name).upper() != "BUILT_IN_PARAMETER":
            continue
        args = call.expressions
        if (
            len(args) != 1
            or not isinstance(args[0], exp.Literal)
            or not args[0].is_string
            or args[0].name.upper() not in WINDOW_PARAMETERS
        ):
            raise QueryRejected(
                "Unknown built-in parameter",
                f"{call.sql(READ_DIALECT)}: BUILT_IN_PARAMETER takes 'TIME_WINDOW_START' or "
                "'TIME_WINDOW_END'.",
            )
    return statement


def rewrite(statement: exp.Query, parameter_values: dict | None = None) -> exp.Query:
    """Translations a macro cannot do, on a copy of the parsed query."""
    statement = statement.copy()
    for similar in list(statement.find_all(exp.SimilarTo)):
        similar.replace(
            exp.Anonymous(this="REGEXP_MATCHES", expressions=[similar.this, similar.expression])
        )
    for call in list(statement.find_all(exp.Anonymous)):
        name = str(call.name).upper()
        if name == "CUSTOM_PARAMETER":
            _substitute_parameter(call, parameter_values or {})
        elif name == "COLLECT":
            call.replace(exp.Anonymous(this="LIST", expressions=call.expressions))
        elif name == "TO_DATE" and len(call.expressions) == 2:
            value, fmt = call.expressions
            if isinstance(fmt, exp.Literal) and fmt.is_string:
                parsed = exp.Anonymous(
                    this="STRPTIME", expressions=[value, exp.Literal.string(_strftime(fmt.name))]
                )
                call.replace(exp.Cast(this=parsed, to=exp.DataType.build("DATE")))
    return statement


def custom_parameter_names(statement: exp.Expression) -> list[str]:
    """The names a query reads with CUSTOM_PARAMETER('name'); refuses any other argument."""
    names = []
    for call in statement.find_all(exp.Anonymous):
        if str(call.name).upper() != "CUSTOM_PARAMETER":
            continue
        args = call.expressions
        if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
            raise QueryRejected(
                "Invalid custom parameter",
                f"{call.sql(READ_DIALECT)}: CUSTOM_PARAMETER takes one parameter name in quotes.",
            )
        names.append(args[0].name)
    return names


def check_parameter_values(statement: exp.Expression, parameter_values: dict) -> None:
    missing = sorted(set(custom_parameter_names(statement)) - set(parameter_values))
    if missing:
        raise QueryRejected(
            "Missing custom parameter value",
            "No value was sent for "
            + ", ".join(f"CUSTOM_PARAMETER('{name}')" for name in missing)
            + ": send it in the execution request's parameterValues.",
        )


def _literal(value) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, list):
        return exp.Array(expressions=[_literal(item) for item in value])
    raise QueryRejected(
        "Invalid custom parameter value",
        f"{value!r}: a parameter value is a string, number, boolean, null or a list of them.",
    )


def _substitute_parameter(call: exp.Anonymous, parameter_values: dict) -> None:
    (name_literal,) = call.expressions
    value = parameter_values[name_literal.name]
    parent = call.parent
    if isinstance(value, list) and isinstance(parent, exp.In) and parent.expressions == [call]:
        parent.set("expressions", [_literal(item) for item in value] or [exp.Null()])
        return
    call.replace(_literal(value))


def check_supported(statement: exp.Expression) -> None:
    """Refuse AMC functions the simulator cannot run, naming them."""
    for node in statement.find_all(exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
        if name in UNSUPPORTED_FUNCTIONS:
            raise QueryRejected(
                f"Unsupported function {name}",
                f"{name} is an AMC function this simulator does not support; the query "
                "cannot be checked here.",
            )


def check_privacy(statement: exp.Query) -> None:
    """AMC's privacy rules, checked at submit (QueryRejected with the rule broken)."""
    for join in statement.find_all(exp.Join):
        if str(join.args.get("side") or "").upper() == "RIGHT":
            raise QueryRejected(
                "RIGHT JOIN is not allowed",
                "AMC does not support RIGHT JOIN: swap the tables and use LEFT JOIN.",
            )
    for select in statement.find_all(exp.Select):
        source = select.args.get("from_")
        if source is not None and isinstance(source.this, exp.Values):
            continue  # a VALUES table (sqlglot reads `name (cols) AS (VALUES ...)` so)
        for projection in select.expressions:
            star = isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
            )
            if star:
                raise QueryRejected(
                    "SELECT * is not allowed",
                    f"{projection.sql(READ_DIALECT)}: AMC requires the columns to be listed "
                    "explicitly.",
                )
    for branch in _output_selects(statement):
        for projection in branch.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            direct = isinstance(inner, exp.Column) and inner.name.lower() == "user_id"
            renamed = projection.alias_or_name.lower() == "user_id" and not any(
                True for _ in inner.find_all(exp.AggFunc)
            )
            if direct or renamed:
                raise QueryRejected(
                    "user_id cannot be output",
                    "user_id may be used inside the query but not selected in its final "
                    "output (directly or with DISTINCT); aggregate it, e.g. "
                    "COUNT(DISTINCT user_id).",
                )


def _output_selects(query: exp.Expression) -> list[exp.Select]:
    while isinstance(query, exp.Subquery):
        query = query.this
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.SetOperation):
        return _output_selects(query.this) + _output_selects(query.expression)
    return []


# --- EXTEND_TIME_WINDOW and other table functions (before parsing) --------------------------

_GAP = r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*"  # whitespace and comments
_QUOTED = r"(?:'([^']*)'|\"([^\"]*)\"|([A-Za-z_][A-Za-z0-9_]*))"
_EXTEND = re.compile(
    rf"\bTABLE{_GAP}\({_GAP}EXTEND_TIME_WINDOW{_GAP}\({_GAP}{_QUOTED}{_GAP},{_GAP}"
    rf"'([^']*)'{_GAP},{_GAP}'([^']*)'{_GAP}\){_GAP}\)",
    re.IGNORECASE | re.DOTALL,
)
_TABLE_FUNCTION = re.compile(rf"\bFROM{_GAP}TABLE{_GAP}\({_GAP}([A-Za-z_]\w*)", re.I | re.DOTALL)
_DURATION = re.compile(
    r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE
)


@dataclass(frozen=True)
class ExtendedTable:
    view: str  # the per-query view the query reads instead
    table: str
    before: timedelta  # the window's start moves back by this
    after: timedelta  # and its end forward by this


@dataclass(frozen=True)
class Preprocessed:
    sql: str
    extended: tuple[ExtendedTable, ...]


def _duration(text: str, argument: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or text.strip().upper() in ("P", "PT"):
        raise QueryRejected(
            "Invalid EXTEND_TIME_WINDOW argument",
            f"{argument} '{text}' must be an ISO-8601 duration such as 'P30D' or 'PT12H'.",
        )
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def base_table(name: str) -> str:
    """The AMC table behind a table name a query reads (an extended view's own table)."""
    if name.startswith(EXTENDED_VIEW_PREFIX):
        return name[len(EXTENDED_VIEW_PREFIX) :].split("__", 1)[1]
    return name


def preprocess(sql: str, tables) -> Preprocessed:
    """Replace each TABLE(EXTEND_TIME_WINDOW(...)) by a view name; refuse other TABLE(...).

    The replacement keeps the line count, so DuckDB's LINE n still points at the user's lines.
    """
    extended: list[ExtendedTable] = []

    def replace(match: re.Match) -> str:
        table = next(g for g in match.groups()[:3] if g is not None).lower()
        if table not in tables:
            raise QueryRejected(
                "Invalid EXTEND_TIME_WINDOW argument",
                f"'{table}' is not a table: EXTEND_TIME_WINDOW takes one of "
                f"{', '.join(sorted(tables))}.",
            )
        before = _duration(match.group(4), "The start offset")
        after = _duration(match.group(5), "The end offset")
        view = f"{EXTENDED_VIEW_PREFIX}{len(extended) + 1}__{table}"
        extended.append(ExtendedTable(view, table, before, after))
        return view + "\n" * match.group(0).count("\n")

    text = _EXTEND.sub(replace, sql)
    other = _TABLE_FUNCTION.search(text)
    if other:
        name = other.group(1).upper()
        raise QueryRejected(
            f"Unsupported function {name}",
            f"TABLE({name}(...)) is not supported: the only table function is "
            "EXTEND_TIME_WINDOW('table', 'P<n>D', 'P<n>D').",
        )
    return Preprocessed(text, tuple(extended))


_JAVA_TO_STRFTIME = (
    ("yyyy", "%Y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
)


def _strftime(java_format: str) -> str:
    for java, strftime in _JAVA_TO_STRFTIME:
        java_format = java_format.replace(java, strftime)
    return java_format


def to_sql(statement: exp.Expression) -> str:
    return statement.sql(dialect=READ_DIALECT)


def clean_error(text: str) -> str:
    """DuckDB's message without the simulator's internals (the raw schema's name)."""
    return text.replace('"amc_raw.', '"').replace("amc_raw.", "").strip()


def require_single_select(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
    """DuckDB's own parser decides what the text is; only one SELECT may pass."""
    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as error:
        raise QueryRejected("Query could not be parsed", clean_error(str(error))) from error
    if len(statements) != 1:
        raise QueryRejected(
            "Query must be exactly one statement", f"Found {len(statements)} statements."
        )
    if statements[0].type != duckdb.StatementType.SELECT:
        kind = str(statements[0].type).rsplit(".", 1)[-1]
        raise QueryRejected(
            "Only SELECT queries are allowed", f"The statement is a {kind}, not a SELECT."
        )


_MISSING_FUNCTION = re.compile(r"Function with name (\w+) does not exist", re.IGNORECASE)


def missing_function(error: str) -> str | None:
    """The function DuckDB's compile error says does not exist, if that is the error."""
    match = _MISSING_FUNCTION.search(error)
    return match.group(1).upper() if match else None


def check_compiles(cur: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """None if DuckDB can plan `sql` on this connection, else DuckDB's error text.

    EXPLAIN goes on a line of its own so that DuckDB's "LINE n:" still counts the user's lines.
    """
    try:
        cur.execute("EXPLAIN\n" + sql)
        return None
    except duckdb.InterruptException:
        raise
    except duckdb.Error as error:
        text = re.sub(r"LINE (\d+):", lambda m: f"LINE {int(m.group(1)) - 1}:", str(error))
        return clean_error(text)
