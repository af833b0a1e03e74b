"""Backfill date math, with the examples a person would check on a calendar.

Unless a test says otherwise, today is Saturday 2026-03-28, so the newest complete day (14-day
data lag) is 2026-03-14 and the oldest retained day (425 days) is 2025-01-27.
"""

from datetime import date, datetime

import pytest

from backfills.segments import (
    DateWindow,
    LookbackError,
    Segment,
    SegmentationConfig,
    SegmentationConfigError,
    SegmentType,
    calendar_unit,
    estimate_duration,
    estimate_time_left,
    resolve_lookback,
    segments_for_window,
    typical_segment_seconds,
    validate_segmentation_config,
)
from recomamp.errors import DomainError

TODAY = date(2026, 3, 28)
LATEST = date(2026, 3, 14)
EARLIEST = date(2025, 1, 27)


def relative(value, unit="days"):
    return {"type": "relative", "value": value, "unit": unit}


def custom(start, end):
    return {"type": "custom", "start_date": start, "end_date": end}


def lookback_error(config, **kwargs) -> LookbackError:
    with pytest.raises(LookbackError) as caught:
        resolve_lookback(config, today=kwargs.pop("today", TODAY), **kwargs)
    return caught.value


# --- relative lookbacks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "start"),
    [(7, date(2026, 3, 8)), (14, date(2026, 3, 1)), (30, date(2026, 2, 13))],
)
def test_relative_days_end_at_data_lag_and_reach_back_n_days(value, start):
    window = resolve_lookback(relative(value), today=TODAY)
    assert window == DateWindow(start, LATEST)
    assert window.days == value


def test_twelve_weeks_are_84_days_ending_at_data_lag():
    window = resolve_lookback(relative(12, "weeks"), today=TODAY)
    assert window == DateWindow(date(2025, 12, 21), LATEST)
    assert window.days == 84


def test_three_months_start_on_the_same_day_of_month_after_the_end():
    window = resolve_lookback(relative(3, "months"), today=TODAY)
    assert window == DateWindow(date(2025, 12, 15), LATEST)


def test_three_months_ending_on_a_month_end_are_three_whole_months():
    window = resolve_lookback(relative(3, "months"), today=date(2026, 4, 14))
    assert window == DateWindow(date(2026, 1, 1), date(2026, 3, 31))


def test_months_clamp_to_the_shorter_month():
    # Today 2026-06-14: ends 2026-05-31, so 3 months are March-May.
    assert resolve_lookback(relative(3, "months"), today=date(2026, 6, 14)) == DateWindow(
        date(2026, 3, 1), date(2026, 5, 31)
    )
    # Ends 2026-05-30: from "2026-02-31", clamped to 2026-02-28.
    assert resolve_lookback(relative(3, "months"), today=date(2026, 6, 13)) == DateWindow(
        date(2026, 2, 28), date(2026, 5, 30)
    )


def test_365_days_is_the_maximum_and_allowed():
    window = resolve_lookback(relative(365), today=TODAY)
    assert window == DateWindow(date(2025, 3, 15), LATEST)
    assert window.days == 365


def test_366_days_is_rejected_on_value_naming_the_maximum():
    error = lookback_error(relative(366))
    assert error.field == "lookback_config.value"
    assert "maximum lookback is 365 days" in error.message


def test_52_weeks_allowed_53_weeks_rejected():
    assert resolve_lookback(relative(52, "weeks"), today=TODAY).days == 364
    error = lookback_error(relative(53, "weeks"))
    assert error.field == "lookback_config.value"
    assert "371 days" in error.message
    assert "at most 52 weeks" in error.message


def test_twelve_months_allowed_when_they_are_365_days():
    assert resolve_lookback(relative(12, "months"), today=TODAY) == DateWindow(
        date(2025, 3, 15), LATEST
    )


def test_twelve_months_rejected_when_they_span_a_29_february():
    # Ends 2028-03-14: 2027-03-15 .. 2028-03-14 holds 2028-02-29, so 366 days.
    error = lookback_error(relative(12, "months"), today=date(2028, 3, 28))
    assert error.field == "lookback_config.value"
    assert "366 days" in error.message
    assert "365 days" in error.message


