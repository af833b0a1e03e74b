"""Parsing and checking `parameter_definitions` (the JSON list stored on a template)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .errors import DefinitionError, ParameterError
from .model import (
    HARD_MAX_ITEMS,
    HARD_MAX_LENGTH,
    NUMERIC_TYPES,
    ParameterDefinition,
    ParameterType,
    freeze,
)
from .text import short_repr, text_problem
from .values import BLANK, INVALID, _to_decimal, coerce, coerce_date_range

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_COMMON_KEYS = frozenset({"name", "type", "label", "description", "required", "default"})
_KEYS_BY_TYPE: dict[ParameterType, frozenset[str]] = {
    ParameterType.ENUM: frozenset({"options"}),
    ParameterType.INTEGER: frozenset({"min", "max"}),
    ParameterType.NUMBER: frozenset({"min", "max"}),
    ParameterType.PERCENTAGE: frozenset({"min", "max", "render_as"}),
    ParameterType.STRING: frozenset({"max_length"}),
    ParameterType.STRING_LIST: frozenset({"max_items", "max_length"}),
    ParameterType.CAMPAIGN_LIST: frozenset({"max_items", "max_length"}),
    ParameterType.ASIN_LIST: frozenset({"max_items"}),
    ParameterType.DATE_RANGE: frozenset({"max_days"}),
}
PERCENT_RENDERINGS = ("fraction", "percent")

# Defaults are checked for syntax when the definition is parsed; relative ones are resolved
# against this arbitrary day only to see that they parse.
_REFERENCE_DAY = date(2000, 1, 1)

DefinitionsInput = Iterable[ParameterDefinition | Mapping[str, Any]]


class _Problems:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.errors: list[ParameterError] = []

    def add(self, key: str | None, code: str, text: str) -> None:
        field = self.prefix if key is None else f"{self.prefix}.{key}"
        self.errors.append(ParameterError(field, code, f"{field}: {text}"))


def _positive_int(raw: dict, key: str, problems: _Problems, ceiling: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
        problems.add(key, "invalid", f"must be a whole number from 1 to {ceiling}")
        return None
    return value


def _bound(raw: dict, key: str, kind: ParameterType, problems: _Problems) -> int | Decimal | None:
    value = raw.get(key)
    if value is None:
        return None
    if kind is ParameterType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(key, "invalid", f"must be a whole number, not {short_repr(value)}")
            return None
        return value
    scratch: list[ParameterError] = []
    number = _to_decimal(value, key, scratch, "a number")
    if not isinstance(number, Decimal) or isinstance(value, str):
        problems.add(key, "invalid", f"must be a number, not {short_repr(value)}")
        return None
    if kind is ParameterType.PERCENTAGE and not 0 <= number <= 100:
        problems.add(key, "invalid", "a percentage bound must be between 0 and 100")
        return None
    return number


def _options(raw: dict, problems: _Problems) -> tuple[str, ...]:
    options = raw.get("options")
    if not isinstance(options, list | tuple) or not options:
        problems.add("options", "invalid", "an enum needs a non-empty list of options")
        return ()
    seen: dict[str, str] = {}
    for index, option in enumerate(options):
        if not isinstance(option, str) or not option.strip() or option != option.strip():
            problems.add(
                f"options[{index}]",
                "invalid",
                "an option must be non-empty text without surrounding spaces",
            )
            continue
        problem = text_problem(option)
        if problem is not None:
            problems.add(f"options[{index}]", "forbidden_character", problem)
            continue
        if option.casefold() in seen:
            problems.add(f"options[{index}]", "duplicate", f"{option!r} is listed twice")
            continue
        seen[option.casefold()] = option
    return tuple(seen.values())


def parse_definition(raw: Mapping[str, Any], *, index: int = 0) -> ParameterDefinition:
    """One definition from its JSON object; raises DefinitionError listing every problem."""
    problems = _Problems(f"parameter_definitions[{index}]")
    definition = _parse(raw, problems)
    if problems.errors or definition is None:
        raise DefinitionError(problems.errors)
    return definition


def _parse(raw: Any, problems: _Problems) -> ParameterDefinition | None:
    if not isinstance(raw, Mapping):
        problems.add(None, "invalid_type", f"a definition is an object, not {short_repr(raw)}")
        return None
    raw = dict(raw)
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.add(
            "name",
            "invalid_name",
            f"{short_repr(name)} is not a valid name (letters, digits and _, not starting with a "
            "digit, at most 64 characters)",
        )
        name = None
    type_name = raw.get("type")
    try:
        kind = ParameterType(type_name)
    except ValueError:
        known = ", ".join(t.value for t in ParameterType)
        problems.add("type", "unknown_type", f"{short_repr(type_name)} is not a type ({known})")
        return None
    allowed = _COMMON_KEYS | _KEYS_BY_TYPE.get(kind, frozenset())
    for key in raw:
        if key not in allowed:
            problems.add(
                str(key),
                "unknown_key",
                f"{short_repr(key)} is not a setting of a {kind.value} parameter "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
    label = raw.get("label", "")
    if not isinstance(label, str):
        problems.add("label", "invalid", "must be text")
        label = ""
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.add("description", "invalid", "must be text")
        description = ""
    required = raw.get("required", True)
    if not isinstance(required, bool):
        problems.add("required", "invalid", "must be true or false")
        required = True
    options = _options(raw, problems) if kind is ParameterType.ENUM else ()
    low = high = None
    if kind in NUMERIC_TYPES:
        low = _bound(raw, "min", kind, problems)
        high = _bound(raw, "max", kind, problems)
        if low is not None and high is not None and low > high:
            problems.add("min", "invalid", "min is greater than max")
    max_items = _positive_int(raw, "max_items", problems, HARD_MAX_ITEMS)
    max_length = _positive_int(raw, "max_length", problems, HARD_MAX_LENGTH)
    max_days = _positive_int(raw, "max_days", problems, 100_000)
    render_as = None
    if kind is ParameterType.PERCENTAGE:
        render_as = raw.get("render_as", "fraction")
        if render_as not in PERCENT_RENDERINGS:
            problems.add("render_as", "invalid", "must be 'fraction' (0.125) or 'percent' (12.5)")
            render_as = "fraction"
    if name is None:
        return None
    definition = ParameterDefinition(
        name=name,
        type=kind,
        label=label or name.replace("_", " ").capitalize(),
        description=description,
        required=required,
        default=freeze(raw.get("default")),
        options=options,
        min=low,
        max=high,
        max_items=max_items,
        max_length=max_length,
        max_days=max_days,
        render_as=render_as,
    )
    if definition.has_default and not problems.errors:
        _check_default(definition, problems)
    return definition


def _check_default(definition: ParameterDefinition, problems: _Problems) -> None:
    errors: list[ParameterError] = []
    if definition.type is ParameterType.DATE_RANGE:
        # The order of a range default may depend on the day it is resolved (start 2026-01-01,
        # end "today"), so only its parts are checked here; the order is checked at each render.
        value = coerce_date_range(
            definition, definition.default, "default", _REFERENCE_DAY, errors, check_order=False
        )
    else:
        value = coerce(definition, definition.default, "default", _REFERENCE_DAY, errors)
    for error in errors:
        problems.add("default", "invalid_default", error.message)
    if value is BLANK and not errors:
        problems.add("default", "invalid_default", "an empty default; leave it out instead")
    assert errors or value is not INVALID


def parse_definitions(raw: DefinitionsInput) -> tuple[ParameterDefinition, ...]:
    """All definitions of a template, checked together (names must be unique, ignoring case).

    Accepts the JSON list as stored, or already parsed definitions (returned as they are)."""
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        raise DefinitionError(
            [
                ParameterError(
                    "parameter_definitions",
                    "invalid_type",
                    "parameter_definitions: must be a list of objects",
                )
            ]
        )
    definitions: list[ParameterDefinition] = []
    errors: list[ParameterError] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        if isinstance(item, ParameterDefinition):
            definition: ParameterDefinition | None = item
        else:
            problems = _Problems(f"parameter_definitions[{index}]")
            definition = _parse(item, problems)
            errors.extend(problems.errors)
        if definition is None:
            continue
        key = definition.name.casefold()
        if key in seen:
            field = f"parameter_definitions[{index}].name"
            errors.append(
                ParameterError(
                    field,
                    "duplicate_name",
                    f"{field}: {definition.name!r} is already defined at position {seen[key]}",
                )
            )
            continue
        seen[key] = index
        definitions.append(definition)
    if errors:
        raise DefinitionError(errors)
    return tuple(definitions)
