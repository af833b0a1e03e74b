"""The builder's four API steps: validate, schedule-preview, review, submit; and the audit."""

import threading
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from backfills.models import Backfill
from dashboards.models import Dashboard
from recomamp.errors import FieldError, ValidationFailed
from reports.builder import services as builder_services
from reports.models import (
    BuilderSubmission,
    ReportBuilderActivity,
    ReportBuilderAudit,
    ReportDefinition,
    ReportExecution,
)
from schedules.models import ReportSchedule
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.factories.reports import QueryTemplateFactory

pytestmark = pytest.mark.django_db

ASIN_SQL = (
    "SELECT tracked_asin, SUM(purchases) AS purchases "
    "FROM amazon_attributed_events_by_conversion_time "
    "WHERE tracked_asin IN ({{asins}}) AND conversion_event_dt >= {{since}} "
    "AND ('{{attribution}}' = 'all' OR attribution = '{{attribution}}') "
    "GROUP BY tracked_asin"
)


@pytest.fixture
def template(db):
    return QueryTemplateFactory(
        template_id="asin-purchases",
        name="ASIN purchases",
        category="Product",
        description="Purchases per tracked ASIN since a date.",
        sql_query=ASIN_SQL,
        parameter_definitions=[
            {"name": "asins", "type": "asin_list", "label": "ASINs"},
            {"name": "since", "type": "date", "label": "Since"},
            {
                "name": "attribution",
                "type": "enum",
                "options": ["all", "view", "click"],
                "default": "all",
            },
        ],
    )


@pytest.fixture
def body(template, instance):
    return {
        "template": template.template_id,
        "instance": str(instance.pk),
        "name": "Hero ASINs",
        "parameters": {"asins": "B012345678\nB087654321", "since": "2026-09-01"},
        "timezone": "Europe/Berlin",
    }


WEEKLY = {
    "schedule_type": "weekly",
    "schedule_config": {"time": "09:00", "days_of_week": [1], "timezone": "Europe/Berlin"},
}
BACKFILL_90 = {
    "lookback_config": {"type": "relative", "value": 90, "unit": "days"},
    "segmentation_config": {"type": "weekly"},
}