def test_thirteen_months_rejected():
    assert lookback_error(relative(13, "months")).field == "lookback_config.value"


def test_huge_values_are_rejected_without_overflow():
    for unit in ("days", "weeks", "months"):
        assert lookback_error(relative(10**12, unit)).field == "lookback_config.value"


def test_relative_lookback_past_a_shorter_retention_is_rejected_on_value():
    error = lookback_error(relative(30), retention_days=40)
    assert error.field == "lookback_config.value"
    assert "2026-02-16" in error.message  # today - 40 days


@pytest.mark.parametrize("value", ["30", 30.0, 7.5, True, None])
def test_relative_value_must_be_an_integer(value):
    error = lookback_error(relative(value))
    assert error.field == "lookback_config.value"


@pytest.mark.parametrize("value", [0, -7])
def test_relative_value_must_be_at_least_one(value):
    error = lookback_error(relative(value))
    assert error.field == "lookback_config.value"
    assert "at least 1" in error.message


@pytest.mark.parametrize("unit", ["years", "Days", "day", "", None, 3])
def test_unknown_or_missing_unit_is_rejected(unit):
    error = lookback_error(relative(7, unit))
    assert error.field == "lookback_config.unit"


def test_unit_is_required():
    error = lookback_error({"type": "relative", "value": 7})
    assert error.field == "lookback_config.unit"
    assert "required" in error.message


# --- custom lookbacks ---------------------------------------------------------------------


def test_custom_range_is_taken_as_given():
    window = resolve_lookback(custom("2026-01-01", "2026-03-14"), today=TODAY)
    assert window == DateWindow(date(2026, 1, 1), date(2026, 3, 14))


def test_custom_single_day_is_allowed():
    assert resolve_lookback(custom("2026-03-14", "2026-03-14"), today=TODAY).days == 1


def test_custom_range_past_retention_is_rejected_on_start_date_naming_the_earliest_day():
    error = lookback_error(custom("2025-01-26", "2025-06-30"))
    assert error.field == "lookback_config.start_date"
    assert "2025-01-27" in error.message
    # The earliest retained day itself is fine.
    assert resolve_lookback(custom("2025-01-27", "2025-06-30"), today=TODAY).start == EARLIEST


def test_inverted_custom_range_is_rejected_on_end_date():
    error = lookback_error(custom("2026-03-01", "2026-02-01"))
    assert error.field == "lookback_config.end_date"
    assert "on or after start_date" in error.message


def test_custom_end_after_the_data_lag_is_rejected_on_end_date():
    error = lookback_error(custom("2026-03-01", "2026-03-15"))
    assert error.field == "lookback_config.end_date"
    assert "2026-03-14" in error.message
    assert "14 days" in error.message


def test_custom_range_longer_than_365_days_is_rejected_on_start_date():
    error = lookback_error(custom("2025-03-14", "2026-03-14"))  # 366 days, all retained
    assert error.field == "lookback_config.start_date"
    assert "365 days" in error.message
    assert "2025-03-15" in error.message  # earliest start for that end
    assert resolve_lookback(custom("2025-03-15", "2026-03-14"), today=TODAY).days == 365


@pytest.mark.parametrize(
    "raw", ["2026/01/01", "20260101", "2026-1-1", "2026-01-01T00:00:00", "", 20260101, None]
)
def test_malformed_dates_are_rejected_on_their_field(raw):
    assert lookback_error(custom(raw, "2026-03-01")).field == "lookback_config.start_date"
    assert lookback_error(custom("2026-01-01", raw)).field == "lookback_config.end_date"


def test_impossible_calendar_date_is_rejected():
    error = lookback_error(custom("2026-02-30", "2026-03-01"))
    assert error.field == "lookback_config.start_date"
    assert "not a valid calendar date" in error.message


# --- config shape -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rolling", "Relative", None, 1])
def test_unknown_or_missing_type_is_rejected(kind):
    assert lookback_error({"type": kind, "value": 7, "unit": "days"}).field == (
        "lookback_config.type"
    )


