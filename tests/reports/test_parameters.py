"""Parameter engine: explicit cases a person would check by hand, type by type."""

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from reports.parameters import (
    DateRange,
    DefinitionError,
    ParameterDefinition,
    ParameterError,
    ParameterErrors,
    ParameterType,
    TemplateError,
    check_template,
    compile_template,
    parse_definitions,
    preview_sql,
    render_sql,
    snapshot_parameters,
    validate_parameters,
)
from reports.parameters.rendering import _fill

TODAY = date(2026, 3, 31)


def typed(definition: dict, value, today: date = TODAY):
    """The typed value of one parameter `p` defined by `definition` (name added)."""
    return validate_parameters(
        definitions=[{"name": "p", **definition}], values={"p": value}, today=today
    )["p"]


def problems(definition: dict, value) -> list[tuple[str, str]]:
    """(field, code) of every error for one parameter `p`; fails if the value is accepted."""
    with pytest.raises(ParameterErrors) as caught:
        typed(definition, value)
    for error in caught.value.errors:
        assert error.message.startswith(f"{error.field}: "), error.message
    return [(e.field, e.code) for e in caught.value.errors]


def render(sql: str, definitions: list[dict], values: dict, today: date = TODAY) -> str:
    return render_sql(sql=sql, definitions=definitions, values=values, today=today).sql


# --- definitions -----------------------------------------------------------------------------


def test_definitions_parse_into_frozen_dataclasses():
    (definition,) = parse_definitions(
        [
            {
                "name": "start_date",
                "type": "date",
                "label": "Start date",
                "required": True,
                "default": "today-14d",
                "description": "First day of the report",
            }
        ]
    )
    assert definition == ParameterDefinition(
        name="start_date",
        type=ParameterType.DATE,
        label="Start date",
        description="First day of the report",
        required=True,
        default="today-14d",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.name = "other"  # type: ignore[misc]
    assert hash(definition) == hash(parse_definitions([definition.to_dict()])[0])


def test_definition_defaults_required_true_and_a_label_from_the_name():
    (definition,) = parse_definitions([{"name": "min_impressions", "type": "integer"}])
    assert definition.required is True
    assert definition.label == "Min impressions"


def test_definitions_round_trip_through_their_json_form():
    raw = [
        {"name": "period", "type": "date_range", "required": True, "max_days": 90},
        {"name": "mt", "type": "enum", "required": False, "options": ["BROAD", "EXACT"]},
        {"name": "ctr", "type": "percentage", "required": True, "min": 0.5, "max": 50},
        {"name": "asins", "type": "asin_list", "required": True, "max_items": 50},
        {"name": "tags", "type": "string_list", "required": True, "default": ["a", "b"]},
    ]
    definitions = parse_definitions(raw)
    assert parse_definitions([d.to_dict() for d in definitions]) == definitions
    json.dumps([d.to_dict() for d in definitions])


def test_unknown_type_is_a_definition_error_naming_the_field():
    with pytest.raises(DefinitionError) as caught:
        parse_definitions([{"name": "x", "type": "money"}])
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("parameter_definitions[0].type", "unknown_type")
    assert "'money'" in error.message


@pytest.mark.parametrize("name", ["1abc", "a-b", "", None, 7, "a b", "x" * 65, "café", "{{x}}"])
def test_bad_names_are_refused(name):
    with pytest.raises(DefinitionError) as caught:
        parse_definitions([{"name": name, "type": "string"}])
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("parameter_definitions[0].name", "invalid_name")
    ]


def test_duplicate_names_are_refused_ignoring_case():
    with pytest.raises(DefinitionError) as caught:
        parse_definitions(
            [
                {"name": "asins", "type": "asin_list"},
                {"name": "term", "type": "string"},
                {"name": "ASINS", "type": "string"},
            ]
        )
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("parameter_definitions[2].name", "duplicate_name")
    assert "position 0" in error.message


def test_every_definition_problem_is_reported_at_once():
    with pytest.raises(DefinitionError) as caught:
        parse_definitions(
            [
                {"name": "a", "type": "enum"},
                {"name": "b", "type": "integer", "min": 10, "max": 1},
                {"name": "c", "type": "string", "max_items": 3},
                "not an object",
                {"name": "d", "type": "percentage", "max": 150},
                {"name": "e", "type": "integer", "min": 1.5},
                {"name": "f", "type": "percentage", "render_as": "basis_points"},
                {"name": "g", "type": "string", "required": "yes"},
            ]
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("parameter_definitions[0].options", "invalid"),
        ("parameter_definitions[1].min", "invalid"),
        ("parameter_definitions[2].max_items", "unknown_key"),
        ("parameter_definitions[3]", "invalid_type"),
        ("parameter_definitions[4].max", "invalid"),
        ("parameter_definitions[5].min", "invalid"),
        ("parameter_definitions[6].render_as", "invalid"),
        ("parameter_definitions[7].required", "invalid"),
    ]


