"""Contract suite: the AMC client against the AMC simulator over real HTTP.

Each test registers its own simulator instance (its own advertiser, limits and latencies) and
talks to it only through AmcClient, as the product does. Expectations come from AMC.md; the
simulator's own guesses are listed in recomamp/amc_simulator/config.py.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from recomamp.amc import (
    AmcAuthError,
    AmcBadRequest,
    AmcClient,
    AmcCredentials,
    AmcDownloadExpired,
    AmcExecution,
    AmcNotFound,
    AmcQueryError,
    AmcResultTooLarge,
    AmcServerError,
    DownloadPolicy,
    ExecutionStatus,
)
from recomamp.amc_simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

SUBMIT_ROUTE = "POST /amc/reporting/{instanceId}/workflowExecutions"
GET_ROUTE = "GET /amc/reporting/{instanceId}/workflowExecutions/{workflowExecutionId}"
TOKEN_ROUTE = "POST /auth/o2/token"

SQL = (
    "SELECT ad_product_type, SUM(impressions) AS impressions, "
    "COUNT(DISTINCT user_id) AS users FROM sponsored_ads_traffic "
    "GROUP BY ad_product_type ORDER BY ad_product_type"
)


def window() -> dict[str, datetime]:
    """Four weeks ending past AMC's 14-day data lag, well inside retention."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"window_start": today - timedelta(days=42), "window_end": today - timedelta(days=14)}


@pytest.fixture
def refresh_token() -> str:
    return f"Atzr|contract-{uuid.uuid4().hex}"


@pytest.fixture
def amc_client(amc_sim, refresh_token):
    """`amc_client(instance, **overrides) -> AmcClient` for a simulator instance.

    Sleeps are recorded, and kept short so that a Retry-After of 1 s does not slow the suite.
    """
    clients: list[AmcClient] = []

    def make(instance, **overrides) -> AmcClient:
        options = {
            "base_url": amc_sim.url,
            "credentials": AmcCredentials(
                client_id=DEFAULT_CLIENT_ID,
                client_secret=DEFAULT_CLIENT_SECRET,
                refresh_token=refresh_token,
                token_url=f"{amc_sim.url}/auth/o2/token",
            ),
            "advertiser_id": instance.advertiser_id,
            "marketplace_id": instance.marketplace_id,
            "timeout": (2, 10),
            "max_retries": 8,
            "download_policy": DownloadPolicy(trusted_origins=(amc_sim.url,)),
            "backoff_base": 0.01,
            "backoff_max": 5.0,
        }
        options.update(overrides)
        client = AmcClient(**options)
        client.sleeps = []  # type: ignore[attr-defined]

        def sleep(seconds: float) -> None:
            client.sleeps.append(seconds)  # type: ignore[attr-defined]
            time.sleep(min(seconds, 0.02))

        client.sleep = sleep  # type: ignore[method-assign]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def wait_until_terminal(client: AmcClient, instance_id: str, execution_id: str) -> AmcExecution:
    deadline = time.monotonic() + 60
    while True:
        execution = client.get_execution(instance_id, execution_id)
        if execution.is_terminal or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)


def instance_stats(amc_sim, instance_id: str) -> dict:
    return amc_sim.stats()["instances"][instance_id]


def route_count(amc_sim, route: str, *, expected: int | None = None) -> int:
    """Requests the simulator saw on `route`.

    The simulator counts a request just after writing its answer, so the count can lag the
    client by a moment: with `expected`, wait briefly for it to get there (and a little more,
    so that one too many shows too).
    """
    return _settled(lambda: amc_sim.stats()["requests"]["by_route"].get(route, 0), expected)


def status_count(amc_sim, status: int, *, expected: int) -> int:
    return _settled(lambda: amc_sim.stats()["requests"]["by_status"].get(str(status), 0), expected)


def _settled(read, expected: int | None) -> int:
    if expected is None:
        return read()
    deadline = time.monotonic() + 2.0
    while read() < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    return read()


# -- the happy path ---------------------------------------------------------------------------