def test_missing_type_is_rejected():
    assert lookback_error({"value": 7, "unit": "days"}).field == "lookback_config.type"


def test_config_must_be_an_object():
    assert lookback_error([("type", "relative")]).field == "lookback_config"


def test_extra_keys_are_rejected_by_name():
    error = lookback_error({**relative(7), "timezone": "UTC"})
    assert error.field == "lookback_config.timezone"
    assert "allowed fields: type, value, unit" in error.message


def test_keys_of_the_other_shape_are_rejected():
    assert lookback_error({**relative(7), "start_date": "2026-01-01"}).field == (
        "lookback_config.start_date"
    )
    assert lookback_error({**custom("2026-01-01", "2026-02-01"), "value": 7}).field == (
        "lookback_config.value"
    )


def test_camel_case_dates_from_the_original_api_get_a_hint():
    error = lookback_error({"type": "custom", "startDate": "2026-01-01", "endDate": "2026-02-01"})
    assert error.field == "lookback_config.startDate"
    assert "Did you mean 'start_date'?" in error.message


def test_lookback_error_is_a_domain_error_the_api_maps_to_400():
    error = lookback_error(relative(366))
    assert isinstance(error, DomainError)
    assert error.status_code == 400
    assert error.errors[0].field == "lookback_config.value"


def test_today_must_be_a_date_not_a_datetime():
    with pytest.raises(TypeError):
        resolve_lookback(relative(7), today=datetime(2026, 3, 28, 12, 0))


# --- AMC time window mapping --------------------------------------------------------------


def test_inclusive_window_maps_to_half_open_amc_timestamps():
    window = DateWindow(date(2026, 1, 1), date(2026, 3, 31))
    assert window.window_start_datetime == datetime(2026, 1, 1, 0, 0)
    assert window.window_end_datetime == datetime(2026, 4, 1, 0, 0)
    assert window.amc_time_window() == ("2026-01-01T00:00:00", "2026-04-01T00:00:00")


def test_one_day_segment_is_24_hours_in_amc_terms():
    segment = Segment(0, date(2026, 3, 14), date(2026, 3, 14))
    assert segment.amc_time_window() == ("2026-03-14T00:00:00", "2026-03-15T00:00:00")


def test_window_rejects_inverted_dates():
    with pytest.raises(ValueError):
        DateWindow(date(2026, 3, 2), date(2026, 3, 1))


# --- segments -----------------------------------------------------------------------------


def spans(segments):
    return [(s.start.isoformat(), s.end.isoformat(), s.partial) for s in segments]


def test_weekly_segments_start_monday_with_a_partial_first_week():
    # 2026-03-04 is a Wednesday; 2026-03-22 a Sunday.
    segments = segments_for_window(DateWindow(date(2026, 3, 4), date(2026, 3, 22)), "weekly")
    assert spans(segments) == [
        ("2026-03-04", "2026-03-08", True),
        ("2026-03-09", "2026-03-15", False),
        ("2026-03-16", "2026-03-22", False),
    ]
    assert [s.index for s in segments] == [0, 1, 2]


def test_weekly_segments_clip_a_partial_last_week():
    segments = segments_for_window(DateWindow(date(2026, 3, 4), date(2026, 3, 18)), "weekly")
    assert spans(segments)[-1] == ("2026-03-16", "2026-03-18", True)


def test_weekly_segments_follow_iso_weeks_across_new_year():
    # ISO week 2026-W01 runs Monday 2025-12-29 to Sunday 2026-01-04.
    segments = segments_for_window(DateWindow(date(2025, 12, 29), date(2026, 1, 11)), "weekly")
    assert spans(segments) == [
        ("2025-12-29", "2026-01-04", False),
        ("2026-01-05", "2026-01-11", False),
    ]


def test_monthly_segments_across_a_calendar_year_are_twelve_whole_months():
    segments = segments_for_window(DateWindow(date(2025, 1, 1), date(2025, 12, 31)), "monthly")
    assert len(segments) == 12
    assert [s.start for s in segments] == [date(2025, m, 1) for m in range(1, 13)]
    assert [s.end.day for s in segments] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert not any(s.partial for s in segments)


