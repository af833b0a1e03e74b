"""Celery tasks of schedules: thin and idempotent."""

from celery import shared_task

from schedules import services


@shared_task(name="schedules.dispatch_due", ignore_result=True)
def dispatch_due_schedules() -> dict[str, int]:
    """The Beat entry "Schedule dispatcher": run what is due now (safe to run concurrently)."""
    return services.dispatch_due_schedules().as_dict()


@shared_task(name="schedules.deliver_scheduled_run", ignore_result=True)
def deliver_scheduled_run(execution_pk: str, attempt: int = 0) -> str:
    """Send a completed scheduled run to its subscribers, once the dashboard shows it."""
    from schedules import delivery

    force = attempt >= delivery.REFRESH_WAIT_ATTEMPTS
    outcome = delivery.deliver_run(execution_pk=execution_pk, force=force)
    if outcome == "waiting":
        deliver_scheduled_run.apply_async(
            (execution_pk, attempt + 1), countdown=delivery.REFRESH_WAIT_SECONDS
        )
    return outcome
