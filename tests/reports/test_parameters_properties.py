"""Properties of parameter rendering: whatever the value, the SQL keeps the template's shape.

For every type, valid values and hostile strings are rendered into a template that uses the
placeholder in each context the type supports. The result must parse (sqlglot, default and Spark
dialects) as exactly one statement whose tree equals the tree of the same template rendered with
a neutral value of the same type, once literal values are blanked out: the value became exactly
one literal (or one list of literals). Hostile strings are either refused with a ParameterError
on that field or end up as one literal whose value is the input.
"""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from functools import lru_cache

import sqlglot
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from reports.parameters import (
    ParameterErrors,
    parse_definitions,
    preview_sql,
    render_sql,
    resolve_relative,
    text_problem,
    validate_parameters,
)
from reports.parameters.dates import add_months

TODAY = date(2026, 11, 23)
DIALECTS = (None, "spark")
OPTIONS = ["BROAD", "it's", "a -- b", "x; DROP TABLE t"]

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# --- strategies ------------------------------------------------------------------------------

PAYLOADS = [
    "'",
    "''",
    "'; DROP TABLE x; --",
    "' OR '1'='1",
    "'); DELETE FROM t; --",
    "--",
    "/*",
    "*/",
    ";",
    "\\",
    "\\'",
    "\\\\'",
    "’",
    "‘",
    "ʼ",
    "＇",
    "＼",
    "﹨",
    "＂",
    "{{",
    "}}",
    "{{v}}",
    "{{ v.start }}",
    "${env:HOME}",
    "${x}",
    "$$",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1a",
    "\u2028",
    "\u202e",
    "\ufeff",
    '"',
    '"; --',
    "`",
    "%",
    "_",
    "?",
    ":name",
    "@x",
    "N'",
    "U&'",
    "E'",
    "R'",
    "0x27",
    "CHR(39)",
    "/*+ hint */",
    " UNION SELECT * FROM users",
    "é",
    "🚀",
]

hostile_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=4)), min_size=1, max_size=6).map(
        "".join
    ),
    st.text(min_size=1, max_size=30),
    st.text(alphabet="'\"`\\;-/*{}$%_ \n’＇", min_size=1, max_size=12),
)
safe_text = hostile_text.filter(lambda s: s.strip() and text_problem(s) is None)
asin = st.one_of(
    st.from_regex(r"B0[0-9A-Z]{8}", fullmatch=True),
    st.from_regex(r"[0-9]{9}[0-9X]", fullmatch=True),
)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
relative = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["today", "yesterday", "Today "]),
    st.sampled_from(["-", "+", " - "]),
    st.integers(0, 400),
    st.sampled_from(["d", " days", "w", "m", " months", "y"]),
)
date_value = st.one_of(days.map(date.isoformat), days, relative, st.just("today"))
datetime_value = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1990, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    date_value,
)
number_value = st.one_of(
    st.decimals(min_value=-(10**12), max_value=10**12, places=3, allow_nan=False),
    st.integers(-(10**14), 10**14),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda f: round(f, 4)),
).map(lambda v: v if not isinstance(v, float) else float(f"{v:.10g}"))
percentage_value = st.one_of(
    st.decimals(min_value=0, max_value=100, places=3),
    st.decimals(min_value=0, max_value=100, places=2).map(lambda d: f"{d}%"),
    st.integers(0, 100),
)


def lists_of(items):
    return st.one_of(
        st.lists(items, min_size=1, max_size=25),
        st.lists(items, min_size=1, max_size=25).map(", ".join),
    )


# --- templates by type: the placeholder `v` in every context the type supports ----------------