def test_enum_options_must_be_distinct_safe_text():
    with pytest.raises(DefinitionError) as caught:
        parse_definitions(
            [{"name": "m", "type": "enum", "options": ["BROAD", "broad", "a\\b", "", 3]}]
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("parameter_definitions[0].options[1]", "duplicate"),
        ("parameter_definitions[0].options[2]", "forbidden_character"),
        ("parameter_definitions[0].options[3]", "invalid"),
        ("parameter_definitions[0].options[4]", "invalid"),
    ]


@pytest.mark.parametrize(
    ("definition", "default"),
    [
        ({"type": "date"}, "next tuesday"),
        ({"type": "integer", "min": 0}, -1),
        ({"type": "asin_list"}, ["B0NOTANASIN"]),
        ({"type": "enum", "options": ["A"]}, "B"),
        ({"type": "string"}, "a\nb"),
        ({"type": "date_range"}, {"start": "today"}),
    ],
)
def test_invalid_defaults_are_refused_when_the_definition_is_parsed(definition, default):
    with pytest.raises(DefinitionError) as caught:
        parse_definitions([{"name": "p", **definition, "default": default}])
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("parameter_definitions[0].default", "invalid_default")
    }


def test_definitions_must_be_a_list():
    with pytest.raises(DefinitionError) as caught:
        parse_definitions("start_date")
    assert caught.value.errors[0].field == "parameter_definitions"


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("today", date(2026, 3, 31)),
        ("yesterday", date(2026, 3, 30)),
        ("today-14d", date(2026, 3, 17)),
        ("today - 14 days", date(2026, 3, 17)),
        ("  Today-14D ", date(2026, 3, 17)),
        ("today-1 day", date(2026, 3, 30)),
        ("today-2w", date(2026, 3, 17)),
        ("today - 2 weeks", date(2026, 3, 17)),
        ("today-1m", date(2026, 2, 28)),  # clamped to the end of February
        ("today-13 months", date(2025, 2, 28)),
        ("today+1y", date(2027, 3, 31)),
        ("yesterday-7d", date(2026, 3, 23)),
        ("2026-01-15", date(2026, 1, 15)),
    ],
)
def test_relative_dates_resolve_against_the_injected_today(expression, expected):
    assert typed({"type": "relative_date"}, expression) == expected


def test_a_month_back_from_a_leap_day_and_a_year_back_clamp():
    assert typed({"type": "relative_date"}, "today-1y", today=date(2024, 2, 29)) == date(
        2023, 2, 28
    )
    assert typed({"type": "relative_date"}, "today+1m", today=date(2026, 1, 31)) == date(
        2026, 2, 28
    )


@pytest.mark.parametrize(
    "expression",
    ["tomorrow", "today-", "today-14x", "today 14d", "today-1.5d", "today-123456d", "now", "-14d"],
)
def test_bad_relative_dates_are_refused_naming_the_field(expression):
    assert problems({"type": "relative_date"}, expression) == [("p", "invalid_date")]


def test_relative_dates_outside_the_calendar_are_refused():
    assert problems({"type": "relative_date"}, "today-99999y") == [("p", "invalid_date")]


def test_date_accepts_iso_dates_date_objects_and_relative_expressions():
    assert typed({"type": "date"}, "2026-10-01") == date(2026, 10, 1)
    assert typed({"type": "date"}, date(2026, 10, 1)) == date(2026, 10, 1)
    assert typed({"type": "date"}, "today-14d") == date(2026, 3, 17)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2026-02-30", "invalid_date"),
        ("10/01/2026", "invalid_date"),
        ("2026-1-5", "invalid_date"),
        ("20261001", "invalid_date"),
        ("2026-10-01T00:00:00", "invalid_date"),
        (20261001, "invalid_type"),
        (datetime(2026, 10, 1), "invalid_type"),
    ],
)
def test_date_rejects_other_shapes(value, code):
    assert problems({"type": "date"}, value) == [("p", code)]


def test_a_date_error_message_names_the_field_and_the_accepted_forms():
    with pytest.raises(ParameterErrors) as caught:
        validate_parameters(
            definitions=[{"name": "start_date", "type": "date"}],
            values={"start_date": "Tuesday"},
            today=TODAY,
        )
    (error,) = caught.value.errors
    assert error.field == "start_date"
    assert error.message.startswith("start_date: 'Tuesday' is not a date")
    assert "YYYY-MM-DD" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01T12:30:00", datetime(2026, 10, 1, 12, 30)),
        ("2026-10-01T12:30:00Z", datetime(2026, 10, 1, 12, 30)),
        ("2026-10-01T12:30:00+00:00", datetime(2026, 10, 1, 12, 30)),
        ("2026-10-01 12:30", datetime(2026, 10, 1, 12, 30)),
        ("2026-10-01T12:30:45.999", datetime(2026, 10, 1, 12, 30, 45)),
        ("2026-10-01", datetime(2026, 10, 1)),
        ("today-1d", datetime(2026, 3, 30)),
        (datetime(2026, 10, 1, 8, tzinfo=UTC), datetime(2026, 10, 1, 8)),
        (date(2026, 10, 1), datetime(2026, 10, 1)),
    ],
)
def test_datetime_accepts_iso_8601_and_drops_z_and_fractions(value, expected):
    assert typed({"type": "datetime"}, value) == expected


