from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "schedules"

    def ready(self) -> None:
        from reports.models import ReportExecution
        from reports.signals import execution_finished

        execution_finished.connect(
            _on_execution_finished, sender=ReportExecution, dispatch_uid="schedules.last_run"
        )
        execution_finished.connect(
            _deliver_after_run, sender=ReportExecution, dispatch_uid="schedules.delivery"
        )


def _on_execution_finished(sender, execution, **kwargs) -> None:
    """A scheduled run ended: its schedule's last run, run and failure counts."""
    if execution.schedule_id is None:
        return
    from schedules.services import record_run_finished

    record_run_finished(execution=execution)


def _deliver_after_run(sender, execution, **kwargs) -> None:
    """A scheduled run completed: queue its delivery (a failed run sends nothing)."""
    from django.db import transaction

    from schedules import delivery, tasks

    if delivery.wants_delivery(execution):
        pk = str(execution.pk)
        # robust: a broker hiccup here is logged, never raised into the engine's step.
        transaction.on_commit(lambda: tasks.deliver_scheduled_run.delay(pk), robust=True)
