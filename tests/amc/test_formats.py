"""Pure parts of the AMC client: timestamps, Retry-After, backoff, result parsing, errors."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recomamp.amc import (
    LWA_TOKEN_URL,
    REGION_BASE_URLS,
    AmcAuthError,
    AmcClient,
    AmcConnectionError,
    AmcCredentials,
    AmcDownloadExpired,
    AmcError,
    AmcExecution,
    AmcNotFound,
    AmcQueryError,
    AmcResultTooLarge,
    AmcServerError,
    AmcThrottled,
    ExecutionStatus,
    backoff_delay,
    format_amc_timestamp,
    parse_amc_time,
    parse_retry_after,
)


def test_region_base_urls_and_lwa_url_are_amazons():
    assert REGION_BASE_URLS == {
        "NA": "https://advertising-api.amazon.com",
        "EU": "https://advertising-api-eu.amazon.com",
        "FE": "https://advertising-api-fe.amazon.com",
    }
    assert LWA_TOKEN_URL == "https://api.amazon.com/auth/o2/token"


# -- timestamps -------------------------------------------------------------------------------


def test_naive_timestamp_is_taken_as_already_in_the_zone():
    value = datetime(2026, 10, 1, 0, 0, 0)
    assert format_amc_timestamp(value, "America/New_York") == "2026-10-01T00:00:00"
    assert format_amc_timestamp(value) == "2026-10-01T00:00:00"


def test_aware_timestamp_is_converted_to_the_zone_without_suffix():
    value = datetime(2026, 10, 1, 4, 0, 0, tzinfo=UTC)  # midnight EDT
    assert format_amc_timestamp(value, "America/New_York") == "2026-10-01T00:00:00"
    assert format_amc_timestamp(value, "UTC") == "2026-10-01T04:00:00"
    plus_two = datetime(2026, 1, 15, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_amc_timestamp(plus_two, "UTC") == "2026-01-15T10:30:00"


def test_aware_timestamp_conversion_follows_dst():
    winter = datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
    assert format_amc_timestamp(winter, "America/New_York") == "2026-01-01T00:00:00"


def test_timestamp_drops_microseconds():
    value = datetime(2026, 10, 1, 1, 2, 3, 999_999)
    assert format_amc_timestamp(value) == "2026-10-01T01:02:03"


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(["UTC", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]),
)
def test_timestamp_never_has_a_zone_suffix(value, zone):
    text = format_amc_timestamp(value, zone)
    assert len(text) == 19
    assert not text.endswith("Z")
    assert "+" not in text
    assert datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


def test_unknown_time_zone_is_a_value_error():
    with pytest.raises(ValueError):
        format_amc_timestamp(datetime(2026, 1, 1), "Mars/Olympus")


def test_execution_body_is_exactly_amcs_ad_hoc_shape():
    body = AmcClient.execution_body(
        sql="SELECT 1",
        window_start=datetime(2026, 10, 1, 4, tzinfo=UTC),
        window_end=datetime(2026, 10, 8),
        time_zone="America/New_York",
    )
    assert body == {
        "workflow": {"sqlQuery": "SELECT 1"},
        "timeWindowType": "EXPLICIT",
        "timeWindowStart": "2026-10-01T00:00:00",
        "timeWindowEnd": "2026-10-08T00:00:00",
        "timeWindowTimeZone": "America/New_York",
        "outputFormat": "CSV",
    }
    assert "workflowId" not in body


def test_execution_body_refuses_an_empty_window():
    with pytest.raises(ValueError):
        AmcClient.execution_body(
            sql="SELECT 1", window_start=datetime(2026, 1, 2), window_end=datetime(2026, 1, 2)
        )


# -- Retry-After and backoff -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("-4", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_http_date():
    now = datetime(2026, 10, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=42), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after(later, now=now) == pytest.approx(42.0)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0


@given(
    attempt=st.integers(min_value=0, max_value=200),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.01, max_value=120),
    seed=st.integers(),
)
def test_backoff_is_full_jitter_within_the_exponential_ceiling(attempt, base, cap, seed):
    delay = backoff_delay(attempt, base=base, cap=cap, rng=random.Random(seed))
    assert 0.0 <= delay <= min(cap, base * 2 ** min(attempt, 62))


def test_backoff_grows_exponentially_until_the_cap():
    class Top(random.Random):
        def uniform(self, a, b):
            return b

    rng = Top()
    delays = [backoff_delay(n, base=0.5, cap=30, rng=rng) for n in range(8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_backoff_honours_retry_after_capped_by_backoff_max():
    assert backoff_delay(0, base=0.5, cap=30, retry_after=7) == 7
    assert backoff_delay(5, base=0.5, cap=30, retry_after=3600) == 30
    assert backoff_delay(0, base=0.5, cap=30, retry_after=0) == 0


# -- results ------------------------------------------------------------------------------------


def test_execution_from_json_keeps_every_field_and_the_raw_json():
    data = {
        "workflowExecutionId": "exec-1",
        "status": "FAILED",
        "startTime": "2026-10-01T10:00:00Z",
        "endTime": "2026-10-01T10:05:00.250Z",
        "createTime": 1790000000000,
        "outputLocation": "s3://bucket/key",
        "failureReason": "QUERY_FAILED",
        "errorCode": "E42",
        "errorMessage": "Bad query",
        "errorDetails": {"line": 3},
        "validationErrors": ["column foo not found", ""],
        "timeWindowStart": "2026-10-01T00:00:00",
        "timeWindowEnd": "2026-10-08T00:00:00",
        "timeWindowTimeZone": "UTC",
        "workflow": {"sqlQuery": "SELECT foo"},
        "somethingNew": 1,
    }
    execution = AmcExecution.from_json("amcabc12345", data)
    assert execution.instance_id == "amcabc12345"
    assert execution.execution_id == "exec-1"
    assert execution.status == ExecutionStatus.FAILED == "FAILED"
    assert execution.start_time == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert execution.end_time == datetime(2026, 10, 1, 10, 5, 0, 250_000, tzinfo=UTC)
    assert execution.creation_time == datetime.fromtimestamp(1_790_000_000, UTC)
    assert execution.output_location == "s3://bucket/key"
    assert execution.error_details == '{"line": 3}'
    assert execution.validation_errors == ("column foo not found",)
    assert execution.sql_query == "SELECT foo"
    assert execution.raw["somethingNew"] == 1
    assert execution.is_terminal
    assert "column foo not found" in execution.failure_text
    hash(execution)  # frozen and hashable despite the raw dict


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        ("PENDING", False),
        ("RUNNING", False),
        ("SUCCEEDED", True),
        ("FAILED", True),
        ("CANCELLED", True),
        ("REJECTED", True),
        ("SOMETHING_NEW", False),
    ],
)
def test_is_terminal(status, terminal):
    assert AmcExecution("i", "e", status).is_terminal is terminal


def test_execution_is_frozen():
    execution = AmcExecution("i", "e", "PENDING")
    with pytest.raises(AttributeError):
        execution.status = "RUNNING"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01T00:00:00Z", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-01T02:00:00+02:00", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-01T00:00:00", datetime(2026, 10, 1, tzinfo=UTC)),
        (1790000000, datetime.fromtimestamp(1790000000, UTC)),
        ("yesterday", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_amc_time(value, expected):
    assert parse_amc_time(value) == expected


# -- errors and credentials ------------------------------------------------------------------------


def test_transient_errors_are_marked_retryable():
    assert AmcThrottled("x").retryable
    assert AmcServerError("x").retryable
    assert AmcConnectionError("x").retryable
    for permanent in (AmcQueryError, AmcAuthError, AmcNotFound, AmcDownloadExpired, AmcError):
        assert not permanent("x").retryable
    assert not AmcResultTooLarge("x", max_bytes=1).retryable
    assert all(
        issubclass(cls, AmcError)
        for cls in (
            AmcQueryError,
            AmcThrottled,
            AmcAuthError,
            AmcNotFound,
            AmcServerError,
            AmcConnectionError,
            AmcResultTooLarge,
            AmcDownloadExpired,
        )
    )


def test_error_text_carries_status_code_details_and_request_id():
    error = AmcQueryError(
        "Bad Request",
        status=400,
        code="400",
        details="Column 'foo' not found at line 1",
        request_id="req-1",
    )
    text = str(error)
    assert "400" in text and "Column 'foo' not found" in text and "req-1" in text
    assert AmcThrottled("slow down", retry_after=3).retry_after == 3


def test_credentials_repr_hides_secret_and_refresh_token():
    creds = AmcCredentials("client", "the-secret", "Atzr|the-refresh", "https://lwa")
    assert "the-secret" not in repr(creds)
    assert "the-refresh" not in repr(creds)
    assert creds.token_url == "https://lwa"
    assert AmcCredentials("c", "s", "r").token_url == LWA_TOKEN_URL
    assert "Atzr|the-refresh" not in repr(creds.cache_key())


def test_window_utc_reads_the_window_as_sent_or_as_utc():
    as_sent = AmcExecution.from_json(
        "i",
        {
            "workflowExecutionId": "e",
            "status": "PENDING",
            "timeWindowStart": "2026-10-01T00:00:00",
            "timeWindowEnd": "2026-10-08T00:00:00",
            "timeWindowTimeZone": "America/New_York",
        },
    )
    echoed_utc = AmcExecution.from_json(
        "i",
        {
            "workflowExecutionId": "e",
            "status": "PENDING",
            "timeWindowStart": "2026-10-01T04:00:00Z",
            "timeWindowEnd": "2026-10-08T04:00:00Z",
            "timeWindowStartOriginal": "2026-10-01T00:00:00",
            "timeWindowEndOriginal": "2026-10-08T00:00:00",
            "timeWindowTimeZoneOriginal": "America/New_York",
        },
    )
    expected = (datetime(2026, 10, 1, 4, tzinfo=UTC), datetime(2026, 10, 8, 4, tzinfo=UTC))
    assert as_sent.window_utc == expected
    assert echoed_utc.window_utc == expected
    assert echoed_utc.time_window_time_zone == "America/New_York"
    assert AmcExecution.from_json("i", {"status": "PENDING"}).window_utc is None


def test_the_client_package_imports_nothing_of_django():
    import ast
    from pathlib import Path

    import recomamp.amc

    for path in Path(recomamp.amc.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(("django", "rest_framework", "celery")), path