def test_datetime_renders_in_amc_format_without_z():
    sql = render(
        "SELECT * FROM t WHERE event_dt >= {{since}} AND x = '{{since}}'",
        [{"name": "since", "type": "datetime"}],
        {"since": "2026-10-01T00:00:00Z"},
    )
    assert sql == (
        "SELECT * FROM t WHERE event_dt >= '2026-10-01T00:00:00' AND x = '2026-10-01T00:00:00'"
    )


@pytest.mark.parametrize("value", ["2026-10-01T12:30:00+02:00", "2026-10-01T25:00", "soon", 5])
def test_datetime_refuses_offsets_bad_times_and_other_types(value):
    ((field, code),) = problems({"type": "datetime"}, value)
    assert field == "p" and code in {"invalid_date", "invalid_type"}


def test_date_range_has_start_and_end_each_absolute_or_relative():
    assert typed({"type": "date_range"}, {"start": "today-30d", "end": "2026-03-30"}) == DateRange(
        date(2026, 3, 1), date(2026, 3, 30)
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, [("p", "invalid_range")]),
        ({"start": "2026-03-10"}, [("p.end", "required")]),
        (
            {"start": "soon", "end": "nope"},
            [("p.start", "invalid_date"), ("p.end", "invalid_date")],
        ),
        ({"start": "today", "end": "today", "tz": "UTC"}, [("p", "invalid_format")]),
        ("2026-03-01..2026-03-10", [("p", "invalid_type")]),
    ],
)
def test_date_range_errors_name_the_part(value, expected):
    assert problems({"type": "date_range"}, value) == expected


def test_date_range_max_days_counts_both_ends():
    definition = {"type": "date_range", "max_days": 7}
    assert typed(definition, {"start": "2026-03-01", "end": "2026-03-07"}).days == 7
    assert problems(definition, {"start": "2026-03-01", "end": "2026-03-08"}) == [
        ("p", "range_too_long")
    ]


def test_date_range_placeholders_are_start_and_end():
    sql = render(
        "SELECT 1 FROM t WHERE event_date BETWEEN {{period.start}} AND {{ period.end }}",
        [{"name": "period", "type": "date_range"}],
        {"period": {"start": "today-7d", "end": "yesterday"}},
    )
    assert sql == "SELECT 1 FROM t WHERE event_date BETWEEN '2026-03-24' AND '2026-03-30'"


def test_date_range_default_that_inverts_on_some_day_is_reported_at_render():
    definitions = [
        {"name": "period", "type": "date_range", "default": {"start": "2026-06-01", "end": "today"}}
    ]
    with pytest.raises(ParameterErrors) as caught:
        validate_parameters(definitions=definitions, values={}, today=TODAY)
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("period", "invalid_default")
    assert "enter a value" in error.message


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("42", 42), (42, 42), (42.0, 42), (" -7 ", -7), ("+3", 3)]
)
def test_integer_accepts_whole_numbers(value, expected):
    assert typed({"type": "integer"}, value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("4.2", "invalid_number"),
        (4.5, "invalid_number"),
        ("1e3", "invalid_number"),
        ("1_000", "invalid_number"),
        ("12abc", "invalid_number"),
        (float("nan"), "invalid_number"),
        (True, "invalid_type"),
        ([1], "invalid_type"),
        (2**63, "out_of_range"),
    ],
)
def test_integer_refuses_anything_else(value, code):
    assert problems({"type": "integer"}, value) == [("p", code)]


def test_integer_bounds_name_the_limit():
    with pytest.raises(ParameterErrors) as caught:
        typed({"type": "integer", "min": 100, "max": 1000}, 99)
    (error,) = caught.value.errors
    assert error.code == "out_of_range"
    assert error.message == "p: 99 is below the minimum 100"
    assert typed({"type": "integer", "min": 100, "max": 1000}, 1000) == 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.50", Decimal("12.5")), (0.1, Decimal("0.1")), ("-3", Decimal(-3)), ("1e3", 1000)],
)
def test_number_is_an_exact_decimal(value, expected):
    assert typed({"type": "number"}, value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("nan", "invalid_number"),
        (float("inf"), "invalid_number"),
        ("1e400", "out_of_range"),
        ("1234567890.123456", "invalid_number"),  # 16 significant digits
        ("0.0000000000001", "invalid_number"),  # 13 decimal places
        ("0x10", "invalid_number"),
        (False, "invalid_type"),
    ],
)
def test_number_refuses_what_it_cannot_render_exactly(value, code):
    assert problems({"type": "number"}, value) == [("p", code)]


def test_numbers_render_as_plain_literals_and_negatives_in_parentheses():
    definitions = [{"name": "n", "type": "number"}]
    assert render("SELECT x -{{n}} FROM t", definitions, {"n": "-5"}) == "SELECT x -(-5) FROM t"
    assert render("SELECT x -{{n}} FROM t", definitions, {"n": "1e3"}) == "SELECT x -1000 FROM t"
    assert render("SELECT {{n}}", definitions, {"n": 0.5}) == "SELECT 0.5"
    assert render("SELECT {{n}}", definitions, {"n": "-0.0"}) == "SELECT 0"


