"""AMC SQL on DuckDB: what DuckDB does not speak natively, and how it is translated.

Most of AMC's SQL (a Spark/Presto-like dialect) runs on DuckDB as written: DATE_TRUNC,
EXTRACT, COUNT(DISTINCT ...), CASE, IF, COALESCE, IFNULL, NULLIF, window functions, SUM/AVG/
MIN/MAX, STDDEV*/VAR*, MEDIAN, HOUR/MINUTE/MONTH/YEAR/WEEK/DAYOFMONTH, LOWER/UPPER/TRIM,
REGEXP_REPLACE, SIMILAR TO, ARRAY_CONTAINS/ARRAY_DISTINCT/ARRAY_SORT/ARRAY_TO_STRING,
STRING_AGG, RANDOM. The rest is below, in two forms:

- TRANSLATIONS: DuckDB macros created on every query connection. The user's SQL is checked
  against them exactly as written, so DuckDB's compile errors point at the user's own lines
  and columns.
- rewrite(): the few translations a macro cannot express, applied to the parsed query
  (COLLECT(DISTINCT x) needs an aggregate, not a macro; TO_DATE with a Java date format needs
  the format converted to strftime's while it is still a literal).

Not translated (a query using them fails to compile with DuckDB's message): NAMED_ROW,
EXTEND_TIME_WINDOW, EXPLODE, STR_TO_MAP, FORMAT, JSON_SERIALIZE, FROM_/TO_VARBINARY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

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


class QueryRejected(Exception):
    """The query cannot run: `message` is the summary, `details` the useful text."""

    def __init__(self, message: str, details: str, *, syntax: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.syntax = syntax  # sqlglot could not read the text (DuckDB may still)


def timestamp_literal(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def create_macros(cur: duckdb.DuckDBPyConnection, *, start: datetime, end: datetime) -> None:
    values = {"start": timestamp_literal(start), "end": timestamp_literal(end)}
    for translation in TRANSLATIONS:
        cur.execute("CREATE OR REPLACE TEMP MACRO " + translation.duckdb.format(**values))


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


def rewrite(statement: exp.Query) -> exp.Query:
    """Translations a macro cannot do, on a copy of the parsed query."""
    statement = statement.copy()
    for call in list(statement.find_all(exp.Anonymous)):
        name = str(call.name).upper()
        if name == "COLLECT":
            call.replace(exp.Anonymous(this="LIST", expressions=call.expressions))
        elif name == "TO_DATE" and len(call.expressions) == 2:
            value, fmt = call.expressions
            if isinstance(fmt, exp.Literal) and fmt.is_string:
                parsed = exp.Anonymous(
                    this="STRPTIME", expressions=[value, exp.Literal.string(_strftime(fmt.name))]
                )
                call.replace(exp.Cast(this=parsed, to=exp.DataType.build("DATE")))
    return statement


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