TEXT_SQL = (
    "SELECT {{v}} AS a, x FROM t WHERE s = {{v}} AND s LIKE '%{{v}}%' "
    "AND u IN ({{v}}) AND w <> 'pre{{v}}post' LIMIT 10"
)
DATE_SQL = (
    "SELECT x FROM t WHERE d >= {{v}} AND e = '{{v}}' AND f IN ({{v}}) AND g < CAST({{v}} AS DATE)"
)
NUMBER_SQL = (
    "SELECT x -{{v}} AS a, {{v}} * 2 AS b, x-{{v}}-1 AS c FROM t "
    "WHERE n >= {{v}} AND m IN ({{v}}) AND q = '{{v}}' LIMIT 5"
)
BOOLEAN_SQL = "SELECT x FROM t WHERE b = {{v}} AND c IN ({{v}}) AND d = '{{v}}' AND NOT {{v}}"
LIST_SQL = (
    "SELECT x FROM t WHERE a IN ({{v}}) AND b NOT IN (\n  {{v}}\n) "
    "AND ({{v.is_empty}} OR c IN ({{v}}))"
)
RANGE_SQL = "SELECT x FROM t WHERE d BETWEEN {{v.start}} AND {{v.end}} AND e = '{{v.start}}'"

CASES = {
    "string": (TEXT_SQL, {}, hostile_text),
    "enum": (TEXT_SQL, {"options": OPTIONS}, st.one_of(st.sampled_from(OPTIONS), hostile_text)),
    "date": (DATE_SQL, {}, date_value),
    "relative_date": (DATE_SQL, {}, relative),
    "datetime": (DATE_SQL, {}, datetime_value),
    "integer": (NUMBER_SQL, {}, st.integers(-(2**63), 2**63 - 1)),
    "number": (NUMBER_SQL, {}, number_value),
    "percentage": (NUMBER_SQL, {}, percentage_value),
    "boolean": (BOOLEAN_SQL, {}, st.one_of(st.booleans(), st.sampled_from(["yes", "off"]))),
    "string_list": (LIST_SQL, {"required": False}, lists_of(hostile_text)),
    "campaign_list": (
        LIST_SQL,
        {"required": False},
        st.one_of(lists_of(hostile_text), st.lists(st.integers(0, 10**15), max_size=5)),
    ),
    "asin_list": (LIST_SQL, {"required": False}, st.one_of(lists_of(asin), st.just([]))),
    "date_range": (
        RANGE_SQL,
        {},
        st.tuples(days, days).map(lambda p: {"start": min(p), "end": max(p)}),
    ),
}

# Types whose strategy above only produces valid values: a refusal there is a bug.
ALWAYS_VALID = frozenset(
    {
        "date",
        "relative_date",
        "datetime",
        "integer",
        "number",
        "percentage",
        "boolean",
        "asin_list",
        "date_range",
    }
)


def neutral_sql(kind: str, typed_value) -> str:
    """The template written by hand with a plainly harmless literal of the same type and shape
    (list length) in place of each placeholder: independent of the renderer under test."""
    if kind in ("string", "enum"):
        return (
            "SELECT 'x' AS a, x FROM t WHERE s = 'x' AND s LIKE '%x%' "
            "AND u IN ('x') AND w <> 'prexpost' LIMIT 10"
        )
    if kind in ("date", "relative_date", "datetime"):
        day = "'2000-01-01'"
        return (
            f"SELECT x FROM t WHERE d >= {day} AND e = {day} AND f IN ({day}) "
            f"AND g < CAST({day} AS DATE)"
        )
    if kind in ("integer", "number", "percentage"):
        return (
            "SELECT x - 1 AS a, 1 * 2 AS b, x-1-1 AS c FROM t "
            "WHERE n >= 1 AND m IN (1) AND q = '1' LIMIT 5"
        )
    if kind == "boolean":
        return "SELECT x FROM t WHERE b = TRUE AND c IN (TRUE) AND d = 'true' AND NOT TRUE"
    if kind in ("asin_list", "string_list", "campaign_list"):
        items = ", ".join(f"'x{i}'" for i in range(len(typed_value))) or "NULL"
        return (
            f"SELECT x FROM t WHERE a IN ({items}) AND b NOT IN (\n  {items}\n) "
            f"AND (TRUE OR c IN ({items}))"
        )
    if kind == "date_range":
        return "SELECT x FROM t WHERE d BETWEEN '2000-01-01' AND '2000-01-01' AND e = '2000-01-01'"
    raise AssertionError(kind)


