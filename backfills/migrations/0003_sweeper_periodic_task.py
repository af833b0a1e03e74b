"""The beat entry of the backfill sweeper (crash recovery), editable in the admin."""

from django.db import migrations

TASK_NAME = "Backfill sweeper"


def create_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_10s, _ = IntervalSchedule.objects.get_or_create(every=10, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "backfills.sweep",
            "interval": every_10s,
            "enabled": True,
            "description": "Settles segments whose execution ended unnoticed, cancels in-flight "
            "runs of cancelled backfills, and re-sends segments whose task was lost.",
        },
    )


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backfills", "0002_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_task, delete_task)]
