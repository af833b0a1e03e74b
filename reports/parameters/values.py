"""Turning what a user typed (JSON from a form or an API call) into typed, checked values.

Each coercer either returns the typed value, returns BLANK (the input carries nothing: absent,
None, "", [], {} or a list string with no items), or records ParameterErrors and returns
INVALID. Defaults and `required` are applied by the caller, so that a default and a user's
value go through exactly the same checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from .dates import DateSyntaxError, parse_iso_date, resolve_relative
from .errors import ParameterError
from .model import (
    INT64_MAX,
    INT64_MIN,
    DateRange,
    ParameterDefinition,
    ParameterType,
    thaw,
)
from .text import short_repr, text_problem


class _Sentinel:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


BLANK = _Sentinel("BLANK")
INVALID = _Sentinel("INVALID")
MISSING = _Sentinel("MISSING")

Errors = list[ParameterError]

_INTEGER = re.compile(r"[+-]?\d{1,30}")
_NUMBER = re.compile(r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,3})?")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?"
)
_ASIN = re.compile(r"B0[0-9A-Z]{8}|[0-9]{9}[0-9X]")
_ASIN_BLOCK = re.compile(r"(?:(?:B0[0-9A-Z]{8}|[0-9]{9}[0-9X])\n)*(?:B0[0-9A-Z]{8}|[0-9]{9}[0-9X])")
_ASIN_SPLIT = re.compile(r"[\s,;]+")
_LINES = re.compile(r"\r\n|\r|\n")
_MAX_SIGNIFICANT_DIGITS = 15  # what a double carries exactly: snapshots stay JSON numbers
_MAX_DECIMAL_PLACES = 12
_MAX_ADJUSTED_EXPONENT = 14  # |x| < 1e15
_PERCENT_MIN = Decimal(0)
_PERCENT_MAX = Decimal(100)
_NOT_WHOLE = "{} is not a whole number"
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _fail(errors: Errors, field: str, code: str, text: str) -> _Sentinel:
    errors.append(ParameterError(field, code, f"{field}: {text}"))
    return INVALID


def _wrong_type(errors: Errors, field: str, raw: Any, expected: str) -> _Sentinel:
    return _fail(errors, field, "invalid_type", f"expected {expected}, got {short_repr(raw)}")


# --- dates -----------------------------------------------------------------------------------


def coerce_date(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    if isinstance(raw, datetime):
        return _wrong_type(errors, field, raw, "a date without a time of day")
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        return _wrong_type(errors, field, raw, "a date (YYYY-MM-DD or like today-14d)")
    if not raw.strip():
        return BLANK
    try:
        value = parse_iso_date(raw)
        if value is None:
            value = resolve_relative(raw, today)
    except DateSyntaxError as exc:
        return _fail(errors, field, "invalid_date", str(exc))
    if value is None:
        return _fail(
            errors,
            field,
            "invalid_date",
            f"{short_repr(raw)} is not a date: use YYYY-MM-DD or an expression like "
            "today, yesterday, today-14d, today-2w, today-1m",
        )
    return value


def coerce_datetime(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime.combine(raw, time())
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return BLANK
        if _DATETIME.fullmatch(text):
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                return _fail(
                    errors, field, "invalid_date", f"{short_repr(raw)} is not a valid date and time"
                )
        else:
            try:
                day = resolve_relative(text, today)
            except DateSyntaxError as exc:
                return _fail(errors, field, "invalid_date", str(exc))
            if day is None:
                return _fail(
                    errors,
                    field,
                    "invalid_date",
                    f"{short_repr(raw)} is not a date and time: use YYYY-MM-DDTHH:MM:SS",
                )
            value = datetime.combine(day, time())
    else:
        return _wrong_type(errors, field, raw, "a date and time (YYYY-MM-DDTHH:MM:SS)")
    if value.tzinfo is not None:
        offset = value.utcoffset()
        if offset:
            # AMC timestamps carry no zone (a trailing Z even empties the results); the time
            # window's zone is sent separately, so we refuse to guess a conversion.
            return _fail(
                errors,
                field,
                "invalid_date",
                f"{short_repr(raw)} has a UTC offset; give the time without one "
                "(AMC timestamps carry no time zone)",
            )
        value = value.replace(tzinfo=None)
    # AMC's format is YYYY-MM-DDTHH:MM:SS: fractions of a second are dropped.
    return value.replace(microsecond=0)


def coerce_date_range(
    defn: ParameterDefinition,
    raw: Any,
    field: str,
    today: date,
    errors: Errors,
    *,
    check_order: bool = True,
) -> Any:
    if isinstance(raw, DateRange):
        start_raw, end_raw = raw.start, raw.end
    elif isinstance(raw, Mapping):
        extra = sorted(str(k) for k in raw if k not in ("start", "end"))
        if extra:
            return _fail(
                errors,
                field,
                "invalid_format",
                f"a date range has only 'start' and 'end', not {', '.join(extra)}",
            )
        start_raw, end_raw = raw.get("start"), raw.get("end")
    else:
        return _wrong_type(errors, field, raw, 'an object like {"start": ..., "end": ...}')
    before = len(errors)
    parts = []
    for key, part in (("start", start_raw), ("end", end_raw)):
        part_field = f"{field}.{key}"
        value = BLANK if part is None else coerce_date(defn, part, part_field, today, errors)
        if value is BLANK:
            parts.append(BLANK)
        else:
            parts.append(value)
    if parts[0] is BLANK and parts[1] is BLANK and len(errors) == before:
        return BLANK
    for key, value in zip(("start", "end"), parts, strict=True):
        if value is BLANK:
            _fail(errors, f"{field}.{key}", "required", f"the range needs a {key} date")
    if len(errors) > before:
        return INVALID
    value = DateRange(parts[0], parts[1])
    if not check_order:
        return value
    if value.start > value.end:
        return _fail(
            errors,
            field,
            "invalid_range",
            f"start {value.start.isoformat()} is after end {value.end.isoformat()}",
        )
    if defn.max_days is not None and value.days > defn.max_days:
        return _fail(
            errors,
            field,
            "range_too_long",
            f"the range covers {value.days} days; at most {defn.max_days} are allowed",
        )
    return value


# --- numbers ---------------------------------------------------------------------------------


def _check_bounds(
    value: int | Decimal,
    low: int | Decimal | None,
    high: int | Decimal | None,
    field: str,
    errors: Errors,
    shown: str,
) -> Any:
    if low is not None and value < low:
        return _fail(errors, field, "out_of_range", f"{shown} is below the minimum {thaw(low)}")
    if high is not None and value > high:
        return _fail(errors, field, "out_of_range", f"{shown} is above the maximum {thaw(high)}")
    return value


def coerce_integer(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    if isinstance(raw, bool):
        return _wrong_type(errors, field, raw, "a whole number")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float | Decimal):
        finite = raw.is_finite() if isinstance(raw, Decimal) else math.isfinite(raw)
        if not (finite and raw == int(raw)):
            return _fail(errors, field, "invalid_number", _NOT_WHOLE.format(short_repr(raw)))
        value = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return BLANK
        if not _INTEGER.fullmatch(text):
            return _fail(errors, field, "invalid_number", _NOT_WHOLE.format(short_repr(raw)))
        value = int(text)
    else:
        return _wrong_type(errors, field, raw, "a whole number")
    if not INT64_MIN <= value <= INT64_MAX:
        return _fail(errors, field, "out_of_range", "the number is too large for a 64-bit integer")
    return _check_bounds(value, defn.min, defn.max, field, errors, str(value))


def _to_decimal(raw: Any, field: str, errors: Errors, what: str) -> Any:
    if isinstance(raw, bool):
        return _wrong_type(errors, field, raw, what)
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            return _fail(errors, field, "invalid_number", f"{short_repr(raw)} is not a number")
        value = Decimal(repr(raw))
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            return _fail(errors, field, "invalid_number", f"{short_repr(raw)} is not a number")
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return BLANK
        if not _NUMBER.fullmatch(text):
            return _fail(errors, field, "invalid_number", f"{short_repr(raw)} is not a number")
        try:
            value = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            return _fail(errors, field, "invalid_number", f"{short_repr(raw)} is not a number")
    else:
        return _wrong_type(errors, field, raw, what)
    if value.is_zero():
        return Decimal(0)
    value = value.normalize()
    sign, digits, exponent = value.as_tuple()
    if value.adjusted() > _MAX_ADJUSTED_EXPONENT:
        return _fail(errors, field, "out_of_range", f"{short_repr(raw)} is too large")
    if len(digits) > _MAX_SIGNIFICANT_DIGITS:
        return _fail(
            errors,
            field,
            "invalid_number",
            f"{short_repr(raw)} has more than {_MAX_SIGNIFICANT_DIGITS} significant digits",
        )
    if isinstance(exponent, int) and -exponent > _MAX_DECIMAL_PLACES:
        return _fail(
            errors,
            field,
            "invalid_number",
            f"{short_repr(raw)} has more than {_MAX_DECIMAL_PLACES} decimal places",
        )
    return value


def coerce_number(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    value = _to_decimal(raw, field, errors, "a number")
    if not isinstance(value, Decimal):
        return value
    return _check_bounds(value, defn.min, defn.max, field, errors, format(value, "f"))


def coerce_percentage(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    if isinstance(raw, str):
        text = raw.strip()
        if text.endswith("%"):
            text = text[:-1].rstrip()
            if not text:
                return _fail(errors, field, "invalid_number", "'%' alone is not a percentage")
        raw = text
    value = _to_decimal(raw, field, errors, "a percentage like 12.5 or '12.5%'")
    if not isinstance(value, Decimal):
        return value
    shown = format(value, "f") + "%"
    if value < _PERCENT_MIN or value > _PERCENT_MAX:
        return _fail(errors, field, "out_of_range", f"{shown} is not between 0% and 100%")
    return _check_bounds(value, defn.min, defn.max, field, errors, shown)


# --- text ------------------------------------------------------------------------------------


def _check_text(value: str, field: str, errors: Errors, limit: int) -> Any:
    if len(value) > limit:
        return _fail(
            errors, field, "too_long", f"{len(value)} characters; at most {limit} are allowed"
        )
    problem = text_problem(value)
    if problem is not None:
        return _fail(errors, field, "forbidden_character", problem)
    return value


def coerce_string(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    # Kept exactly as given (no trimming): in LIKE '%{{term}}%' spaces can matter.
    if not isinstance(raw, str):
        return _wrong_type(errors, field, raw, "text")
    if raw == "":
        return BLANK
    return _check_text(raw, field, errors, defn.length_limit())


def coerce_enum(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    if not isinstance(raw, str):
        return _wrong_type(errors, field, raw, "one of " + ", ".join(defn.options))
    text = raw.strip()
    if not text:
        return BLANK
    if text in defn.options:
        return text
    folded = [option for option in defn.options if option.casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0]
    return _fail(
        errors,
        field,
        "invalid_choice",
        f"{short_repr(raw)} is not one of: {', '.join(defn.options)}",
    )


def coerce_boolean(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if not text:
            return BLANK
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return _fail(errors, field, "invalid_boolean", f"{short_repr(raw)} is not true or false")


# --- lists -----------------------------------------------------------------------------------


def _list_items(defn: ParameterDefinition, raw: Any, field: str, errors: Errors) -> Any:
    """(index, item) pairs of the non-blank entries, or BLANK / INVALID."""
    if isinstance(raw, str):
        if defn.type is ParameterType.ASIN_LIST:
            pieces = _ASIN_SPLIT.split(raw)
        elif "\n" in raw or "\r" in raw:
            # One item per line, so names that contain commas survive a paste.
            pieces = _LINES.split(raw)
        else:
            pieces = raw.split(",")
        stripped = [piece.strip() for piece in pieces]
        items = list(enumerate(piece for piece in stripped if piece))
    elif isinstance(raw, list | tuple):
        items = [
            (index, item)
            for index, item in enumerate(raw)
            if not (item is None or (isinstance(item, str) and not item.strip()))
        ]
    else:
        return _wrong_type(errors, field, raw, "a list, or text with one item per line or comma")
    if not items:
        return BLANK
    limit = defn.item_limit()
    if len(items) > limit:
        return _fail(
            errors, field, "too_many_items", f"{len(items)} items; at most {limit} are allowed"
        )
    return items


def _valid_asins_fast(defn: ParameterDefinition, raw: Any) -> tuple[str, ...] | None:
    """The common case in one regex call: every entry a valid ASIN. None: take the slow path,
    which finds and names the bad entries."""
    # str.upper() maps some non-ASCII letters to ASCII ones ("ß" to "SS", "ı" to "I"): an ASIN
    # must be typed in ASCII, so anything else takes the slow path and is refused there.
    if isinstance(raw, str):
        if not raw.isascii():
            return None
        present = [piece for piece in _ASIN_SPLIT.split(raw.upper()) if piece]
    elif isinstance(raw, list | tuple):
        try:
            if not "".join(raw).isascii():
                return None
        except TypeError:  # an entry that is not text
            return None
        present = [item.strip().upper() for item in raw]
        present = [item for item in present if item]
    else:
        return None
    count = len(present)
    if not present or count > defn.item_limit():
        return None
    joined = "\n".join(present)
    # Exactly `count` ten-character ASINs between the separators, so no entry held a separator.
    if len(joined) != 11 * count - 1 or _ASIN_BLOCK.fullmatch(joined) is None:
        return None
    return tuple(dict.fromkeys(present))


def coerce_asin_list(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    fast = _valid_asins_fast(defn, raw)
    if fast is not None:
        return fast
    items = _list_items(defn, raw, field, errors)
    if not isinstance(items, list):
        return items
    before = len(errors)
    seen: dict[str, None] = {}
    match = _ASIN.fullmatch
    for index, item in items:
        if not isinstance(item, str):
            _wrong_type(errors, f"{field}[{index}]", item, "an ASIN as text")
            continue
        asin = item.strip().upper()
        if not item.isascii() or match(asin) is None:
            _fail(
                errors,
                f"{field}[{index}]",
                "invalid_asin",
                f"{short_repr(item)} is not an ASIN (10 characters: B0 and 8 letters or "
                "digits, or a 10-digit ISBN)",
            )
            continue
        seen[asin] = None
    if len(errors) > before:
        return INVALID
    return tuple(seen)


def coerce_campaign_list(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    items = _list_items(defn, raw, field, errors)
    if not isinstance(items, list):
        return items
    before = len(errors)
    seen: dict[str, None] = {}
    limit = defn.length_limit()
    for index, item in items:
        item_field = f"{field}[{index}]"
        if isinstance(item, int) and not isinstance(item, bool):
            if item < 0:
                _fail(errors, item_field, "invalid_format", "a campaign id cannot be negative")
                continue
            text = str(item)
        elif isinstance(item, str):
            text = item.strip()
        else:
            _wrong_type(errors, item_field, item, "a campaign id or name")
            continue
        if _check_text(text, item_field, errors, limit) is INVALID:
            continue
        seen[text] = None
    if len(errors) > before:
        return INVALID
    return tuple(seen)


def coerce_string_list(
    defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors
) -> Any:
    items = _list_items(defn, raw, field, errors)
    if not isinstance(items, list):
        return items
    before = len(errors)
    seen: dict[str, None] = {}
    limit = defn.length_limit()
    for index, item in items:
        item_field = f"{field}[{index}]"
        if not isinstance(item, str):
            _wrong_type(errors, item_field, item, "text")
            continue
        text = item.strip()
        if _check_text(text, item_field, errors, limit) is INVALID:
            continue
        seen[text] = None
    if len(errors) > before:
        return INVALID
    return tuple(seen)


Coercer = Callable[[ParameterDefinition, Any, str, date, Errors], Any]

COERCERS: dict[ParameterType, Coercer] = {
    ParameterType.DATE: coerce_date,
    ParameterType.RELATIVE_DATE: coerce_date,
    ParameterType.DATETIME: coerce_datetime,
    ParameterType.DATE_RANGE: coerce_date_range,
    ParameterType.INTEGER: coerce_integer,
    ParameterType.NUMBER: coerce_number,
    ParameterType.PERCENTAGE: coerce_percentage,
    ParameterType.STRING: coerce_string,
    ParameterType.STRING_LIST: coerce_string_list,
    ParameterType.ASIN_LIST: coerce_asin_list,
    ParameterType.CAMPAIGN_LIST: coerce_campaign_list,
    ParameterType.ENUM: coerce_enum,
    ParameterType.BOOLEAN: coerce_boolean,
}


def coerce(defn: ParameterDefinition, raw: Any, field: str, today: date, errors: Errors) -> Any:
    """The typed value of `raw`, or BLANK, or INVALID (with errors appended)."""
    if raw is None or raw is MISSING:
        return BLANK
    return COERCERS[defn.type](defn, raw, field, today, errors)


def blank_value(defn: ParameterDefinition) -> Any:
    """The typed value of an optional parameter left empty: () for lists, None otherwise."""
    return () if defn.is_list else None


def to_json(defn: ParameterDefinition, value: Any) -> Any:
    """The JSON form of a typed value; feeding it back to validation gives the same value."""
    if value is None:
        return None
    kind = defn.type
    if kind is ParameterType.DATE_RANGE:
        return {"start": value.start.isoformat(), "end": value.end.isoformat()}
    if kind is ParameterType.DATETIME:
        return value.isoformat(timespec="seconds")
    if kind in (ParameterType.DATE, ParameterType.RELATIVE_DATE):
        return value.isoformat()
    if kind in (ParameterType.NUMBER, ParameterType.PERCENTAGE):
        return thaw(value)
    if defn.is_list:
        return list(value)
    return value
