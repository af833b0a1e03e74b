"""Typed results of the AMC client and the AMC time formats."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ExecutionStatus(StrEnum):
    """AMC workflow execution statuses (AMC.md). Members compare equal to the plain strings."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # Unconfirmed in AMC's public material; treated as a terminal failure if it ever appears.
    REJECTED = "REJECTED"


TERMINAL_STATUSES = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.REJECTED,
    }
)


def zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {time_zone!r}") from exc


def format_amc_timestamp(value: datetime, time_zone: str = "UTC") -> str:
    """A window bound as AMC wants it: local time in `time_zone`, no `Z`, no offset.

    Aware datetimes are converted to `time_zone`; naive ones are taken as already in it.
    Sub-second precision is dropped (AMC windows are whole seconds). With a trailing `Z`
    AMC silently returns empty results, hence no suffix at all.
    """
    tz = zone(time_zone)
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")


def format_utc_timestamp(value: datetime) -> str:
    """A point in time for query filters: UTC, ISO 8601 with `Z` (naive is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (
        value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")
        + "Z"
    )


def parse_amc_time(value: Any) -> datetime | None:
    """An AMC timestamp (ISO 8601 with or without zone, or epoch seconds/millis) as aware UTC.

    Unreadable values give None rather than failing a whole status poll.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def window_instant(text: str, time_zone: str) -> datetime | None:
    """A window bound as an aware UTC instant: a suffixed value (Z or offset) is absolute, a
    bare one is local time in `time_zone`. None when unreadable."""
    raw = text.strip()
    if raw.endswith("Z") or raw.endswith("z"):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=zone(time_zone))
        except ValueError:
            return None
    return parsed.astimezone(UTC)


def _text(value: Any) -> str | None:
    """AMC's free-text fields are sometimes strings, sometimes objects or lists."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _text_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, list | tuple):
        return tuple(t for t in (_text(v) for v in value) if t)
    text = _text(value)
    return (text,) if text else ()


@dataclass(frozen=True)
class AmcExecution:
    """One AMC workflow execution as last seen; `raw` keeps AMC's JSON as it came."""

    instance_id: str
    execution_id: str
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    creation_time: datetime | None = None
    output_location: str | None = None
    failure_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_details: str | None = None
    validation_errors: tuple[str, ...] = ()
    time_window_start: str | None = None
    time_window_end: str | None = None
    time_window_time_zone: str | None = None
    sql_query: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == ExecutionStatus.SUCCEEDED

    @property
    def window_utc(self) -> tuple[datetime, datetime] | None:
        """The execution's time window as UTC instants, from whichever form AMC echoed.

        Some answers echo the window as sent (local, no suffix, with its zone), others in UTC
        with a `Z` plus the original in `timeWindowStartOriginal`; both are read here.
        """
        raw = self.raw
        zone_name = str(
            raw.get("timeWindowTimeZoneOriginal") or raw.get("timeWindowTimeZone") or "UTC"
        )
        for start_key, end_key in (
            ("timeWindowStartOriginal", "timeWindowEndOriginal"),
            ("timeWindowStart", "timeWindowEnd"),
        ):
            start, end = raw.get(start_key), raw.get(end_key)
            if isinstance(start, str) and isinstance(end, str):
                bounds = window_instant(start, zone_name), window_instant(end, zone_name)
                if bounds[0] is not None and bounds[1] is not None:
                    return bounds[0], bounds[1]
        return None

    @property
    def failure_text(self) -> str | None:
        """Everything AMC said about a failure, joined for a person to read (None if nothing)."""
        parts: list[str] = []
        for piece in (
            self.failure_reason,
            self.error_code,
            self.error_message,
            self.error_details,
            *self.validation_errors,
        ):
            if piece and piece not in parts:
                parts.append(piece)
        return "; ".join(parts) or None

    @classmethod
    def from_json(cls, instance_id: str, data: Mapping[str, Any]) -> AmcExecution:
        workflow = data.get("workflow")
        sql = workflow.get("sqlQuery") if isinstance(workflow, Mapping) else None
        if sql is None:
            sql = data.get("sqlQuery")
        return cls(
            instance_id=instance_id,
            execution_id=str(data.get("workflowExecutionId") or data.get("executionId") or ""),
            status=str(data.get("status") or "").upper(),
            start_time=parse_amc_time(data.get("startTime")),
            end_time=parse_amc_time(data.get("endTime")),
            creation_time=parse_amc_time(
                data.get("createTime") or data.get("creationTime") or data.get("createdTime")
            ),
            output_location=_text(data.get("outputLocation")),
            failure_reason=_text(data.get("failureReason")),
            error_code=_text(data.get("errorCode")),
            error_message=_text(data.get("errorMessage")),
            error_details=_text(data.get("errorDetails")),
            validation_errors=_text_list(data.get("validationErrors")),
            time_window_start=_text(data.get("timeWindowStart")),
            time_window_end=_text(data.get("timeWindowEnd")),
            time_window_time_zone=_text(
                data.get("timeWindowTimeZone") or data.get("timeWindowTimeZoneOriginal")
            ),
            sql_query=sql if isinstance(sql, str) else None,
            raw=dict(data),
        )
