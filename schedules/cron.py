"""Schedule time math: cron validation, friendly config -> cron, and fire times across DST.

Pure Python (no Django, no database) so the dispatcher, the API and the tests share one
implementation. All instants returned are aware UTC datetimes.

DST policy (also in the README, "Schedules and daylight saving time"):

* A schedule is evaluated on the wall clock of its own IANA timezone.
* A wall time that does not exist (skipped by a spring-forward) fires once, at the first
  valid instant after it: the transition itself (03:00 in Europe/Berlin, 02:30 on
  Australia/Lord_Howe). Several skipped times collapse into that one run.
* A wall time that occurs twice (fall-back) fires once, at its first occurrence.
* Exception for schedules that run in every hour of the day (hour field ``*`` or anything
  covering 0-23, e.g. ``*/15 * * * *``, ``0 * * * *``): they are interval schedules, so in
  the repeated hour they
  also fire at the second occurrence of each matching time. Real time keeps moving on a
  fall-back night, and an operator who asked for "every 15 minutes" expects a run every 15
  real minutes, not a 75-minute hole. (Vixie cron makes the same distinction between
  wildcard and fixed-time jobs.) Schedules with fixed hours (``30 2 * * *``, ``0 */2 * * *``,
  ``*/15 2 * * *``) fire at first occurrences only.
* Fire times are strictly increasing and never repeat a UTC instant.

Cron dialect: five fields, expanded by croniter 7; matching wall-clock times are found on
naive datetimes and mapped to UTC here (croniter's own DST handling is never used). See
``validate_cron``.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterError, croniter

__all__ = [
    "CronError",
    "DispatchPlan",
    "ScheduleConfig",
    "ScheduleConfigError",
    "ScheduleError",
    "TimezoneError",
    "cron_from_config",
    "next_run_after",
    "next_run_for_dispatch",
    "preview_runs",
    "validate_cron",
    "validate_timezone",
]

MAX_PREVIEW_RUNS = 100
MAX_EXPRESSION_LENGTH = 200


# --------------------------------------------------------------------------------------------
# Errors


class ScheduleError(ValueError):
    """A schedule input the user must fix; ``field`` names the input for the API's error body."""

    field: str = "schedule"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class CronError(ScheduleError):
    def __init__(self, message: str) -> None:
        super().__init__("cron_expression", message)


class TimezoneError(ScheduleError):
    def __init__(self, message: str) -> None:
        super().__init__("timezone", message)


class ScheduleConfigError(ScheduleError):
    """A friendly schedule config is invalid; ``field`` is the config key at fault."""


# --------------------------------------------------------------------------------------------
# Timezones


@functools.cache
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@functools.cache
def _timezones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in _known_timezones()}


def validate_timezone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name such as ``Europe/Berlin``; raises TimezoneError otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise TimezoneError("Timezone is required: an IANA name such as 'Europe/Berlin'.")
    return _zone(name)


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    if name not in _known_timezones():
        hint = _timezones_by_lower_name().get(name.strip().lower())
        suffix = f" Did you mean '{hint}'?" if hint else ""
        raise TimezoneError(
            f"Unknown timezone '{name}': use an IANA name such as 'Europe/Berlin'.{suffix}"
        )
    return ZoneInfo(name)


# --------------------------------------------------------------------------------------------
# Cron expressions

_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DOW_NAMES = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}
_MONTH_LABELS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
# The longest each month can be; February's 29 is handled separately (leap years only).
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELD_SEPARATOR = re.compile(r"[ \t]+")
_ITEM = re.compile(
    r"(?:(?P<star>\*)|(?P<low>[a-z0-9]+)(?:-(?P<high>[a-z0-9]+))?)(?:/(?P<step>\d+))?"
)
_FORBIDDEN_CHARACTER = re.compile(r"[^\x20-\x7e\t]")
_LAST = "L"  # day-of-month "last day of the month"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]
    example: str


