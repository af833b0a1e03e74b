"""The DST policy, checked by hand-computed instants around real 2026 and 2027 transitions.

Policy (schedules/cron.py docstring, README "Schedules and daylight saving time"):
- a skipped wall time runs once, at the first valid instant after it (the transition);
- a repeated wall time runs once, at its first occurrence;
- schedules running in every hour (hour field *) also run in the repeated hour's second pass,
  so they keep their real-time spacing;
- fire times strictly increase and never repeat an instant.
"""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.cron import next_run_after, preview_runs

BERLIN, NEW_YORK, LORD_HOWE = "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs_between(expression: str, timezone: str, start: datetime, end: datetime) -> list[datetime]:
    runs, moment = [], start
    while True:
        moment = next_run_after(expression, timezone, moment)
        if moment > end:
            return runs
        runs.append(moment)


# (zone, local date of the transition, UTC offset before, after, transition instant)
TRANSITIONS = [
    (BERLIN, date(2026, 3, 29), 1, 2, utc(2026, 3, 29, 1, 0)),
    (BERLIN, date(2026, 10, 25), 2, 1, utc(2026, 10, 25, 1, 0)),
    (BERLIN, date(2027, 3, 28), 1, 2, utc(2027, 3, 28, 1, 0)),
    (BERLIN, date(2027, 10, 31), 2, 1, utc(2027, 10, 31, 1, 0)),
    (NEW_YORK, date(2026, 3, 8), -5, -4, utc(2026, 3, 8, 7, 0)),
    (NEW_YORK, date(2026, 11, 1), -4, -5, utc(2026, 11, 1, 6, 0)),
    (NEW_YORK, date(2027, 3, 14), -5, -4, utc(2027, 3, 14, 7, 0)),
    (NEW_YORK, date(2027, 11, 7), -4, -5, utc(2027, 11, 7, 6, 0)),
    (LORD_HOWE, date(2026, 4, 5), 11, 10.5, utc(2026, 4, 4, 15, 0)),
    (LORD_HOWE, date(2026, 10, 4), 10.5, 11, utc(2026, 10, 3, 15, 30)),
    (LORD_HOWE, date(2027, 4, 4), 11, 10.5, utc(2027, 4, 3, 15, 0)),
    (LORD_HOWE, date(2027, 10, 3), 10.5, 11, utc(2027, 10, 2, 15, 30)),
]
TRANSITION_IDS = [f"{zone}-{day}" for zone, day, *_ in TRANSITIONS]


@pytest.mark.parametrize(("zone", "day", "before", "after", "instant"), TRANSITIONS)
def test_transition_table_matches_the_tz_database(zone, day, before, after, instant):
    tz = ZoneInfo(zone)
    assert (instant - timedelta(seconds=1)).astimezone(tz).utcoffset() == timedelta(hours=before)
    assert instant.astimezone(tz).utcoffset() == timedelta(hours=after)
    assert instant.astimezone(tz).date() == day


# 02:30 daily: the UTC instant it must fire at on each transition day.
DAILY_0230_ON_TRANSITION_DAY = {
    # Berlin skips 02:00-02:59: 02:30 runs at 03:00 CEST. Berlin repeats 02:00-02:59: the first
    # 02:30 (CEST) runs, the second (CET) does not.
    (BERLIN, date(2026, 3, 29)): utc(2026, 3, 29, 1, 0),
    (BERLIN, date(2026, 10, 25)): utc(2026, 10, 25, 0, 30),
    (BERLIN, date(2027, 3, 28)): utc(2027, 3, 28, 1, 0),
    (BERLIN, date(2027, 10, 31)): utc(2027, 10, 31, 0, 30),
    # New York skips 02:00-02:59 (runs at 03:00 EDT) and repeats 01:00-01:59, so the fall-back
    # 02:30 is an ordinary EST time.
    (NEW_YORK, date(2026, 3, 8)): utc(2026, 3, 8, 7, 0),
    (NEW_YORK, date(2026, 11, 1)): utc(2026, 11, 1, 7, 30),
    (NEW_YORK, date(2027, 3, 14)): utc(2027, 3, 14, 7, 0),
    (NEW_YORK, date(2027, 11, 7)): utc(2027, 11, 7, 7, 30),
    # Lord Howe skips 02:00-02:29 and repeats 01:30-01:59: 02:30 is unaffected both ways.
    (LORD_HOWE, date(2026, 4, 5)): utc(2026, 4, 4, 16, 0),
    (LORD_HOWE, date(2026, 10, 4)): utc(2026, 10, 3, 15, 30),
    (LORD_HOWE, date(2027, 4, 4)): utc(2027, 4, 3, 16, 0),
    (LORD_HOWE, date(2027, 10, 3)): utc(2027, 10, 2, 15, 30),
}


