from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboards"

    def ready(self) -> None:
        from reports.models import ReportExecution
        from reports.signals import execution_finished

        execution_finished.connect(
            _on_execution_finished, sender=ReportExecution, dispatch_uid="dashboards.refresh"
        )


def _on_execution_finished(sender, execution, **kwargs) -> None:
    """New results: the report's dashboard is refreshed (coalesced, after commit)."""
    from dashboards.services.refresh import on_execution_finished

    on_execution_finished(execution)
