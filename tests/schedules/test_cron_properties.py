"""Properties of the schedule time math over generated expressions, timezones and instants.

The oracles are independent of schedules.cron's search: croniter's own get_next on naive wall
times, croniter.expand's value sets, and a minute-by-minute scan that applies the DST policy
literally.
"""

from calendar import monthrange
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.cron import _compile, _parse, next_run_after, next_run_for_dispatch, preview_runs

MONTH_NAMES = dict(
    enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
)
DOW_NAMES = dict(enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat")))
ALL_ZONES = sorted(available_timezones())
MINUTE = timedelta(minutes=1)


# -- strategies ---------------------------------------------------------------------------------


@st.composite
def field(draw, low: int, high: int, names: dict[int, str] | None = None, last: bool = False):
    """One cron field: '*' alone, or a list of values, ranges, steps (and L for day-of-month)."""

    def value(number: int) -> str:
        if names and number in names and draw(st.booleans()):
            return draw(st.sampled_from([names[number], names[number].upper()]))
        return str(number)

    def item() -> str:
        kind = draw(
            st.sampled_from(
                ["value", "range", "range_step", "star_step", "start_step"]
                + (["last"] if last else [])
            )
        )
        a = draw(st.integers(low, high))
        b = draw(st.integers(a, high))
        step = draw(st.integers(1, high - low + 1))
        if kind == "value":
            return value(a)
        if kind == "range":
            return f"{value(a)}-{value(b)}"
        if kind == "range_step":
            return f"{value(a)}-{value(b)}/{step}"
        if kind == "star_step":
            return f"*/{step}"
        if kind == "start_step":
            return f"{value(a)}/{step}"
        return "L"

    if draw(st.integers(0, 2)) == 0:
        return "*"
    return ",".join(item() for _ in range(draw(st.integers(1, 3))))


@st.composite
def cron_expressions(draw) -> str:
    """Valid five-field expressions; impossible ones are excluded by construction: when the
    month is restricted, day-of-month values start at 28 or below, which every month has."""
    month = draw(field(1, 12, MONTH_NAMES))
    dom = draw(field(1, 31 if month == "*" else 28, last=True))
    minute = draw(field(0, 59))
    hour = draw(field(0, 23))
    dow = draw(field(0, 7, DOW_NAMES))
    return f"{minute} {hour} {dom} {month} {dow}"


@st.composite
def near_transition_expressions(draw) -> str:
    """Expressions likely to fire in the small hours, where DST transitions happen."""
    minute = draw(
        st.sampled_from(["*", "*/15", "*/10", "0", "30", "0,30", "15-45/15", "59", "5/20"])
    )
    hour = draw(
        st.sampled_from(["*", "*/2", "0-4", "1,2,3", "2", "1", "0", "3", "23,0,1", "22-23"])
    )
    dom = draw(st.sampled_from(["*", "*", "*", "1-31/2", "L", "1-15"]))
    dow = draw(st.sampled_from(["*", "*", "*", "0", "sun", "mon-fri", "0,6"]))
    return f"{minute} {hour} {dom} * {dow}"


naive_instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1))
utc_instants = naive_instants.map(lambda moment: moment.replace(tzinfo=UTC))


# -- independent helpers ------------------------------------------------------------------------


@cache
def wall_matcher(expression: str):
    """A predicate on naive wall times, built from croniter.expand (day fields ORed when both
    are restricted, as croniter does)."""
    expanded, _ = croniter.expand(expression)

    def values(index: int, low: int, high: int) -> set:
        return set(range(low, high + 1)) if expanded[index] == ["*"] else set(expanded[index])

    minutes, hours, months = values(0, 0, 59), values(1, 0, 23), values(3, 1, 12)
    dom = None if expanded[2] == ["*"] else set(expanded[2])
    dow = None if expanded[4] == ["*"] else set(expanded[4])

    def matches(wall: datetime) -> bool:
        if wall.minute not in minutes or wall.hour not in hours or wall.month not in months:
            return False
        last = monthrange(wall.year, wall.month)[1]
        dom_ok = dom is None or wall.day in dom or ("l" in dom and wall.day == last)
        dow_ok = dow is None or wall.isoweekday() % 7 in dow
        if dom is not None and dow is not None:
            return dom_ok or dow_ok
        return dom_ok and dow_ok

    return matches


def every_hour(expression: str) -> bool:
    expanded, _ = croniter.expand(expression)
    return expanded[1] == ["*"] or len(expanded[1]) == 24


@cache
def dst_zones() -> list[str]:
    """Zones whose offset differs between January and July 2030."""
    return [
        name
        for name in ALL_ZONES
        if datetime(2030, 1, 15, tzinfo=ZoneInfo(name)).utcoffset()
        != datetime(2030, 7, 15, tzinfo=ZoneInfo(name)).utcoffset()
    ]


def offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset()


@cache
def transitions(name: str, year: int) -> list[datetime]:
    """The instants in ``year`` at which ``name`` changes its UTC offset (to the second)."""
    zone = ZoneInfo(name)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        following = day + timedelta(days=1)
        if offset(zone, day) != offset(zone, following):
            lo, hi = day, following
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if offset(zone, mid) == offset(zone, following):
                    hi = mid
                else:
                    lo = mid
            found.append(hi.replace(microsecond=0))
        day = following
    return found


