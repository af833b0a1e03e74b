"""The schedules API: permissions, status codes, the error format, preview and history."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from reports.models import ReportExecution
from schedules import services
from schedules.models import ReportSchedule
from tests.factories.reports import ReportDefinitionFactory
from tests.schedules.conftest import make_schedule

pytestmark = pytest.mark.usefixtures("engine_tasks")


def errors(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.json()["errors"]}


def create(api, report, **body):
    return api.post("/api/schedules/", {"report": report.report_id, **body}, format="json")


def test_a_friendly_daily_schedule_is_created_with_its_cron_and_next_run(api, report):
    response = create(
        api,
        report,
        schedule_type="daily",
        schedule_config={"time": "09:30", "timezone": "Europe/Berlin"},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["schedule_id"].startswith("sch_")
    assert body["cron_expression"] == "30 9 * * *"
    assert body["timezone"] == "Europe/Berlin"
    assert body["state"] == "active"
    assert body["next_run_at"] is not None
    assert body["schedule_config"]["frequency"] == "daily"


def test_a_custom_cron_defaults_to_the_report_timezone(api, report):
    report.timezone = "America/New_York"
    report.save()
    response = create(api, report, schedule_type="custom", cron_expression="@hourly")

    assert response.status_code == 201, response.json()
    assert response.json()["cron_expression"] == "0 * * * *"
    assert response.json()["timezone"] == "America/New_York"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule_type": "custom", "cron_expression": "@reboot"}, "cron_expression"),
        # More often than the floor (RECOMAMP_SCHEDULE_MIN_INTERVAL_MINUTES, 5 by default).
        ({"schedule_type": "custom", "cron_expression": "* * * * *"}, "cron_expression"),
        ({"schedule_type": "custom", "cron_expression": "0,1 9 * * *"}, "cron_expression"),
        ({"schedule_type": "custom", "cron_expression": "0 0 9 * * *"}, "cron_expression"),
        ({"schedule_type": "custom", "cron_expression": "0 9 30 2 *"}, "cron_expression"),
        ({"schedule_type": "custom", "cron_expression": "61 9 * * *"}, "cron_expression"),
        ({"schedule_type": "custom"}, "cron_expression"),
        (
            {"schedule_type": "custom", "cron_expression": "0 9 * * *", "timezone": "Mars/Base"},
            "timezone",
        ),
        ({"schedule_type": "daily", "schedule_config": {"time": "25:00"}}, "schedule_config.time"),
        (
            {"schedule_type": "daily", "schedule_config": {"time": "09:00", "timezone": "Nope"}},
            "schedule_config.timezone",
        ),
        (
            {"schedule_type": "weekly", "schedule_config": {"time": "09:00"}},
            "schedule_config.days_of_week",
        ),
        (
            {"schedule_type": "monthly", "schedule_config": {"time": "09:00", "day_of_month": 31}},
            "schedule_config.day_of_month",
        ),
        (
            {"schedule_type": "weekly", "schedule_config": {"frequency": "daily", "time": "9:00"}},
            "schedule_config.frequency",
        ),
        ({"schedule_type": "daily"}, "schedule_config"),
        ({"schedule_type": "hourly"}, "schedule_type"),
        (
            {
                "schedule_type": "daily",
                "schedule_config": {"time": "09:00"},
                "default_parameters": {"min_impressions": -5},
            },
            "default_parameters.min_impressions",
        ),
    ],
)
def test_an_invalid_schedule_is_a_400_naming_the_field(api, report, body, field):
    response = create(api, report, **body)

    assert response.status_code == 400, response.json()
    assert field in errors(response), response.json()
    assert not ReportSchedule.objects.exists()


def test_a_second_active_schedule_for_a_report_is_a_409(api, report):
    first = create(api, report, schedule_type="custom", cron_expression="0 9 * * *")
    second = create(api, report, schedule_type="custom", cron_expression="0 10 * * *")

    assert first.status_code == 201
    assert second.status_code == 409
    assert errors(second) == {"report": "conflict"}
    # Once the first is deleted (deactivated), the report can have a new one.
    api.delete(f"/api/schedules/{first.json()['schedule_id']}/")
    third = create(api, report, schedule_type="custom", cron_expression="0 10 * * *")
    assert third.status_code == 201


def test_foreign_schedules_and_reports_are_404s(api, foreign_instance):
    foreign_report = ReportDefinitionFactory(instance=foreign_instance)
    foreign = make_schedule(
        report=foreign_report,
        cron_expression="0 9 * * *",
        timezone="UTC",
        next_run_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert api.get(f"/api/schedules/{foreign.schedule_id}/").status_code == 404
    assert api.post(f"/api/schedules/{foreign.schedule_id}/pause/").status_code == 404
    assert api.get("/api/schedules/").json()["count"] == 0
    response = create(api, foreign_report, schedule_type="custom", cron_expression="0 9 * * *")
    assert response.status_code == 404
    assert errors(response) == {"report": "not_found"}


def test_a_viewer_may_read_but_not_change(report, viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    schedule = services.create_schedule(
        report=report, user=report.owner, schedule_type="custom", cron_expression="0 9 * * *"
    )

    assert client.get(f"/api/schedules/{schedule.schedule_id}/").status_code == 200
    assert client.post(f"/api/schedules/{schedule.schedule_id}/pause/").status_code == 403
    response = create(client, report, schedule_type="custom", cron_expression="0 9 * * *")
    assert response.status_code == 403


def test_pause_resume_edit_and_delete(api, report):
    schedule_id = create(
        api, report, schedule_type="weekly", schedule_config={"time": "08:00", "days_of_week": [1]}
    ).json()["schedule_id"]
    url = f"/api/schedules/{schedule_id}/"

    paused = api.post(url + "pause/").json()
    assert (paused["state"], paused["is_paused"]) == ("paused", True)
    resumed = api.post(url + "resume/").json()
    assert resumed["state"] == "active"

    changed = api.patch(
        url, {"schedule_config": {"time": "07:15", "days_of_week": ["mon", "fri"]}}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["cron_expression"] == "15 7 * * 1,5"
    moved = api.patch(url, {"timezone": "Asia/Tokyo"}, format="json").json()
    assert (moved["timezone"], moved["cron_expression"]) == ("Asia/Tokyo", "15 7 * * 1,5")
    custom = api.patch(
        url, {"schedule_type": "custom", "cron_expression": "*/30 * * * *"}, format="json"
    )
    assert custom.json()["schedule_config"] == {}
    bad = api.patch(url, {"cron_expression": "* * *"}, format="json")
    assert bad.status_code == 400
    assert errors(bad) == {"cron_expression": "invalid"}

    assert api.delete(url).status_code == 204
    gone = api.get(url).json()
    assert (gone["state"], gone["next_run_at"]) == ("inactive", None)
    assert api.post(url + "resume/").status_code == 409


def test_preview_of_a_saved_schedule_in_utc_and_local_time(api, report):
    schedule_id = create(
        api,
        report,
        schedule_type="daily",
        schedule_config={"time": "02:30", "timezone": "Europe/Berlin"},
    ).json()["schedule_id"]

    response = api.get(f"/api/schedules/{schedule_id}/preview/?count=3")

    assert response.status_code == 200, response.json()
    runs = response.json()["runs"]
    assert len(runs) == 3
    for run in runs:
        local = datetime.fromisoformat(run["local"])
        assert (local.hour, local.minute) in {(2, 30), (3, 0)}  # 03:00 on a spring-forward day
        assert datetime.fromisoformat(run["utc"].replace("Z", "+00:00")) == local
    assert api.get(f"/api/schedules/{schedule_id}/preview/?count=0").status_code == 400


def test_preview_of_an_unsaved_config_writes_nothing(api, db):
    response = api.post(
        "/api/schedules/preview/",
        {
            "schedule_type": "monthly",
            "schedule_config": {"time": "06:00", "day_of_month": "last"},
            "timezone": "Australia/Lord_Howe",
            "count": 4,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["cron_expression"], body["timezone"]) == ("0 6 L * *", "Australia/Lord_Howe")
    assert len(body["runs"]) == 4
    assert not ReportSchedule.objects.exists()
    bad = api.post(
        "/api/schedules/preview/",
        {"schedule_type": "custom", "cron_expression": "@reboot"},
        format="json",
    )
    assert bad.status_code == 400
    assert errors(bad) == {"cron_expression": "invalid"}


def test_history_lists_the_schedule_runs_newest_first(api, report):
    schedule = make_schedule(
        report=report,
        cron_expression="0 * * * *",
        timezone="UTC",
        next_run_at=datetime(2026, 1, 1, 5, tzinfo=UTC),
    )
    services.dispatch_due_schedules(now=datetime(2026, 1, 1, 5, 0, 1, tzinfo=UTC))
    services.dispatch_due_schedules(now=datetime(2026, 1, 1, 6, 0, 1, tzinfo=UTC))

    response = api.get(f"/api/schedules/{schedule.schedule_id}/history/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["scheduled_for"] for r in results] == ["2026-01-01T06:00:00Z", "2026-01-01T05:00:00Z"]
    assert {r["schedule"] for r in results} == {schedule.schedule_id}
    assert ReportExecution.objects.count() == 2
