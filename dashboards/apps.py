from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboards"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from dashboards.models import Dashboard
        from reports.models import ReportExecution
        from reports.signals import execution_finished

        execution_finished.connect(
            _on_execution_finished, sender=ReportExecution, dispatch_uid="dashboards.refresh"
        )
        pre_delete.connect(_wait_for_refresh, sender=Dashboard, dispatch_uid="dashboards.facts")


def _on_execution_finished(sender, execution, **kwargs) -> None:
    """New results: the report's dashboard is refreshed (coalesced, after commit)."""
    from dashboards.services.refresh import on_execution_finished

    on_execution_finished(execution)


def _wait_for_refresh(sender, instance, using, **kwargs) -> None:
    """A dashboard being deleted waits for a refresh in progress (which holds its row) before
    its aggregates are deleted, so the refresh's new aggregates go with it (they have no
    database foreign key to cascade them)."""
    list(sender.objects.using(using).select_for_update().filter(pk=instance.pk).values_list("pk"))