def test_create_poll_download_gives_the_csv_rows(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)

    created = client.create_execution(instance.instance_id, sql=SQL, **window())
    assert created.execution_id
    assert created.status == ExecutionStatus.PENDING
    assert not created.is_terminal

    done = wait_until_terminal(client, instance.instance_id, created.execution_id)
    assert done.status == ExecutionStatus.SUCCEEDED, done.failure_text
    assert done.start_time is not None and done.end_time is not None
    assert done.start_time <= done.end_time
    assert done.output_location
    assert done.sql_query == SQL
    assert done.raw["workflowExecutionId"] == created.execution_id

    urls = client.get_download_urls(instance.instance_id, created.execution_id)
    assert len(urls) >= 1
    out = io.BytesIO()
    size = sum(client.download_to(url, out, max_bytes=10_000_000) for url in urls)
    assert size == len(out.getvalue()) > 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert rows, "the simulator's test data should pass the aggregation threshold"
    assert set(rows[0]) == {"ad_product_type", "impressions", "users"}
    assert {r["ad_product_type"] for r in rows} <= {
        "sponsored_products",
        "sponsored_brands",
        "sponsored_display",
        "sponsored_television",
    }
    assert all(int(r["impressions"]) > 0 for r in rows)

    stats = instance_stats(amc_sim, instance.instance_id)
    assert stats["submits"] == 1
    assert stats["max_concurrency"] == 1
    assert stats["executions"]["SUCCEEDED"] == 1


def test_window_is_sent_in_the_instance_time_zone_without_suffix(make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)
    bounds = window()
    created = client.create_execution(
        instance.instance_id, sql=SQL, time_zone="America/New_York", **bounds
    )
    seen = client.get_execution(instance.instance_id, created.execution_id)
    # Aware UTC bounds went out as New York wall time, and AMC read them in that zone.
    assert seen.window_utc == (bounds["window_start"], bounds["window_end"])
    new_york = bounds["window_start"].astimezone(ZoneInfo("America/New_York"))
    sent = seen.raw.get("timeWindowStartOriginal")
    if sent is not None:
        assert sent == new_york.replace(tzinfo=None).isoformat()


def test_list_and_reconcile_find_the_submitted_execution(make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)
    before = datetime.now(UTC) - timedelta(seconds=5)
    bounds = window()
    created = client.create_execution(instance.instance_id, sql=SQL, **bounds)

    listed = client.list_executions(instance.instance_id, min_creation_time=before)
    assert created.execution_id in {e.execution_id for e in listed}
    assert (
        client.list_executions(
            instance.instance_id, min_creation_time=datetime.now(UTC) + timedelta(hours=1)
        )
        == []
    )

    found = client.find_matching_executions(
        instance.instance_id, sql=SQL, **bounds, submitted_after=before
    )
    assert [e.execution_id for e in found] == [created.execution_id]
    other_window = {**bounds, "window_end": bounds["window_end"] - timedelta(days=1)}
    assert not client.find_matching_executions(
        instance.instance_id, sql=SQL, **other_window, submitted_after=before
    )


# -- AMC's errors -------------------------------------------------------------------------------


def test_compile_error_is_a_query_error_with_amcs_details(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)
    with pytest.raises(AmcQueryError) as caught:
        client.create_execution(
            instance.instance_id, sql="SELECT nope FROM no_such_table", **window()
        )
    error = caught.value
    assert error.status == 400
    assert "no_such_table" in (error.details or "")
    assert not error.retryable
    assert route_count(amc_sim, SUBMIT_ROUTE, expected=1) == 1
    assert instance_stats(amc_sim, instance.instance_id)["submits"] == 0


def test_wrong_advertiser_is_an_auth_error(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance, advertiser_id="ENTITYSOMEONEELSE")
    with pytest.raises(AmcAuthError) as caught:
        client.list_executions(instance.instance_id)
    assert caught.value.status == 403
    assert (
        route_count(amc_sim, "GET /amc/reporting/{instanceId}/workflowExecutions", expected=1) == 1
    )


def test_our_uuid_instead_of_amcs_instance_id_is_not_found(make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)
    with pytest.raises(AmcNotFound):
        client.create_execution(str(uuid.uuid4()), sql=SQL, **window())
    with pytest.raises(AmcNotFound):
        client.get_execution(instance.instance_id, str(uuid.uuid4()))


