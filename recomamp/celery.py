"""The Celery app. Redis in production; a broker that needs no server in the embedded mode."""

import os

from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
)

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


@worker_init.connect
def _connect_pool_processes(**_kwargs) -> None:
    """Each pool process opens its database connection as it starts, so the first tasks after
    a start do not each wait for one. Connected here, after Celery's own start-up receiver, so
    that it runs after that one has closed the connections a process inherited."""
    worker_process_init.connect(_open_connection, weak=False)


def _open_connection(**_kwargs) -> None:
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception:  # noqa: BLE001 - the database is not up yet: the first task connects
        connection.close()


@task_prerun.connect
@task_postrun.connect
def _release_connections(task=None, **_kwargs) -> None:
    """Around each task, what Django does around each request: a connection older than
    CONN_MAX_AGE, or one that failed and no longer answers, is closed (the next statement opens
    a new one); any other is kept for the next task (see CELERY_DB_REUSE_MAX). A connection
    whose statement was cut short (a time limit's exception raised mid-query) may still look
    usable to Django, so one that libpq does not report idle is closed too."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inside the caller's own request or test transaction: not ours to close
    from django.db import close_old_connections, connections

    for conn in connections.all(initialized_only=True):
        if conn.vendor == "postgresql" and conn.connection is not None:
            from psycopg.pq import TransactionStatus

            if conn.connection.info.transaction_status != TransactionStatus.IDLE:
                conn.close()
    close_old_connections()
