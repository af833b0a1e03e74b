"""Exports through a real Celery worker that consumes only the `exports` queue and replaces its
process after every task, as scripts/run.sh and docker-compose run it."""

import time

import pytest

from dashboards.models import ExportStatus, ReportExport
from tests.dashboards.demo import build_demo_dashboard

pytestmark = pytest.mark.slow


def test_exports_are_built_by_the_exports_worker_that_recycles_its_processes(
    celery_workers, api, analyst, instance, catalogue
):
    configuration, _ = build_demo_dashboard(
        template=catalogue["campaign-performance-daily"], instance=instance, owner=analyst
    )
    (worker,) = celery_workers(
        count=1, concurrency=1, args=("-Q", "exports", "--max-tasks-per-child=1")
    )
    ids = []
    for fmt in ("pdf", "excel"):
        response = api.post(
            f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": fmt}
        )
        assert response.status_code == 202
        ids.append(response.json()["id"])

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        statuses = set(ReportExport.objects.filter(pk__in=ids).values_list("status", flat=True))
        if statuses <= {ExportStatus.COMPLETED, ExportStatus.FAILED}:
            break
        time.sleep(0.5)
    exports = list(ReportExport.objects.filter(pk__in=ids))
    assert [e.status for e in exports] == [ExportStatus.COMPLETED] * 2, [
        e.error_message for e in exports
    ]
    for export in exports:
        assert export.file.storage.exists(export.file.name) and export.file_size > 1000
    assert worker.process.poll() is None  # the worker itself lives on; its children were replaced
