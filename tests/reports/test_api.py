"""The reports and executions API: status codes, the error format, and who sees what."""

import datetime as dt

import pytest
from django.utils import timezone

from instances.models import AccessRole
from reports.models import ExecutionStatus, ReportBuilderAudit, ReportExecution
from tests.factories.dashboards import DashboardFactory, DashboardFavoriteFactory
from tests.factories.instances import InstanceAccessFactory
from tests.factories.reports import ReportDefinitionFactory, ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory

pytestmark = pytest.mark.django_db


def errors_of(response):
    return {error["field"]: error for error in response.json()["errors"]}


def test_create_report_validates_parameters_against_the_template(api, instance, catalogue):
    response = api.post(
        "/api/reports/",
        {
            "name": "Acme daily",
            "template": "campaign-performance-daily",
            "instance": str(instance.id),
            "parameters": {"min_impressions": "lots", "ad_product": "billboards"},
        },
        format="json",
    )
    assert response.status_code == 400
    errors = errors_of(response)
    assert set(errors) == {"parameters.min_impressions", "parameters.ad_product"}
    assert not ReportBuilderAudit.objects.exists()


def test_create_report(api, instance, catalogue, analyst):
    response = api.post(
        "/api/reports/",
        {
            "name": "Acme daily",
            "template": "campaign-performance-daily",
            "instance": str(instance.id),
            "parameters": {"min_impressions": 100},
            "timezone": "America/New_York",
            "lookback_days": 14,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["report_id"].startswith("rpt_")
    assert body["state"] == "active"
    assert body["execution_count"] == 0
    assert ReportBuilderAudit.objects.get().user == analyst


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"lookback_days": 366}, "lookback_days"),
        ({"frequency": "hourly"}, "frequency"),
        ({"template": "no-such-template"}, "template"),
        ({"name": ""}, "name"),
        ({"parameters": "not an object"}, "parameters"),
    ],
)
def test_bad_report_input_names_the_field(api, instance, catalogue, payload, field):
    body = {
        "name": "Acme daily",
        "template": "campaign-performance-daily",
        "instance": str(instance.id),
        **payload,
    }
    response = api.post("/api/reports/", body, format="json")
    assert response.status_code == 400
    assert field in errors_of(response)


