"""The Celery app. Redis in production; a broker that needs no server in the embedded mode."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recomamp.settings")

app = Celery("recomamp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules below an app's top level.
app.autodiscover_tasks(["dashboards.exports"])


@setup_logging.connect
def use_django_logging(loglevel=None, **_kwargs) -> None:
    """Workers and beat log like the web: the same format, context fields and redaction; the
    command line's --loglevel still decides the level."""
    import logging
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@app.on_after_finalize.connect
def _periodic_tasks(sender, **kwargs) -> None:
    """Every periodic task, from the one declaration (recomamp.periodic)."""
    from recomamp.periodic import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
