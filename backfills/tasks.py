"""Celery tasks of backfills: thin, idempotent, by primary key."""

from celery import shared_task

from backfills import services


@shared_task(name="backfills.run_segment", ignore_result=True)
def run_segment(segment_pk: str) -> None:
    services.run_segment(segment_pk=segment_pk)


@shared_task(name="backfills.sweep", ignore_result=True)
def sweep_backfills() -> dict[str, int]:
    return services.sweep_backfills()