_FIELDS = (
    _Field("minute", 0, 59, {}, "0-59"),
    _Field("hour", 0, 23, {}, "0-23"),
    _Field("day-of-month", 1, 31, {}, "1-31 or L"),
    _Field("month", 1, 12, _MONTH_NAMES, "1-12 or jan-dec"),
    # 0 and 7 are both Sunday, as in every cron.
    _Field("day-of-week", 0, 7, _DOW_NAMES, "0-7 (0 and 7 are Sunday) or sun-sat"),
)
_DOM, _DOW = 2, 4


def _parse_value(field: _Field, text: str) -> int:
    if text == "l" and field is _FIELDS[_DOM]:
        raise CronError(f"{field.name}: L (last day of the month) must stand alone, e.g. '15,L'.")
    if text.isdigit():
        value = int(text)
        if not field.low <= value <= field.high:
            raise CronError(f"{field.name}: {text} is out of range {field.low}-{field.high}.")
        return value
    if text in field.names:
        return field.names[text]
    raise CronError(f"{field.name}: '{text}' is not a valid value (allowed: {field.example}).")


def _parse_field(field: _Field, text: str) -> tuple[str, frozenset[int], bool]:
    """Parse one field; returns (normalised text, values, has "last day of month")."""
    items: list[str] = []
    values: set[int] = set()
    has_last = False
    for item in text.split(","):
        if not item:
            raise CronError(f"{field.name}: '{text}' has an empty list item.")
        if item == "l" and field is _FIELDS[_DOM]:
            items.append(_LAST)
            has_last = True
            continue
        match = _ITEM.fullmatch(item)
        if match is None:
            raise CronError(
                f"{field.name}: '{item}' is not a valid item (allowed: {field.example},"
                f" *, ranges a-b, lists a,b, steps */n or a-b/n)."
            )
        step = None
        if match["step"] is not None:
            step = int(match["step"])
            span = field.high - field.low + 1
            if not 1 <= step <= span:
                raise CronError(
                    f"{field.name}: step /{match['step']} must be between 1 and {span}."
                )
        if match["star"]:
            if step is None and text != "*":
                raise CronError(
                    f"{field.name}: '*' already means every value and cannot be combined"
                    f" with other items ('{text}')."
                )
            low_text, high_text = "*", None
            low, high = field.low, field.high
        else:
            low_text, high_text = match["low"], match["high"]
            low = _parse_value(field, low_text)
            if high_text is not None:
                high = _parse_value(field, high_text)
                if high < low:
                    raise CronError(
                        f"{field.name}: range '{item}' runs backwards; ranges go from low to"
                        f" high, so split it, e.g. '{_wrap_hint(field, low_text, high_text)}'."
                    )
            elif step is not None:
                # "a/n" (a Quartz-style start with a step) means a-max/n, as in croniter;
                # for day-of-week the max is 6 (Saturday).
                high = max(low, 6 if field is _FIELDS[_DOW] else field.high)
                high_text = str(high)
            else:
                high = low
        if field is _FIELDS[_DOW]:
            # Sunday is 0 and 7; croniter folds 7 into 0 the same way.
            values.update(0 if v == 7 else v for v in range(low, high + 1, step or 1))
        else:
            values.update(range(low, high + 1, step or 1))
        items.append(_render_item(low_text, high_text, low, high, step))
    return ",".join(items), frozenset(values), has_last


def _wrap_hint(field: _Field, low_text: str, high_text: str) -> str:
    top, bottom = field.high, field.low
    if field is _FIELDS[_DOW]:
        top = 6  # Saturday; Sunday is the low end (0)
    if field.names and not low_text.isdigit():
        by_number = {number: name for name, number in field.names.items()}
        return f"{low_text}-{by_number[top]},{by_number[bottom]}-{high_text}"
    return f"{low_text}-{top},{bottom}-{high_text}"