def folded(tree: exp.Expression) -> exp.Expression:
    """Spark before 4.0 reads 'a''b' as the adjacent literals 'a' 'b' (sqlglot: CONCAT of string
    literals); fold them back into the one literal they are."""

    def fold(node):
        if (
            isinstance(node, exp.Concat)
            and node.expressions
            and all(isinstance(e, exp.Literal) and e.is_string for e in node.expressions)
        ):
            return exp.Literal.string("".join(e.this for e in node.expressions))
        return node

    return tree.transform(fold)


@lru_cache(maxsize=256)
def shape(sql: str, dialect: str | None) -> exp.Expression:
    """The one statement `sql` holds, with literal values blanked out."""
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1 and statements[0] is not None, sql

    def blank(node):
        # A negative number is rendered (-5): one numeric literal, like 5.
        if (
            isinstance(node, exp.Paren)
            and isinstance(node.this, exp.Neg)
            and isinstance(node.this.this, exp.Literal)
            and not node.this.this.is_string
        ):
            return exp.Literal(this="?", is_string=False)
        if isinstance(node, exp.Literal):
            return exp.Literal(this="?", is_string=node.is_string)
        if isinstance(node, exp.Boolean):
            return exp.Boolean(this=True)
        return node

    return folded(statements[0]).transform(blank)


def assert_same_structure(kind: str, sql: str, extra: dict, raw) -> None:
    definitions = [{"name": "v", "type": kind, **extra}]
    try:
        rendered = render_sql(sql=sql, definitions=definitions, values={"v": raw}, today=TODAY)
    except ParameterErrors as exc:
        assert kind not in ALWAYS_VALID, exc.errors
        # Refused: every error is about this field, with a code and a message naming it.
        for error in exc.errors:
            assert error.field == "v" or error.field.startswith(("v[", "v.")), error
            assert error.message.startswith(error.field + ": ")
        return
    neutral = neutral_sql(kind, rendered.values["v"])
    for dialect in DIALECTS:
        assert shape(rendered.sql, dialect) == shape(neutral, dialect), (dialect, rendered.sql)


def make_test(kind: str):
    sql, extra, values = CASES[kind]

    @PROPERTY_SETTINGS
    @given(raw=values)
    def test(raw):
        assert_same_structure(kind, sql, extra, raw)

    test.__name__ = f"test_any_{kind}_value_keeps_the_statement_structure"
    return test


for _kind in CASES:
    globals()[f"test_any_{_kind}_value_keeps_the_statement_structure"] = make_test(_kind)


# --- hostile strings: refused, or one literal equal to the input -------------------------------


def literal_values(sql: str, dialect: str | None) -> list[str]:
    (statement,) = sqlglot.parse(sql, read=dialect)
    return [node.this for node in folded(statement).find_all(exp.Literal) if node.is_string]


@PROPERTY_SETTINGS
@given(value=hostile_text)
@example(value="'; DROP TABLE x; --")
@example(value="it's")
@example(value="\\'; DROP TABLE x; --")
@example(value="’; DROP TABLE x; --")
@example(value="＇; DROP TABLE x; --")
@example(value="{{v}}")
@example(value="${env:HOME}")
@example(value="a\n; DROP TABLE x")
def test_hostile_strings_are_refused_or_become_exactly_one_literal_of_the_input(value):
    definitions = [{"name": "v", "type": "string"}]
    try:
        bare = render_sql(
            sql="SELECT {{v}} AS a", definitions=definitions, values={"v": value}, today=TODAY
        ).sql
    except ParameterErrors as exc:
        (error,) = exc.errors
        assert error.field == "v"
        assert error.code in {"forbidden_character", "too_long", "required"}
        assert text_problem(value) is not None or value == "" or len(value) > 1000
        return
    assert text_problem(value) is None
    quoted = render_sql(
        sql="SELECT 'pre{{v}}post' AS a", definitions=definitions, values={"v": value}, today=TODAY
    ).sql
    listed = render_sql(
        sql="SELECT 1 FROM t WHERE c IN ({{v}})",
        definitions=definitions,
        values={"v": value},
        today=TODAY,
    ).sql
    assert literal_values(bare, None) == [value]
    assert literal_values(quoted, None) == [f"pre{value}post"]
    assert literal_values(listed, None) == [value]
    # Spark before 4.0 drops the doubled quote ('it''s' is 'it' 's'), but keeps everything else.
    unquoted = value.replace("'", "")
    assert literal_values(bare, "spark") == [unquoted]
    assert literal_values(quoted, "spark") == [f"pre{unquoted}post"]


