"""Absolute and relative dates.

Relative expressions are resolved against an injected `today` (never the clock), so a schedule
and a backfill segment render the same SQL for the same day:

    today | yesterday [ (+|-) N unit ]      unit: d, day(s), w, week(s), m, month(s), y, year(s)

Examples: `today`, `today-14d`, `today - 14 days`, `today-2w`, `today-1m`, `yesterday`. `m` is
months (there are no times of day here). Month and year steps clamp to the end of the month:
2026-03-31 minus 1 month is 2026-02-28.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_RELATIVE = re.compile(
    r"\s*(today|yesterday)\s*(?:([+-])\s*(\d{1,5})\s*"
    r"(d|days?|w|weeks?|m|months?|y|years?)\s*)?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*")


class DateSyntaxError(ValueError):
    pass


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def resolve_relative(text: str, today: date) -> date | None:
    """The date a relative expression means, None when `text` is not one.

    Raises DateSyntaxError when the expression lands outside the calendar."""
    match = _RELATIVE.fullmatch(text)
    if match is None:
        return None
    base, sign, amount, unit = match.groups()
    day = today if base.lower() == "today" else today - timedelta(days=1)
    if sign is None:
        return day
    count = int(amount) * (1 if sign == "+" else -1)
    unit = unit[0].lower()
    try:
        if unit == "d":
            return day + timedelta(days=count)
        if unit == "w":
            return day + timedelta(weeks=count)
        if unit == "m":
            return add_months(day, count)
        return add_months(day, 12 * count)
    except OverflowError:
        raise DateSyntaxError(f"{text.strip()!r} is outside the calendar") from None


def parse_iso_date(text: str) -> date | None:
    """A strict YYYY-MM-DD date, None when `text` does not have that shape.

    Raises DateSyntaxError for a well-shaped but impossible date (2026-02-30)."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise DateSyntaxError(f"{text.strip()!r} is not a calendar date") from None