def expected_fires(expression: str, name: str, lo: datetime, hi: datetime) -> list[datetime]:
    """The policy, applied literally minute by minute over (lo, hi] (minute-aligned bounds)."""
    zone, matches, interval = ZoneInfo(name), wall_matcher(expression), every_hour(expression)
    fires = set()
    moment = lo + MINUTE
    while moment <= hi:
        local = moment.astimezone(zone)
        # A matching wall time fires at its first occurrence; interval schedules also fire at
        # the second occurrence of a repeated wall time.
        if matches(local.replace(tzinfo=None)) and (local.fold == 0 or interval):
            fires.add(moment)
        moment += MINUTE
    for transition in transitions(name, lo.year) + transitions(name, hi.year):
        before, after = offset(zone, transition - timedelta(seconds=1)), offset(zone, transition)
        if lo < transition <= hi and after > before:
            # Wall times skipped by a spring-forward fire once, at the transition.
            gap_start = (transition + before).replace(tzinfo=None)
            skipped = (gap_start + MINUTE * k for k in range((after - before) // MINUTE))
            if any(matches(wall) for wall in skipped):
                fires.add(transition)
    return sorted(fires)


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(expression=cron_expressions(), zone=st.sampled_from(ALL_ZONES), start=utc_instants)
def test_next_runs_are_strictly_after_and_strictly_increasing_over_500_steps(
    expression, zone, start
):
    tz = ZoneInfo(zone)
    matches = wall_matcher(_compile(expression).expression)
    moment = start
    for step in range(500):
        following = next_run_after(expression, zone, moment)
        assert following > moment
        assert following.tzinfo is UTC
        if step < 25:
            # Each fire is a matching wall time, or a spring-forward transition standing in
            # for skipped ones.
            local = following.astimezone(tz)
            transition = offset(tz, following - timedelta(seconds=1)) < local.utcoffset()
            assert matches(local.replace(tzinfo=None)) or transition
        moment = following


@settings(max_examples=60, deadline=None)
@given(expression=cron_expressions(), start=naive_instants)
def test_wall_clock_search_agrees_with_croniter(expression, start):
    compiled = _compile(expression)
    reference = croniter(compiled.expression, start)
    wall = start
    for _ in range(25):
        wall = compiled.next_wall(wall)
        assert wall == reference.get_next(datetime)


@settings(max_examples=100, deadline=None)
@given(expression=cron_expressions())
def test_normalised_expressions_mean_what_croniter_expands(expression):
    parsed = _parse(expression)
    expanded, _ = croniter.expand(parsed.expression)
    for values, mine, (low, high) in zip(expanded, parsed.fields, croniter.RANGES, strict=False):
        theirs = set(range(low, high + 1)) if values == ["*"] else {v for v in values if v != "l"}
        assert mine == theirs
    assert parsed.dom_has_last == ("l" in expanded[2])
    assert _parse(parsed.expression) == parsed  # normalising is idempotent


@settings(max_examples=150, deadline=None)
@given(
    expression=near_transition_expressions(),
    zone=st.sampled_from(dst_zones()),
    year=st.integers(2024, 2035),
    which=st.integers(0, 1),
    start_minutes=st.integers(0, 359),
    start_seconds=st.integers(0, 59),
)
def test_fires_around_dst_transitions_match_a_minute_by_minute_scan(
    expression, zone, year, which, start_minutes, start_seconds
):
    changes = transitions(zone, year)
    transition = changes[which % len(changes)]
    lo = transition.replace(second=0) - timedelta(hours=3)
    hi = lo + timedelta(hours=6)
    start = lo + timedelta(minutes=start_minutes, seconds=start_seconds)

    expected = [f for f in expected_fires(expression, zone, lo, hi) if f > start]
    actual, moment = [], start
    while (moment := next_run_after(expression, zone, moment)) <= hi:
        actual.append(moment)

    assert actual == expected


@settings(max_examples=60, deadline=None)
@given(
    expression=cron_expressions(),
    zone=st.sampled_from(ALL_ZONES),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)).map(
        lambda moment: moment.replace(tzinfo=UTC)
    ),
    downtime=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
)
def test_catch_up_is_one_run_at_the_latest_missed_time(expression, zone, start, downtime):
    due = next_run_after(expression, zone, start)
    now = due + downtime

    run_at, next_run_at = next_run_for_dispatch(expression, zone, due_at=due, now=now)

    assert due <= run_at <= now
    assert next_run_after(expression, zone, run_at) > now  # nothing later was missed
    assert next_run_at == next_run_after(expression, zone, now)
    if run_at != due:
        assert next_run_after(expression, zone, run_at - timedelta(seconds=1)) == run_at


@settings(max_examples=40, deadline=None)
@given(
    expression=cron_expressions(),
    zone=st.sampled_from(ALL_ZONES),
    start=utc_instants,
    count=st.integers(1, 20),
)
def test_preview_is_the_chain_of_next_runs(expression, zone, start, count):
    runs = preview_runs(expression, zone, after=start, count=count)

    chained, moment = [], start
    for _ in range(count):
        moment = next_run_after(expression, zone, moment)
        chained.append(moment)
    assert runs == chained
