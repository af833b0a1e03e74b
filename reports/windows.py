"""AMC time windows: what a run may ask for, given AMC's data lag and retention.

Windows are half-open [start, end) at midnight in the report's timezone, sent to AMC as
EXPLICIT windows with that zone. The newest complete day is today minus the data lag.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from recomamp.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def today_in(tz_name: str) -> date:
    return timezone.now().astimezone(ZoneInfo(tz_name)).date()


def newest_complete_day(today: date) -> date:
    return today - timedelta(days=settings.AMC_DATA_LAG_DAYS)


def oldest_retained_day(today: date) -> date:
    return today - timedelta(days=settings.AMC_RETENTION_DAYS)


def midnight(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz_name))


def window_for_days(first: date, last: date, tz_name: str) -> TimeWindow:
    """Inclusive dates as a half-open window."""
    return TimeWindow(midnight(first, tz_name), midnight(last + timedelta(days=1), tz_name))


def lookback_window(*, lookback_days: int, tz_name: str, today: date | None = None) -> TimeWindow:
    """The last `lookback_days` complete days."""
    today = today or today_in(tz_name)
    last = newest_complete_day(today)
    return window_for_days(last - timedelta(days=lookback_days - 1), last, tz_name)


def validate_window(
    *, start: datetime, end: datetime, tz_name: str, today: date | None = None
) -> TimeWindow:
    """An explicit window a user asked for, checked against AMC's rules (400 naming the field)."""
    today = today or today_in(tz_name)
    zone = ZoneInfo(tz_name)
    start = start if start.tzinfo else start.replace(tzinfo=zone)
    end = end if end.tzinfo else end.replace(tzinfo=zone)
    errors = []
    if end <= start:
        errors.append(FieldError("time_window_end", "invalid", "Must be after the window start."))
    limit = midnight(newest_complete_day(today) + timedelta(days=1), tz_name)
    if end > limit:
        errors.append(
            FieldError(
                "time_window_end",
                "data_lag",
                f"AMC data is complete only {settings.AMC_DATA_LAG_DAYS} days after the event: "
                f"the window must end by {limit.date().isoformat()}.",
            )
        )
    oldest = midnight(oldest_retained_day(today), tz_name)
    if start < oldest:
        errors.append(
            FieldError(
                "time_window_start",
                "retention",
                f"AMC keeps {settings.AMC_RETENTION_DAYS} days of data: the window may start "
                f"on {oldest.date().isoformat()} at the earliest.",
            )
        )
    if end > start and (end - start) > timedelta(days=settings.AMC_MAX_LOOKBACK_DAYS + 1):
        errors.append(
            FieldError(
                "time_window_start",
                "too_long",
                f"A window may cover at most {settings.AMC_MAX_LOOKBACK_DAYS} days.",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return TimeWindow(start, end)