@pytest.mark.parametrize(("zone", "day"), list(DAILY_0230_ON_TRANSITION_DAY))
def test_daily_0230_runs_exactly_once_each_local_day_around_a_transition(zone, day):
    tz = ZoneInfo(zone)
    first_day, last_day = day - timedelta(days=4), day + timedelta(days=4)
    start = datetime.combine(first_day, time(0, 0), tz)
    end = datetime.combine(last_day, time(23, 59), tz)

    runs = runs_between("30 2 * * *", zone, start, end)

    per_day = Counter(run.astimezone(tz).date() for run in runs)
    expected_days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    assert list(per_day) == expected_days
    assert set(per_day.values()) == {1}
    for run in runs:
        local_day = run.astimezone(tz).date()
        if local_day == day:
            assert run == DAILY_0230_ON_TRANSITION_DAY[(zone, day)]
        else:
            assert run == datetime.combine(local_day, time(2, 30), tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("expression", "zone", "day", "expected_utc", "expected_local"),
    [
        # Lord Howe's 30-minute shift: 02:15 does not exist, 02:30 is the first valid instant.
        ("15 2 * * *", LORD_HOWE, date(2026, 10, 4), utc(2026, 10, 3, 15, 30), "02:30+11:00"),
        ("15 2 * * *", LORD_HOWE, date(2027, 10, 3), utc(2027, 10, 2, 15, 30), "02:30+11:00"),
        # 01:45 happens twice on Lord Howe's fall-back night (+11:00, then +10:30): first one.
        ("45 1 * * *", LORD_HOWE, date(2026, 4, 5), utc(2026, 4, 4, 14, 45), "01:45+11:00"),
        ("45 1 * * *", LORD_HOWE, date(2027, 4, 4), utc(2027, 4, 3, 14, 45), "01:45+11:00"),
        # New York repeats 01:00-01:59: first occurrence is EDT.
        ("30 1 * * *", NEW_YORK, date(2026, 11, 1), utc(2026, 11, 1, 5, 30), "01:30-04:00"),
        ("30 1 * * *", NEW_YORK, date(2027, 11, 7), utc(2027, 11, 7, 5, 30), "01:30-04:00"),
        # A skipped 02:00 on the hour also runs at the transition.
        ("0 2 * * *", BERLIN, date(2026, 3, 29), utc(2026, 3, 29, 1, 0), "03:00+02:00"),
        ("59 2 * * *", NEW_YORK, date(2027, 3, 14), utc(2027, 3, 14, 7, 0), "03:00-04:00"),
    ],
)
def test_skipped_and_repeated_daily_times_run_once_on_the_transition_day(
    expression, zone, day, expected_utc, expected_local
):
    tz = ZoneInfo(zone)
    start = datetime.combine(day - timedelta(days=2), time(12, 0), tz)
    end = datetime.combine(day + timedelta(days=2), time(12, 0), tz)

    on_day = [
        r for r in runs_between(expression, zone, start, end) if r.astimezone(tz).date() == day
    ]

    assert on_day == [expected_utc]
    assert (
        on_day[0].astimezone(tz).isoformat()[11:] == expected_local[:5] + ":00" + expected_local[5:]
    )


@pytest.mark.parametrize(
    ("zone", "day", "before", "after", "instant"), TRANSITIONS, ids=TRANSITION_IDS
)
def test_every_15_minutes_keeps_15_real_minutes_across_the_transition(
    zone, day, before, after, instant
):
    runs = runs_between(
        "*/15 * * * *", zone, instant - timedelta(hours=6), instant + timedelta(hours=6)
    )

    assert len(set(runs)) == len(runs)
    assert runs == sorted(runs)
    # Interval schedules fire at every real 15-minute instant: skipped wall times collapse into
    # the transition (which is itself on the 15-minute grid here), repeated ones run twice.
    assert {b - a for a, b in zip(runs, runs[1:], strict=False)} == {timedelta(minutes=15)}
    assert len(runs) == 48


@pytest.mark.parametrize(
    ("zone", "day", "before", "after", "instant"), TRANSITIONS, ids=TRANSITION_IDS
)
def test_every_15_minutes_local_clock_readings_around_the_transition(
    zone, day, before, after, instant
):
    tz = ZoneInfo(zone)
    runs = runs_between(
        "*/15 * * * *", zone, instant - timedelta(hours=2), instant + timedelta(hours=2)
    )
    readings = [run.astimezone(tz).strftime("%H:%M%z") for run in runs]
    shift = timedelta(hours=after - before)
    wall_at_transition = instant.astimezone(tz)
    if shift > timedelta(0):
        # Spring forward: the clock jumps straight from the last pre-transition quarter to the
        # transition; no reading from inside the gap appears.
        skipped_start = (wall_at_transition - shift).replace(tzinfo=None)
        assert not any(
            skipped_start
            <= run.astimezone(tz).replace(tzinfo=None)
            < wall_at_transition.replace(tzinfo=None)
            for run in runs
        )
        assert wall_at_transition.strftime("%H:%M%z") in readings
    else:
        # Fall back: every repeated quarter is read twice, once per offset.
        repeated = Counter(run.astimezone(tz).strftime("%H:%M") for run in runs)
        assert [t for t, n in repeated.items() if n == 2] == [
            (wall_at_transition + timedelta(minutes=15 * k)).strftime("%H:%M")
            for k in range(int(-shift / timedelta(minutes=15)))
        ]


