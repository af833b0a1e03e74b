"""The beat entry of the schedule dispatcher, editable in the admin (Periodic tasks)."""

from django.db import migrations

TASK_NAME = "Schedule dispatcher"


def create_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5s, _ = IntervalSchedule.objects.get_or_create(every=5, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "schedules.dispatch_due",
            "interval": every_5s,
            "enabled": True,
            # A tick nobody picked up within 10 s is dropped: the next one does the same work,
            # so a stopped worker does not come back to a pile of stale ticks.
            "expire_seconds": 10,
            "description": "Runs the report schedules that are due (next_run_at <= now) and "
            "advances them. Safe to run on several workers at once.",
        },
    )


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("schedules", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_task, delete_task)]
