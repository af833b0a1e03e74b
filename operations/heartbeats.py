"""Heartbeats of the periodic tasks, so readiness and the status page can tell their age."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from operations.models import Heartbeat

log = logging.getLogger(__name__)

DISPATCHER = "dispatcher"
EXECUTION_SWEEPER = "execution-sweeper"
BACKFILL_SWEEPER = "backfill-sweeper"


def watched_tasks() -> dict[str, str]:
    """Celery task name -> heartbeat name. Task objects are imported, not spelled as strings."""
    from backfills.tasks import sweep_backfills
    from reports.tasks import sweep_executions
    from schedules.tasks import dispatch_due_schedules

    return {
        dispatch_due_schedules.name: DISPATCHER,
        sweep_executions.name: EXECUTION_SWEEPER,
        sweep_backfills.name: BACKFILL_SWEEPER,
    }


def beat_if_watched(task, *, result=None) -> None:
    name = watched_tasks().get(getattr(task, "name", None))
    if name is None:
        return
    try:
        record(name, result=result if isinstance(result, dict) else {})
    except Exception:  # a heartbeat must never fail the task it follows
        log.exception("could not record the %s heartbeat", name)


def record(name: str, *, result: dict | None = None, at: datetime | None = None) -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"last_finished_at": at or timezone.now(), "last_result": result or {}}
    )


def ages(*, now: datetime | None = None) -> dict[str, float | None]:
    """Seconds since each watched task last finished; None if it never ran."""
    now = now or timezone.now()
    seen = dict(Heartbeat.objects.values_list("name", "last_finished_at"))
    names = (DISPATCHER, EXECUTION_SWEEPER, BACKFILL_SWEEPER)
    return {name: (now - seen[name]).total_seconds() if name in seen else None for name in names}
