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


def _on_execution_finished(sender, execution, **kwargs) -> None:
    """A scheduled run ended: its schedule's last run, run and failure counts."""
    if execution.schedule_id is None:
        return
    from schedules.services import record_run_finished

    record_run_finished(execution=execution)