@PROPERTY_SETTINGS
@given(items=st.lists(hostile_text, min_size=1, max_size=10))
def test_hostile_list_items_are_refused_by_index_or_each_become_one_literal(items):
    definitions = [{"name": "v", "type": "string_list"}]
    try:
        rendered = render_sql(
            sql="SELECT 1 FROM t WHERE c IN ({{v}})",
            definitions=definitions,
            values={"v": items},
            today=TODAY,
        )
    except ParameterErrors as exc:
        bad = {f"v[{i}]" for i, item in enumerate(items) if text_problem(item.strip())}
        assert {error.field for error in exc.errors} <= bad | {"v"}
        assert bad or all(not item.strip() for item in items)
        return
    assert literal_values(rendered.sql, None) == list(rendered.values["v"])
    assert list(rendered.values["v"]) == list(
        dict.fromkeys(item.strip() for item in items if item.strip())
    )


# --- round trips and consistency --------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    data=st.fixed_dictionaries(
        {
            "period": CASES["date_range"][2],
            "since": datetime_value,
            "n": st.integers(-(10**6), 10**6),
            "x": number_value,
            "ctr": percentage_value,
            "term": safe_text,
            "asins": lists_of(asin),
            "names": lists_of(safe_text),
            "flag": st.booleans(),
        }
    )
)
def test_a_snapshot_validates_back_to_the_same_values_and_sql(data):
    definitions = parse_definitions(
        [
            {"name": "period", "type": "date_range"},
            {"name": "since", "type": "datetime"},
            {"name": "n", "type": "integer"},
            {"name": "x", "type": "number"},
            {"name": "ctr", "type": "percentage"},
            {"name": "term", "type": "string"},
            {"name": "asins", "type": "asin_list"},
            {"name": "names", "type": "campaign_list"},
            {"name": "flag", "type": "boolean"},
        ]
    )
    sql = (
        "SELECT {{term}}, {{n}}, {{x}}, {{ctr}}, {{flag}}, {{since}} FROM t "
        "WHERE d BETWEEN {{period.start}} AND {{period.end}} AND a IN ({{asins}}) "
        "AND c IN ({{names}}) AND s LIKE '%{{term}}%'"
    )
    try:
        first = render_sql(sql=sql, definitions=definitions, values=data, today=TODAY)
    except ParameterErrors:
        assume(False)
        return
    again = render_sql(sql=sql, definitions=definitions, values=first.parameters, today=TODAY)
    assert again.values == first.values
    assert again.sql == first.sql
    preview = preview_sql(sql=sql, definitions=definitions, values=data, today=TODAY)
    assert preview.complete and preview.sql == first.sql


@PROPERTY_SETTINGS
@given(day=days, count=st.integers(0, 3000))
def test_relative_days_and_weeks_are_plain_date_arithmetic(day, count):
    assert resolve_relative(f"today-{count}d", day) == day - timedelta(days=count)
    assert resolve_relative(f"today + {count} days", day) == day + timedelta(days=count)
    assert resolve_relative(f"yesterday-{count}w", day) == day - timedelta(days=1 + 7 * count)


@PROPERTY_SETTINGS
@given(day=days, months=st.integers(-240, 240))
def test_month_steps_land_in_the_right_month_clamped_to_its_end(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)


@PROPERTY_SETTINGS
@given(value=st.text(alphabet=string.printable + "’＇＼é", max_size=20))
def test_validation_never_fails_with_anything_but_parameter_errors(value):
    definitions = [
        {"name": name, "type": kind, "required": False}
        for name, kind in [
            ("a", "date"),
            ("b", "datetime"),
            ("c", "integer"),
            ("d", "number"),
            ("e", "percentage"),
            ("f", "asin_list"),
            ("g", "boolean"),
            ("h", "relative_date"),
            ("i", "campaign_list"),
        ]
    ]
    try:
        validate_parameters(
            definitions=definitions, values={d["name"]: value for d in definitions}, today=TODAY
        )
    except ParameterErrors as exc:
        assert all(error.message.startswith(error.field + ": ") for error in exc.errors)
