"""Celery tasks of exports. Builds go to the `exports` queue, whose worker recycles its
processes (max tasks and memory per child), because renderers hold memory. The routing is
`CELERY_TASK_ROUTES` in settings."""

from celery import shared_task

from dashboards.exports import services


@shared_task(
    name="dashboards.exports.build_export",
    ignore_result=True,
    soft_time_limit=600,
    time_limit=660,
)
def build_export(export_pk: str) -> None:
    services.build_export(export_pk=export_pk)


@shared_task(name="dashboards.exports.sweep_exports", ignore_result=True)
def sweep_exports() -> dict[str, int]:
    return services.sweep_exports()
