"""Every periodic task of the product, declared once.

Celery beat (DatabaseScheduler) loads these as its `beat_schedule` and writes them into
django-celery-beat's PeriodicTask rows at start; `migrate` writes them too (post_migrate), so
the admin's "Periodic tasks" lists them on a fresh database. Intervals come from settings;
an entry disabled in the admin stays disabled.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Periodic:
    name: str
    task: object  # a Celery task, referenced as code
    every_seconds: int
    description: str
    expire_seconds: int | None = None


def periodic_tasks() -> list[Periodic]:
    from backfills.tasks import sweep_backfills
    from dashboards.exports.tasks import sweep_exports
    from reports.tasks import sweep_executions
    from schedules.tasks import dispatch_due_schedules

    return [
        Periodic(
            "Schedule dispatcher",
            dispatch_due_schedules,
            5,
            "Runs the report schedules that are due (next_run_at <= now) and advances them. "
            "Safe to run on several workers at once.",
            # A tick nobody picked up within 10 s is dropped: the next one does the same work.
            expire_seconds=10,
        ),
        Periodic(
            "Execution sweeper",
            sweep_executions,
            int(settings.RECOMAMP_SWEEP_SECONDS),
            "One repair per stuck phase: frees slots of ended executions, resends lost "
            "starts and polls, reconciles dead submits, takes over dead downloads, tells AMC "
            "of cancels, and starts waiting executions where the instance has free slots.",
        ),
        Periodic(
            "Backfill sweeper",
            sweep_backfills,
            10,
            "Settles segments whose execution ended unnoticed, cancels in-flight runs of "
            "cancelled backfills, and re-sends segments whose task was lost.",
        ),
        Periodic(
            "Export sweeper",
            sweep_exports,
            3600,
            "Deletes the files of expired exports and fails exports whose build never finished.",
        ),
    ]


def beat_schedule() -> dict[str, dict]:
    """The declaration as Celery's beat_schedule (read by DatabaseScheduler at start)."""
    schedule = {}
    for entry in periodic_tasks():
        options = {"expires": entry.expire_seconds} if entry.expire_seconds else {}
        schedule[entry.name] = {
            "task": entry.task.name,
            "schedule": float(entry.every_seconds),
            "options": options,
        }
    return schedule


def sync_periodic_tasks(**kwargs) -> None:
    """Write the declaration into django-celery-beat's tables (a post_migrate receiver)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for entry in periodic_tasks():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        task, created = PeriodicTask.objects.get_or_create(
            name=entry.name,
            defaults={
                "task": entry.task.name,
                "interval": interval,
                "description": entry.description,
                "expire_seconds": entry.expire_seconds,
                "enabled": True,
            },
        )
        if not created:
            task.task = entry.task.name
            task.interval = interval
            task.description = entry.description
            task.expire_seconds = entry.expire_seconds
            task.save()
