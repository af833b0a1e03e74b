"""Backfill date math: lookback windows, calendar segments and duration estimates.

Pure Python (no Django, no database) so the builder preview, the API and the orchestrator all
share one definition of "which days does this backfill cover".

Conventions every caller must know:

- Dates are inclusive. ``DateWindow(start, end)`` and ``Segment(index, start, end)`` both cover
  ``start`` through ``end``, both days included. ``DateWindow(d, d)`` is one day.
- AMC time windows are half-open timestamps. A window maps to
  ``timeWindowStart = start 00:00:00`` and ``timeWindowEnd = (end + 1 day) 00:00:00``
  (exclusive), see ``window_start_datetime`` / ``window_end_datetime`` / ``amc_time_window()``.
  The datetimes are naive: the zone travels separately as ``timeWindowTimeZone`` (the report's
  timezone), and AMC returns empty results when a timestamp carries a ``Z`` suffix.
- "today" is the caller's date in the report's timezone; this module never reads the clock.
- Limits (AMC.md, "Data rules"): a window ends no later than ``today - data_lag_days`` (14; data
  is complete only then), starts no earlier than ``today - retention_days`` (425), and spans at
  most ``max_days`` (365) days.
- Segments are aligned to calendar units: days; ISO weeks starting Monday; months starting on
  the 1st; quarters starting Jan/Apr/Jul/Oct 1st. The first and last segment are clipped to the
  window (``partial=True``), so segments tile the window exactly, in order, indexed from 0.
"""

from __future__ import annotations

import calendar
import heapq
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from recomamp.errors import DomainError  # plain Python, no Django

__all__ = [
    "AMC_TIMESTAMP_FORMAT",
    "DATA_LAG_DAYS",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_SEGMENT_TYPE",
    "MAX_ATTEMPTS_LIMIT",
    "MAX_LOOKBACK_DAYS",
    "RETENTION_DAYS",
    "BackfillConfigError",
    "DateWindow",
    "LookbackError",
    "LookbackUnit",
    "Segment",
    "SegmentType",
    "SegmentationConfig",
    "SegmentationConfigError",
    "calendar_unit",
    "estimate_duration",
    "estimate_time_left",
    "resolve_lookback",
    "segments_for_window",
    "typical_segment_seconds",
    "validate_segmentation_config",
]

DATA_LAG_DAYS = 14
RETENTION_DAYS = 425
MAX_LOOKBACK_DAYS = 365
DEFAULT_SEGMENT_TYPE = "weekly"  # the original schema's default for segment_type
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS_LIMIT = 10
# AMC wants zone-less timestamps; a trailing "Z" makes it return empty results.
AMC_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ONE_DAY = timedelta(days=1)


# --- errors -------------------------------------------------------------------------------


class BackfillConfigError(DomainError):
    """A config value the API client sent is invalid (HTTP 400); ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field
        self.message = message


class LookbackError(BackfillConfigError):
    """Invalid ``lookback_config``; ``field`` is e.g. ``lookback_config.start_date``."""


class SegmentationConfigError(BackfillConfigError):
    """Invalid ``segmentation_config``; ``field`` is e.g. ``segmentation_config.parallel_limit``."""


# --- windows and segments -----------------------------------------------------------------


class SegmentType(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"  # ISO weeks, Monday to Sunday
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"  # Jan-Mar, Apr-Jun, Jul-Sep, Oct-Dec


class LookbackUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class _InclusiveDates:
    """Shared by DateWindow and Segment: an inclusive date range and its AMC timestamps."""

    __slots__ = ()
    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days covered, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def window_start_datetime(self) -> datetime:
        """Inclusive start of the AMC window: ``start`` at 00:00 (naive)."""
        return datetime.combine(self.start, time.min)

    @property
    def window_end_datetime(self) -> datetime:
        """Exclusive end of the AMC window: the day after ``end`` at 00:00 (naive)."""
        return datetime.combine(self.end + _ONE_DAY, time.min)

    def amc_time_window(self) -> tuple[str, str]:
        """``(timeWindowStart, timeWindowEnd)`` strings for an EXPLICIT AMC execution."""
        return (
            self.window_start_datetime.strftime(AMC_TIMESTAMP_FORMAT),
            self.window_end_datetime.strftime(AMC_TIMESTAMP_FORMAT),
        )


def _require_date(value: object, name: str) -> None:
    # datetime is a subclass of date; letting one in would silently carry a time of day.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime.date, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class DateWindow(_InclusiveDates):
    """Inclusive range of dates: ``start`` through ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _require_date(self.start, "start")
        _require_date(self.end, "end")
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")


