"""Celery tasks of dashboards: thin, idempotent, by primary key."""

from celery import shared_task
from celery.signals import worker_process_init

from dashboards.services import refresh


@shared_task(name="dashboards.refresh_dashboard", ignore_result=True)
def refresh_dashboard(dashboard_pk: str) -> str:
    return refresh.refresh_dashboard(dashboard_pk).status


@worker_process_init.connect
def _warm_chart_renderer(**kwargs) -> None:
    """Load Vega into each worker process up front: the first chart costs ~0.6 s otherwise."""
    from dashboards import charts

    charts.warm_up()
