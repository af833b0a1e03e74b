"""The beat entry of the export sweeper (expired files, stuck builds), editable in the admin."""

from django.db import migrations

TASK_NAME = "Export sweeper"


def create_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "dashboards.exports.sweep_exports",
            "interval": hourly,
            "enabled": True,
            "description": "Deletes the files of expired exports and fails exports whose "
            "build never finished.",
        },
    )


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0002_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_task, delete_task)]