def test_monthly_segments_of_a_365_day_lookback_clip_first_and_last_month():
    segments = segments_for_window(DateWindow(date(2025, 3, 15), LATEST), SegmentType.MONTHLY)
    assert len(segments) == 13
    assert spans(segments)[0] == ("2025-03-15", "2025-03-31", True)
    assert spans(segments)[1] == ("2025-04-01", "2025-04-30", False)
    assert spans(segments)[-1] == ("2026-03-01", "2026-03-14", True)


def test_quarterly_segments_start_jan_apr_jul_oct():
    segments = segments_for_window(DateWindow(date(2025, 3, 15), LATEST), "quarterly")
    assert spans(segments) == [
        ("2025-03-15", "2025-03-31", True),
        ("2025-04-01", "2025-06-30", False),
        ("2025-07-01", "2025-09-30", False),
        ("2025-10-01", "2025-12-31", False),
        ("2026-01-01", "2026-03-14", True),
    ]


def test_daily_segment_count_equals_days():
    window = DateWindow(date(2025, 3, 15), LATEST)
    segments = segments_for_window(window, "daily")
    assert len(segments) == window.days == 365
    assert all(s.start == s.end and not s.partial for s in segments)


@pytest.mark.parametrize("segment_type", list(SegmentType))
def test_one_day_window_is_one_segment(segment_type):
    day = date(2026, 2, 11)
    segments = segments_for_window(DateWindow(day, day), segment_type)
    assert segments == [Segment(0, day, day, partial=segment_type != SegmentType.DAILY)]


def test_window_inside_one_unit_is_one_partial_segment():
    segments = segments_for_window(DateWindow(date(2026, 2, 3), date(2026, 2, 20)), "monthly")
    assert spans(segments) == [("2026-02-03", "2026-02-20", True)]


def test_unknown_segment_type_is_rejected():
    with pytest.raises(ValueError):
        segments_for_window(DateWindow(LATEST, LATEST), "yearly")


def test_calendar_unit_of_a_day():
    day = date(2026, 3, 4)  # Wednesday
    assert calendar_unit(day, "weekly") == DateWindow(date(2026, 3, 2), date(2026, 3, 8))
    assert calendar_unit(day, "monthly") == DateWindow(date(2026, 3, 1), date(2026, 3, 31))
    assert calendar_unit(day, "quarterly") == DateWindow(date(2026, 1, 1), date(2026, 3, 31))
    assert calendar_unit(day, "daily") == DateWindow(day, day)


# --- segmentation config ------------------------------------------------------------------


def segmentation_error(config, cap=10) -> SegmentationConfigError:
    with pytest.raises(SegmentationConfigError) as caught:
        validate_segmentation_config(config, instance_cap=cap)
    return caught.value


def test_segmentation_defaults_use_the_instance_cap():
    assert validate_segmentation_config({}, instance_cap=10) == SegmentationConfig(
        SegmentType.WEEKLY, 10, True, 3
    )
    assert validate_segmentation_config(None, instance_cap=4).parallel_limit == 4


def test_segmentation_config_as_given():
    config = {"type": "quarterly", "parallel_limit": 3, "retry_failed": True, "max_attempts": 5}
    validated = validate_segmentation_config(config, instance_cap=10)
    assert validated == SegmentationConfig(SegmentType.QUARTERLY, 3, True, 5)
    assert validated.as_json() == config


def test_parallel_limit_above_the_instance_cap_is_rejected_naming_the_cap():
    error = segmentation_error({"parallel_limit": 11}, cap=10)
    assert error.field == "segmentation_config.parallel_limit"
    assert "concurrency cap is 10" in error.message
    assert (
        validate_segmentation_config({"parallel_limit": 10}, instance_cap=10).parallel_limit == 10
    )


@pytest.mark.parametrize("limit", [0, -1, "5", 2.0, True])
def test_parallel_limit_must_be_a_positive_integer(limit):
    assert (
        segmentation_error({"parallel_limit": limit}).field == "segmentation_config.parallel_limit"
    )