def fields(response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


def nothing_created():
    return (
        not ReportDefinition.objects.exists()
        and not Dashboard.objects.exists()
        and not ReportSchedule.objects.exists()
        and not Backfill.objects.exists()
        and not ReportExecution.objects.exists()
        and not BuilderSubmission.objects.exists()
    )


# -- validate --------------------------------------------------------------------------------


def test_validate_answers_the_rendered_sql_and_the_templates_gaps(api, body, template):
    template.sql_query += " -- {{nothing}}\nLIMIT {{row_limit}}"
    template.save()
    response = api.post("/api/builder/validate/", body, format="json")
    assert response.status_code == 400  # row_limit has no definition: the template is broken
    assert "template" in fields(response)
    assert response.json()["undefined"] == ["row_limit"]

    template.sql_query = ASIN_SQL
    template.parameter_definitions = [
        *template.parameter_definitions,
        {"name": "spare", "type": "integer", "required": False},
    ]
    template.save()
    response = api.post("/api/builder/validate/", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["valid"] is True
    assert "IN ('B012345678', 'B087654321')" in data["sql"]
    assert "'2026-09-01'" in data["sql"]
    assert data["unused"] == ["spare"]
    assert data["parameters"]["asins"] == ["B012345678", "B087654321"]


def test_validate_names_each_bad_parameter_with_a_dotted_path(api, body):
    body["parameters"] = {"asins": "B012345678, B0BAD", "since": "2026-13-01", "typo": 1}
    response = api.post("/api/builder/validate/", body, format="json")
    assert response.status_code == 400
    assert fields(response) == ["parameters.asins[1]", "parameters.since", "parameters.typo"]
    assert "B0BAD" in response.json()["errors"][0]["message"]
    # The preview still shows what could be filled.
    assert "{{asins}}" in response.json()["sql"]


def test_validate_writes_an_audit_row_unless_it_is_a_live_check(api, body, analyst):
    draft = str(uuid.uuid4())
    api.post("/api/builder/validate/", {**body, "live": True, "draft_id": draft}, format="json")
    assert not ReportBuilderAudit.objects.exists()
    api.post("/api/builder/validate/", {**body, "draft_id": draft}, format="json")
    row = ReportBuilderAudit.objects.get()
    assert (row.step, row.action, row.user, str(row.draft_id)) == (
        "parameters",
        "parameters valid",
        analyst,
        draft,
    )


def test_validate_refuses_missing_fields_and_unknown_templates(api, body):
    response = api.post("/api/builder/validate/", {"parameters": {}}, format="json")
    assert response.status_code == 400
    assert set(fields(response)) == {"template", "instance"}
    response = api.post("/api/builder/validate/", {**body, "template": "nope"}, format="json")
    assert (response.status_code, fields(response)) == (400, ["template"])
    response = api.post("/api/builder/validate/", {**body, "timezone": "Mars/Base"}, format="json")
    assert (response.status_code, fields(response)) == (400, ["timezone"])


def test_an_instance_without_access_is_not_found_at_every_step(api, body, foreign_instance):
    body = {**body, "instance": str(foreign_instance.pk), "schedule": WEEKLY}
    for step in ("validate", "schedule-preview", "review", "submit"):
        response = api.post(f"/api/builder/{step}/", body, format="json")
        assert response.status_code == 404, step
        assert fields(response) == ["instance"]
    assert nothing_created()


# -- schedule preview ------------------------------------------------------------------------


def test_schedule_preview_shows_weekly_runs_in_three_zones_and_the_backfill_plan(api, instance):
    response = api.post(
        "/api/builder/schedule-preview/",
        {
            "instance": str(instance.pk),
            "timezone": "Europe/Berlin",
            "client_timezone": "America/New_York",
            "schedule": WEEKLY,
            "backfill": BACKFILL_90,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    schedule = response.json()["schedule"]
    assert schedule["cron_expression"] == "0 9 * * 1"
    assert "clocks go forward" in schedule["dst_policy"]
    assert len(schedule["runs"]) == 5
    for run in schedule["runs"]:
        local = datetime.fromisoformat(run["local"])
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        utc = datetime.fromisoformat(run["utc"].replace("Z", "+00:00"))
        client = datetime.fromisoformat(run["client"])
        assert utc == local == client
        assert client.utcoffset().total_seconds() in (-5 * 3600, -4 * 3600)
    assert 4 <= schedule["runs_per_month"] <= 4.5
    backfill = response.json()["backfill"]
    assert backfill["days"] == 90
    assert backfill["segment_type"] == "weekly"
    assert 13 <= backfill["segment_count"] <= 14
    assert backfill["estimated_seconds"] > 0
    assert backfill["limits"] == {
        "max_lookback_days": 365,
        "retention_days": 425,
        "data_lag_days": 14,
    }


def test_schedule_preview_names_every_bad_field_of_schedule_and_backfill(api, instance):
    response = api.post(
        "/api/builder/schedule-preview/",
        {
            "instance": str(instance.pk),
            "schedule": {
                "schedule_type": "weekly",
                "schedule_config": {"time": "25:00", "days_of_week": [1]},
            },
            "backfill": {"lookback_config": {"type": "relative", "value": 400, "unit": "days"}},
        },
        format="json",
    )
    assert response.status_code == 400
    assert fields(response) == ["schedule.schedule_config.time", "backfill.lookback_config.value"]
    response = api.post(
        "/api/builder/schedule-preview/",
        {"instance": str(instance.pk), "schedule": {"schedule_type": "hourly"}},
        format="json",
    )
    assert (response.status_code, fields(response)) == (400, ["schedule.schedule_type"])


def test_a_run_on_a_spring_forward_day_says_when_it_really_runs():
    preview = builder_services.preview_schedule_step(
        schedule={"schedule_type": "daily", "schedule_config": {"time": "02:30"}},
        report_timezone="Europe/Berlin",
        client_timezone="UTC",
        count=3,
        now=datetime(2027, 3, 27, 12, 0, tzinfo=UTC),
    )
    skipped = preview.runs[0]
    assert skipped["local"] == "2027-03-28T03:00:00+02:00"
    assert "02:30 does not exist" in skipped["dst_note"]
    assert preview.runs[1]["local"] == "2027-03-29T02:30:00+02:00"
    assert preview.runs[1]["dst_note"] is None


# -- review ----------------------------------------------------------------------------------


def test_review_shows_everything_the_analyst_will_get(api, body):
    body = {**body, "schedule": WEEKLY, "backfill": BACKFILL_90, "run_now": True}
    response = api.post("/api/builder/review/", body, format="json")
    assert response.status_code == 200, response.json()
    review = response.json()
    by_name = {row["name"]: row for row in review["parameters"]}
    assert by_name["asins"]["display"] == "2 items: B012345678, B087654321"
    assert by_name["attribution"]["default_used"] is True
    assert "IN ('B012345678', 'B087654321')" in review["sql"]
    assert review["frequency"] == "weekly"
    assert len(review["schedule"]["runs"]) == 5
    segments = review["backfill"]["segment_count"]
    assert review["quota"]["backfill_runs"] == segments
    assert review["quota"]["run_now"] == 1
    assert review["quota"]["first_month_runs"] >= segments + 1 + 4


def test_review_names_the_bad_fields_of_every_step_at_once(api, body):
    body["parameters"]["asins"] = "nope"
    body["schedule"] = {"schedule_type": "weekly", "schedule_config": {"time": "9am"}}
    body["backfill"] = {"lookback_config": {"type": "custom", "start_date": "2020-01-01"}}
    response = api.post("/api/builder/review/", body, format="json")
    assert response.status_code == 400
    assert "parameters.asins[0]" in fields(response)
    assert "schedule.schedule_config.time" in fields(response)
    assert any(f.startswith("backfill.lookback_config.") for f in fields(response))


# -- submit ----------------------------------------------------------------------------------


def test_submit_creates_report_schedule_backfill_and_first_run(api, body, engine_tasks):
    body = {**body, "schedule": WEEKLY, "backfill": BACKFILL_90, "run_now": True}
    response = api.post("/api/builder/submit/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    report = ReportDefinition.objects.get()
    assert data["report"]["report_id"] == report.report_id
    assert (report.frequency, report.timezone) == ("weekly", "Europe/Berlin")
    assert (
        data["report"]["dashboard"] == str(Dashboard.objects.get().pk) == str(report.dashboard_id)
    )
    assert report.parameters["since"] == "2026-09-01"
    schedule = ReportSchedule.objects.get(report=report)
    assert data["schedule"]["schedule_id"] == schedule.schedule_id
    assert schedule.cron_expression == "0 9 * * 1"
    collection = Backfill.objects.get(report=report)
    assert data["backfill"]["total_segments"] == collection.total_segments
    manual = ReportExecution.objects.get(report=report, triggered_by="manual")
    assert data["execution"]["execution_id"] == manual.execution_id
    actions = list(
        ReportBuilderAudit.objects.filter(report=report)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == [
        "report created",
        "schedule created",
        "backfill created",
        "run requested",
        "builder submitted",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"schedule": {"schedule_type": "weekly", "schedule_config": {"time": "24:30"}}},
            "schedule.schedule_config.time",
        ),
        (
            {"schedule": {"schedule_type": "custom", "cron_expression": "61 * * * *"}},
            "schedule.cron_expression",
        ),
        (
            {"backfill": {"lookback_config": {"type": "relative", "value": 0, "unit": "days"}}},
            "backfill.lookback_config.value",
        ),
        (
            {"backfill": {**BACKFILL_90, "segmentation_config": {"parallel_limit": 999}}},
            "backfill.segmentation_config.parallel_limit",
        ),
        ({"parameters": {"asins": "B012345678", "since": "yesterday-ish"}}, "parameters.since"),
    ],
)
def test_submit_with_anything_invalid_creates_nothing(api, body, change, field):
    body = {**body, "schedule": WEEKLY, "backfill": BACKFILL_90, **change}
    response = api.post("/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert field in fields(response)
    assert nothing_created()
    assert not ReportBuilderAudit.objects.exists()


def test_a_failure_after_the_report_was_written_rolls_everything_back(
    api, body, monkeypatch, engine_tasks
):
    def broken_backfill(**kwargs):
        assert ReportDefinition.objects.exists() and ReportSchedule.objects.exists()
        raise ValidationFailed([FieldError("lookback_config.value", "invalid", "Changed.")])

    monkeypatch.setattr(builder_services.backfill_services, "create_backfill", broken_backfill)
    body = {**body, "schedule": WEEKLY, "backfill": BACKFILL_90, "run_now": True}
    response = api.post("/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert (response.status_code, fields(response)) == (400, ["backfill.lookback_config.value"])
    assert nothing_created()
    assert not ReportBuilderAudit.objects.exists()
    assert engine_tasks == []


def test_a_double_submit_with_one_key_creates_one_report(api, body):
    first = api.post("/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="click-1")
    second = api.post("/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="click-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ReportDefinition.objects.count() == 1
    other = api.post("/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="click-2")
    assert other.status_code == 201
    assert ReportDefinition.objects.count() == 2


def test_a_key_reused_for_a_different_request_is_a_conflict(api, body):
    api.post("/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api.post(
        "/api/builder/submit/", {**body, "name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert (response.status_code, fields(response)) == (409, ["Idempotency-Key"])
    assert ReportDefinition.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_clicks_racing_with_one_key_create_one_report(analyst, body):
    barrier = threading.Barrier(2)
    statuses = []

    def click():
        client = APIClient()
        client.force_authenticate(analyst)
        barrier.wait()
        try:
            response = client.post(
                "/api/builder/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="race"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 201]
    assert ReportDefinition.objects.count() == 1


def test_a_viewer_cannot_submit(viewer, body):
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.post("/api/builder/validate/", body, format="json").status_code == 200
    response = client.post("/api/builder/submit/", body, format="json")
    assert response.status_code == 403
    assert nothing_created()


# -- the audit trail -------------------------------------------------------------------------


def test_the_reports_audit_shows_the_walk_in_order(api, body, analyst):
    draft = str(uuid.uuid4())
    walk = {**body, "draft_id": draft}
    api.post("/api/builder/validate/", {**walk, "live": True}, format="json")
    api.post("/api/builder/validate/", walk, format="json")
    api.post(
        "/api/builder/schedule-preview/",
        {"instance": body["instance"], "draft_id": draft, "schedule": WEEKLY},
        format="json",
    )
    api.post("/api/builder/review/", {**walk, "schedule": WEEKLY}, format="json")
    submitted = api.post("/api/builder/submit/", {**walk, "schedule": WEEKLY}, format="json")
    report_id = submitted.json()["report"]["report_id"]

    response = api.get(f"/api/reports/{report_id}/audit/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["step"], row["action"]) for row in rows] == [
        ("parameters", "parameters valid"),
        ("schedule", "schedule previewed"),
        ("review", "reviewed"),
        ("submit", "report created"),
        ("schedule", "schedule created"),
        ("submit", "builder submitted"),
    ]
    assert {row["user"] for row in rows} == {analyst.username}
    assert rows[-1]["configuration"]["created"]["report"]["report_id"] == report_id

    # Changes after the walk join the trail, with the configuration before and after.
    api.patch(f"/api/reports/{report_id}/", {"name": "Renamed"}, format="json")
    last = api.get(f"/api/reports/{report_id}/audit/").json()["results"][-1]
    assert last["configuration_before"] == {"name": "Hero ASINs"}
    assert last["configuration"] == {"name": "Renamed"}

    # The report_builder_activity view lists the same rows with user and report.
    activity = ReportBuilderActivity.objects.filter(report_ref=report_id)
    assert activity.count() == len(rows) + 1
    assert set(activity.values_list("username", "report_name")) == {(analyst.username, "Renamed")}


def test_the_audit_of_a_report_on_another_instance_is_not_found(api, foreign_instance, template):
    owner = UserFactory()
    InstanceAccessFactory(user=owner, instance=foreign_instance)
    client = APIClient()
    client.force_authenticate(owner)
    response = client.post(
        "/api/builder/submit/",
        {
            "template": template.template_id,
            "instance": str(foreign_instance.pk),
            "name": "Theirs",
            "parameters": {"asins": "B012345678", "since": "2026-09-01"},
        },
        format="json",
    )
    report_id = response.json()["report"]["report_id"]
    assert client.get(f"/api/reports/{report_id}/audit/").status_code == 200
    assert api.get(f"/api/reports/{report_id}/audit/").status_code == 404


def test_submit_sets_the_reports_subscribers_or_names_the_bad_one(api, body):
    from schedules.models import DeliverySubscriber

    body = {**body, "schedule": WEEKLY}
    bad = [
        {"channel": "email", "target": "ops@agency.example"},
        {"channel": "email", "target": "x"},
    ]
    response = api.post("/api/builder/submit/", {**body, "subscribers": bad}, format="json")
    assert (response.status_code, fields(response)) == (400, ["subscribers[1].target"])
    assert nothing_created()
    good = bad[:1]
    response = api.post("/api/builder/submit/", {**body, "subscribers": good}, format="json")
    assert response.status_code == 201, response.json()
    subscriber = DeliverySubscriber.objects.get()
    assert (subscriber.report.report_id, subscriber.target) == (
        response.json()["report"]["report_id"],
        "ops@agency.example",
    )
