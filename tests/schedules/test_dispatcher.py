"""The dispatcher: claims due schedules, runs each once per scheduled time, advances them."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports.models import ExecutionStatus, ReportExecution, TriggeredBy
from reports.services import reports as report_services
from schedules import services
from schedules.models import ReportSchedule
from tests.schedules.conftest import make_schedule

pytestmark = pytest.mark.usefixtures("engine_tasks")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs_of(schedule) -> list[datetime]:
    return list(
        ReportExecution.objects.filter(schedule=schedule)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    )


def test_a_due_schedule_gets_one_pending_execution_and_moves_to_its_next_time(report, engine_tasks):
    schedule = make_schedule(
        report=report,
        cron_expression="0 9 * * *",
        timezone="Europe/Berlin",
        next_run_at=utc(2026, 5, 4, 7),
        default_parameters={"min_impressions": 50},
    )

    result = services.dispatch_due_schedules(now=utc(2026, 5, 4, 7, 0, 3))

    assert (result.claimed, result.created, result.skipped) == (1, 1, 0)
    execution = ReportExecution.objects.get(schedule=schedule)
    assert execution.status == ExecutionStatus.PENDING
    assert execution.triggered_by == TriggeredBy.SCHEDULE
    assert execution.scheduled_for == utc(2026, 5, 4, 7)
    assert execution.user == report.owner
    assert execution.parameters_snapshot["min_impressions"] == 50
    assert execution.rendered_sql.startswith(f"-- RecomAMP {execution.execution_id}\n")
    assert "t.impressions >= 50" in execution.rendered_sql
    schedule.refresh_from_db()
    assert schedule.next_run_at == utc(2026, 5, 5, 7)
    report.refresh_from_db()
    assert (report.execution_count, report.last_execution) == (1, execution)
    assert ("start_execution", str(execution.pk)) in engine_tasks


def test_the_window_is_the_lookback_ending_at_the_data_lag_as_of_the_scheduled_day(report):
    report.lookback_days = 7
    report.timezone = "America/New_York"
    report.save()
    # 02:00 UTC on May 5 is still May 4 in New York.
    make_schedule(
        report=report,
        cron_expression="0 22 * * *",
        timezone="America/New_York",
        next_run_at=utc(2026, 5, 5, 2),
    )

    services.dispatch_due_schedules(now=utc(2026, 5, 5, 2, 0, 1))

    execution = ReportExecution.objects.get(report=report)
    newest_complete = date(2026, 5, 4) - timedelta(days=14)  # April 20
    start = execution.time_window_start.astimezone(ZoneInfo("America/New_York"))
    end = execution.time_window_end.astimezone(ZoneInfo("America/New_York"))
    assert (start.date(), start.hour) == (newest_complete - timedelta(days=6), 0)
    assert (end.date(), end.hour) == (newest_complete + timedelta(days=1), 0)


def test_a_second_tick_at_the_same_time_creates_nothing(report):
    schedule = make_schedule(
        report=report, cron_expression="*/15 * * * *", timezone="UTC", next_run_at=utc(2026, 1, 1)
    )
    now = utc(2026, 1, 1, 0, 0, 2)
    services.dispatch_due_schedules(now=now)
    again = services.dispatch_due_schedules(now=now)

    assert (again.claimed, again.created) == (0, 0)
    assert runs_of(schedule) == [utc(2026, 1, 1)]


def test_the_unique_constraint_refuses_a_run_that_already_exists(report):
    schedule = make_schedule(
        report=report, cron_expression="0 * * * *", timezone="UTC", next_run_at=utc(2026, 1, 1, 5)
    )
    services.dispatch_due_schedules(now=utc(2026, 1, 1, 5, 0, 1))
    # Something moved next_run_at back to a time that already ran (a restored backup, a
    # hand edit): the dispatcher advances it but cannot run that time again.
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=utc(2026, 1, 1, 5))

    result = services.dispatch_due_schedules(now=utc(2026, 1, 1, 5, 0, 30))

    assert (result.claimed, result.created, result.skipped) == (1, 0, 1)
    assert runs_of(schedule) == [utc(2026, 1, 1, 5)]
    schedule.refresh_from_db()
    assert schedule.next_run_at == utc(2026, 1, 1, 6)


def test_schedules_not_due_paused_or_inactive_are_left_alone(report, catalogue):
    from tests.factories.reports import ReportDefinitionFactory

    other = ReportDefinitionFactory(
        instance=report.instance, owner=report.owner, template=report.template
    )
    third = ReportDefinitionFactory(
        instance=report.instance, owner=report.owner, template=report.template
    )
    future = make_schedule(
        report=report, cron_expression="0 9 * * *", timezone="UTC", next_run_at=utc(2026, 1, 2, 9)
    )
    paused = make_schedule(
        report=other,
        cron_expression="0 9 * * *",
        timezone="UTC",
        next_run_at=utc(2026, 1, 1, 9),
        is_paused=True,
    )
    inactive = make_schedule(
        report=third,
        cron_expression="0 9 * * *",
        timezone="UTC",
        next_run_at=utc(2026, 1, 1, 9),
        is_active=False,
    )

    result = services.dispatch_due_schedules(now=utc(2026, 1, 1, 10))

    assert result.claimed == 0
    assert not ReportExecution.objects.exists()
    for schedule, expected in [
        (future, utc(2026, 1, 2, 9)),
        (paused, utc(2026, 1, 1, 9)),
        (inactive, utc(2026, 1, 1, 9)),
    ]:
        schedule.refresh_from_db()
        assert schedule.next_run_at == expected


def test_deactivating_the_report_stops_its_schedule_without_a_catch_up_later(report, analyst):
    schedule = make_schedule(
        report=report, cron_expression="0 9 * * *", timezone="UTC", next_run_at=utc(2026, 1, 1, 9)
    )
    report_services.set_report_active(report=report, user=analyst, active=False)

    result = services.dispatch_due_schedules(now=utc(2026, 1, 1, 9, 0, 1))

    assert (result.created, result.skipped) == (0, 1)
    assert not ReportExecution.objects.exists()
    schedule.refresh_from_db()
    assert schedule.next_run_at == utc(2026, 1, 2, 9)

    # Reactivated three days later: the next fire time runs, the missed ones do not.
    report_services.set_report_active(report=report, user=analyst, active=True)
    services.dispatch_due_schedules(now=utc(2026, 1, 2, 9, 0, 1))
    services.dispatch_due_schedules(now=utc(2026, 1, 3, 9, 0, 1))
    report_services.set_report_active(report=report, user=analyst, active=False)
    services.dispatch_due_schedules(now=utc(2026, 1, 4, 9, 0, 1))
    services.dispatch_due_schedules(now=utc(2026, 1, 5, 9, 0, 1))
    report_services.set_report_active(report=report, user=analyst, active=True)
    services.dispatch_due_schedules(now=utc(2026, 1, 5, 12))
    services.dispatch_due_schedules(now=utc(2026, 1, 6, 9, 0, 1))

    assert runs_of(schedule) == [utc(2026, 1, 2, 9), utc(2026, 1, 3, 9), utc(2026, 1, 6, 9)]


def test_pause_resume_and_edit_take_effect_at_the_next_tick(report, analyst):
    schedule = services.create_schedule(
        report=report,
        user=analyst,
        schedule_type="daily",
        schedule_config={"time": "09:00", "timezone": "UTC"},
        now=utc(2026, 1, 1, 8),
    )
    assert schedule.next_run_at == utc(2026, 1, 1, 9)

    services.pause_schedule(schedule=schedule, user=analyst)
    services.dispatch_due_schedules(now=utc(2026, 1, 1, 9, 0, 5))
    services.dispatch_due_schedules(now=utc(2026, 1, 2, 9, 0, 5))
    assert runs_of(schedule) == []

    # Resumed on Jan 2 at 10:00: the paused days are not caught up.
    schedule = services.resume_schedule(schedule=schedule, user=analyst, now=utc(2026, 1, 2, 10))
    assert schedule.next_run_at == utc(2026, 1, 3, 9)
    services.dispatch_due_schedules(now=utc(2026, 1, 2, 10, 0, 5))
    assert runs_of(schedule) == []

    # Edited to 06:30 before the next run: the old time never fires.
    schedule = services.update_schedule(
        schedule=schedule,
        user=analyst,
        schedule_config={"time": "06:30", "timezone": "UTC"},
        now=utc(2026, 1, 2, 11),
    )
    assert schedule.cron_expression == "30 6 * * *"
    assert schedule.next_run_at == utc(2026, 1, 3, 6, 30)
    services.dispatch_due_schedules(now=utc(2026, 1, 3, 6, 30, 5))
    services.dispatch_due_schedules(now=utc(2026, 1, 3, 9, 0, 5))
    assert runs_of(schedule) == [utc(2026, 1, 3, 6, 30)]


def test_three_hours_down_runs_each_schedule_at_most_once_for_the_gap(report, catalogue):
    from tests.factories.reports import ReportDefinitionFactory

    expressions = ["*/15 * * * *", "0 * * * *", "30 1 * * *", "0 9 * * *", "*/5 * * * *"]
    schedules = []
    for expression in expressions:
        target = ReportDefinitionFactory(
            instance=report.instance, owner=report.owner, template=report.template
        )
        schedules.append(
            services.create_schedule(
                report=target,
                user=report.owner,
                schedule_type="custom",
                cron_expression=expression,
                timezone_name="Europe/Berlin",
                now=utc(2026, 3, 10, 0, 0),
            )
        )
    tick = timedelta(minutes=1)
    now = utc(2026, 3, 10, 0, 0)
    while now < utc(2026, 3, 10, 0, 30):
        services.dispatch_due_schedules(now=now)
        now += tick
    before = {s.pk: len(runs_of(s)) for s in schedules}
    down_from, back_at = now, now + timedelta(hours=3)

    result = services.dispatch_due_schedules(now=back_at)

    # Only the daily 09:00 Berlin (08:00 UTC) has no fire time in 00:30-03:30 UTC.
    assert (result.claimed, result.created) == (4, 4)
    for schedule in schedules:
        schedule.refresh_from_db()
        in_gap = [r for r in runs_of(schedule) if down_from <= r <= back_at]
        assert len(in_gap) <= 1
        assert schedule.next_run_at > back_at
    by_expression = {s.cron_expression: s for s in schedules}
    # The one catch-up is the latest missed time.
    assert runs_of(by_expression["*/15 * * * *"])[-1] == utc(2026, 3, 10, 3, 30)
    assert runs_of(by_expression["30 1 * * *"]) == [utc(2026, 3, 10, 0, 30)]
    assert runs_of(by_expression["0 * * * *"])[-1] == utc(2026, 3, 10, 3)
    assert by_expression["*/15 * * * *"].next_run_at == utc(2026, 3, 10, 3, 45)
    assert sum(before.values()) == 1 + 0 + 0 + 0 + 5
    # Then it goes on as usual.
    services.dispatch_due_schedules(now=utc(2026, 3, 10, 3, 45, 1))
    assert runs_of(by_expression["*/15 * * * *"])[-1] == utc(2026, 3, 10, 3, 45)


def test_one_poisoned_schedule_among_100_fails_alone_and_the_others_run_in_the_same_tick(
    instance, analyst, catalogue, engine_tasks
):
    from reports.models import ReportDefinition
    from tests.factories.reports import ReportDefinitionFactory

    due = utc(2026, 1, 1, 9)
    schedules = []
    for _ in range(100):
        report = ReportDefinitionFactory(
            instance=instance,
            owner=analyst,
            template=catalogue["campaign-performance-daily"],
            parameters={"min_impressions": 10},
        )
        schedules.append(
            make_schedule(
                report=report, cron_expression="0 9 * * *", timezone="UTC", next_run_at=due
            )
        )
    poisoned = schedules[37]
    ReportDefinition.objects.filter(pk=poisoned.report_id).update(timezone="Mars/Olympus_Mons")

    result = services.dispatch_due_schedules(now=utc(2026, 1, 1, 9, 0, 1))

    assert (result.claimed, result.created, result.failed) == (100, 100, 1)
    runs = ReportExecution.objects.filter(schedule__in=schedules)
    assert runs.filter(status=ExecutionStatus.PENDING).count() == 99
    failed = runs.get(status=ExecutionStatus.FAILED)
    assert failed.schedule_id == poisoned.pk
    assert "Mars/Olympus_Mons" in failed.error_message
    assert failed.events.get().to_status == "failed"
    for schedule in schedules:
        schedule.refresh_from_db()
        assert schedule.next_run_at == utc(2026, 1, 2, 9)
