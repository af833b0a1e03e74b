"""Celery tasks of schedules: thin and idempotent."""

from celery import shared_task

from schedules import services


@shared_task(name="schedules.dispatch_due", ignore_result=True)
def dispatch_due_schedules() -> dict[str, int]:
    """The Beat entry "Schedule dispatcher": run what is due now (safe to run concurrently)."""
    return services.dispatch_due_schedules().as_dict()
