"""Cron validation, the friendly schedule config, previews and the missed-run policy."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.cron import (
    CronError,
    DispatchPlan,
    ScheduleConfig,
    ScheduleConfigError,
    TimezoneError,
    cron_from_config,
    next_run_after,
    next_run_for_dispatch,
    preview_runs,
    validate_cron,
    validate_timezone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- validate_cron: messages a user sees --------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 31 2 *", "Never runs: day-of-month 31 does not occur in February."),
        ("0 0 30 2 *", "Never runs: day-of-month 30 does not occur in February."),
        ("0 0 30,31 feb *", "Never runs: day-of-month 30 or 31 do not occur in February."),
        ("0 0 31 4 *", "Never runs: day-of-month 31 does not occur in April."),
        (
            "0 0 31 4,6,9,11 *",
            "Never runs: day-of-month 31 does not occur in April, June, September or November.",
        ),
        ("0 0 29 2 *", "Runs only in leap years: February 29 comes once every four years."),
        ("@reboot", "@reboot is not supported: it runs when a server starts"),
        ("@every_5m", "Unknown macro '@every_5m'. Supported macros: @hourly, @daily"),
        (
            "0 0 9 * * *",
            "Cron expression must have exactly five fields (minute hour day-of-month month"
            " day-of-week); got 6. Seconds and year fields (6- or 7-field forms) are not"
            " supported.",
        ),
        ("0 0 9 * * * 2027", "got 7. Seconds and year fields"),
        (
            "* * * *",
            "must have exactly five fields (minute hour day-of-month month day-of-week); got 4.",
        ),
        ("61 * * * *", "minute: 61 is out of range 0-59."),
        ("0 24 * * *", "hour: 24 is out of range 0-23."),
        ("0 0 0 * *", "day-of-month: 0 is out of range 1-31."),
        ("0 0 * 13 *", "month: 13 is out of range 1-12."),
        ("0 0 * * 8", "day-of-week: 8 is out of range 0-7."),
        ("", "Cron expression is empty: give five fields"),
        ("   ", "Cron expression is empty"),
        ("every day at 9", "must have exactly five fields"),
        ("0 9 * * funday", "day-of-week: 'funday' is not a valid value (allowed: 0-7"),
        ("0 9 * * 1-5/0", "day-of-week: step /0 must be between 1 and 8."),
        ("*/0 * * * *", "minute: step /0 must be between 1 and 60."),
        (
            "0 9 * * fri-mon",
            "runs backwards; ranges go from low to high, so split it, e.g. 'fri-sat,sun-mon'.",
        ),
        ("0 22-2 * * *", "e.g. '22-23,0-2'"),
        ("0 9 1,,15 * *", "day-of-month: '1,,15' has an empty list item."),
        ("*,5 * * * *", "minute: '*' already means every value"),
        ("0 9 ? * mon", "day-of-month: '?' is not a valid item"),
        ("0 9 * * mon#1", "day-of-week: 'mon#1' is not a valid item"),
        ("0 9 15w * *", "day-of-month: '15w' is not a valid value"),
        ("0 9 L-3 * *", "L (last day of the month) must stand alone"),
        ("0 9 * * L", "day-of-week: 'l' is not a valid value"),
        ("h 9 * * *", "minute: 'h' is not a valid value"),
        ("-1 9 * * *", "minute: '-1' is not a valid item"),
        ("0 9 * * 1\n0 10 * * 1", "characters that are not allowed"),
        ("0 9 * * lun", "day-of-week: 'lun' is not a valid value"),
        ("0 9 * jan-mon *", "month: 'mon' is not a valid value"),
        ("0 " * 200, "longer than 200 characters"),
    ],
)
def test_invalid_expressions_are_rejected_with_a_message_naming_the_problem(expression, message):
    with pytest.raises(CronError) as caught:
        validate_cron(expression)

    assert message in caught.value.message
    assert caught.value.field == "cron_expression"
    assert str(caught.value) == caught.value.message


def test_a_non_string_expression_is_a_cron_error():
    with pytest.raises(CronError):
        validate_cron(None)  # type: ignore[arg-type]
    with pytest.raises(CronError):
        validate_cron(["0", "9", "*", "*", "*"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("0 9 * * *", "0 9 * * *"),
        ("  0   9\t* *   MON-FRI ", "0 9 * * mon-fri"),
        ("00 09 01 * *", "0 9 1 * *"),
        ("0 9 L * *", "0 9 L * *"),
        ("0 9 15,l * *", "0 9 15,L * *"),
        ("5/20 * * * *", "5-59/20 * * * *"),
        ("0 9 * * 1/2", "0 9 * * 1-6/2"),
        ("0 9 * * 7/2", "0 9 * * 7"),
        ("0 9 * JAN-jan *", "0 9 * jan *"),  # croniter would read jan-jan as the whole year
        ("0 9 * * 5-5/2", "0 9 * * 5"),
        ("0 9 * * 7", "0 9 * * 7"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("0 0 29 2 1", "0 0 29 2 1"),  # ORed with Mondays, so it runs every February
        ("0 0 30,31 2,4 *", "0 0 30,31 2,4 *"),  # 30 April exists
        ("0 0 L 2 *", "0 0 L 2 *"),
    ],
)
def test_valid_expressions_are_normalised(expression, normalised):
    assert validate_cron(expression) == normalised
    assert validate_cron(normalised) == normalised


# -- timezones ----------------------------------------------------------------------------------


def test_known_timezones_resolve_to_zoneinfo():
    assert validate_timezone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert validate_timezone("UTC") == ZoneInfo("UTC")
    assert validate_timezone("Australia/Lord_Howe").key == "Australia/Lord_Howe"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Mars/Olympus_Mons", "Unknown timezone 'Mars/Olympus_Mons': use an IANA name"),
        ("europe/berlin", "Did you mean 'Europe/Berlin'?"),
        ("CEST", "Unknown timezone 'CEST'"),
        ("../../etc/passwd", "Unknown timezone"),
        ("", "Timezone is required"),
        (None, "Timezone is required"),
    ],
)
def test_unknown_timezones_are_rejected(name, message):
    with pytest.raises(TimezoneError) as caught:
        validate_timezone(name)

    assert message in caught.value.message
    assert caught.value.field == "timezone"


def test_next_run_rejects_an_unknown_timezone():
    with pytest.raises(TimezoneError):
        next_run_after("0 9 * * *", "Europe/Atlantis", utc(2026, 1, 1))


# -- next_run_after and preview_runs ------------------------------------------------------------


def test_next_run_is_strictly_after_and_in_utc():
    after = utc(2026, 1, 5, 8, 0)  # 09:00 in Berlin: that run is not "after"

    run = next_run_after("0 9 * * *", "Europe/Berlin", after)

    assert run == utc(2026, 1, 6, 8, 0)
    assert run.tzinfo is UTC


def test_next_run_accepts_any_aware_datetime():
    after = datetime(2026, 1, 5, 3, 0, tzinfo=ZoneInfo("America/New_York"))

    assert next_run_after("0 9 * * *", "Europe/Berlin", after) == utc(2026, 1, 6, 8, 0)


def test_next_run_ignores_seconds_of_the_start():
    assert next_run_after("* * * * *", "UTC", utc(2026, 1, 1, 10, 0, 59)) == utc(2026, 1, 1, 10, 1)
    assert next_run_after("* * * * *", "UTC", datetime(2026, 1, 1, 10, 0, 0, 1, UTC)) == utc(
        2026, 1, 1, 10, 1
    )


def test_next_run_requires_an_aware_start():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run_after("0 9 * * *", "UTC", datetime(2026, 1, 1))


def test_next_run_rejects_an_invalid_expression():
    with pytest.raises(CronError):
        next_run_after("0 0 31 2 *", "UTC", utc(2026, 1, 1))


def test_preview_lists_the_next_runs_in_order():
    runs = preview_runs("0 9 * * mon-fri", "America/New_York", after=utc(2026, 3, 5), count=4)

    # Thursday 5 March 2026 (EST) to Tuesday 10 March (EDT since the 8th).
    assert runs == [
        utc(2026, 3, 5, 14, 0),
        utc(2026, 3, 6, 14, 0),
        utc(2026, 3, 9, 13, 0),
        utc(2026, 3, 10, 13, 0),
    ]


def test_last_day_of_month_runs_on_28_29_30_and_31():
    runs = preview_runs("0 9 L * *", "UTC", after=utc(2028, 1, 1), count=4)

    assert [r.day for r in runs] == [31, 29, 31, 30]


def test_day_of_month_and_day_of_week_are_ored_when_both_are_restricted():
    # 1-7 OR Monday: not "the first Monday".
    runs = preview_runs("0 9 1-7 * mon", "UTC", after=utc(2026, 6, 1, 12), count=8)

    assert [r.day for r in runs] == [2, 3, 4, 5, 6, 7, 8, 15]


@pytest.mark.parametrize("count", [0, -1, 101])
def test_preview_count_is_bounded(count):
    with pytest.raises(ValueError, match="count"):
        preview_runs("0 9 * * *", "UTC", after=utc(2026, 1, 1), count=count)


# -- missed runs --------------------------------------------------------------------------------


def test_an_on_time_dispatch_runs_the_due_time_and_advances():
    plan = next_run_for_dispatch(
        "0 9 * * *", "Europe/Berlin", due_at=utc(2026, 1, 5, 8), now=utc(2026, 1, 5, 8, 0, 4)
    )

    assert plan == DispatchPlan(run_at=utc(2026, 1, 5, 8), next_run_at=utc(2026, 1, 6, 8))
    run_at, next_run_at = plan  # a plain tuple for callers that unpack it
    assert run_at == utc(2026, 1, 5, 8)


def test_after_downtime_only_the_latest_missed_run_is_caught_up():
    # Down from Monday 08:00 UTC to Thursday 10:07: Monday, Tuesday, Wednesday and Thursday
    # 09:00 Berlin were all missed.
    plan = next_run_for_dispatch(
        "0 9 * * *", "Europe/Berlin", due_at=utc(2026, 1, 5, 8), now=utc(2026, 1, 8, 10, 7)
    )

    assert plan == DispatchPlan(run_at=utc(2026, 1, 8, 8), next_run_at=utc(2026, 1, 9, 8))


def test_long_downtime_of_a_frequent_schedule_still_catches_up_once():
    plan = next_run_for_dispatch(
        "*/15 * * * *", "UTC", due_at=utc(2025, 1, 1), now=utc(2026, 1, 4, 10, 7, 30)
    )

    assert plan == DispatchPlan(run_at=utc(2026, 1, 4, 10, 0), next_run_at=utc(2026, 1, 4, 10, 15))


def test_catch_up_across_a_dst_gap_lands_on_the_transition():
    plan = next_run_for_dispatch(
        "30 2 * * *", "Europe/Berlin", due_at=utc(2026, 3, 27, 1, 30), now=utc(2026, 3, 29, 6)
    )

    assert plan == DispatchPlan(run_at=utc(2026, 3, 29, 1, 0), next_run_at=utc(2026, 3, 30, 0, 30))


def test_catch_up_inside_a_repeated_hour_for_an_interval_schedule():
    # now is 02:20 CET, the second pass of Berlin's repeated hour; 02:15 CET was the last run.
    plan = next_run_for_dispatch(
        "*/15 * * * *", "Europe/Berlin", due_at=utc(2026, 10, 24, 20), now=utc(2026, 10, 25, 1, 20)
    )

    assert plan == DispatchPlan(
        run_at=utc(2026, 10, 25, 1, 15), next_run_at=utc(2026, 10, 25, 1, 30)
    )


def test_a_due_time_that_is_no_longer_a_fire_time_still_runs_once():
    # The schedule was edited from hourly to daily after next_run_at had been stored.
    plan = next_run_for_dispatch(
        "0 9 * * *", "UTC", due_at=utc(2026, 1, 5, 10), now=utc(2026, 1, 5, 10, 0, 5)
    )

    assert plan == DispatchPlan(run_at=utc(2026, 1, 5, 10), next_run_at=utc(2026, 1, 6, 9))


def test_a_schedule_not_yet_due_is_left_alone():
    plan = next_run_for_dispatch(
        "0 9 * * *", "UTC", due_at=utc(2026, 1, 5, 9), now=utc(2026, 1, 5, 8, 59)
    )

    assert plan == DispatchPlan(run_at=None, next_run_at=utc(2026, 1, 5, 9))


def test_max_lateness_skips_a_stale_catch_up():
    plan = next_run_for_dispatch(
        "0 9 * * *",
        "UTC",
        due_at=utc(2026, 1, 5, 9),
        now=utc(2026, 1, 8, 18),
        max_lateness=timedelta(hours=6),
    )

    assert plan == DispatchPlan(run_at=None, next_run_at=utc(2026, 1, 9, 9))


def test_repeating_a_dispatch_for_the_same_gap_gives_the_same_run_time():
    due, now = utc(2026, 1, 5, 8), utc(2026, 1, 8, 10, 7)
    first = next_run_for_dispatch("0 9 * * *", "Europe/Berlin", due_at=due, now=now)
    again = next_run_for_dispatch(
        "0 9 * * *", "Europe/Berlin", due_at=due, now=now + timedelta(minutes=5)
    )

    assert first.run_at == again.run_at


# -- friendly config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "cron"),
    [
        ({"frequency": "daily", "time": "09:00", "timezone": "Europe/Berlin"}, "0 9 * * *"),
        ({"frequency": "daily", "time": "7:05", "timezone": "UTC"}, "5 7 * * *"),
        (
            {"frequency": "daily", "time": "23:59", "timezone": "UTC", "days_of_week": []},
            "59 23 * * *",
        ),
        (
            {
                "frequency": "weekly",
                "time": "09:30",
                "days_of_week": [5, 1, 3, 1],
                "timezone": "America/New_York",
            },
            "30 9 * * 1,3,5",
        ),
        (
            {
                "frequency": "weekly",
                "time": "06:00",
                "days_of_week": ["sun", "Sat", "monday"],
                "timezone": "UTC",
            },
            "0 6 * * 0,1,6",
        ),
        (
            {"frequency": "weekly", "time": "06:00", "days_of_week": [0], "timezone": "UTC"},
            "0 6 * * 0",
        ),
        (
            {"frequency": "monthly", "time": "08:15", "day_of_month": 15, "timezone": "UTC"},
            "15 8 15 * *",
        ),
        (
            {"frequency": "monthly", "time": "08:15", "day_of_month": "last", "timezone": "UTC"},
            "15 8 L * *",
        ),
        (
            {"frequency": "quarterly", "time": "02:30", "day_of_month": 1, "timezone": "UTC"},
            "30 2 1 1,4,7,10 *",
        ),
        (
            {"frequency": "quarterly", "time": "02:30", "day_of_month": "LAST", "timezone": "UTC"},
            "30 2 L 1,4,7,10 *",
        ),
        (
            {"frequency": "monthly", "time": "08:15", "day_of_month": "28", "timezone": "UTC"},
            "15 8 28 * *",
        ),
    ],
)
def test_friendly_configs_become_cron(config, cron):
    assert cron_from_config(config) == cron
    assert cron_from_config(ScheduleConfig.from_dict(config)) == cron


def test_quarterly_last_day_runs_on_each_quarter_end_month_start():
    cron = cron_from_config(
        {"frequency": "quarterly", "time": "09:00", "day_of_month": "last", "timezone": "UTC"}
    )

    runs = preview_runs(cron, "UTC", after=utc(2026, 1, 1), count=4)
    assert [(r.month, r.day) for r in runs] == [(1, 31), (4, 30), (7, 31), (10, 31)]


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"time": "09:00", "timezone": "UTC"}, "frequency", "Must be one of daily, weekly"),
        (
            {"frequency": "hourly", "time": "09:00", "timezone": "UTC"},
            "frequency",
            "got 'hourly'",
        ),
        ({"frequency": "daily", "timezone": "UTC"}, "time", "Must be HH:MM"),
        ({"frequency": "daily", "time": "9am", "timezone": "UTC"}, "time", "Must be HH:MM"),
        ({"frequency": "daily", "time": "09:00:00", "timezone": "UTC"}, "time", "HH:MM"),
        ({"frequency": "daily", "time": "24:00", "timezone": "UTC"}, "time", "not a time of day"),
        ({"frequency": "daily", "time": "12:60", "timezone": "UTC"}, "time", "not a time of day"),
        ({"frequency": "daily", "time": "09:00"}, "timezone", "Timezone is required"),
        (
            {"frequency": "daily", "time": "09:00", "timezone": "Berlin"},
            "timezone",
            "Unknown timezone 'Berlin'",
        ),
        (
            {"frequency": "weekly", "time": "09:00", "timezone": "UTC"},
            "days_of_week",
            "need a non-empty list",
        ),
        (
            {"frequency": "weekly", "time": "09:00", "timezone": "UTC", "days_of_week": []},
            "days_of_week",
            "need a non-empty list",
        ),
        (
            {"frequency": "weekly", "time": "09:00", "timezone": "UTC", "days_of_week": [7]},
            "days_of_week",
            "7 is not a day: use 0-6 (0 = Sunday",
        ),
        (
            {"frequency": "weekly", "time": "09:00", "timezone": "UTC", "days_of_week": [True]},
            "days_of_week",
            "True is not a day",
        ),
        (
            {"frequency": "weekly", "time": "09:00", "timezone": "UTC", "days_of_week": ["xyz"]},
            "days_of_week",
            "'xyz' is not a day",
        ),
        (
            {"frequency": "daily", "time": "09:00", "timezone": "UTC", "days_of_week": [1]},
            "days_of_week",
            "Only used with frequency 'weekly'",
        ),
        (
            {"frequency": "monthly", "time": "09:00", "timezone": "UTC"},
            "day_of_month",
            "Must be a day 1-28 or 'last'",
        ),
        (
            {"frequency": "monthly", "time": "09:00", "timezone": "UTC", "day_of_month": 31},
            "day_of_month",
            "Day 31 does not occur in every month; use 1-28, or 'last'",
        ),
        (
            {"frequency": "quarterly", "time": "09:00", "timezone": "UTC", "day_of_month": 29},
            "day_of_month",
            "Day 29 does not occur in every month",
        ),
        (
            {"frequency": "monthly", "time": "09:00", "timezone": "UTC", "day_of_month": 0},
            "day_of_month",
            "Must be a day 1-28 or 'last'; got 0",
        ),
        (
            {"frequency": "monthly", "time": "09:00", "timezone": "UTC", "day_of_month": 1.5},
            "day_of_month",
            "got 1.5",
        ),
        (
            {
                "frequency": "weekly",
                "time": "09:00",
                "timezone": "UTC",
                "day_of_month": 3,
                "days_of_week": [1],
            },
            "day_of_month",
            "Only used with frequency 'monthly' or 'quarterly'",
        ),
        (
            {"frequency": "daily", "time": "09:00", "timezone": "UTC", "dayOfMonth": 3},
            "dayOfMonth",
            "Unknown field",
        ),
    ],
)
def test_invalid_configs_name_the_field(config, field, message):
    with pytest.raises(ScheduleConfigError) as caught:
        cron_from_config(config)

    assert caught.value.field == field
    assert message in caught.value.message


def test_a_config_must_be_a_mapping():
    with pytest.raises(ScheduleConfigError):
        cron_from_config("0 9 * * *")  # type: ignore[arg-type]