@pytest.mark.parametrize(
    ("value", "percent", "rendered"),
    [
        ("12.5%", Decimal("12.5"), "0.125"),
        (12.5, Decimal("12.5"), "0.125"),
        (" 12.5 % ", Decimal("12.5"), "0.125"),
        ("100", Decimal(100), "1"),
        (0, Decimal(0), "0"),
        ("0.01%", Decimal("0.01"), "0.0001"),
    ],
)
def test_percentage_is_kept_as_entered_and_rendered_as_a_fraction(value, percent, rendered):
    definitions = [{"name": "ctr", "type": "percentage"}]
    assert typed({"type": "percentage"}, value) == percent
    assert render("SELECT {{ctr}}", definitions, {"ctr": value}) == f"SELECT {rendered}"


def test_percentage_can_render_as_percent_points():
    definitions = [{"name": "ctr", "type": "percentage", "render_as": "percent"}]
    assert render("SELECT {{ctr}}", definitions, {"ctr": "12.5%"}) == "SELECT 12.5"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("101", "out_of_range"),
        ("-1%", "out_of_range"),
        ("%", "invalid_number"),
        ("abc%", "invalid_number"),
    ],
)
def test_percentage_must_be_between_0_and_100(value, code):
    assert problems({"type": "percentage"}, value) == [("p", code)]


# --- text ------------------------------------------------------------------------------------


def test_string_is_kept_exactly_including_spaces():
    assert typed({"type": "string"}, "  shoes ") == "  shoes "


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("back\\slash", "backslash"),
        ("nul\x00", "control"),
        ("new\nline", "line break"),
        ("carriage\rreturn", "line break"),
        ("tab\there", "tab"),
        ("next\x85line", "control"),
        ("${env:AWS_SECRET}", "${"),
        ("${hiveconf:x}", "${"),
        ("{{other}}", "braces"),
        ("half }} brace", "braces"),
        ("trojan \u202e source", "text-direction"),
        ("line\u2028separator", "line separator"),
        ("full\uff07width", "U+FF07"),
        ("full\uff3cwidth", "U+FF3C"),
        ("small\ufe68reverse", "U+FE68"),
        ("full\uff02quote", "U+FF02"),
        ("lone \ud800 surrogate", "surrogate"),
    ],
)
def test_characters_that_could_change_the_lexing_are_refused_with_a_reason(value, reason):
    with pytest.raises(ParameterErrors) as caught:
        validate_parameters(
            definitions=[{"name": "term", "type": "string"}], values={"term": value}, today=TODAY
        )
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("term", "forbidden_character")
    assert error.message.startswith("term: ")
    assert reason in error.message


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("it's", "'it''s'"),
        ("'; DROP TABLE x; --", "'''; DROP TABLE x; --'"),
        ("' OR '1'='1", "''' OR ''1''=''1'"),
        ("Men’s shoes", "'Men’s shoes'"),  # U+2019 is a plain character in every dialect
        ("Menʼs shoes", "'Menʼs shoes'"),  # U+02BC likewise
        ('say "hi"', "'say \"hi\"'"),
        ("`tick`", "'`tick`'"),
        ("a /* b */ -- c ;", "'a /* b */ -- c ;'"),
        ("50%_off", "'50%_off'"),
        ("🚀 launch", "'🚀 launch'"),
        ("$5 { }", "'$5 { }'"),
    ],
)
def test_other_text_is_kept_and_rendered_as_one_literal(value, literal):
    definitions = [{"name": "term", "type": "string"}]
    assert render("SELECT {{term}}", definitions, {"term": value}) == f"SELECT {literal}"
    assert render("SELECT 'x{{term}}y'", definitions, {"term": value}) == (
        f"SELECT 'x{literal[1:-1]}y'"
    )


def test_string_length_limit():
    assert problems({"type": "string", "max_length": 5}, "abcdef") == [("p", "too_long")]
    assert problems({"type": "string"}, "x" * 1001) == [("p", "too_long")]
    assert typed({"type": "string", "max_length": 5}, "abcde") == "abcde"


def test_string_refuses_other_types():
    assert problems({"type": "string"}, 12) == [("p", "invalid_type")]


def test_enum_matches_options_ignoring_case_and_returns_the_option():
    definition = {"type": "enum", "options": ["BROAD", "PHRASE", "EXACT"]}
    assert typed(definition, "EXACT") == "EXACT"
    assert typed(definition, " exact ") == "EXACT"
    with pytest.raises(ParameterErrors) as caught:
        typed(definition, "FUZZY")
    (error,) = caught.value.errors
    assert error.code == "invalid_choice"
    assert error.message == "p: 'FUZZY' is not one of: BROAD, PHRASE, EXACT"
    assert problems(definition, 3) == [("p", "invalid_type")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        ("yes", True),
        ("no", False),
        ("on", True),
        ("off", False),
        ("1", True),
        (0, False),
    ],
)
def test_boolean_accepts_the_usual_spellings(value, expected):
    assert typed({"type": "boolean"}, value) is expected