def test_cannot_create_a_report_on_an_instance_without_access(api, foreign_instance, catalogue):
    response = api.post(
        "/api/reports/",
        {
            "name": "Sneaky",
            "template": "impressions-to-purchase-funnel",
            "instance": str(foreign_instance.id),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "instance" in errors_of(response)


def test_reports_and_executions_under_a_foreign_instance_are_invisible(api, foreign_instance):
    report = ReportDefinitionFactory(instance=foreign_instance)
    execution = ReportExecutionFactory(report=report)

    assert api.get("/api/reports/").json()["count"] == 0
    assert api.get("/api/executions/").json()["count"] == 0
    for method, url in [
        ("get", f"/api/reports/{report.report_id}/"),
        ("patch", f"/api/reports/{report.report_id}/"),
        ("delete", f"/api/reports/{report.report_id}/"),
        ("post", f"/api/reports/{report.report_id}/run/"),
        ("post", f"/api/reports/{report.report_id}/preview/"),
        ("post", f"/api/reports/{report.report_id}/deactivate/"),
        ("get", f"/api/executions/{execution.execution_id}/"),
        ("post", f"/api/executions/{execution.execution_id}/cancel/"),
        ("get", f"/api/executions/{execution.execution_id}/results/"),
        ("get", f"/api/executions/{execution.execution_id}/rows/"),
    ]:
        response = getattr(api, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    report.refresh_from_db()
    assert report.is_active and ReportExecution.objects.count() == 1


def test_a_superuser_runs_a_report_on_an_instance_without_an_access_row(
    foreign_instance, catalogue
):
    from rest_framework.test import APIClient

    from tests.factories.instances import UserFactory

    report = ReportDefinitionFactory(
        instance=foreign_instance, template=catalogue["campaign-performance-daily"]
    )
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))

    response = client.post(f"/api/reports/{report.report_id}/run/", {}, format="json")

    assert response.status_code == 202, response.json()
    assert ReportExecution.objects.get().report_id == report.pk


def test_viewers_may_read_but_not_run(api, analyst, catalogue):
    viewer_instance = InstanceAccessFactory(user=analyst, role=AccessRole.VIEWER).instance
    report = ReportDefinitionFactory(
        instance=viewer_instance, template=catalogue["impressions-to-purchase-funnel"]
    )
    assert api.get(f"/api/reports/{report.report_id}/").status_code == 200
    response = api.post(f"/api/reports/{report.report_id}/run/", {}, format="json")
    assert response.status_code == 403
    assert not ReportExecution.objects.exists()


def test_run_returns_202_with_a_pending_execution_and_its_exact_sql(api, report):
    response = api.post(f"/api/reports/{report.report_id}/run/", {}, format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["execution_id"].startswith("exec_")
    assert body["rendered_sql"].startswith(f"-- RecomAMP {body['execution_id']}\n")
    assert "WHERE t.impressions >= 10" in body["rendered_sql"]
    assert body["parameters_snapshot"] == {"ad_product": "all", "min_impressions": 10}
    end = dt.datetime.fromisoformat(body["time_window_end"])
    newest_allowed = timezone.now() - dt.timedelta(days=13)
    assert end <= newest_allowed
    start = dt.datetime.fromisoformat(body["time_window_start"])
    assert end - start == dt.timedelta(days=report.lookback_days)
    report.refresh_from_db()
    assert report.execution_count == 1
    assert report.last_execution.execution_id == body["execution_id"]


def test_a_run_with_an_api_token_is_an_api_run_read_in_few_statements(
    report, analyst, django_assert_max_num_queries
):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    client.post(f"/api/reports/{report.report_id}/run/", {}, format="json")  # slots made

    # Token and user, report with the role, then the run's own writes (no second role read);
    # inside the test's transaction a savepoint and its release, and the slot rows' check
    # (remembered per process only once a transaction commits).
    with django_assert_max_num_queries(12):
        response = client.post(f"/api/reports/{report.report_id}/run/", {}, format="json")

    assert response.status_code == 202, response.json()
    assert response.json()["triggered_by"] == "api"


def test_an_unknown_token_or_an_inactive_user_runs_nothing(report, analyst):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    url = f"/api/reports/{report.report_id}/run/"
    unknown = APIClient(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    # 403, not 401: session authentication comes first and names no WWW-Authenticate scheme.
    assert unknown.post(url, {}, format="json").status_code == 403
    client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    analyst.is_active = False
    analyst.save(update_fields=["is_active"])
    assert client.post(url, {}, format="json").status_code == 403
    assert not ReportExecution.objects.exists()


def test_run_parameters_override_the_saved_ones_and_are_validated(api, report):
    response = api.post(
        f"/api/reports/{report.report_id}/run/",
        {"parameters": {"min_impressions": -5}},
        format="json",
    )
    assert response.status_code == 400
    assert "parameters.min_impressions" in errors_of(response)
    assert not ReportExecution.objects.exists()


@pytest.mark.parametrize("body", ["[]", "null", '"now"', '{"parameters": []}'])
def test_a_run_body_that_is_not_an_object_of_options_is_refused(api, report, body):
    response = api.post(
        f"/api/reports/{report.report_id}/run/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["errors"]
    assert not ReportExecution.objects.exists()


def test_an_empty_body_or_object_runs_with_the_saved_parameters(api, report):
    url = f"/api/reports/{report.report_id}/run/"
    assert api.post(url).status_code == 202
    assert api.post(url, "{}", content_type="application/json").status_code == 202
    snapshots = ReportExecution.objects.values_list("parameters_snapshot", flat=True)
    assert [s["min_impressions"] for s in snapshots] == [10, 10]


@pytest.mark.parametrize(
    "days_ago_start, days_ago_end, field",
    [
        (20, 5, "time_window_end"),  # newer than AMC's data lag
        (500, 400, "time_window_start"),  # older than retention
        (20, 30, "time_window_end"),  # inverted
    ],
)
def test_explicit_windows_follow_amc_rules(api, report, days_ago_start, days_ago_end, field):
    today = timezone.now().date()
    response = api.post(
        f"/api/reports/{report.report_id}/run/",
        {
            "time_window_start": f"{today - dt.timedelta(days=days_ago_start)}T00:00:00Z",
            "time_window_end": f"{today - dt.timedelta(days=days_ago_end)}T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert field in errors_of(response)


def test_only_one_end_of_a_window_is_refused(api, report):
    response = api.post(
        f"/api/reports/{report.report_id}/run/",
        {"time_window_start": "2026-09-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "time_window_end" in errors_of(response)


def test_runs_are_rate_limited_per_user(api, report, settings):
    settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE = 2
    for _ in range(2):
        assert api.post(f"/api/reports/{report.report_id}/run/").status_code == 202
    response = api.post(f"/api/reports/{report.report_id}/run/")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json()["errors"][0]["code"] == "throttled"


def test_runs_are_rate_limited_per_instance(api, report, settings, analyst):
    settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = 1
    ReportExecutionFactory(report=report)  # someone else's run on the same instance
    response = api.post(f"/api/reports/{report.report_id}/run/")
    assert response.status_code == 429


def test_an_inactive_report_does_not_run(api, report):
    assert api.post(f"/api/reports/{report.report_id}/deactivate/").json()["state"] == "inactive"
    response = api.post(f"/api/reports/{report.report_id}/run/")
    assert response.status_code == 409
    assert api.post(f"/api/reports/{report.report_id}/activate/").json()["state"] == "active"


def test_preview_shows_the_rendered_sql_and_problems(api, report):
    response = api.post(
        f"/api/reports/{report.report_id}/preview/",
        {"parameters": {"ad_product": "sponsored_brands"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["complete"] is True
    assert "ad_product_type = 'sponsored_brands'" in body["sql"]

    bad = api.post(
        f"/api/reports/{report.report_id}/preview/",
        {"parameters": {"min_impressions": "x"}},
        format="json",
    ).json()
    assert bad["complete"] is False
    assert bad["errors"][0]["field"] == "parameters.min_impressions"


def test_update_validates_and_audits(api, report):
    response = api.patch(
        f"/api/reports/{report.report_id}/", {"parameters": {"min_impressions": "x"}}, format="json"
    )
    assert response.status_code == 400
    response = api.patch(
        f"/api/reports/{report.report_id}/", {"name": "Renamed", "lookback_days": 30}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert ReportBuilderAudit.objects.filter(action="report changed").count() == 1


def test_delete_report(api, report):
    assert api.delete(f"/api/reports/{report.report_id}/").status_code == 204
    assert api.get(f"/api/reports/{report.report_id}/").status_code == 404
    assert ReportBuilderAudit.objects.filter(report_ref=report.report_id).exists()


def test_overview_in_one_query_with_state_latest_status_next_run_and_favorite(
    api, instance, analyst, catalogue, django_assert_max_num_queries
):
    template = catalogue["impressions-to-purchase-funnel"]
    dashboard = DashboardFactory(instance=instance)
    paused = ReportDefinitionFactory(instance=instance, template=template, dashboard=dashboard)
    next_run = timezone.now() + dt.timedelta(hours=3)
    ReportScheduleFactory(report=paused, is_paused=True, next_run_at=next_run)
    scheduled = ReportDefinitionFactory(instance=instance, template=template)
    ReportScheduleFactory(report=scheduled, next_run_at=next_run)
    ReportExecutionFactory(report=scheduled, status=ExecutionStatus.FAILED)
    ReportExecutionFactory(report=scheduled, status=ExecutionStatus.COMPLETED)
    DashboardFavoriteFactory(dashboard=dashboard, user=analyst)
    for _ in range(10):
        ReportDefinitionFactory(instance=instance, template=template)

    with django_assert_max_num_queries(3):  # session/auth + count + page
        response = api.get("/api/reports/?page_size=100")
    rows = {row["report_id"]: row for row in response.json()["results"]}

    assert rows[paused.report_id]["state"] == "paused"
    assert rows[paused.report_id]["is_favorite"] is True
    assert rows[scheduled.report_id]["state"] == "active"
    assert rows[scheduled.report_id]["latest_status"] == "completed"
    assert rows[scheduled.report_id]["next_run_at"] is not None
    assert rows[scheduled.report_id]["is_favorite"] is False


def test_results_of_an_unfinished_execution_are_a_conflict(api, report):
    execution = ReportExecutionFactory(report=report)
    response = api.get(f"/api/executions/{execution.execution_id}/results/")
    assert response.status_code == 409


def test_cancel_a_pending_execution(api, report):
    execution = ReportExecutionFactory(report=report)
    response = api.post(f"/api/executions/{execution.execution_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = api.post(f"/api/executions/{execution.execution_id}/cancel/")
    assert again.status_code == 409


def test_execution_filters(api, report):
    ReportExecutionFactory(report=report, status=ExecutionStatus.FAILED)
    ReportExecutionFactory(report=report, status=ExecutionStatus.COMPLETED)
    response = api.get(f"/api/executions/?report={report.report_id}&status=failed")
    assert [row["status"] for row in response.json()["results"]] == ["failed"]
    bad = api.get("/api/executions/?status=exploded")
    assert bad.status_code == 400
    assert "status" in errors_of(bad)
