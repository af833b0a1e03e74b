"""Celery tasks of the execution engine: thin, idempotent, by primary key."""

from celery import shared_task

from reports import engine


@shared_task(name="reports.start_execution", ignore_result=True)
def start_execution(execution_pk: str) -> None:
    engine.start(execution_pk)


@shared_task(name="reports.poll_execution", ignore_result=True)
def poll_execution(execution_pk: str) -> None:
    engine.poll(execution_pk)


@shared_task(name="reports.cancel_at_amc", ignore_result=True)
def cancel_at_amc(execution_pk: str) -> None:
    engine.cancel_at_amc(execution_pk)


@shared_task(name="reports.sweep_executions", ignore_result=True)
def sweep_executions() -> dict[str, int]:
    return engine.sweep()