@pytest.mark.parametrize("value", ["maybe", 2, 1.0, [True]])
def test_boolean_refuses_anything_else(value):
    assert problems({"type": "boolean"}, value) == [("p", "invalid_boolean")]


def test_boolean_renders_true_false():
    definitions = [{"name": "ntb", "type": "boolean"}]
    assert render("SELECT {{ntb}}, '{{ntb}}'", definitions, {"ntb": "yes"}) == (
        "SELECT TRUE, 'true'"
    )


# --- lists -----------------------------------------------------------------------------------


def test_asin_list_normalises_deduplicates_and_keeps_order():
    value = "b0abcdefgh, B01234567X\nB0ABCDEFGH;  0123456789 012345678x"
    assert typed({"type": "asin_list"}, value) == (
        "B0ABCDEFGH",
        "B01234567X",
        "0123456789",
        "012345678X",
    )
    assert typed({"type": "asin_list"}, ["B0ABCDEFGH", " b0abcdefgh ", ""]) == ("B0ABCDEFGH",)


def test_asins_must_be_ascii_even_when_upper_casing_would_make_them_so():
    # "ß".upper() == "SS" and "ı".upper() == "I": neither may turn into a valid ASIN.
    assert problems({"type": "asin_list"}, ["B0AAAAAAß"]) == [("p[0]", "invalid_asin")]
    assert problems({"type": "asin_list"}, "B0AAAAAAAı") == [("p[0]", "invalid_asin")]


def test_asin_list_errors_point_at_the_item():
    assert problems(
        {"type": "asin_list"}, ["B0ABCDEFGH", "B0123", "A012345678", 7, "B0ABCDEFG'"]
    ) == [
        ("p[1]", "invalid_asin"),
        ("p[2]", "invalid_asin"),
        ("p[3]", "invalid_type"),
        ("p[4]", "invalid_asin"),
    ]
    # In pasted text, the index counts the non-empty entries.
    assert problems({"type": "asin_list"}, "B0ABCDEFGH,, nope") == [("p[1]", "invalid_asin")]


def test_an_asin_error_message_names_the_item_field():
    with pytest.raises(ParameterErrors) as caught:
        validate_parameters(
            definitions=[{"name": "asins", "type": "asin_list"}],
            values={"asins": ["B0ABCDEFGH", "B0ABCDEFGH", "B0ABCDEFGH", "B0NOPE"]},
            today=TODAY,
        )
    (error,) = caught.value.errors
    assert error.field == "asins[3]"
    assert error.message.startswith("asins[3]: 'B0NOPE' is not an ASIN")


def test_list_item_limit():
    assert problems({"type": "asin_list", "max_items": 2}, ["B0AAAAAAAA"] * 3) == [
        ("p", "too_many_items")
    ]


def test_string_list_splits_on_commas_or_on_lines_when_there_are_lines():
    assert typed({"type": "string_list"}, "a, b ,,c") == ("a", "b", "c")
    assert typed({"type": "string_list"}, "Brand, Exact\r\nBrand, Broad\n\n") == (
        "Brand, Exact",
        "Brand, Broad",
    )
    assert typed({"type": "string_list"}, ["x", "x", "it's"]) == ("x", "it's")


def test_string_list_items_are_checked_one_by_one():
    assert problems({"type": "string_list", "max_length": 3}, ["ok", "a\\b", 5, "long"]) == [
        ("p[1]", "forbidden_character"),
        ("p[2]", "invalid_type"),
        ("p[3]", "too_long"),
    ]
    assert problems({"type": "string_list"}, {"a": 1}) == [("p", "invalid_type")]


def test_campaign_list_takes_ids_and_names():
    assert typed({"type": "campaign_list"}, [123456789, "987", "Brand – Exact", "Men's"]) == (
        "123456789",
        "987",
        "Brand – Exact",
        "Men's",
    )
    assert problems({"type": "campaign_list"}, [-1, True, "a${b}"]) == [
        ("p[0]", "invalid_format"),
        ("p[1]", "invalid_type"),
        ("p[2]", "forbidden_character"),
    ]


def test_lists_render_as_literals_inside_in():
    definitions = [
        {"name": "asins", "type": "asin_list"},
        {"name": "campaigns", "type": "campaign_list"},
    ]
    sql = render(
        "SELECT 1 FROM t WHERE a IN ({{asins}}) AND c NOT IN (\n  {{campaigns}}\n)",
        definitions,
        {"asins": "B0AAAAAAAA,B0BBBBBBBB", "campaigns": ["123", "Men's"]},
    )
    assert sql == (
        "SELECT 1 FROM t WHERE a IN ('B0AAAAAAAA', 'B0BBBBBBBB') AND c NOT IN (\n"
        "  '123', 'Men''s'\n)"
    )


def test_required_empty_list_is_refused():
    for value in ([], "", " , ,", None):
        assert problems({"type": "asin_list"}, value) == [("p", "required")]