def test_lwa_refusing_the_refresh_token_is_an_auth_error(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    bad = AmcCredentials(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        "not-a-refresh-token",
        f"{amc_sim.url}/auth/o2/token",
    )
    client = amc_client(instance, credentials=bad)
    with pytest.raises(AmcAuthError) as caught:
        client.list_executions(instance.instance_id)
    assert caught.value.code == "invalid_grant"
    assert client.sleeps == []


# -- transient failures ------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_then_succeeds(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    amc_sim.set_faults(instance.instance_id, rate_429=0.5)
    client = amc_client(instance, max_retries=20)

    created = client.create_execution(instance.instance_id, sql=SQL, **window())
    done = wait_until_terminal(client, instance.instance_id, created.execution_id)
    assert done.status == ExecutionStatus.SUCCEEDED

    stats = instance_stats(amc_sim, instance.instance_id)
    assert stats["faults_injected"]["429"] >= 1
    assert stats["submits"] == 1  # retried submits never made a duplicate
    assert client.sleeps and all(delay == 1.0 for delay in client.sleeps)  # Retry-After: 1


def test_500_is_retried_on_reads_then_succeeds(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance, max_retries=20)
    created = client.create_execution(instance.instance_id, sql=SQL, **window())
    amc_sim.set_faults(instance.instance_id, rate_500=0.5)

    done = wait_until_terminal(client, instance.instance_id, created.execution_id)
    assert done.status == ExecutionStatus.SUCCEEDED
    assert client.get_download_urls(instance.instance_id, created.execution_id)
    assert instance_stats(amc_sim, instance.instance_id)["faults_injected"]["500"] >= 1
    assert client.sleeps
    assert all(0 <= delay <= client.backoff_max for delay in client.sleeps)


def test_500_on_submit_is_not_retried(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    amc_sim.set_faults(instance.instance_id, rate_500=1.0)
    client = amc_client(instance)
    with pytest.raises(AmcServerError) as caught:
        client.create_execution(instance.instance_id, sql=SQL, **window())
    assert caught.value.retryable
    assert route_count(amc_sim, SUBMIT_ROUTE, expected=1) == 1
    assert client.sleeps == []


def test_expired_token_is_refreshed_once_and_the_call_retried(
    amc_sim, make_amc_instance, amc_client
):
    instance = make_amc_instance()
    client = amc_client(instance)
    client.list_executions(instance.instance_id)
    assert route_count(amc_sim, TOKEN_ROUTE, expected=1) == 1

    amc_sim.expire_tokens()
    created = client.create_execution(instance.instance_id, sql=SQL, **window())

    assert created.execution_id
    assert route_count(amc_sim, TOKEN_ROUTE, expected=2) == 2
    assert route_count(amc_sim, SUBMIT_ROUTE, expected=2) == 2  # the 401, then the retry
    assert status_count(amc_sim, 401, expected=1) == 1
    assert instance_stats(amc_sim, instance.instance_id)["submits"] == 1
    assert client.sleeps == []


def test_two_clients_of_one_account_share_a_token(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    first, second = amc_client(instance), amc_client(instance)
    first.list_executions(instance.instance_id)
    second.list_executions(instance.instance_id)
    assert route_count(amc_sim, TOKEN_ROUTE, expected=1) == 1


# -- cancel and downloads -----------------------------------------------------------------------


def test_cancel_a_running_execution(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance(pending_seconds=0.05, running_seconds=30)
    client = amc_client(instance)
    created = client.create_execution(instance.instance_id, sql=SQL, **window())

    cancelled = client.cancel_execution(instance.instance_id, created.execution_id)
    if cancelled is not None:
        assert cancelled.status == ExecutionStatus.CANCELLED
    seen = client.get_execution(instance.instance_id, created.execution_id)
    assert seen.status == ExecutionStatus.CANCELLED
    assert seen.is_terminal
    assert instance_stats(amc_sim, instance.instance_id)["current_concurrency"] == 0

    with pytest.raises(AmcBadRequest):  # already finished
        client.cancel_execution(instance.instance_id, created.execution_id)


def succeeded_execution(client: AmcClient, instance_id: str) -> AmcExecution:
    created = client.create_execution(instance_id, sql=SQL, **window())
    done = wait_until_terminal(client, instance_id, created.execution_id)
    assert done.status == ExecutionStatus.SUCCEEDED, done.failure_text
    return done


def test_expired_download_url_raises_download_expired(amc_sim, make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)
    done = succeeded_execution(client, instance.instance_id)

    amc_sim.set_config(download_url_ttl_seconds=0)
    (expired,) = client.get_download_urls(instance.instance_id, done.execution_id)
    with pytest.raises(AmcDownloadExpired) as caught:
        list(client.download_results(expired, max_bytes=10_000_000))
    assert caught.value.status == 403

    amc_sim.restore_config()
    (fresh,) = client.get_download_urls(instance.instance_id, done.execution_id)
    tampered = fresh.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    with pytest.raises(AmcDownloadExpired):
        list(client.download_results(tampered, max_bytes=10_000_000))
    assert b"".join(client.download_results(fresh, max_bytes=10_000_000))
    assert client.sleeps == []


def test_download_over_the_cap_is_result_too_large(make_amc_instance, amc_client):
    instance = make_amc_instance()
    client = amc_client(instance)
    done = succeeded_execution(client, instance.instance_id)
    (url,) = client.get_download_urls(instance.instance_id, done.execution_id)
    out = io.BytesIO()
    with pytest.raises(AmcResultTooLarge):
        client.download_to(url, out, max_bytes=20)
    assert out.getvalue() == b""


def test_download_urls_before_success_is_a_bad_request(make_amc_instance, amc_client):
    instance = make_amc_instance(pending_seconds=5, running_seconds=5)
    client = amc_client(instance)
    created = client.create_execution(instance.instance_id, sql=SQL, **window())
    with pytest.raises(AmcBadRequest):
        client.get_download_urls(instance.instance_id, created.execution_id)


# -- what the client does to AMC --------------------------------------------------------------


def test_parallel_submits_respect_the_instance_limit_without_duplicates(
    amc_sim, make_amc_instance, amc_client
):
    instance = make_amc_instance(concurrency_limit=2, pending_seconds=0.05, running_seconds=0.3)
    client = amc_client(instance, max_retries=40, backoff_max=1.0)
    client.list_executions(instance.instance_id)  # one token for all threads
    created: list[AmcExecution] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            created.append(client.create_execution(instance.instance_id, sql=SQL, **window()))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert len({e.execution_id for e in created}) == 5

    assert amc_sim.wait_idle(timeout=30)
    stats = instance_stats(amc_sim, instance.instance_id)
    assert stats["submits"] == 5
    assert stats["max_concurrency"] <= 2
    assert stats["throttled_submits"] >= 1  # the limit was hit and the client waited it out
    assert stats["executions"]["SUCCEEDED"] == 5
    assert route_count(amc_sim, TOKEN_ROUTE, expected=1) == 1


# -- logs ------------------------------------------------------------------------------------


def test_logs_never_contain_tokens_or_secrets(
    amc_sim, make_amc_instance, amc_client, refresh_token, caplog
):
    instance = make_amc_instance()
    client = amc_client(instance)
    sent_tokens: list[str] = []

    def remember(response: requests.Response, *args, **kwargs) -> None:
        authorization = response.request.headers.get("Authorization")
        if authorization:
            sent_tokens.append(authorization)
        if response.request.path_url.startswith("/auth/o2/token") and response.ok:
            sent_tokens.append(response.json()["access_token"])

    client.session.hooks["response"].append(remember)
    caplog.set_level(logging.DEBUG)

    done = succeeded_execution(client, instance.instance_id)
    amc_sim.expire_tokens()
    (url,) = client.get_download_urls(instance.instance_id, done.execution_id)
    assert b"".join(client.download_results(url, max_bytes=10_000_000))
    with pytest.raises(AmcQueryError):
        client.create_execution(instance.instance_id, sql="SELECT * FROM nowhere", **window())

    assert route_count(amc_sim, TOKEN_ROUTE, expected=2) == 2  # a full refresh happened on the way
    assert len({t.removeprefix("Bearer ") for t in sent_tokens}) == 2
    amc_logs = [r for r in caplog.records if r.name == "recomamp.amc"]
    assert any(getattr(r, "amc_status", None) == 401 for r in amc_logs)
    everything = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
    secrets = {DEFAULT_CLIENT_SECRET, refresh_token, "Bearer"} | {
        t.removeprefix("Bearer ") for t in sent_tokens
    }
    for secret in secrets:
        assert secret not in everything
    ours = "".join(r.getMessage() + repr(vars(r)) for r in amc_logs)
    assert "X-Amz-Signature" not in ours  # pre-signed URLs are logged without their query
