"""Signal receivers: log context and heartbeats around Celery tasks, alerts after runs."""

from celery.signals import task_postrun, task_prerun
from django.db import transaction
from django.dispatch import receiver

from operations import heartbeats
from recomamp.logs import bind_log_context, clear_log_context
from reports.signals import execution_finished


@task_prerun.connect
def _bind_task(task_id=None, **_kwargs) -> None:
    clear_log_context()
    bind_log_context(task_id=task_id)


@task_postrun.connect
def _task_done(sender=None, state=None, retval=None, **_kwargs) -> None:
    try:
        if state == "SUCCESS":
            heartbeats.beat_if_watched(sender, result=retval)
    finally:
        clear_log_context()


@receiver(execution_finished, dispatch_uid="operations.alerts")
def _alert_after_run(sender, execution, **_kwargs) -> None:
    # After commit, and through a task: a slow webhook never holds a worker's transaction,
    # and an alerting error can never undo the run that triggered it.
    from operations import alerts, tasks

    if not alerts.may_change_an_incident(execution):
        return
    execution_pk = str(execution.pk)
    # robust: a broker outage while queueing is logged, never raised into the engine's step.
    transaction.on_commit(lambda: tasks.evaluate_alerts.delay(execution_pk), robust=True)