def test_optional_empty_list_renders_null_and_is_empty_true():
    definitions = [{"name": "asins", "type": "asin_list", "required": False}]
    sql = "SELECT 1 FROM t WHERE ({{asins.is_empty}} OR a IN ({{asins}}))"
    assert render(sql, definitions, {}) == "SELECT 1 FROM t WHERE (TRUE OR a IN (NULL))"
    assert render(sql, definitions, {"asins": ["B0AAAAAAAA"]}) == (
        "SELECT 1 FROM t WHERE (FALSE OR a IN ('B0AAAAAAAA'))"
    )
    assert validate_parameters(definitions=definitions, values={}, today=TODAY) == {"asins": ()}


# --- required, defaults, unknown -------------------------------------------------------------


def test_missing_required_values_and_unknown_keys_are_all_reported_together():
    definitions = [
        {"name": "start_date", "type": "date"},
        {"name": "asins", "type": "asin_list"},
        {"name": "min_impressions", "type": "integer", "min": 0},
        {"name": "term", "type": "string", "required": False},
    ]
    with pytest.raises(ParameterErrors) as caught:
        validate_parameters(
            definitions=definitions,
            values={
                "start_date": "",
                "asins": ["B0AAAAAAAA", "bad"],
                "min_impressions": -1,
                "x": 1,
            },
            today=TODAY,
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("start_date", "required"),
        ("asins[1]", "invalid_asin"),
        ("min_impressions", "out_of_range"),
        ("x", "unknown_parameter"),
    ]
    assert caught.value.by_field()["start_date"][0].message == "start_date: a value is required"
    json.dumps(caught.value.as_dicts())


def test_defaults_fill_missing_null_and_empty_values_against_today():
    definitions = [
        {"name": "start_date", "type": "date", "default": "today-14d"},
        {"name": "min_impressions", "type": "integer", "default": 100},
        {"name": "ctr", "type": "percentage", "default": "1.5%"},
        {"name": "match", "type": "enum", "options": ["BROAD", "EXACT"], "default": "exact"},
    ]
    values = validate_parameters(
        definitions=definitions, values={"start_date": None, "min_impressions": ""}, today=TODAY
    )
    assert values == {
        "start_date": date(2026, 3, 17),
        "min_impressions": 100,
        "ctr": Decimal("1.5"),
        "match": "EXACT",
    }


def test_optional_values_left_empty_render_null_bare_and_nothing_inside_quotes():
    definitions = [
        {"name": "term", "type": "string", "required": False},
        {"name": "n", "type": "integer", "required": False},
    ]
    assert render("SELECT {{term}}, '%{{term}}%', {{n}}", definitions, {}) == (
        "SELECT NULL, '%%', NULL"
    )


def test_today_may_be_a_datetime_but_must_be_a_date():
    definitions = [{"name": "d", "type": "date", "default": "today"}]
    assert validate_parameters(
        definitions=definitions, values={}, today=datetime(2026, 3, 31, 23, 59)
    ) == {"d": TODAY}
    with pytest.raises(TypeError):
        validate_parameters(definitions=definitions, values={}, today="2026-03-31")


# --- contexts and template checks -------------------------------------------------------------


def test_text_renders_by_context_bare_quoted_and_in():
    definitions = [{"name": "term", "type": "string"}]
    sql = render(
        "SELECT {{term}} FROM t WHERE s LIKE '%{{term}}%' AND u IN ({{term}}) AND v = {{term}}",
        definitions,
        {"term": "it's"},
    )
    assert sql == (
        "SELECT 'it''s' FROM t WHERE s LIKE '%it''s%' AND u IN ('it''s') AND v = 'it''s'"
    )


def test_dates_render_quoted_bare_and_as_content_inside_quotes():
    definitions = [{"name": "d", "type": "date"}]
    assert render("SELECT {{d}}, DATE '{{d}}', '{{d}} 00:00'", definitions, {"d": "today"}) == (
        "SELECT '2026-03-31', DATE '2026-03-31', '2026-03-31 00:00'"
    )


def test_in_detection_is_about_the_in_keyword_alone_in_parentheses():
    definitions = [{"name": "asins", "type": "asin_list"}]
    ok = [
        "SELECT 1 FROM t WHERE a in({{asins}})",
        "SELECT 1 FROM t WHERE a NOT IN (  {{asins}}  )",
        "SELECT 1 FROM t WHERE a IN /* the filter */ (\n{{asins}} -- asins\n)",
    ]
    for sql in ok:
        assert check_template(sql, definitions).ok, sql
    refused = [
        "SELECT 1 FROM t WHERE a = {{asins}}",
        "SELECT 1 FROM t JOIN ({{asins}})",
        "SELECT 1 FROM t WHERE a IN ({{asins}}, 'B0AAAAAAAA')",
        "SELECT 1 FROM t WHERE a IN ('{{asins}}')",
        "SELECT array({{asins}})",
        "SELECT 1 FROM t WHERE pin ({{asins}})",
    ]
    for sql in refused:
        check = check_template(sql, definitions)
        assert [issue.code for issue in check.errors] == ["unsupported_context"], sql
        with pytest.raises(TemplateError):
            render(sql, definitions, {"asins": ["B0AAAAAAAA"]})