@dataclass(frozen=True, slots=True)
class Segment(_InclusiveDates):
    """One backfill segment: inclusive dates, 0-based ``index`` in window order.

    ``partial`` is True when the segment is clipped by the window and so covers only part of
    its calendar unit (possible only for the first and the last segment).
    """

    index: int
    start: date
    end: date
    partial: bool = False

    @property
    def window(self) -> DateWindow:
        return DateWindow(self.start, self.end)


def _days_to_unit_end(day: date, segment_type: SegmentType) -> int:
    """Days from ``day`` to the last day of its calendar unit (0 when ``day`` is the last)."""
    if segment_type is SegmentType.DAILY:
        return 0
    if segment_type is SegmentType.WEEKLY:
        return 6 - day.weekday()
    if segment_type is SegmentType.MONTHLY:
        return calendar.monthrange(day.year, day.month)[1] - day.day
    last_month = (day.month - 1) // 3 * 3 + 3
    last_day = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    return (last_day - day).days


def _unit_start(day: date, segment_type: SegmentType) -> date:
    if segment_type is SegmentType.DAILY:
        return day
    if segment_type is SegmentType.WEEKLY:
        return day - timedelta(days=day.weekday())
    if segment_type is SegmentType.MONTHLY:
        return day.replace(day=1)
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def calendar_unit(day: date, segment_type: SegmentType | str) -> DateWindow:
    """The whole calendar unit (day, Monday-Sunday week, month, quarter) containing ``day``."""
    _require_date(day, "day")
    segment_type = SegmentType(segment_type)
    return DateWindow(
        _unit_start(day, segment_type),
        day + timedelta(days=_days_to_unit_end(day, segment_type)),
    )


def segments_for_window(window: DateWindow, segment_type: SegmentType | str) -> list[Segment]:
    """Cut ``window`` into calendar-aligned segments, oldest first, indexed from 0.

    The segments are contiguous, never overlap and cover the window exactly. Inner segments
    are whole calendar units; the first and last are clipped to the window (``partial``).
    """
    segment_type = SegmentType(segment_type)
    segments: list[Segment] = []
    cursor = window.start
    while True:
        unit_left = _days_to_unit_end(cursor, segment_type)
        window_left = (window.end - cursor).days
        end = cursor + timedelta(days=min(unit_left, window_left))
        partial = window_left < unit_left or cursor != _unit_start(cursor, segment_type)
        segments.append(Segment(len(segments), cursor, end, partial))
        if end == window.end:
            return segments
        cursor = end + _ONE_DAY


# --- lookback -----------------------------------------------------------------------------

_RELATIVE_KEYS = ("type", "value", "unit")
_CUSTOM_KEYS = ("type", "start_date", "end_date")
_CAMEL_CASE_HINTS = {"startDate": "start_date", "endDate": "end_date"}