@pytest.mark.parametrize("attempts", [0, 11, "3", 3.0, False])
def test_max_attempts_must_be_between_1_and_10(attempts):
    assert (
        segmentation_error({"max_attempts": attempts}).field == "segmentation_config.max_attempts"
    )


def test_max_attempts_bounds_are_allowed():
    for attempts in (1, 10):
        validated = validate_segmentation_config({"max_attempts": attempts}, instance_cap=10)
        assert validated.max_attempts == attempts


def test_no_retry_means_one_attempt():
    validated = validate_segmentation_config({"retry_failed": False}, instance_cap=10)
    assert (validated.retry_failed, validated.max_attempts) == (False, 1)
    error = segmentation_error({"retry_failed": False, "max_attempts": 3})
    assert error.field == "segmentation_config.max_attempts"


@pytest.mark.parametrize("value", ["true", 1, 0])
def test_retry_failed_must_be_a_boolean(value):
    assert segmentation_error({"retry_failed": value}).field == "segmentation_config.retry_failed"


@pytest.mark.parametrize("kind", ["yearly", "Weekly", 7])
def test_segmentation_type_must_be_one_of_the_four(kind):
    error = segmentation_error({"type": kind})
    assert error.field == "segmentation_config.type"
    assert "daily, weekly, monthly, quarterly" in error.message


def test_unknown_segmentation_key_is_rejected():
    assert segmentation_error({"parallelLimit": 3}).field == "segmentation_config.parallelLimit"


# --- estimates ----------------------------------------------------------------------------


def test_estimate_duration_counts_waves():
    # 53 weekly segments, 10 at a time: 6 waves of 2 minutes.
    assert estimate_duration(segment_count=53, concurrency=10, typical_segment_seconds=120) == 720
    assert estimate_duration(segment_count=10, concurrency=10, typical_segment_seconds=120) == 120
    assert estimate_duration(segment_count=0, concurrency=10, typical_segment_seconds=120) == 0


def test_estimate_duration_rejects_nonsense():
    with pytest.raises(ValueError):
        estimate_duration(segment_count=5, concurrency=0, typical_segment_seconds=60)
    with pytest.raises(ValueError):
        estimate_duration(segment_count=-1, concurrency=1, typical_segment_seconds=60)


def test_typical_segment_seconds_is_the_median_or_the_default():
    assert typical_segment_seconds([30, 600, 40], default=300) == 40  # one slow run ignored
    assert typical_segment_seconds([30, 50], default=300) == 40
    assert typical_segment_seconds([], default=300) == 300
    assert typical_segment_seconds([-5, float("nan"), float("inf")], default=300) == 300


def test_time_left_with_nothing_running_equals_the_estimate():
    assert estimate_time_left(
        remaining=53, running_elapsed_seconds=[], concurrency=10, typical_segment_seconds=120
    ) == estimate_duration(segment_count=53, concurrency=10, typical_segment_seconds=120)


def test_time_left_waits_for_running_segments_to_free_slots():
    # Slots free at 10 s, 40 s, 60 s; the 4 pending segments finish at 70, 100, 120, 130 s.
    left = estimate_time_left(
        remaining=4, running_elapsed_seconds=[50, 20, 0], concurrency=3, typical_segment_seconds=60
    )
    assert left == 130


def test_time_left_of_the_last_running_segments():
    assert (
        estimate_time_left(
            remaining=0, running_elapsed_seconds=[10, 50], concurrency=3, typical_segment_seconds=60
        )
        == 50
    )
    assert (
        estimate_time_left(
            remaining=0, running_elapsed_seconds=[], concurrency=3, typical_segment_seconds=60
        )
        == 0
    )


def test_time_left_never_negative_for_overdue_segments():
    left = estimate_time_left(
        remaining=1, running_elapsed_seconds=[500], concurrency=1, typical_segment_seconds=60
    )
    assert left == 60


def test_time_left_when_more_are_running_than_the_limit():
    # The limit was lowered to 1 with 3 in flight: the pending one starts when all 3 are done.
    left = estimate_time_left(
        remaining=1, running_elapsed_seconds=[0, 0, 0], concurrency=1, typical_segment_seconds=60
    )
    assert left == 120
