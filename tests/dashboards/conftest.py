import datetime as dt

import pytest
from django.utils import timezone

from backfills.models import SegmentStatus
from dashboards.services import refresh
from reports.models import ExecutionResultRow, ExecutionStatus, ReportExecution, TriggeredBy
from tests.dashboards.demo import build_demo_dashboard, demo_templates
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory

_clock = {"now": timezone.now()}


def _next_completion():
    _clock["now"] += dt.timedelta(seconds=1)
    return _clock["now"]


def completed_run(report, *, start: dt.date, days: int, rows: list[dict], collection=None):
    """A completed execution of the report over [start, start + days) with these rows."""
    window_start = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    execution = ReportExecution.objects.create(
        report=report,
        template=report.template,
        instance=report.instance,
        user=report.owner,
        triggered_by=TriggeredBy.BACKFILL if collection else TriggeredBy.MANUAL,
        collection=collection,
        status=ExecutionStatus.COMPLETED,
        time_window_start=window_start,
        time_window_end=window_start + dt.timedelta(days=days),
        completed_at=_next_completion(),
    )
    ExecutionResultRow.objects.bulk_create(
        ExecutionResultRow(execution=execution, row_number=i, data=row)
        for i, row in enumerate(rows, start=1)
    )
    return execution


def backfilled(report, *, start: dt.date, days: int, rows_for_day):
    """A completed daily backfill: one segment (and run) per day, rows_for_day(day) each."""
    collection = BackfillFactory(
        report=report, start_date=start, end_date=start + dt.timedelta(days=days - 1)
    )
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        execution = completed_run(
            report, start=day, days=1, rows=rows_for_day(day), collection=collection
        )
        BackfillSegmentFactory(
            backfill=collection,
            sequence=offset,
            window_start=day,
            window_end=day,
            status=SegmentStatus.COMPLETED,
            execution=execution,
        )
    return collection


def overlapping_history(report, *, start: dt.date) -> None:
    """Ten backfilled days of three campaigns (spend 30 a day), then a later run over days
    3..9 that saw doubled figures (60 a day): it wins those days."""
    backfilled(report, start=start, days=10, rows_for_day=campaign_rows)
    completed_run(
        report,
        start=start + dt.timedelta(days=3),
        days=7,
        rows=[
            row
            for offset in range(3, 10)
            for row in campaign_rows(start + dt.timedelta(days=offset), scale=2.0)
        ],
    )


def campaign_rows(day: dt.date, *, campaigns=3, scale=1.0):
    return [
        {
            "event_date": day.isoformat(),
            "campaign": f"Campaign {c}",
            "campaign_id": c,
            "impressions": 1000 * (c + 1),
            "clicks": 10 * (c + 1),
            "spend": round(scale * 5.0 * (c + 1), 2),
            "purchases": c + 1,
            "sales": round(scale * 20.0 * (c + 1) + day.day, 2),
            "roas": (scale * 20.0 * (c + 1) + day.day) / (scale * 5.0 * (c + 1)),
        }
        for c in range(campaigns)
    ]


@pytest.fixture
def sent_refreshes(monkeypatch):
    """Dashboard pks whose refresh task was queued (nothing reaches the broker)."""
    sent: list[tuple[str, float]] = []
    monkeypatch.setattr(
        refresh,
        "_enqueue",
        lambda pk, countdown: sent.append((str(pk), countdown)),
    )
    return sent


@pytest.fixture
def report(report):
    """The campaign performance report of tests/conftest.py, with its dashboard."""
    from dashboards.services.building import build_dashboard

    build_dashboard(report=report)
    return report


@pytest.fixture
def demo_dashboards(catalogue, instance, analyst):
    """One dashboard per catalogue template on the analyst's instance: [(configuration, cards)]."""
    return [
        build_demo_dashboard(template=template, instance=instance, owner=analyst)
        for template in demo_templates(catalogue)
    ]


@pytest.fixture
def run_export_tasks(django_capture_on_commit_callbacks, monkeypatch):
    """Export builds queued on commit run in this process (the worker's code, no broker)."""
    from dashboards.exports import services, tasks

    monkeypatch.setattr(tasks.build_export, "delay", lambda pk: services.build_export(export_pk=pk))
    return django_capture_on_commit_callbacks