def _render_item(low_text: str, high_text: str | None, low: int, high: int, step: int | None):
    if low_text == "*":
        return "*" if step is None else f"*/{step}"
    low_text = str(int(low_text)) if low_text.isdigit() else low_text
    if high_text is None or low == high:
        # A range with equal ends is one value. (croniter would read "jan-jan" as the whole
        # year, so it must never reach croniter in that form.)
        return low_text
    high_text = str(int(high_text)) if high_text.isdigit() else high_text
    return f"{low_text}-{high_text}" + ("" if step is None else f"/{step}")


@dataclass(frozen=True)
class _ParsedCron:
    expression: str
    fields: tuple[frozenset[int], ...]  # minute, hour, dom, month, dow values (dow Sunday = 0)
    dom_has_last: bool


def _parse(expression: str) -> _ParsedCron:
    if not isinstance(expression, str):
        raise CronError("Cron expression must be a string.")
    text = expression.strip()
    if not text:
        raise CronError(
            "Cron expression is empty: give five fields, minute hour day-of-month month"
            " day-of-week (e.g. '0 9 * * 1-5')."
        )
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise CronError(f"Cron expression is longer than {MAX_EXPRESSION_LENGTH} characters.")
    if _FORBIDDEN_CHARACTER.search(text):
        raise CronError("Cron expression contains characters that are not allowed.")
    lowered = text.lower()
    if lowered.startswith("@"):
        if lowered == "@reboot":
            raise CronError(
                "@reboot is not supported: it runs when a server starts, which is not a"
                " schedule. Use five fields, e.g. '0 9 * * *'."
            )
        if lowered not in _MACROS:
            supported = ", ".join(_MACROS)
            raise CronError(f"Unknown macro '{text}'. Supported macros: {supported}.")
        lowered = _MACROS[lowered]
    parts = _FIELD_SEPARATOR.split(lowered)
    if len(parts) != 5:
        extra = ""
        if len(parts) in (6, 7):
            extra = " Seconds and year fields (6- or 7-field forms) are not supported."
        raise CronError(
            f"Cron expression must have exactly five fields (minute hour day-of-month month"
            f" day-of-week); got {len(parts)}.{extra}"
        )
    rendered, values, has_last = [], [], False
    for field, part in zip(_FIELDS, parts, strict=True):
        text_out, field_values, last = _parse_field(field, part)
        rendered.append(text_out)
        values.append(field_values)
        has_last = has_last or last
    return _ParsedCron(" ".join(rendered), tuple(values), has_last)


def _check_fires_every_year(compiled: _CompiledCron) -> None:
    """Reject day-of-month/month combinations that never (or only in leap years) occur.

    Day-of-month and day-of-week are ORed when both are restricted (croniter's rule, see
    ``validate_cron``): then the weekday side fires every month and nothing is impossible.
    """
    if compiled.day_rule != _DAY_OF_MONTH or compiled.last_day:
        return
    days = sorted(compiled.days)
    months = sorted(compiled.months)
    if any(days[0] <= _DAYS_IN_MONTH[m - 1] for m in months):
        return
    month_text = _join([_MONTH_LABELS[m - 1] for m in months])
    if months == [2] and days[0] == 29:
        raise CronError(
            "Runs only in leap years: February 29 comes once every four years. Use 28 or L"
            " (last day of the month) instead."
        )
    day_text = _join([str(d) for d in days])
    verb = "does" if len(days) == 1 else "do"
    raise CronError(
        f"Never runs: day-of-month {day_text} {verb} not occur in {month_text}."
        " Use L for the last day of the month."
    )


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# How the day-of-month and day-of-week fields combine (croniter decides, see _CompiledCron).
_EVERY_DAY, _DAY_OF_MONTH, _DAY_OF_WEEK, _EITHER_DAY = "every", "dom", "dow", "either"
_MINUTE = timedelta(minutes=1)


