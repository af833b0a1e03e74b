"""Celery tasks of operations: thin, by primary key."""

from celery import shared_task

from operations import alerts, notify


@shared_task(ignore_result=True)
def evaluate_alerts(execution_pk: str) -> None:
    from reports.models import ReportExecution

    execution = (
        ReportExecution.objects.select_related("report__owner", "instance")
        .filter(pk=execution_pk)
        .first()
    )
    if execution is None or not execution.is_terminal:
        return
    for change in alerts.evaluate_after_run(execution=execution):
        notify.deliver(change)
