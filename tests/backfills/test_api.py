"""The backfills API: status codes, the error format, and who sees what."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from backfills import selectors, services
from backfills.models import Backfill, BackfillStatus, SegmentStatus
from reports.models import ReportExecution, TriggeredBy
from reports.windows import today_in
from tests.backfills.conftest import end_execution
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory
from tests.factories.reports import ReportDefinitionFactory, ReportExecutionFactory

pytestmark = pytest.mark.django_db

LAST_10_DAYS = {"type": "relative", "value": 10, "unit": "days"}


def errors_of(response):
    return {error["field"]: error for error in response.json()["errors"]}


def body(report, **overrides):
    return {
        "report": report.report_id,
        "lookback_config": LAST_10_DAYS,
        "segmentation_config": {"type": "daily", "parallel_limit": 3},
        **overrides,
    }


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_create_returns_the_backfill_with_progress_and_segments(api, report, engine_tasks):
    response = api.post("/api/backfills/", body(report), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["report"] == report.report_id
    assert data["status"] == "in_progress"
    assert data["segment_type"] == "daily"
    assert data["total_segments"] == 10
    assert len(data["segments"]) == 10
    assert data["progress"]["done"] == 0
    assert data["progress"]["total"] == 10
    assert data["progress"]["percent"] == 0.0
    assert data["progress"]["time_left_seconds"] > 0


def test_segment_type_shorthand(api, report):
    payload = body(report, segmentation_config={}, segment_type="weekly", start=False)
    response = api.post("/api/backfills/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["segment_type"] == "weekly"
    assert response.json()["status"] == "pending"


def custom(start_days_ago, end_days_ago, report):
    today = today_in(report.timezone)
    return {
        "type": "custom",
        "start_date": (today - dt.timedelta(days=start_days_ago)).isoformat(),
        "end_date": (today - dt.timedelta(days=end_days_ago)).isoformat(),
    }


@pytest.mark.parametrize(
    "lookback, field",
    [
        ({"type": "relative", "value": 366, "unit": "days"}, "lookback_config.value"),
        ("past retention", "lookback_config.start_date"),
        ("inverted", "lookback_config.end_date"),
        ("too recent", "lookback_config.end_date"),
        ({"type": "custom", "startDate": "2026-01-01"}, "lookback_config.startDate"),
    ],
)
def test_bad_lookback_is_a_400_naming_the_field(api, report, lookback, field):
    if isinstance(lookback, str):
        lookback = {
            "past retention": custom(430, 400, report),
            "inverted": custom(30, 40, report),
            "too recent": custom(30, 3, report),
        }[lookback]
    for path in ("/api/backfills/", "/api/backfills/preview/"):
        response = api.post(path, body(report, lookback_config=lookback), format="json")
        assert response.status_code == 400, response.json()
        assert field in errors_of(response)
    assert not Backfill.objects.exists()


def test_parallel_limit_above_the_cap_is_a_400(api, report):
    payload = body(report, segmentation_config={"parallel_limit": 11})
    response = api.post("/api/backfills/", payload, format="json")
    assert response.status_code == 400
    assert "segmentation_config.parallel_limit" in errors_of(response)


def test_preview_shows_segments_and_writes_nothing(api, report):
    payload = body(report, segmentation_config={"type": "weekly"})
    response = api.post("/api/backfills/preview/", payload, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["days"] == 10
    assert data["segment_count"] == len(data["segments"])
    assert sum(segment["days"] for segment in data["segments"]) == 10
    assert data["segmentation_config"]["parallel_limit"] == 10
    assert data["estimated_seconds"] > 0
    assert not Backfill.objects.exists()


def test_reports_of_other_instances_are_404(api, foreign_instance):
    report = ReportDefinitionFactory(instance=foreign_instance)
    for path in ("/api/backfills/", "/api/backfills/preview/"):
        response = api.post(path, body(report), format="json")
        assert response.status_code == 404
        assert "report" in errors_of(response)


def test_backfills_of_other_instances_are_invisible(api, analyst, foreign_instance):
    report = ReportDefinitionFactory(instance=foreign_instance)
    collection = services.create_backfill(
        report=report,
        user=report.owner.__class__.objects.create(username="root", is_superuser=True),
        lookback_config=LAST_10_DAYS,
        start=False,
    )
    assert api.get("/api/backfills/").json()["count"] == 0
    assert api.get(f"/api/backfills/{collection.pk}/").status_code == 404
    assert api.post(f"/api/backfills/{collection.pk}/cancel/").status_code == 404


def test_viewers_read_but_may_not_write(api, report, viewer, engine_tasks):
    collection_id = api.post("/api/backfills/", body(report), format="json").json()["id"]
    viewer_api = client_for(viewer)
    assert viewer_api.get("/api/backfills/").json()["count"] == 1
    assert viewer_api.get(f"/api/backfills/{collection_id}/").status_code == 200
    assert viewer_api.post("/api/backfills/", body(report), format="json").status_code == 403
    for action in ("cancel", "retry-failed"):
        response = viewer_api.post(f"/api/backfills/{collection_id}/{action}/")
        assert response.status_code == 403
        assert errors_of(response)["non_field_errors"]["code"] == "permission_denied"
    # Preview writes nothing, so viewers may use it.
    preview = viewer_api.post("/api/backfills/preview/", body(report), format="json")
    assert preview.status_code == 200


def test_cancel_and_retry_failed(api, report, engine_tasks):
    payload = body(report, segmentation_config={"type": "daily", "retry_failed": False})
    collection_id = api.post("/api/backfills/", payload, format="json").json()["id"]
    collection = Backfill.objects.get(pk=collection_id)
    assert api.post(f"/api/backfills/{collection_id}/retry-failed/").status_code == 409
    segment = collection.segments.get(sequence=0)
    execution = services.run_segment(segment_pk=segment.pk)
    end_execution(execution, "failed", error="boom")
    response = api.post(f"/api/backfills/{collection_id}/retry-failed/")
    assert response.status_code == 200, response.json()
    assert response.json()["segments"][0]["status"] == SegmentStatus.PENDING
    response = api.post(f"/api/backfills/{collection_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == BackfillStatus.CANCELLED
    assert api.post(f"/api/backfills/{collection_id}/cancel/").status_code == 409


def test_start_a_pending_backfill(api, report):
    collection_id = api.post("/api/backfills/", body(report, start=False), format="json").json()[
        "id"
    ]
    response = api.post(f"/api/backfills/{collection_id}/start/")
    assert response.status_code == 200
    assert response.json()["status"] == "in_progress"
    assert api.post(f"/api/backfills/{collection_id}/start/").status_code == 409


def test_list_filters_by_report_and_status(api, report, engine_tasks):
    api.post("/api/backfills/", body(report, start=False), format="json")
    assert api.get(f"/api/backfills/?report={report.report_id}").json()["count"] == 1
    assert api.get("/api/backfills/?status=completed").json()["count"] == 0
    listed = api.get("/api/backfills/").json()["results"][0]
    assert "segments" not in listed
    assert listed["progress"]["total"] == 10


def test_series_is_empty_until_segments_complete(api, report, engine_tasks):
    collection_id = api.post("/api/backfills/", body(report), format="json").json()["id"]
    response = api.get(f"/api/backfills/{collection_id}/series/")
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["results"] == []


def test_the_list_reads_progress_in_one_query_whatever_the_number_of_backfills(
    api, report, engine_tasks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def create():
        body = {
            "report": report.report_id,
            "lookback_config": {"type": "relative", "value": 3, "unit": "days"},
            "segmentation_config": {"type": "daily"},
            "start": False,
        }
        assert api.post("/api/backfills/", body, format="json").status_code == 201

    create()
    api.get("/api/backfills/")  # warm the per-minute typical duration
    with CaptureQueriesContext(connection) as one:
        assert len(api.get("/api/backfills/").json()["results"]) == 1
    for _ in range(4):
        create()
    with CaptureQueriesContext(connection) as five:
        assert len(api.get("/api/backfills/").json()["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def in_progress_backfills(report, count):
    """Backfills under way: one segment done, one running at AMC for a minute, one waiting."""
    started = timezone.now() - dt.timedelta(minutes=1)
    for _ in range(count):
        backfill = BackfillFactory(
            report=report,
            status=BackfillStatus.IN_PROGRESS,
            segmentation_config={"type": "daily", "parallel_limit": 2},
        )
        execution = ReportExecutionFactory(
            report=report, triggered_by=TriggeredBy.BACKFILL, collection=backfill
        )
        ReportExecution.objects.filter(pk=execution.pk).update(started_at=started)
        for sequence, status in enumerate(
            [SegmentStatus.COMPLETED, SegmentStatus.RUNNING, SegmentStatus.PENDING]
        ):
            day = backfill.start_date + dt.timedelta(days=sequence)
            BackfillSegmentFactory(
                backfill=backfill,
                sequence=sequence,
                window_start=day,
                window_end=day,
                status=status,
                execution=execution if status == SegmentStatus.RUNNING else None,
            )


def listed(api):
    """The backfills list and the number of queries it took, with no estimate cached."""
    selectors._typical_cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/backfills/")
    assert response.status_code == 200, response.json()
    return response.json()["results"], len(queries)


def test_listing_more_backfills_takes_no_more_queries(api, report):
    in_progress_backfills(report, 2)
    few, few_queries = listed(api)
    in_progress_backfills(report, 10)
    many, many_queries = listed(api)
    assert (len(few), len(many)) == (2, 12)
    assert many_queries == few_queries
    for backfill in many:
        progress = backfill["progress"]
        assert (progress["done"], progress["running"], progress["pending"]) == (1, 1, 1)
        assert progress["percent"] == 33.3
        assert progress["time_left_seconds"] > 0


def test_the_list_and_the_detail_show_the_same_progress(api, report):
    in_progress_backfills(report, 1)
    (listed_backfill,), _ = listed(api)
    detail = api.get(f"/api/backfills/{listed_backfill['id']}/").json()
    assert detail["progress"]["percent"] == listed_backfill["progress"]["percent"] == 33.3
    assert detail["progress"]["done"] == listed_backfill["progress"]["done"] == 1