class _CompiledCron:
    """A validated expression, ready to step over naive wall-clock times.

    The field values come from ``croniter.expand`` so croniter stays the authority on what an
    expression means (which values, and whether day-of-month and day-of-week are ORed); the
    search below replaces croniter's ``get_next``, which costs 100-300 us a step against a
    few us here. tests/schedules/test_cron_properties.py checks the two agree.
    """

    __slots__ = (
        "expression",
        "every_hour",
        "minutes",
        "hours",
        "days",
        "day_list",
        "last_day",
        "months",
        "month_set",
        "weekdays",
        "days_to_weekday",
        "day_rule",
    )

    def __init__(self, expression: str) -> None:
        self.expression = expression
        try:
            expanded, _nth = croniter.expand(expression)
        except CroniterError as exc:  # our grammar is a subset; this would be a croniter change
            raise CronError(f"Cron expression is not valid: {exc}") from exc
        minutes, hours, days, months, weekdays = (
            list(range(low, high + 1)) if values == ["*"] else values
            for values, (low, high) in zip(expanded, croniter.RANGES, strict=False)
        )
        self.minutes = sorted(minutes)
        self.hours = sorted(hours)
        self.every_hour = len(self.hours) == 24
        self.days = frozenset(d for d in days if d != "l")
        self.day_list = sorted(self.days)
        self.last_day = "l" in days
        self.months = sorted(months)
        self.month_set = frozenset(months)
        self.weekdays = frozenset(weekdays)  # 0 = Sunday
        # For each weekday (0 = Sunday), how many days until the next matching weekday.
        self.days_to_weekday = tuple(
            min(((w - today) % 7 for w in self.weekdays), default=0) for today in range(7)
        )
        dom_star, dow_star = expanded[_DOM] == ["*"], expanded[_DOW] == ["*"]
        if dom_star and dow_star:
            self.day_rule = _EVERY_DAY
        elif dow_star:
            self.day_rule = _DAY_OF_MONTH
        elif dom_star:
            self.day_rule = _DAY_OF_WEEK
        else:
            self.day_rule = _EITHER_DAY  # both restricted: Vixie cron's OR
        _check_fires_every_year(self)

    def _first_day_from(self, year: int, month: int, day: int, month_length: int) -> int | None:
        """The first matching day of this month at or after ``day``, or None."""
        rule = self.day_rule
        if rule == _EVERY_DAY:
            return day
        best = None
        if rule != _DAY_OF_WEEK:
            i = bisect_left(self.day_list, day)
            if i < len(self.day_list) and self.day_list[i] <= month_length:
                best = self.day_list[i]
            if self.last_day and best is None:
                best = month_length
        if rule != _DAY_OF_MONTH:
            weekday = (date(year, month, day).weekday() + 1) % 7  # 0 = Sunday
            candidate = day + self.days_to_weekday[weekday]
            if candidate <= month_length and (best is None or candidate < best):
                best = candidate
        return best

    def _time_from(self, hour: int, minute: int) -> tuple[int, int] | None:
        """The first matching (hour, minute) at or after the given one within a day."""
        hours = self.hours
        i = bisect_left(hours, hour)
        if i < len(hours) and hours[i] == hour:
            j = bisect_left(self.minutes, minute)
            if j < len(self.minutes):
                return hour, self.minutes[j]
            i += 1
        if i < len(hours):
            return hours[i], self.minutes[0]
        return None

    def next_wall(self, wall: datetime) -> datetime:
        """The first matching naive wall-clock minute strictly after ``wall``."""
        start = wall.replace(second=0, microsecond=0) + _MINUTE
        year, month, day = start.year, start.month, start.day
        hour, minute = start.hour, start.minute
        for _ in range(1000):  # a valid expression fires within 12 month steps + a few days
            if month in self.month_set:
                month_length = _DAYS_IN_MONTH[month - 1]
                if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
                    month_length = 29
                found_day = self._first_day_from(year, month, day, month_length)
                if found_day is not None:
                    if found_day != day:
                        day, hour, minute = found_day, 0, 0
                    found = self._time_from(hour, minute)
                    if found is not None:
                        return datetime(year, month, day, *found)
                    if day < month_length:
                        day, hour, minute = day + 1, 0, 0
                        continue
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            day, hour, minute = 1, 0, 0
        raise RuntimeError(f"no wall time found for {self.expression!r} after {wall}")