def test_fixed_hour_quarter_hours_run_only_in_the_first_pass_of_a_repeated_hour():
    tz = ZoneInfo(BERLIN)
    runs = runs_between("*/15 2 * * *", BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))

    assert [r.astimezone(tz).strftime("%H:%M%z") for r in runs] == [
        "02:00+0200",
        "02:15+0200",
        "02:30+0200",
        "02:45+0200",
    ]


def test_fixed_hour_quarter_hours_inside_a_gap_collapse_into_one_run():
    tz = ZoneInfo(BERLIN)
    runs = runs_between("*/15 2 * * *", BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))

    assert [r.astimezone(tz).strftime("%H:%M%z") for r in runs] == ["03:00+0200"]


def test_lord_howe_half_hour_gap_keeps_the_times_after_it():
    tz = ZoneInfo(LORD_HOWE)
    runs = runs_between("*/10 2 * * *", LORD_HOWE, utc(2026, 10, 3, 12), utc(2026, 10, 3, 17))

    # 02:00, 02:10 and 02:20 do not exist: one run at 02:30, then 02:30's own slot is the same
    # instant and is not repeated, then 02:40 and 02:50.
    assert [r.astimezone(tz).strftime("%H:%M%z") for r in runs] == [
        "02:30+1100",
        "02:40+1100",
        "02:50+1100",
    ]


def test_lord_howe_half_hour_fall_back_with_fixed_hour():
    tz = ZoneInfo(LORD_HOWE)
    runs = runs_between("*/15 1 * * *", LORD_HOWE, utc(2026, 4, 4, 12), utc(2026, 4, 4, 17))

    assert [r.astimezone(tz).strftime("%H:%M%z") for r in runs] == [
        "01:00+1100",
        "01:15+1100",
        "01:30+1100",
        "01:45+1100",
    ]


def test_lord_howe_hourly_runs_at_each_wall_clock_hour():
    tz = ZoneInfo(LORD_HOWE)
    runs = runs_between("0 * * * *", LORD_HOWE, utc(2026, 4, 4, 12, 30), utc(2026, 4, 4, 17, 0))

    # The repeated half hour (01:30-01:59) holds no whole hour, so the hour from 01:00 (+11:00)
    # to 02:00 (+10:30) lasts 90 real minutes.
    assert [r.astimezone(tz).strftime("%H:%M%z") for r in runs] == [
        "00:00+1100",
        "01:00+1100",
        "02:00+1030",
        "03:00+1030",
    ]


def test_hourly_on_spring_forward_runs_the_skipped_hour_at_the_transition():
    tz = ZoneInfo(BERLIN)
    runs = runs_between("0 * * * *", BERLIN, utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 3, 30))

    assert [r.astimezone(tz).strftime("%H:%M%z") for r in runs] == [
        "01:00+0100",
        "03:00+0200",  # 02:00 (skipped) and 03:00 are the same instant: one run
        "04:00+0200",
        "05:00+0200",
    ]


def test_a_start_inside_the_second_pass_does_not_rerun_a_repeated_daily_time():
    # 02:10 CET is the second pass of Berlin's repeated hour; 02:30 already ran at 02:30 CEST.
    after = utc(2026, 10, 25, 1, 10)

    assert next_run_after("30 2 * * *", BERLIN, after) == utc(2026, 10, 26, 1, 30)


def test_a_start_inside_the_second_pass_continues_an_interval_schedule():
    after = utc(2026, 10, 25, 1, 10)  # 02:10 CET, second pass

    assert next_run_after("*/15 * * * *", BERLIN, after) == utc(2026, 10, 25, 1, 15)
    assert next_run_after("*/15 * * * *", BERLIN, utc(2026, 10, 25, 0, 50)) == utc(
        2026, 10, 25, 1, 0
    )


def test_two_wall_times_mapping_to_one_instant_run_once():
    # 02:00 (skipped) and 03:00 are both 01:00 UTC on Berlin's spring-forward day.
    runs = preview_runs("0 2,3 * * *", BERLIN, after=utc(2026, 3, 28, 12), count=3)

    assert runs == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 0), utc(2026, 3, 30, 1, 0)]
