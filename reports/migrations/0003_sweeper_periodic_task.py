"""The beat entry of the execution sweeper (crash recovery), editable in the admin."""

from django.db import migrations

TASK_NAME = "Execution sweeper"


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    # Periodic tasks are declared in recomamp.periodic (synced at migrate and at beat start).
    operations = [migrations.RunPython(migrations.RunPython.noop, delete_task)]
