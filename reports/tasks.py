"""Celery tasks of the execution engine: thin, idempotent, by primary key.

Inside these tasks a slot that frees up starts the next waiting execution in the same worker
(`queue.in_worker`). Time limits come from settings (CELERY_TASK_SOFT_TIME_LIMIT and
CELERY_TASK_TIME_LIMIT); a step that hits the soft limit counts as a failed attempt.
"""

from celery import shared_task

from reports.engine import queue, steps, sweeper


@shared_task(name="reports.start_execution", ignore_result=True)
def start_execution(execution_pk: str) -> None:
    with queue.in_worker():
        steps.start(execution_pk)


@shared_task(name="reports.poll_execution", ignore_result=True)
def poll_execution(execution_pk: str) -> None:
    with queue.in_worker():
        steps.poll(execution_pk)


@shared_task(name="reports.cancel_at_amc", ignore_result=True)
def cancel_at_amc(execution_pk: str) -> None:
    with queue.in_worker():
        steps.cancel_at_amc(execution_pk)


@shared_task(name="reports.sweep_executions", ignore_result=True)
def sweep_executions() -> dict[str, int]:
    return sweeper.sweep()