def _shift_months(day: date, months: int) -> date:
    """Same day-of-month ``months`` later (negative: earlier), clamped to the month's end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not date.min.year <= year <= date.max.year:
        raise OverflowError("date out of range")
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def _check_keys(config: Mapping, allowed: tuple[str, ...], kind: str) -> None:
    for key in config:
        if key in allowed:
            continue
        name = key if isinstance(key, str) else repr(key)
        hint = _CAMEL_CASE_HINTS.get(name)
        detail = f" Did you mean '{hint}'?" if hint else ""
        raise LookbackError(
            f"lookback_config.{name}",
            f"Unknown field for a {kind} lookback; allowed fields: {', '.join(allowed)}.{detail}",
        )


def _required(config: Mapping, key: str) -> object:
    if key not in config or config[key] is None:
        raise LookbackError(f"lookback_config.{key}", "This field is required.")
    return config[key]


def _parse_date(config: Mapping, key: str) -> date:
    raw = _required(config, key)
    field_name = f"lookback_config.{key}"
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw):
        raise LookbackError(field_name, f"Must be a date formatted YYYY-MM-DD, got {raw!r}.")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise LookbackError(field_name, f"{raw!r} is not a valid calendar date.") from None


def _relative_start(latest: date, value: int, unit: LookbackUnit) -> date:
    if unit is LookbackUnit.DAYS:
        return latest - timedelta(days=value - 1)
    if unit is LookbackUnit.WEEKS:
        return latest - timedelta(days=7 * value - 1)
    # N months ending on `latest`: from the same day-of-month N months before the day after
    # `latest`, so a lookback ending on a month's last day covers N whole months.
    return _shift_months(latest + _ONE_DAY, -value)


def resolve_lookback(
    config: Mapping,
    *,
    today: date,
    data_lag_days: int = DATA_LAG_DAYS,
    retention_days: int = RETENTION_DAYS,
    max_days: int = MAX_LOOKBACK_DAYS,
) -> DateWindow:
    """Turn an API ``lookback_config`` into an inclusive window, or raise ``LookbackError``.

    ``{"type": "relative", "value": N, "unit": "days"|"weeks"|"months"}`` ends on the newest
    complete day (``today - data_lag_days``) and reaches back N units (N months: same
    day-of-month, clamped to month end). ``{"type": "custom", "start_date": "YYYY-MM-DD",
    "end_date": "YYYY-MM-DD"}`` is taken as is. Either must end no later than
    ``today - data_lag_days``, start no earlier than ``today - retention_days`` and span at
    most ``max_days`` days. ``today`` is the date in the report's timezone.
    """
    _require_date(today, "today")
    if data_lag_days < 0 or max_days < 1 or retention_days < data_lag_days:
        raise ValueError("need data_lag_days >= 0, max_days >= 1, retention_days >= data_lag_days")
    try:
        latest = today - timedelta(days=data_lag_days)
        earliest = today - timedelta(days=retention_days)
    except OverflowError:
        raise ValueError(f"today={today} is outside the supported date range") from None

    if not isinstance(config, Mapping):
        raise LookbackError("lookback_config", "Must be an object with a 'type'.")
    kind = _required(config, "type")
    if kind == "relative":
        return _resolve_relative(config, latest, earliest, data_lag_days, max_days)
    if kind == "custom":
        return _resolve_custom(config, latest, earliest, data_lag_days, max_days)
    raise LookbackError("lookback_config.type", f"Must be 'relative' or 'custom', got {kind!r}.")


def _resolve_relative(
    config: Mapping, latest: date, earliest: date, data_lag_days: int, max_days: int
) -> DateWindow:
    _check_keys(config, _RELATIVE_KEYS, "relative")
    raw_unit = _required(config, "unit")
    try:
        unit = LookbackUnit(raw_unit)
    except ValueError:
        raise LookbackError(
            "lookback_config.unit", f"Must be one of days, weeks, months, got {raw_unit!r}."
        ) from None
    value = _required(config, "value")
    if isinstance(value, bool) or not isinstance(value, int):
        raise LookbackError(
            "lookback_config.value", f"Must be a whole number of {unit}, got {value!r}."
        )
    if value < 1:
        raise LookbackError("lookback_config.value", f"Must be at least 1 {unit}, got {value}.")

    too_long = f"The maximum lookback is {max_days} days; {value} {unit}"
    # Cheap bounds first (N weeks = 7N days, N months >= 28N days) so huge values never overflow.
    if unit is LookbackUnit.DAYS and value > max_days:
        raise LookbackError("lookback_config.value", f"{too_long} is too long.")
    if unit is LookbackUnit.WEEKS and 7 * value > max_days:
        raise LookbackError(
            "lookback_config.value",
            f"{too_long} is {7 * value} days; at most {max_days // 7} weeks.",
        )
    if unit is LookbackUnit.MONTHS and 28 * value > max_days:
        raise LookbackError("lookback_config.value", f"{too_long} is too long.")
    try:
        start = _relative_start(latest, value, unit)
    except OverflowError:
        raise LookbackError("lookback_config.value", f"{too_long} is too long.") from None
    window = DateWindow(start, latest)
    if window.days > max_days:
        # Only months get here: e.g. 12 months spanning a 29 February are 366 days.
        raise LookbackError(
            "lookback_config.value",
            f"{too_long} ending {latest} span {window.days} days; use {max_days} days instead.",
        )
    if start < earliest:
        raise LookbackError(
            "lookback_config.value",
            f"{value} {unit} reaches back to {start}; AMC keeps data only from {earliest}.",
        )
    return window


def _resolve_custom(
    config: Mapping, latest: date, earliest: date, data_lag_days: int, max_days: int
) -> DateWindow:
    _check_keys(config, _CUSTOM_KEYS, "custom")
    start = _parse_date(config, "start_date")
    end = _parse_date(config, "end_date")
    if end < start:
        raise LookbackError(
            "lookback_config.end_date",
            f"Must be on or after start_date ({start}), got {end}.",
        )
    if end > latest:
        raise LookbackError(
            "lookback_config.end_date",
            f"Must be on or before {latest}: AMC data is complete only {data_lag_days} days "
            f"after the event, got {end}.",
        )
    if start < earliest:
        raise LookbackError(
            "lookback_config.start_date",
            f"AMC keeps data only from {earliest}; the earliest allowed start_date is "
            f"{earliest}, got {start}.",
        )
    window = DateWindow(start, end)
    if window.days > max_days:
        raise LookbackError(
            "lookback_config.start_date",
            f"The maximum lookback is {max_days} days; this range spans {window.days} days. "
            f"The earliest start_date for end_date {end} is "
            f"{end - timedelta(days=max_days - 1)}.",
        )
    return window


# --- segmentation config ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentationConfig:
    """Validated ``segmentation_config``. ``max_attempts`` counts the first attempt."""

    type: SegmentType
    parallel_limit: int
    retry_failed: bool
    max_attempts: int

    def as_json(self) -> dict[str, object]:
        return {
            "type": str(self.type),
            "parallel_limit": self.parallel_limit,
            "retry_failed": self.retry_failed,
            "max_attempts": self.max_attempts,
        }


_SEGMENTATION_KEYS = ("type", "parallel_limit", "retry_failed", "max_attempts")


def _int_in_range(
    config: Mapping, key: str, *, default: int, low: int, high: int, why: str = ""
) -> int:
    value = config.get(key)
    if value is None:
        return default
    field_name = f"segmentation_config.{key}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise SegmentationConfigError(field_name, f"Must be a whole number, got {value!r}.")
    if not low <= value <= high:
        raise SegmentationConfigError(
            field_name, f"Must be between {low} and {high}{why}, got {value}."
        )
    return value


def validate_segmentation_config(config: Mapping, *, instance_cap: int) -> SegmentationConfig:
    """Validate an API ``segmentation_config``; missing keys take their defaults.

    Defaults: type ``weekly``, parallel_limit = ``instance_cap`` (it may never exceed the
    instance's cap), retry_failed true, max_attempts 3 (1 when retry_failed is false).
    """
    if instance_cap < 1:
        raise ValueError(f"instance_cap must be >= 1, got {instance_cap}")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise SegmentationConfigError("segmentation_config", "Must be an object.")
    for key in config:
        if key not in _SEGMENTATION_KEYS:
            name = key if isinstance(key, str) else repr(key)
            raise SegmentationConfigError(
                f"segmentation_config.{name}",
                f"Unknown field; allowed fields: {', '.join(_SEGMENTATION_KEYS)}.",
            )

    raw_type = config.get("type")
    try:
        segment_type = SegmentType(DEFAULT_SEGMENT_TYPE if raw_type is None else raw_type)
    except ValueError:
        raise SegmentationConfigError(
            "segmentation_config.type",
            f"Must be one of daily, weekly, monthly, quarterly, got {raw_type!r}.",
        ) from None

    parallel_limit = _int_in_range(
        config,
        "parallel_limit",
        default=instance_cap,
        low=1,
        high=instance_cap,
        why=f" (this instance's concurrency cap is {instance_cap})",
    )

    retry_failed = config.get("retry_failed")
    if retry_failed is None:
        retry_failed = True
    elif not isinstance(retry_failed, bool):
        raise SegmentationConfigError(
            "segmentation_config.retry_failed", f"Must be true or false, got {retry_failed!r}."
        )

    max_attempts = _int_in_range(
        config,
        "max_attempts",
        default=DEFAULT_MAX_ATTEMPTS if retry_failed else 1,
        low=1,
        high=MAX_ATTEMPTS_LIMIT,
    )
    if not retry_failed and max_attempts > 1:
        raise SegmentationConfigError(
            "segmentation_config.max_attempts",
            f"Must be 1 when retry_failed is false, got {max_attempts}.",
        )
    return SegmentationConfig(segment_type, parallel_limit, retry_failed, max_attempts)


# --- estimates ----------------------------------------------------------------------------


def typical_segment_seconds(recent_durations: Sequence[float], default: float) -> float:
    """Median of recent segment execution durations, or ``default`` when there are none.

    Negative, NaN and infinite durations (clock skew, unfinished rows) are ignored. The median
    keeps one stuck or unusually quick execution from skewing the estimate.
    """
    if not math.isfinite(default) or default < 0:
        raise ValueError(f"default must be a finite number >= 0, got {default}")
    usable = [float(d) for d in recent_durations if math.isfinite(d) and d >= 0]
    return float(statistics.median(usable)) if usable else float(default)


def _check_estimate_inputs(concurrency: int, seconds: float) -> None:
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"typical_segment_seconds must be finite and >= 0, got {seconds}")


def estimate_duration(
    *, segment_count: int, concurrency: int, typical_segment_seconds: float
) -> float:
    """Seconds to run ``segment_count`` segments, ``concurrency`` at a time, from scratch.

    Waves model: ``ceil(segment_count / concurrency) * typical_segment_seconds``. It ignores
    retries and other runs competing for the instance's cap, so it is a lower bound.
    """
    _check_estimate_inputs(concurrency, typical_segment_seconds)
    if segment_count < 0:
        raise ValueError(f"segment_count must be >= 0, got {segment_count}")
    return math.ceil(segment_count / concurrency) * float(typical_segment_seconds)


def estimate_time_left(
    *,
    remaining: int,
    running_elapsed_seconds: Sequence[float],
    concurrency: int,
    typical_segment_seconds: float,
) -> float:
    """Seconds until a backfill in progress finishes, for its progress display.

    ``remaining`` counts segments not started yet (including failed ones awaiting a retry);
    ``running_elapsed_seconds`` holds how long each running segment has run. A running segment
    is expected to take ``typical_segment_seconds`` in all (0 left once it has run longer);
    then the ``remaining`` ones start as slots free up, at most ``concurrency`` in flight. With
    nothing running this equals ``estimate_duration``.
    """
    _check_estimate_inputs(concurrency, typical_segment_seconds)
    if remaining < 0:
        raise ValueError(f"remaining must be >= 0, got {remaining}")
    typical = float(typical_segment_seconds)
    # Time left per running segment; NaN elapsed (no start time) counts as just started.
    running_left = sorted(
        max(typical - (0.0 if math.isnan(e) else max(float(e), 0.0)), 0.0)
        for e in running_elapsed_seconds
    )
    if remaining == 0:
        return running_left[-1] if running_left else 0.0
    # When slots free up: with more running than `concurrency` (limit lowered mid-run) a new
    # segment waits until in-flight drops below the limit, i.e. for the largest finish times.
    free_at = ([0.0] * max(concurrency - len(running_left), 0) + running_left)[-concurrency:]
    # Each slot is (finish time, free_at, segments queued on it); finish = free_at + n * typical,
    # multiplied rather than summed so that, with nothing running, it is exactly the waves model.
    slots = [(t, t, 0) for t in free_at]
    heapq.heapify(slots)
    for _ in range(remaining):  # a backfill has at most a few hundred segments
        _, start, queued = slots[0]
        heapq.heapreplace(slots, (start + (queued + 1) * typical, start, queued + 1))
    return max(finish for finish, _, _ in slots)  # the longest-running segment is in `slots`
