"""The API does what its schema says at the edges: oversized bodies, long searches, missing
result files, fixed report instances, paginated series, execution-level tenancy, login throttles.
"""

import datetime as dt

import pytest
from django.test import Client
from rest_framework.test import APIClient

from backfills.models import SegmentStatus
from recomamp.api import MAX_SEARCH_LENGTH
from reports.models import ExecutionResultRow, ExecutionStatus
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory
from tests.factories.instances import UserFactory
from tests.factories.reports import ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory

pytestmark = pytest.mark.django_db


def errors_of(response):
    return {error["field"]: error for error in response.json()["errors"]}


def test_a_body_over_the_size_limit_is_a_413_in_the_error_envelope(api, report, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"name": "x", "description": "y" * 20_000}

    response = api.patch(f"/api/reports/{report.report_id}/", big, format="json")

    assert response.status_code == 413
    assert errors_of(response)["non_field_errors"]["code"] == "request_too_large"
    report.refresh_from_db()
    assert report.description == ""


def test_a_search_term_over_the_cap_is_a_400_naming_search(api, report):
    response = api.get("/api/reports/", {"search": "x" * (MAX_SEARCH_LENGTH + 1)})
    assert response.status_code == 400
    assert errors_of(response)["search"]["code"] == "max_length"
    assert api.get("/api/reports/", {"search": "x" * MAX_SEARCH_LENGTH}).status_code == 200


def test_an_unknown_api_url_is_a_json_404(api):
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert errors_of(response)["non_field_errors"]["code"] == "not_found"


def test_a_completed_run_whose_file_is_missing_is_a_404_not_a_500(api, report):
    execution = ReportExecutionFactory(
        report=report, status=ExecutionStatus.COMPLETED, output_location="results/gone.csv"
    )
    response = api.get(f"/api/executions/{execution.execution_id}/results/")
    assert response.status_code == 404
    assert errors_of(response)["non_field_errors"]["code"] == "result_missing"


def test_a_reports_instance_cannot_be_changed_after_creation(api, report, analyst):
    from tests.factories.instances import InstanceAccessFactory

    other = InstanceAccessFactory(user=analyst).instance

    moved = api.patch(
        f"/api/reports/{report.report_id}/", {"instance": str(other.pk)}, format="json"
    )
    same = api.patch(
        f"/api/reports/{report.report_id}/",
        {"instance": str(report.instance_id), "name": "Renamed"},
        format="json",
    )

    assert moved.status_code == 400
    assert errors_of(moved)["instance"]["code"] == "immutable"
    assert same.status_code == 200
    report.refresh_from_db()
    assert (report.instance_id, report.name) == (report.instance_id, "Renamed")


def test_schedule_history_shows_only_executions_on_instances_the_user_may_see(
    api, report, foreign_instance
):
    schedule = ReportScheduleFactory(report=report)
    mine = ReportExecutionFactory(report=report, schedule=schedule)
    ReportExecutionFactory(report=report, schedule=schedule, instance=foreign_instance)

    response = api.get(f"/api/schedules/{schedule.schedule_id}/history/")

    assert response.status_code == 200
    assert [r["execution_id"] for r in response.json()["results"]] == [mine.execution_id]


def _completed_segment(collection, day, *, instance=None):
    execution = ReportExecutionFactory(
        report=collection.report,
        instance=instance or collection.report.instance,
        status=ExecutionStatus.COMPLETED,
        completed_at=dt.datetime(2026, 10, 20, tzinfo=dt.UTC),
    )
    ExecutionResultRow.objects.create(execution=execution, row_number=1, data={"day": day})
    BackfillSegmentFactory(
        backfill=collection,
        window_start=dt.date(2026, 10, day),
        window_end=dt.date(2026, 10, day),
        status=SegmentStatus.COMPLETED,
        execution=execution,
    )
    return execution


def test_backfill_series_is_paginated_and_reads_only_visible_executions(
    api, report, foreign_instance
):
    collection = BackfillFactory(report=report)
    for day in (1, 2, 3):
        _completed_segment(collection, day)
    _completed_segment(collection, 4, instance=foreign_instance)

    first = api.get(f"/api/backfills/{collection.pk}/series/", {"page_size": 2}).json()
    second = api.get(f"/api/backfills/{collection.pk}/series/", {"page_size": 2, "page": 2})

    assert first["count"] == 3
    assert [p["rows"] for p in first["results"]] == [[{"day": 1}], [{"day": 2}]]
    assert [p["rows"] for p in second.json()["results"]] == [[{"day": 3}]]


def test_token_endpoint_refuses_password_guessing_with_429(settings):
    settings.RECOMAMP_LOGIN_RATE_PER_USERNAME = "3/minute"
    user = UserFactory(username="victim")
    user.set_password("the-right-password")
    user.save()
    client = APIClient()

    answers = [
        client.post("/api/auth/token/", {"username": "victim", "password": f"guess{n}"}).status_code
        for n in range(3)
    ]
    blocked = client.post(
        "/api/auth/token/", {"username": "victim", "password": "the-right-password"}
    )

    assert answers == [400, 400, 400]
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert errors_of(blocked)["non_field_errors"]["code"] == "throttled"
    other = UserFactory(username="bystander")
    other.set_password("pw-of-bystander")
    other.save()
    ok = client.post("/api/auth/token/", {"username": "bystander", "password": "pw-of-bystander"})
    assert ok.status_code == 200 and ok.json()["token"]


def test_token_endpoint_limits_one_address_across_usernames(settings):
    settings.RECOMAMP_LOGIN_RATE_PER_IP = "4/minute"
    client = APIClient()
    answers = [
        client.post("/api/auth/token/", {"username": f"user{n}", "password": "x"}).status_code
        for n in range(5)
    ]
    assert answers == [400, 400, 400, 400, 429]


def test_admin_login_refuses_further_tries_after_repeated_failures(settings):
    settings.RECOMAMP_LOGIN_RATE_PER_USERNAME = "3/minute"
    staff = UserFactory(username="staffer", is_staff=True)
    staff.set_password("the-right-password")
    staff.save()
    browser = Client()

    failures = [
        browser.post("/admin/login/", {"username": "staffer", "password": f"guess{n}"})
        for n in range(3)
    ]
    blocked = browser.post(
        "/admin/login/", {"username": "staffer", "password": "the-right-password"}
    )

    assert [r.status_code for r in failures] == [200, 200, 200]
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in browser.session


def test_admin_login_still_signs_in_below_the_limit(settings):
    staff = UserFactory(username="staffer2", is_staff=True)
    staff.set_password("the-right-password")
    staff.save()
    browser = Client()
    browser.post("/admin/login/", {"username": "staffer2", "password": "wrong"})

    response = browser.post(
        "/admin/login/", {"username": "staffer2", "password": "the-right-password"}
    )

    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(staff.pk)