def test_check_template_reports_placeholders_and_definitions_that_do_not_match():
    definitions = [
        {"name": "start_date", "type": "date"},
        {"name": "end_date", "type": "date"},
        {"name": "unused_one", "type": "integer"},
    ]
    sql = "SELECT 1 FROM t WHERE d BETWEEN {{start_date}} AND {{end_dat}} AND e = {{end_dat}}"
    check = check_template(sql, definitions)
    assert check.undefined == ("end_dat",)
    assert check.unused == ("end_date", "unused_one")
    assert not check.ok
    (error,) = check.errors
    assert error.code == "undefined_placeholder"
    assert "did you mean end_date?" in error.message
    assert {w.code for w in check.warnings} == {"unused_definition"}
    json.dumps(check.as_dict())
    with pytest.raises(TemplateError) as caught:
        render(sql, definitions, {"start_date": "today", "end_date": "today", "unused_one": 1})
    assert [e.code for e in caught.value.errors] == ["undefined_placeholder"]


def test_unused_definitions_are_only_a_warning():
    definitions = [{"name": "a", "type": "integer"}, {"name": "b", "type": "integer"}]
    check = check_template("SELECT {{a}}", definitions)
    assert check.ok and check.unused == ("b",)
    assert render("SELECT {{a}}", definitions, {"a": 1, "b": 2}) == "SELECT 1"


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT {{period}}", "attribute_required"),
        ("SELECT {{period.middle}}", "unknown_attribute"),
        ("SELECT {{n.start}}", "unknown_attribute"),
        ('SELECT "{{n}}"', "unsupported_context"),
        ("SELECT `{{n}}`", "unsupported_context"),
        ("SELECT {{start-date}}, {{n}}", "malformed_placeholder"),
        ("SELECT {{ n }} + {{}}", "malformed_placeholder"),
        ("SELECT 'a\\' AS x, {{n}}", "ambiguous_backslash"),
        ("SELECT 'C:\\\\{{n}}'", "backslash_in_literal"),
        ("SELECT 'it\\''s {{n}}'", "ambiguous_backslash"),
        ("SELECT {{n}} -- note \\\n, 1", "ambiguous_comment"),
        ("SELECT {{n}} /* a /* b */ c */", "nested_comment"),
        ("SELECT {{n}}, 'open", "unterminated_literal"),
        ("SELECT {{n}} /* open", "unterminated_comment"),
    ],
)
def test_templates_that_cannot_be_rendered_safely_are_refused(sql, code):
    definitions = [{"name": "period", "type": "date_range"}, {"name": "n", "type": "integer"}]
    check = check_template(sql, definitions)
    assert code in [issue.code for issue in check.errors]
    with pytest.raises(TemplateError):
        render(sql, definitions, {"period": {"start": "today", "end": "today"}, "n": 1})


def test_numbers_inside_quotes_are_rendered_as_text_with_a_warning():
    definitions = [{"name": "n", "type": "integer"}]
    check = check_template("SELECT '{{n}}'", definitions)
    assert check.ok and [w.code for w in check.warnings] == ["quoted_value"]
    assert render("SELECT '{{n}}'", definitions, {"n": -3}) == "SELECT '-3'"


def test_placeholders_in_comments_are_left_as_written_and_do_not_count_as_uses():
    definitions = [{"name": "n", "type": "integer"}]
    sql = "-- uses {{n}}\nSELECT 1 /* {{n}} */"
    check = check_template(sql, definitions)
    assert check.unused == ("n",)
    assert [w.code for w in check.warnings] == [
        "placeholder_in_comment",
        "placeholder_in_comment",
        "unused_definition",
    ]
    assert render(sql, definitions, {"n": 5}) == sql


def test_doubled_quotes_in_the_template_keep_the_placeholder_inside_the_literal():
    definitions = [{"name": "term", "type": "string"}]
    sql = "SELECT 'it''s {{term}}' AS a, {{term}} AS b"
    assert [p.context.value for p in check_template(sql, definitions).placeholders] == [
        "quoted",
        "bare",
    ]
    assert render(sql, definitions, {"term": "x'y"}) == "SELECT 'it''s x''y' AS a, 'x''y' AS b"


def test_the_scan_of_a_template_is_cached_per_sql_text():
    sql = "SELECT {{a}} FROM t"
    assert compile_template(sql) is compile_template("SELECT {{a}} FROM t")


def test_rendering_is_single_pass_so_braces_in_a_value_stay_inert():
    # Validation refuses braces; this checks the renderer itself never re-expands a value.
    definitions = parse_definitions(
        [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}]
    )
    by_name = {d.name: d for d in definitions}
    compiled = compile_template("SELECT {{a}}, {{b}}")
    assert _fill(compiled, by_name, {"a": "{{b}}", "b": "X"}) == "SELECT '{{b}}', 'X'"


# --- preview and snapshot --------------------------------------------------------------------

PREVIEW_DEFINITIONS = [
    {"name": "period", "type": "date_range", "default": {"start": "today-30d", "end": "today"}},
    {"name": "asins", "type": "asin_list"},
    {"name": "min_impressions", "type": "integer", "default": 100},
]
PREVIEW_SQL = (
    "SELECT 1 FROM t WHERE d BETWEEN {{period.start}} AND {{period.end}} "
    "AND a IN ({{asins}}) AND i >= {{min_impressions}} AND z = {{zzz}}"
)


