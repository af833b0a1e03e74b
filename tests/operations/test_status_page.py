"""The system status page, in a real browser, over the demo data: a saturated instance, a
stuck run and a failing schedule that the test sets up, each visible and each actionable."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from instances.models import AmcInstance
from operations.models import AlertIncident, IncidentKind
from reports.models import ExecutionSlot, ExecutionStatus, ReportDefinition, TriggeredBy
from schedules.models import ReportSchedule
from tests.factories.instances import AmcInstanceFactory, InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory, ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def troubled_demo(db):
    """The demo data with one saturated instance, one stuck run, one failing schedule."""
    call_command("seed_demo", password="demo-password", verbosity=0)
    now = timezone.now()
    busy = AmcInstance.objects.get(instance_id="amcrecodemo01")
    busy.concurrency_cap = 3
    busy.save()
    report = ReportDefinition.objects.filter(instance=busy).first()
    for number in range(1, 4):
        running = ReportExecutionFactory(
            report=report,
            status=ExecutionStatus.RUNNING,
            phase="submitted",
            started_at=now - timedelta(minutes=2),
            lease_expires_at=now + timedelta(minutes=1),
        )
        ExecutionSlot.objects.create(instance=busy, slot_number=number, execution=running)
    for _ in range(2):
        ReportExecutionFactory(report=report, status=ExecutionStatus.PENDING)
    stuck = ReportExecutionFactory(
        report=report,
        status=ExecutionStatus.RUNNING,
        phase="submitted",
        started_at=now - timedelta(hours=2),
        lease_expires_at=now - timedelta(minutes=20),
    )
    schedule = ReportScheduleFactory(report=report, last_run_status=ExecutionStatus.FAILED)
    for day in range(3):
        ReportExecutionFactory(
            report=report,
            schedule=schedule,
            triggered_by=TriggeredBy.SCHEDULE,
            scheduled_for=now - timedelta(days=3 - day),
            status=ExecutionStatus.FAILED,
            phase="ended",
            error_message="AMC: column spend_usd not found",
            error_details={"status": 400},
            completed_at=now - timedelta(days=3 - day),
        )
    AlertIncident.objects.create(
        kind=IncidentKind.SCHEDULE_FAILING,
        subject=str(schedule.pk),
        report=report,
        instance=busy,
        summary="failed 3 times in a row",
    )
    # Another tenant's trouble, which the demo user must never see.
    other = ReportDefinitionFactory(instance=AmcInstanceFactory(instance_name="Other Client"))
    ReportExecutionFactory(
        report=other,
        status=ExecutionStatus.RUNNING,
        phase="submitted",
        lease_expires_at=now - timedelta(hours=1),
    )
    return {"stuck": stuck, "schedule": schedule}


def test_status_page_shows_saturation_stuck_runs_and_failing_schedules(
    troubled_demo, login_page, live_server
):
    user = get_user_model().objects.get(username="demo")
    page = login_page(user)
    page.goto(f"{live_server.url}/admin/status/")
    card = page.locator('[data-instance="amcrecodemo01"]')
    assert "saturated" in card.inner_text()
    assert card.locator(".slots").inner_text() == "3 / 3"
    assert card.locator(".waiting").inner_text() == "2"
    assert "column spend_usd not found" in card.inner_text()
    stuck = page.locator("#stuck")
    assert troubled_demo["stuck"].execution_id in stuck.inner_text()
    assert "lease lapsed" in stuck.inner_text()
    failing = page.locator("#failing")
    assert troubled_demo["schedule"].schedule_id in failing.inner_text()
    assert "open since" in failing.inner_text()
    assert "Other Client" not in page.content()
    screenshot(page, "status-page")

    # Pausing the failing schedule from the page goes through the schedule service.
    failing.get_by_role("button", name="Pause").click()
    page.wait_for_load_state()
    assert "paused" in page.locator(".messagelist").inner_text()
    assert ReportSchedule.objects.get(pk=troubled_demo["schedule"].pk).is_paused
    screenshot(page, "status-page-after-pause")


def test_actions_on_another_tenants_runs_are_404(troubled_demo, client):
    outsider = UserFactory(is_staff=True)
    InstanceAccessFactory(user=outsider, instance=AmcInstanceFactory())
    client.force_login(outsider)
    page = client.get("/admin/status/")
    assert page.status_code == 200
    assert troubled_demo["stuck"].execution_id not in page.content.decode()
    for action, pk in [
        ("cancel", troubled_demo["stuck"].pk),
        ("retry", troubled_demo["stuck"].pk),
        ("pause", troubled_demo["schedule"].pk),
        ("pause", "not-a-uuid"),
    ]:
        assert client.post("/admin/status/", {"action": action, "id": pk}).status_code == 404
    assert not ReportSchedule.objects.get(pk=troubled_demo["schedule"].pk).is_paused


def test_a_viewer_sees_the_page_but_cannot_act(troubled_demo, client):
    from instances.models import AccessRole

    viewer = UserFactory(is_staff=True)
    InstanceAccessFactory(
        user=viewer,
        instance=AmcInstance.objects.get(instance_id="amcrecodemo01"),
        role=AccessRole.VIEWER,
    )
    client.force_login(viewer)
    assert troubled_demo["stuck"].execution_id in client.get("/admin/status/").content.decode()
    response = client.post(
        "/admin/status/", {"action": "cancel", "id": troubled_demo["stuck"].pk}, follow=True
    )
    assert response.status_code == 200
    assert "permission" in response.content.decode().lower()
    troubled_demo["stuck"].refresh_from_db()
    assert troubled_demo["stuck"].cancel_requested is False
