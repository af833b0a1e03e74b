"""Logging: the same context fields on every line, JSON when asked, and never a secret.

`RECOMAMP_LOG_FORMAT=json` switches every process (web, worker, beat) to one JSON object a
line; the embedded default keeps readable text. Code that works on an execution binds its ids
once (`bind_log_context(execution_id=...)`) and every line logged below carries them, urllib3's
and Celery's included.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator

from pythonjsonlogger import json as jsonlogger

#: The fields every line carries (None where unknown), in this order.
CONTEXT_FIELDS = (
    "execution_id",
    "report_id",
    "instance",
    "schedule_id",
    "backfill_id",
    "task_id",
)

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "recomamp_log_context", default=None
)


def bind_log_context(**fields) -> None:
    """Adds fields to the current context (a task, a request) until `clear_log_context`."""
    current = dict(_context.get() or {})
    current.update({key: str(value) for key, value in fields.items() if value is not None})
    _context.set(current)


def clear_log_context() -> None:
    _context.set(None)


@contextlib.contextmanager
def log_context(**fields) -> Iterator[None]:
    token = _context.set({**(_context.get() or {}), **{k: str(v) for k, v in fields.items()}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts the bound context on the record, every field present so lines share one shape."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for field in CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field))
        return True


# What a secret looks like in a log line: bearer and LWA tokens, pre-signed URL signatures and
# credentials, OAuth form fields. Replaced whatever logger wrote them (urllib3 at DEBUG logs
# full URLs; an exception can carry a request body).
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/|=-]+"), r"\1[redacted]"),
    (re.compile(r"Atz[ar]\|[A-Za-z0-9._~+/|=-]+"), "[redacted-token]"),
    (
        re.compile(
            r"(?i)((?:x-amz-(?:signature|credential|security-token)|signature|sig|token|"
            r"access_token|refresh_token|client_secret|password)=)[^&\s\"']+"
        ),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs secrets from the message, its arguments and any exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logged as it is
            return True
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class TextFormatter(logging.Formatter):
    """Readable lines for people, with the known context ids appended in brackets."""

    def formatException(self, ei) -> str:  # noqa: N802 - logging's interface
        return redact(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        known = [
            f"{field}={getattr(record, field)}"
            for field in CONTEXT_FIELDS
            if getattr(record, field, None) is not None
        ]
        return f"{line} [{' '.join(known)}]" if known else line


class JsonFormatter(jsonlogger.JsonFormatter):
    """One JSON object a line; exception traces scrubbed like messages."""

    def formatException(self, ei) -> str:  # noqa: N802 - logging's interface
        return redact(super().formatException(ei))


def logging_config(*, json_format: bool, level: str) -> dict:
    """The LOGGING dict for settings: one console handler with context and redaction."""
    fields = " ".join(f"%({field})s" for field in CONTEXT_FIELDS)
    formatters = {
        "plain": {
            "()": "recomamp.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {
            "()": "recomamp.logs.JsonFormatter",
            "format": f"%(asctime)s %(levelname)s %(name)s %(message)s {fields}",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "recomamp.logs.ContextFilter"},
            "redact": {"()": "recomamp.logs.RedactingFilter"},
        },
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_format else "plain",
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # The PDF renderer logs every layout step at INFO.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
        },
    }
