"""DST through the dispatcher: simulated days around both transitions of three zones.

The dispatcher is driven with its `now` parameter every 15 minutes (every fire time below lies
on that UTC grid, so each is reached on time) from local midnight of the day before a
transition to local midnight of the day after it, and the executions are counted.
Policy: cron.py's docstring and the README.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports.models import ReportExecution
from schedules import cron, services
from tests.factories.reports import ReportDefinitionFactory
from tests.schedules.conftest import make_schedule

pytestmark = pytest.mark.usefixtures("engine_tasks")

TICK = timedelta(minutes=15)

# (zone, transition day, daily 02:30 fires at (UTC), 15-minute runs in that local day)
CASES = {
    # 02:00 CET -> 03:00 CEST: 02:30 does not exist, runs once at 03:00 CEST.
    "berlin-spring": ("Europe/Berlin", date(2026, 3, 29), datetime(2026, 3, 29, 1, 0), 92),
    # 03:00 CEST -> 02:00 CET: 02:30 happens twice, runs at the first (CEST).
    "berlin-fall": ("Europe/Berlin", date(2026, 10, 25), datetime(2026, 10, 25, 0, 30), 100),
    # 02:00 EST -> 03:00 EDT: runs once at 03:00 EDT.
    "new-york-spring": ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 8, 7, 0), 92),
    # 02:00 EDT -> 01:00 EST: 02:30 is not repeated (01:00-02:00 is), runs at 02:30 EST.
    "new-york-fall": ("America/New_York", date(2026, 11, 1), datetime(2026, 11, 1, 7, 30), 100),
    # 02:00 +10:30 -> 02:30 +11 (a half-hour shift): 02:30 exists, once, at +11.
    "lord-howe-spring": (
        "Australia/Lord_Howe",
        date(2026, 10, 4),
        datetime(2026, 10, 3, 15, 30),
        94,
    ),
    # 02:00 +11 -> 01:30 +10:30: 01:30-02:00 repeats, 02:30 does not; once, at +10:30.
    "lord-howe-fall": ("Australia/Lord_Howe", date(2026, 4, 5), datetime(2026, 4, 4, 16, 0), 98),
}


def local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize("case", CASES)
def test_daily_runs_once_a_day_and_every_15_minutes_never_twice_at_one_instant(report, case):
    zone, day, daily_fire, quarter_hour_runs = CASES[case]
    start = local_midnight(day - timedelta(days=1), zone)
    end = local_midnight(day + timedelta(days=1), zone)
    schedules = {}
    for expression in ("30 2 * * *", "*/15 * * * *"):
        target = ReportDefinitionFactory(
            instance=report.instance, owner=report.owner, template=report.template
        )
        schedules[expression] = make_schedule(
            report=target,
            cron_expression=expression,
            timezone=zone,
            # As stored by create_schedule a moment before the simulation starts.
            next_run_at=cron.next_run_after(expression, zone, start - timedelta(seconds=1)),
        )

    now = start
    while now < end:
        result = services.dispatch_due_schedules(now=now)
        assert result.created <= 2  # at most one run per schedule per tick
        now += TICK

    daily = runs(schedules["30 2 * * *"])
    assert [run.astimezone(ZoneInfo(zone)).date() for run in daily] == [
        day - timedelta(days=1),
        day,
    ]
    assert daily[1] == daily_fire.replace(tzinfo=UTC)

    quarter = runs(schedules["*/15 * * * *"])
    assert len(set(quarter)) == len(quarter)
    assert {b - a for a, b in zip(quarter, quarter[1:], strict=False)} == {timedelta(minutes=15)}
    assert quarter[0] == start and quarter[-1] == end - timedelta(minutes=15)
    transition_day = [r for r in quarter if r.astimezone(ZoneInfo(zone)).date() == day]
    assert len(transition_day) == quarter_hour_runs


def runs(schedule) -> list[datetime]:
    return list(
        ReportExecution.objects.filter(schedule=schedule)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    )
