"""Properties of the backfill date math, checked against independent calendar arithmetic."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backfills.segments import (
    DateWindow,
    LookbackError,
    SegmentType,
    estimate_duration,
    estimate_time_left,
    resolve_lookback,
    segments_for_window,
)

DAY = timedelta(days=1)
days_in_range = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


@st.composite
def windows(draw, max_days=800):
    start = draw(days_in_range)
    return DateWindow(start, start + timedelta(days=draw(st.integers(0, max_days - 1))))


def unit_key(day: date, segment_type: SegmentType) -> tuple:
    """Which calendar unit a day belongs to, computed without the module's helpers."""
    if segment_type is SegmentType.DAILY:
        return (day,)
    if segment_type is SegmentType.WEEKLY:
        return day.isocalendar()[:2]  # ISO year and week: weeks run Monday to Sunday
    if segment_type is SegmentType.MONTHLY:
        return (day.year, day.month)
    return (day.year, (day.month - 1) // 3)


def is_unit_start(day: date, segment_type: SegmentType) -> bool:
    return unit_key(day - DAY, segment_type) != unit_key(day, segment_type)


def is_unit_end(day: date, segment_type: SegmentType) -> bool:
    return unit_key(day + DAY, segment_type) != unit_key(day, segment_type)


def expected_count(window: DateWindow, segment_type: SegmentType) -> int:
    start, end = window.start, window.end
    if segment_type is SegmentType.DAILY:
        return (end - start).days + 1
    if segment_type is SegmentType.WEEKLY:
        monday = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
        return (monday(end) - monday(start)).days // 7 + 1
    months = (end.year - start.year) * 12 + end.month - start.month
    if segment_type is SegmentType.MONTHLY:
        return months + 1
    return (end.year - start.year) * 4 + (end.month - 1) // 3 - (start.month - 1) // 3 + 1


@given(window=windows(), segment_type=st.sampled_from(SegmentType))
def test_segments_tile_the_window_exactly_in_order(window, segment_type):
    segments = segments_for_window(window, segment_type)
    assert segments[0].start == window.start
    assert segments[-1].end == window.end
    assert [s.index for s in segments] == list(range(len(segments)))
    for segment in segments:
        assert segment.start <= segment.end
    for before, after in zip(segments, segments[1:], strict=False):
        assert after.start == before.end + DAY  # contiguous, no gap and no overlap
    assert sum(s.days for s in segments) == window.days


@given(window=windows(), segment_type=st.sampled_from(SegmentType))
def test_each_segment_lies_in_one_calendar_unit_and_inner_ones_are_whole(window, segment_type):
    segments = segments_for_window(window, segment_type)
    for segment in segments:
        assert unit_key(segment.start, segment_type) == unit_key(segment.end, segment_type)
        whole = is_unit_start(segment.start, segment_type) and is_unit_end(
            segment.end, segment_type
        )
        assert segment.partial == (not whole)
    for inner in segments[1:-1]:
        assert not inner.partial


@given(window=windows(), segment_type=st.sampled_from(SegmentType))
def test_segment_count_matches_calendar_math(window, segment_type):
    assert len(segments_for_window(window, segment_type)) == expected_count(window, segment_type)


@given(window=windows(), segment_type=st.sampled_from(SegmentType))
def test_segments_map_to_back_to_back_amc_windows(window, segment_type):
    segments = segments_for_window(window, segment_type)
    assert segments[0].window_start_datetime == window.window_start_datetime
    assert segments[-1].window_end_datetime == window.window_end_datetime
    for before, after in zip(segments, segments[1:], strict=False):
        # Half-open: one segment's exclusive end is the next one's inclusive start.
        assert before.window_end_datetime == after.window_start_datetime
    for segment in segments:
        span = segment.window_end_datetime - segment.window_start_datetime
        assert span == timedelta(days=segment.days)


relative_configs = st.builds(
    lambda value, unit: {"type": "relative", "value": value, "unit": unit},
    st.integers(1, 400),
    st.sampled_from(["days", "weeks", "months"]),
)


@st.composite
def custom_configs(draw, today):
    start = today + timedelta(days=draw(st.integers(-500, 30)))
    end = start + timedelta(days=draw(st.integers(-5, 420)))
    return {"type": "custom", "start_date": start.isoformat(), "end_date": end.isoformat()}


limits = st.one_of(
    st.just({}),  # the AMC defaults: 14-day lag, 425-day retention, 365 days at most
    st.fixed_dictionaries(
        {
            "data_lag_days": st.integers(0, 30),
            "retention_days": st.integers(30, 500),
            "max_days": st.integers(1, 365),
        }
    ),
)


@given(today=days_in_range, data=st.data(), limits=limits)
def test_resolved_window_always_respects_length_retention_and_lag(today, data, limits):
    config = data.draw(st.one_of(relative_configs, custom_configs(today)))
    try:
        window = resolve_lookback(config, today=today, **limits)
    except LookbackError as error:
        assert error.field.startswith("lookback_config.")
        return
    assert window.start <= window.end
    assert window.days <= limits.get("max_days", 365)
    assert window.start >= today - timedelta(days=limits.get("retention_days", 425))
    assert window.end <= today - timedelta(days=limits.get("data_lag_days", 14))
    if config["type"] == "custom":
        assert window == DateWindow(
            date.fromisoformat(config["start_date"]), date.fromisoformat(config["end_date"])
        )


@given(today=days_in_range, start_offset=st.integers(-440, 0), length=st.integers(-3, 380))
def test_custom_windows_follow_the_rules_in_order(today, start_offset, length):
    start = today + timedelta(days=start_offset)
    end = start + timedelta(days=length - 1)
    config = {"type": "custom", "start_date": start.isoformat(), "end_date": end.isoformat()}
    if end < start or end > today - timedelta(days=14):
        expected_field = "lookback_config.end_date"
    elif start < today - timedelta(days=425) or length > 365:
        expected_field = "lookback_config.start_date"
    else:
        assert resolve_lookback(config, today=today) == DateWindow(start, end)
        return
    try:
        resolve_lookback(config, today=today)
    except LookbackError as error:
        assert error.field == expected_field
    else:
        raise AssertionError(f"{config} should fail on {expected_field}")


@given(today=days_in_range, config=relative_configs)
def test_relative_windows_end_at_the_data_lag_and_are_valid_up_to_the_limits(today, config):
    value, unit = config["value"], config["unit"]
    always_fits = {"days": value <= 365, "weeks": value <= 52, "months": value <= 11}[unit]
    never_fits = {"days": value > 365, "weeks": value > 52, "months": value > 12}[unit]
    try:
        window = resolve_lookback(config, today=today)
    except LookbackError as error:
        assert error.field == "lookback_config.value"
        assert not always_fits
        return
    assert not never_fits
    assert window.end == today - timedelta(days=14)
    if unit == "days":
        assert window.days == value
    if unit == "weeks":
        assert window.days == 7 * value


@given(
    remaining=st.integers(0, 400),
    concurrency=st.integers(1, 20),
    seconds=st.floats(0, 3600, allow_nan=False),
)
def test_time_left_with_nothing_running_is_the_wave_estimate(remaining, concurrency, seconds):
    assert estimate_time_left(
        remaining=remaining,
        running_elapsed_seconds=[],
        concurrency=concurrency,
        typical_segment_seconds=seconds,
    ) == estimate_duration(
        segment_count=remaining, concurrency=concurrency, typical_segment_seconds=seconds
    )


@given(
    remaining=st.integers(0, 200),
    running=st.lists(st.floats(0, 7200, allow_nan=False), max_size=25),
    concurrency=st.integers(1, 20),
    seconds=st.floats(1, 3600, allow_nan=False),
)
def test_time_left_grows_with_remaining_work(remaining, running, concurrency, seconds):
    def left(n):
        return estimate_time_left(
            remaining=n,
            running_elapsed_seconds=running,
            concurrency=concurrency,
            typical_segment_seconds=seconds,
        )

    now = left(remaining)
    assert 0 <= now <= left(remaining + 1)
    # Never more than running everything left from scratch plus one wave for those in flight.
    bound = estimate_duration(
        segment_count=remaining, concurrency=concurrency, typical_segment_seconds=seconds
    )
    assert now <= bound + seconds * (1 + len(running) // concurrency) + 1e-6
