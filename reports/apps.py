from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self) -> None:
        post_migrate.connect(_sync_periodic_tasks, sender=self, dispatch_uid="periodic_tasks")


def _sync_periodic_tasks(sender, **kwargs) -> None:
    from recomamp.periodic import sync_periodic_tasks

    sync_periodic_tasks()
