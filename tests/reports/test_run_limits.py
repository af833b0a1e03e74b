"""Run requests against broken reports and the per-user and per-instance limits: concurrent
requests on a live server over HTTP, on PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from instances.models import AccessRole
from reports.models import ReportDefinition, ReportExecution
from tests.factories.instances import InstanceAccessFactory
from tests.factories.reports import ReportDefinitionFactory


@pytest.fixture
def live_report(transactional_db, catalogue, settings):
    access = InstanceAccessFactory(role=AccessRole.ANALYST)
    report = ReportDefinitionFactory(
        instance=access.instance,
        owner=access.user,
        template=catalogue["campaign-performance-daily"],
        parameters={"min_impressions": 10},
    )
    return report, Token.objects.create(user=access.user).key


def fire(url: str, token: str, count: int) -> list[requests.Response]:
    def one(_):
        return requests.post(url, json={}, headers={"Authorization": f"Token {token}"}, timeout=30)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("limit_name", ["PER_USER", "PER_INSTANCE"])
def test_ten_concurrent_runs_against_a_limit_of_three_create_exactly_three(
    live_server, live_report, settings, limit_name
):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL")
    settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE = 1000
    settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = 1000
    setattr(settings, f"RECOMAMP_RUNS_{limit_name}_PER_MINUTE", 3)
    report, token = live_report

    responses = fire(f"{live_server.url}/api/reports/{report.report_id}/run/", token, 10)

    codes = sorted(r.status_code for r in responses)
    assert codes == [202] * 3 + [429] * 7, [r.text for r in responses]
    assert all(r.headers["Retry-After"] == "60" for r in responses if r.status_code == 429)
    assert ReportExecution.objects.filter(report=report).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["run", "preview"])
def test_a_report_with_an_unknown_timezone_answers_400_naming_the_field(api, report, action):
    ReportDefinition.objects.filter(pk=report.pk).update(timezone="Mars/Olympus_Mons")

    response = api.post(f"/api/reports/{report.report_id}/{action}/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "timezone"
    assert not ReportExecution.objects.exists()


@pytest.mark.django_db
def test_a_report_whose_template_no_longer_renders_answers_400_naming_the_field(api, report):
    report.template.sql_query = "SELECT {{nope"
    report.template.save()

    response = api.post(f"/api/reports/{report.report_id}/run/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith(("template", "parameters"))