def test_preview_fills_what_it_can_and_lists_the_rest():
    preview = preview_sql(
        sql=PREVIEW_SQL,
        definitions=PREVIEW_DEFINITIONS,
        values={"min_impressions": "many"},
        today=TODAY,
    )
    assert preview.sql == (
        "SELECT 1 FROM t WHERE d BETWEEN '2026-03-01' AND '2026-03-31' "
        "AND a IN ({{asins}}) AND i >= {{min_impressions}} AND z = {{zzz}}"
    )
    assert [(e.field, e.code) for e in preview.errors] == [
        ("asins", "required"),
        ("min_impressions", "invalid_number"),
    ]
    assert [i.code for i in preview.issues if i.is_error] == ["undefined_placeholder"]
    assert preview.parameters == {"period": {"start": "2026-03-01", "end": "2026-03-31"}}
    assert not preview.complete
    json.dumps(preview.as_dict())


def test_a_complete_preview_is_exactly_what_render_sql_produces():
    sql = PREVIEW_SQL.replace(" AND z = {{zzz}}", "")
    values = {"asins": "B0AAAAAAAA"}
    preview = preview_sql(sql=sql, definitions=PREVIEW_DEFINITIONS, values=values, today=TODAY)
    rendered = render_sql(sql=sql, definitions=PREVIEW_DEFINITIONS, values=values, today=TODAY)
    assert preview.complete
    assert preview.sql == rendered.sql
    assert preview.parameters == rendered.parameters


def test_snapshot_is_json_and_validates_back_to_the_same_values():
    definitions = [
        {"name": "period", "type": "date_range"},
        {"name": "since", "type": "datetime"},
        {"name": "day", "type": "relative_date"},
        {"name": "n", "type": "integer"},
        {"name": "x", "type": "number"},
        {"name": "ctr", "type": "percentage"},
        {"name": "term", "type": "string", "required": False},
        {"name": "asins", "type": "asin_list"},
        {"name": "flag", "type": "boolean"},
    ]
    values = {
        "period": {"start": "today-7d", "end": "today"},
        "since": "2026-03-01T10:00:00Z",
        "day": "yesterday",
        "n": "12",
        "x": "0.25",
        "ctr": "12.5%",
        "asins": "b0aaaaaaaa",
        "flag": "yes",
    }
    rendered = render_sql(sql="SELECT 1", definitions=definitions, values=values, today=TODAY)
    assert rendered.parameters == {
        "period": {"start": "2026-03-24", "end": "2026-03-31"},
        "since": "2026-03-01T10:00:00",
        "day": "2026-03-30",
        "n": 12,
        "x": 0.25,
        "ctr": 12.5,
        "term": None,
        "asins": ["B0AAAAAAAA"],
        "flag": True,
    }
    assert json.loads(json.dumps(rendered.parameters)) == rendered.parameters
    again = validate_parameters(
        definitions=definitions, values=rendered.parameters, today=date(2030, 1, 1)
    )
    assert again == rendered.values
    assert (
        snapshot_parameters(definitions=definitions, values=rendered.values) == rendered.parameters
    )


def test_errors_have_the_shape_of_the_api_error_format():
    error = ParameterError("asins[3]", "invalid_asin", "asins[3]: bad")
    assert error.as_dict() == {
        "field": "asins[3]",
        "code": "invalid_asin",
        "message": "asins[3]: bad",
    }
    assert str(error) == "asins[3]: bad"
    assert ParameterErrors([error]).errors == [error]


def test_preview_leaves_placeholders_the_template_gets_wrong_as_written():
    definitions = [{"name": "term", "type": "string"}, {"name": "asins", "type": "asin_list"}]
    preview = preview_sql(
        sql="SELECT 'C:\\\\{{term}}', {{term}} FROM t WHERE a = {{asins}}",
        definitions=definitions,
        values={"term": "x", "asins": ["B0AAAAAAAA"]},
        today=TODAY,
    )
    assert preview.sql == "SELECT 'C:\\\\{{term}}', 'x' FROM t WHERE a = {{asins}}"
    assert [i.code for i in preview.issues if i.is_error] == [
        "backslash_in_literal",
        "unsupported_context",
    ]
    assert not preview.complete


def test_a_line_comment_ends_at_a_carriage_return_as_in_spark():
    definitions = [{"name": "n", "type": "integer"}]
    sql = "SELECT 1 -- note\rAS one, {{n}} AS n"
    assert [p.context.value for p in check_template(sql, definitions).placeholders] == ["bare"]
    assert render(sql, definitions, {"n": 2}) == "SELECT 1 -- note\rAS one, 2 AS n"
    # A backslash before \r\n does not continue the comment in Spark; before \n it does.
    assert check_template("SELECT {{n}} -- a \\\r\n, 1", definitions).ok
    assert not check_template("SELECT {{n}} -- a \\\n, 1", definitions).ok
