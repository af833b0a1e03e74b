"""Schedule services: counters when runs end, a run whose SQL cannot render, admin actions."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from reports import engine
from reports.engine import states
from reports.models import ExecutionPhase, ExecutionStatus, ReportExecution
from reports.signals import execution_finished
from schedules import services
from schedules.models import ReportSchedule
from tests.schedules.conftest import make_schedule

pytestmark = pytest.mark.usefixtures("engine_tasks")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def end_execution(execution: ReportExecution, status: str) -> None:
    """What the engine does when AMC is done: the terminal transition, then the signal."""
    end_state = {
        ExecutionStatus.COMPLETED: states.COMPLETED,
        ExecutionStatus.FAILED: states.FAILED,
        ExecutionStatus.CANCELLED: states.CANCELLED,
    }[status]
    if status == ExecutionStatus.COMPLETED:
        ReportExecution.objects.filter(pk=execution.pk).update(
            status=ExecutionStatus.RUNNING, phase=ExecutionPhase.DOWNLOADING
        )
    assert engine.finish(execution.pk, end_state)
    execution.refresh_from_db()
    execution_finished.send(sender=ReportExecution, execution=execution)


def test_finished_runs_update_last_run_and_the_counts(report):
    schedule = make_schedule(
        report=report, cron_expression="0 * * * *", timezone="UTC", next_run_at=utc(2026, 1, 1, 5)
    )
    services.dispatch_due_schedules(now=utc(2026, 1, 1, 5, 0, 1))
    services.dispatch_due_schedules(now=utc(2026, 1, 1, 6, 0, 1))
    older, newer = ReportExecution.objects.filter(schedule=schedule).order_by("scheduled_for")

    end_execution(newer, ExecutionStatus.FAILED)
    schedule.refresh_from_db()
    assert (schedule.last_run_at, schedule.last_run_status) == (utc(2026, 1, 1, 6), "failed")
    assert (schedule.run_count, schedule.failure_count) == (1, 1)

    # The older run ends later: counted, but it does not become the "last run".
    end_execution(older, ExecutionStatus.COMPLETED)
    schedule.refresh_from_db()
    assert (schedule.last_run_at, schedule.last_run_status) == (utc(2026, 1, 1, 6), "failed")
    assert (schedule.run_count, schedule.failure_count) == (2, 1)


def test_a_run_whose_parameters_no_longer_render_is_recorded_as_failed(
    report, engine_tasks, django_capture_on_commit_callbacks
):
    schedule = make_schedule(
        report=report,
        cron_expression="0 9 * * *",
        timezone="UTC",
        next_run_at=utc(2026, 1, 1, 9),
        default_parameters={"min_impressions": "many"},
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = services.dispatch_due_schedules(now=utc(2026, 1, 1, 9, 0, 1))

    assert (result.created, result.failed) == (1, 1)
    execution = ReportExecution.objects.get(schedule=schedule)
    assert execution.status == ExecutionStatus.FAILED
    assert "min_impressions" in execution.error_message
    assert engine_tasks == []
    schedule.refresh_from_db()
    assert (schedule.last_run_status, schedule.run_count, schedule.failure_count) == (
        "failed",
        1,
        1,
    )
    assert schedule.next_run_at == utc(2026, 1, 2, 9)


def test_many_due_schedules_are_claimed_in_batches(report, catalogue):
    from tests.factories.reports import ReportDefinitionFactory

    for _ in range(7):
        target = ReportDefinitionFactory(
            instance=report.instance, owner=report.owner, template=report.template
        )
        make_schedule(
            report=target,
            cron_expression="0 9 * * *",
            timezone="UTC",
            next_run_at=utc(2026, 1, 1, 9),
        )

    result = services.dispatch_due_schedules(now=utc(2026, 1, 1, 9, 0, 1), batch_size=3)

    assert (result.batches, result.claimed, result.created) == (3, 7, 7)
    assert not ReportSchedule.objects.filter(next_run_at__lte=utc(2026, 1, 1, 9, 0, 1)).exists()


def test_admin_actions_pause_and_resume(report, client):
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    schedule = services.create_schedule(
        report=report, user=admin_user, schedule_type="custom", cron_expression="0 9 * * *"
    )
    url = "/admin/schedules/reportschedule/"

    client.post(url, {"action": "pause", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.is_paused
    client.post(url, {"action": "resume", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert not schedule.is_paused
    assert client.get(url).status_code == 200
    assert client.get(f"{url}{schedule.pk}/change/").status_code == 200


def test_the_admin_form_validates_through_the_service(report, client):
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    url = "/admin/schedules/reportschedule/add/"
    form = {
        "report": report.pk,
        "schedule_type": "daily",
        "schedule_config": '{"time": "07:45"}',
        "cron_expression": "",
        "timezone": "Europe/Berlin",
        "default_parameters": "{}",
    }

    bad = client.post(url, {**form, "schedule_config": '{"time": "7"}'})
    assert bad.status_code == 200 and not ReportSchedule.objects.exists()
    good = client.post(url, form)
    assert good.status_code == 302
    schedule = ReportSchedule.objects.get()
    assert (schedule.cron_expression, schedule.timezone) == ("45 7 * * *", "Europe/Berlin")
    assert schedule.next_run_at is not None


def test_the_dispatcher_periodic_task_exists_and_ticks_every_few_seconds(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Schedule dispatcher")
    assert task.task == "schedules.dispatch_due"
    assert task.enabled
    assert task.interval.period == "seconds" and task.interval.every <= 10


def test_the_dispatcher_task_runs_what_is_due_now(report):
    from django.utils import timezone

    from schedules.tasks import dispatch_due_schedules

    schedule = make_schedule(
        report=report,
        cron_expression="0 9 * * *",
        timezone="UTC",
        next_run_at=timezone.now().replace(microsecond=0),
    )

    assert dispatch_due_schedules.apply().get()["created"] == 1
    assert dispatch_due_schedules.apply().get()["created"] == 0
    assert ReportExecution.objects.filter(schedule=schedule).count() == 1
