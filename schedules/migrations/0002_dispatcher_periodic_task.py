"""The beat entry of the schedule dispatcher, editable in the admin (Periodic tasks)."""

from django.db import migrations

TASK_NAME = "Schedule dispatcher"


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("schedules", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    # Periodic tasks are declared in recomamp.periodic (synced at migrate and at beat start).
    operations = [migrations.RunPython(migrations.RunPython.noop, delete_task)]