@functools.lru_cache(maxsize=16384)
def _compile_cached(expression: str) -> _CompiledCron:
    return _CompiledCron(_parse(expression).expression)


def _compile(expression: str) -> _CompiledCron:
    if not isinstance(expression, str):
        raise CronError("Cron expression must be a string.")
    return _compile_cached(expression)


def validate_cron(expression: str) -> str:
    """Validate a five-field cron expression and return it normalised; raises CronError.

    Dialect: minute hour day-of-month month day-of-week, each ``*``, a number, a range
    ``a-b``, a list ``a,b``, a step ``*/n``, ``a-b/n`` or ``a/n`` (= ``a-max/n``). Month
    names jan-dec, day names sun-sat, Sunday is 0 or 7, ``L`` in day-of-month is the last day
    of the month. @hourly, @daily, @midnight, @weekly, @monthly, @yearly and @annually become
    their five fields; @reboot, seconds/year fields, backwards ranges, Quartz/Jenkins
    extensions and day/month combinations that never run (or only on February 29) are
    rejected. Normalised: lower-case names, single spaces, no leading zeros.

    Day-of-month and day-of-week (croniter's rule, pinned by test_cron_golden.py): when both
    are restricted a day matches if EITHER matches, as in Vixie cron: ``0 9 1-7 * mon`` runs
    on days 1-7 and on every Monday, not on the first Monday. A field is unrestricted when it
    is ``*``, or lists every value while the other day field contains a ``*`` (``1-31`` with
    ``*/2`` means "every other weekday"). Unlike Vixie cron, ``*/n`` counts as restricted,
    so ``0 9 */2 * mon`` is ORed too (Vixie cron ANDs it).
    """
    return _compile(expression).expression


# --------------------------------------------------------------------------------------------
# Fire times (internally naive UTC datetimes; aware UTC at the public boundary)

_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)


def _to_naive_utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _offset_at(zone: ZoneInfo, moment: datetime | int) -> timedelta:
    """The UTC offset of ``zone`` at a naive UTC datetime or a POSIX timestamp."""
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return datetime.fromtimestamp(moment, zone).utcoffset()


def _timestamp(utc_naive: datetime) -> float:
    return utc_naive.replace(tzinfo=UTC).timestamp()


