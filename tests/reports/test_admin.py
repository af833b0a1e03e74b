import pytest
from django.test import Client

from reports.models import ExecutionStatus, ReportExecution
from tests.factories.reports import ReportDefinitionFactory, ReportExecutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(analyst):
    from instances.services import ensure_analysts_group

    analyst.is_staff = True
    analyst.save()
    analyst.groups.add(ensure_analysts_group())
    client = Client()
    client.force_login(analyst)
    return client


def test_run_now_action_starts_an_execution(admin_client_for, report):
    response = admin_client_for.post(
        "/admin/reports/reportdefinition/",
        {"action": "run_now", "_selected_action": [report.pk]},
        follow=True,
    )
    assert response.status_code == 200
    execution = ReportExecution.objects.get(report=report)
    assert execution.status == ExecutionStatus.PENDING
    assert execution.execution_id in response.text


def test_cancel_action_cancels(admin_client_for, report):
    execution = ReportExecutionFactory(report=report)
    admin_client_for.post(
        "/admin/reports/reportexecution/",
        {"action": "cancel", "_selected_action": [execution.pk]},
    )
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED


def test_admin_lists_hide_foreign_instances(admin_client_for, report, foreign_instance):
    foreign = ReportDefinitionFactory(instance=foreign_instance, name="Someone else's report")
    page = admin_client_for.get("/admin/reports/reportdefinition/")
    assert report.name in page.text
    assert foreign.name not in page.text
    assert admin_client_for.get(
        f"/admin/reports/reportdefinition/{foreign.pk}/change/"
    ).status_code in (302, 404)
