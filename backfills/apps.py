from django.apps import AppConfig


class BackfillsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backfills"