def _transition_instant(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first instant in (before, after] with after's UTC offset (naive UTC, whole seconds).

    Callers guarantee the offset differs at ``before`` and one transition lies between.
    """
    lo = int(_timestamp(before) // 1)
    hi = -int(-_timestamp(after) // 1)
    target = _offset_at(zone, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(zone, mid) == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC).replace(tzinfo=None)


def _first_instant(zone: ZoneInfo, wall: datetime) -> datetime:
    """The instant a matching wall time fires at, by the DST policy (naive UTC)."""
    aware = wall.replace(tzinfo=zone)
    offset = aware.utcoffset()
    offset_after = aware.replace(fold=1).utcoffset()
    if offset == offset_after:
        return wall - offset
    if offset > offset_after:
        # Repeated (fall-back): fold=0 is the first occurrence.
        return wall - offset
    # Nonexistent (spring-forward gap): fire at the transition, the first valid instant
    # after the skipped wall time (03:00 Berlin, 02:30 Lord Howe).
    return _transition_instant(zone, wall - offset_after, wall - offset)


def _next_fire(compiled: _CompiledCron, zone: ZoneInfo, after: datetime) -> datetime:
    """The first fire instant strictly after ``after`` (naive UTC in, naive UTC out).

    Steps through matching wall-clock times from the wall time of ``after`` and maps each to
    UTC with ``_first_instant``. That mapping never decreases as wall time increases, so the
    first candidate past ``after`` is the answer; interval schedules then also consider the
    second pass of a repeated hour.
    """
    local = after.replace(tzinfo=UTC).astimezone(zone)
    wall = local.replace(tzinfo=None)
    offset_now = local.utcoffset()
    repeated = None  # (transition, offset before it, offset after it) of a relevant fall-back
    if local.fold:
        # ``after`` lies in the second pass of a repeated hour: every wall time up to the end
        # of that hour maps to its first occurrence, which is already past. Jump over them.
        offset_before = local.replace(fold=0).utcoffset()
        transition = _transition_instant(zone, after - (offset_before - offset_now), after)
        repeated = (transition, offset_before, offset_now)
        wall = max(wall, transition + offset_before - _SECOND)
    for _ in range(10_000):
        wall = compiled.next_wall(wall)
        fire = _first_instant(zone, wall)
        if fire > after:
            break
    else:  # pragma: no cover - validated expressions always reach a later wall time
        raise RuntimeError(f"no fire time found for {compiled.expression!r} after {after}")
    if not compiled.every_hour:
        return fire
    if repeated is None:
        # A fall-back between ``after`` and ``fire`` can hold second-pass fires before
        # ``fire``. (Only the first transition matters: a second-pass time has a first-pass
        # twin an offset-difference earlier, which is not after ``after``, so the fall-back
        # is less than a day away.)
        horizon = min(fire, after + _DAY)
        offset_later = _offset_at(zone, horizon)
        if offset_later < offset_now:
            transition = _transition_instant(zone, after, horizon)
            repeated = (transition, offset_now, offset_later)
    if repeated is not None:
        second = _second_pass_fire(compiled, after, *repeated)
        if second is not None and second < fire:
            fire = second
    return fire


def _second_pass_fire(
    compiled: _CompiledCron,
    after: datetime,
    transition: datetime,
    offset_before: timedelta,
    offset_after: timedelta,
) -> datetime | None:
    """For interval schedules: the first second-pass fire of a repeated hour after ``after``.

    Second-pass instants are [transition, transition + (offset_before - offset_after)); their
    wall times are [transition + offset_after, transition + offset_before).
    """
    start = max(after + offset_after, transition + offset_after - _SECOND)
    wall = compiled.next_wall(start)
    if wall >= transition + offset_before:
        return None
    return wall - offset_after


def next_run_after(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware), as an aware UTC datetime.

    Evaluated on the wall clock of ``timezone`` with the DST policy in the module docstring.
    Raises CronError / TimezoneError for invalid inputs.
    """
    compiled = _compile(expression)
    zone = validate_timezone(timezone)
    return _next_fire(compiled, zone, _to_naive_utc(after, "after")).replace(tzinfo=UTC)


def preview_runs(expression: str, timezone: str, *, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``after``, aware UTC (1 <= count <= 100)."""
    if not 1 <= count <= MAX_PREVIEW_RUNS:
        raise ValueError(f"count must be between 1 and {MAX_PREVIEW_RUNS}")
    compiled = _compile(expression)
    zone = validate_timezone(timezone)
    moment = _to_naive_utc(after, "after")
    runs = []
    for _ in range(count):
        moment = _next_fire(compiled, zone, moment)
        runs.append(moment.replace(tzinfo=UTC))
    return runs


# --------------------------------------------------------------------------------------------
# Missed runs


class DispatchPlan(NamedTuple):
    """What the dispatcher does with a claimed schedule.

    run_at: the scheduled time of the one execution to create now (None: create none).
    next_run_at: what to store as the schedule's next_run_at.
    """

    run_at: datetime | None
    next_run_at: datetime


def next_run_for_dispatch(
    expression: str,
    timezone: str,
    *,
    due_at: datetime,
    now: datetime,
    max_lateness: timedelta | None = None,
) -> DispatchPlan:
    """Missed-run policy: at most one run for the whole gap, then the next time after now.

    When the dispatcher was down, a schedule's next_run_at (``due_at``) may be far in the
    past and several fire times may have passed. We run once, at the LATEST missed time (the
    newest fire time in [due_at, now]; ``due_at`` itself counts even if the expression was
    edited since): it produces the report the client would have received last, with the
    freshest data; older missed periods are a backfill's job, not a burst of catch-up runs
    against the AMC quota. The run's scheduled time is that fire time, so a retried dispatch
    of the same gap (before a newer fire time passes) maps to the same (schedule, scheduled
    time) key, which the unique constraint keeps from running twice.
    With ``max_lateness`` set, a catch-up older than that is skipped (run_at None).
    ``next_run_at`` is always the first fire time strictly after ``now``. A schedule that is
    not due yet (due_at > now) gets (None, due_at).
    """
    compiled = _compile(expression)
    zone = validate_timezone(timezone)
    due = _to_naive_utc(due_at, "due_at")
    current = _to_naive_utc(now, "now")
    if due > current:
        return DispatchPlan(None, due.replace(tzinfo=UTC))
    latest = _latest_fire_in(compiled, zone, due, current) or due
    following = _next_fire(compiled, zone, current)
    if max_lateness is not None and current - latest > max_lateness:
        return DispatchPlan(None, following.replace(tzinfo=UTC))
    return DispatchPlan(latest.replace(tzinfo=UTC), following.replace(tzinfo=UTC))


def _latest_fire_in(
    compiled: _CompiledCron, zone: ZoneInfo, lower: datetime, upper: datetime
) -> datetime | None:
    """The last fire time in (lower, upper], or None; O(log gap) fire computations.

    Walking forward through a long outage would cost one step per missed fire (days of a
    15-minute schedule), so this bisects: ``_next_fire(x) > upper`` exactly when no fire lies
    in (x, upper].
    """
    latest = _next_fire(compiled, zone, lower)
    if latest > upper:
        return None
    hi = upper  # invariant: ``latest`` is a fire <= upper and no fire lies in (hi, upper]
    for _ in range(200):
        if _next_fire(compiled, zone, latest) > upper:
            return latest
        probe = _next_fire(compiled, zone, latest + (hi - latest) / 2)
        if probe > upper:
            hi = latest + (hi - latest) / 2
        else:
            latest = probe
    raise RuntimeError("bisection did not converge")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Friendly schedule config

_FREQUENCIES = ("daily", "weekly", "monthly", "quarterly")
_QUARTER_MONTHS = "1,4,7,10"
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DAY_NAMES_LONG = {
    "sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
    "saturday": 6,
}  # fmt: skip
_CONFIG_KEYS = ("frequency", "time", "days_of_week", "day_of_month", "timezone")


@dataclass(frozen=True)
class ScheduleConfig:
    """The friendly schedule form, validated. Build with ``ScheduleConfig.from_dict``.

    days_of_week uses cron numbering, 0 = Sunday .. 6 = Saturday (as JavaScript's getDay()),
    or names "sun".."sat" / "sunday".."saturday". day_of_month is 1-28 or "last": 29-31 are
    rejected because a monthly or quarterly report must not silently skip short months.
    """

    frequency: str
    hour: int
    minute: int
    timezone: str
    days_of_week: tuple[int, ...] = ()
    day_of_month: int | str | None = None  # 1..28 or "last"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleConfig:
        if not isinstance(data, Mapping):
            raise ScheduleConfigError("schedule", "Schedule config must be an object.")
        for key in data:
            if key not in _CONFIG_KEYS:
                raise ScheduleConfigError(
                    str(key), f"Unknown field; expected {', '.join(_CONFIG_KEYS)}."
                )
        frequency = data.get("frequency")
        if frequency not in _FREQUENCIES:
            raise ScheduleConfigError(
                "frequency", f"Must be one of {', '.join(_FREQUENCIES)}; got {frequency!r}."
            )
        hour, minute = _parse_time(data.get("time"))
        timezone = data.get("timezone")
        try:
            validate_timezone(timezone)
        except TimezoneError as exc:
            raise ScheduleConfigError("timezone", exc.message) from None
        days = data.get("days_of_week")
        day = data.get("day_of_month")
        if frequency == "weekly":
            days_of_week = _parse_days_of_week(days)
        elif days not in (None, [], ()):
            raise ScheduleConfigError("days_of_week", "Only used with frequency 'weekly'.")
        else:
            days_of_week = ()
        if frequency in ("monthly", "quarterly"):
            day_of_month = _parse_day_of_month(day)
        elif day is not None:
            raise ScheduleConfigError(
                "day_of_month", "Only used with frequency 'monthly' or 'quarterly'."
            )
        else:
            day_of_month = None
        return cls(frequency, hour, minute, timezone, days_of_week, day_of_month)

    @property
    def cron_expression(self) -> str:
        if self.frequency == "daily":
            day, month, dow = "*", "*", "*"
        elif self.frequency == "weekly":
            day, month, dow = "*", "*", ",".join(str(d) for d in self.days_of_week)
        else:
            day = _LAST if self.day_of_month == "last" else str(self.day_of_month)
            month = "*" if self.frequency == "monthly" else _QUARTER_MONTHS
            dow = "*"
        return validate_cron(f"{self.minute} {self.hour} {day} {month} {dow}")


def cron_from_config(config: Mapping[str, Any] | ScheduleConfig) -> str:
    """The cron expression for a friendly schedule config; raises ScheduleConfigError.

    daily 09:00 -> ``0 9 * * *``; weekly [1, 3, 5] -> ``0 9 * * 1,3,5``; monthly 15 ->
    ``0 9 15 * *``; monthly "last" -> ``0 9 L * *``; quarterly 1 -> ``0 9 1 1,4,7,10 *``.
    The time is wall-clock time in the config's timezone.
    """
    if not isinstance(config, ScheduleConfig):
        config = ScheduleConfig.from_dict(config)
    return config.cron_expression


def _parse_time(value: Any) -> tuple[int, int]:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ScheduleConfigError(
            "time", f"Must be HH:MM in 24-hour time, e.g. '09:00'; got {value!r}."
        )
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ScheduleConfigError("time", f"'{value}' is not a time of day (00:00 to 23:59).")
    return hour, minute


def _parse_days_of_week(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ScheduleConfigError(
            "days_of_week", "Weekly schedules need a non-empty list of days, e.g. [1, 3, 5]."
        )
    days = set()
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
        elif isinstance(item, str) and item.strip().isdigit() and int(item) <= 6:
            days.add(int(item))
        elif isinstance(item, str) and item.strip().lower() in _DOW_NAMES:
            days.add(_DOW_NAMES[item.strip().lower()])
        elif isinstance(item, str) and item.strip().lower() in _DAY_NAMES_LONG:
            days.add(_DAY_NAMES_LONG[item.strip().lower()])
        else:
            raise ScheduleConfigError(
                "days_of_week",
                f"{item!r} is not a day: use 0-6 (0 = Sunday, 1 = Monday) or 'sun'..'sat'.",
            )
    return tuple(sorted(days))


def _parse_day_of_month(value: Any) -> int | str:
    if isinstance(value, str) and value.strip().lower() == "last":
        return "last"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleConfigError("day_of_month", f"Must be a day 1-28 or 'last'; got {value!r}.")
    if 29 <= value <= 31:
        raise ScheduleConfigError(
            "day_of_month",
            f"Day {value} does not occur in every month; use 1-28, or 'last' for the last day"
            " of each month.",
        )
    if not 1 <= value <= 28:
        raise ScheduleConfigError("day_of_month", f"Must be a day 1-28 or 'last'; got {value}.")
    return value
