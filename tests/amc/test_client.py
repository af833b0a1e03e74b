"""AmcClient behaviour over a scripted transport: headers, tokens, retries, errors, downloads."""

from __future__ import annotations

import io
import logging
import threading
from datetime import UTC, datetime

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from recomamp.amc import (
    AmcAuthError,
    AmcBadRequest,
    AmcConnectionError,
    AmcCredentials,
    AmcDownloadExpired,
    AmcNotFound,
    AmcQueryError,
    AmcResultTooLarge,
    AmcServerError,
    AmcThrottled,
    auth,
)

from .conftest import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TOKEN_URL, response

INSTANCE = "amcabc12345"
EXECS = f"/amc/reporting/{INSTANCE}/workflowExecutions"
EXEC = f"{EXECS}/exec-1"
TOKEN_PATH = "/auth/o2/token"
WINDOW = {"window_start": datetime(2026, 9, 1), "window_end": datetime(2026, 9, 8)}


def refused_connection() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/x", reason))


# -- headers and tokens ---------------------------------------------------------------------------


def test_every_api_call_carries_the_amc_headers_and_a_timeout(client, transport):
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "PENDING"})
    )
    transport.add("GET", f"{EXEC}/downloadUrls", response(200, {"downloadUrls": []}))
    transport.add("GET", EXECS, response(200, {"executions": []}))
    transport.add(
        "PUT", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "CANCELLED"})
    )
    transport.add(
        "POST", EXECS, response(202, {"workflowExecutionId": "exec-1", "status": "PENDING"})
    )

    client.get_execution(INSTANCE, "exec-1")
    client.get_download_urls(INSTANCE, "exec-1")
    client.list_executions(INSTANCE)
    client.cancel_execution(INSTANCE, "exec-1")
    client.create_execution(INSTANCE, sql="SELECT 1", **WINDOW)

    api_calls = [s for s in transport.seen if s.path != TOKEN_PATH]
    assert len(api_calls) == 5
    for seen in api_calls:
        assert seen.headers["Authorization"] == "Bearer Atza|token-1"
        assert seen.headers["Amazon-Advertising-API-ClientId"] == CLIENT_ID
        assert seen.headers["Amazon-Advertising-API-AdvertiserId"] == "ENTITY123"
        assert seen.headers["Amazon-Advertising-API-MarketplaceId"] == "ATVPDKIKX0DER"
        assert seen.url.startswith("https://amc.test/amc/reporting/amcabc12345/")
        assert "ENTITY123" not in seen.url  # the entity id goes in the header only
    for seen in transport.seen:
        assert seen.timeout == (5, 30)


def test_token_refresh_posts_the_lwa_form(client, transport):
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
    )
    client.get_execution(INSTANCE, "exec-1")
    (token_call,) = transport.requests_to("POST", TOKEN_PATH)
    assert token_call.url == TOKEN_URL
    assert token_call.form() == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH_TOKEN],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert "Authorization" not in token_call.headers


def test_clients_of_the_same_account_share_one_token(make_client, transport, credentials):
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
    )
    first, second = make_client(), make_client(marketplace_id="A1F83G8C2ARO7P")
    first.get_execution(INSTANCE, "exec-1")
    second.get_execution(INSTANCE, "exec-1")
    assert len(transport.requests_to("POST", TOKEN_PATH)) == 1

    other_account = AmcCredentials(CLIENT_ID, CLIENT_SECRET, "Atzr|another-account", TOKEN_URL)
    make_client(credentials=other_account).get_execution(INSTANCE, "exec-1")
    assert len(transport.requests_to("POST", TOKEN_PATH)) == 2


def test_concurrent_first_calls_fetch_one_token(make_client, transport):
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
    )
    clients = [make_client() for _ in range(8)]
    threads = [threading.Thread(target=c.get_execution, args=(INSTANCE, "exec-1")) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(transport.requests_to("POST", TOKEN_PATH)) == 1


def test_token_is_refreshed_shortly_before_expiry(client, transport, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    transport.add(
        "POST",
        TOKEN_PATH,
        response(200, {"access_token": "Atza|a", "expires_in": 3600}),
        response(200, {"access_token": "Atza|b", "expires_in": 3600}),
    )
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
    )

    client.get_execution(INSTANCE, "exec-1")
    clock[0] += 3600 - 301  # still more than the 5-minute margin left
    client.get_execution(INSTANCE, "exec-1")
    clock[0] += 2  # inside the margin: refresh before LWA's expiry
    client.get_execution(INSTANCE, "exec-1")

    tokens = [s.headers["Authorization"] for s in transport.requests_to("GET", EXEC)]
    assert tokens == ["Bearer Atza|a", "Bearer Atza|a", "Bearer Atza|b"]


def test_a_401_refreshes_once_and_retries_once(client, transport):
    transport.add(
        "GET",
        EXEC,
        response(401, {"message": "token expired"}),
        response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"}),
    )
    assert client.get_execution(INSTANCE, "exec-1").status == "RUNNING"
    tokens = [s.headers["Authorization"] for s in transport.requests_to("GET", EXEC)]
    assert tokens == ["Bearer Atza|token-1", "Bearer Atza|token-2"]
    assert client.sleeps == []


def test_a_second_401_is_an_auth_error(client, transport):
    transport.add("GET", EXEC, response(401, {"code": "UNAUTHORIZED", "message": "nope"}))
    with pytest.raises(AmcAuthError) as caught:
        client.get_execution(INSTANCE, "exec-1")
    assert caught.value.status == 401
    assert len(transport.requests_to("GET", EXEC)) == 2
    assert len(transport.requests_to("POST", TOKEN_PATH)) == 2


def test_a_401_does_not_refresh_again_when_another_client_already_did(make_client, transport):
    first, second = make_client(), make_client()
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
    )
    first.get_execution(INSTANCE, "exec-1")  # token-1 cached
    transport.routes[("GET", EXEC)].clear()
    transport.add(
        "GET",
        EXEC,
        lambda seen: (
            response(401)
            if seen.headers["Authorization"].endswith("token-1")
            else response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
        ),
    )
    first.get_execution(INSTANCE, "exec-1")  # 401 -> token-2
    second.get_execution(INSTANCE, "exec-1")  # uses token-2 straight away
    assert len(transport.requests_to("POST", TOKEN_PATH)) == 2


def test_403_is_an_auth_error_without_refresh(client, transport):
    transport.add(
        "GET",
        EXEC,
        response(
            403,
            {"code": "FORBIDDEN", "message": "wrong advertiser"},
            headers={"x-amzn-RequestId": "rid-9"},
        ),
    )
    with pytest.raises(AmcAuthError) as caught:
        client.get_execution(INSTANCE, "exec-1")
    assert caught.value.request_id == "rid-9"
    assert caught.value.message == "wrong advertiser"
    assert len(transport.requests_to("GET", EXEC)) == 1
    assert len(transport.requests_to("POST", TOKEN_PATH)) == 1


def test_lwa_refusal_is_an_auth_error_without_the_secrets(client, transport):
    transport.add(
        "POST",
        TOKEN_PATH,
        response(400, {"error": "invalid_grant", "error_description": "refresh token revoked"}),
    )
    with pytest.raises(AmcAuthError) as caught:
        client.get_execution(INSTANCE, "exec-1")
    assert caught.value.code == "invalid_grant"
    assert "refresh token revoked" in str(caught.value)
    for secret in (CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert transport.requests_to("GET", EXEC) == []
    assert client.sleeps == []


def test_lwa_outage_is_retried_and_stays_transient(client, transport):
    transport.add(
        "POST",
        TOKEN_PATH,
        response(503),
        response(200, {"access_token": "Atza|x", "expires_in": 3600}),
    )
    transport.add(
        "GET", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"})
    )
    client.get_execution(INSTANCE, "exec-1")
    assert len(client.sleeps) == 1

    transport.routes.clear()
    from recomamp.amc import token_cache

    token_cache.clear()
    transport.add("POST", TOKEN_PATH, response(503))
    with pytest.raises(AmcServerError):
        client.get_execution(INSTANCE, "exec-1")


# -- retries ------------------------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(client, transport):
    transport.add(
        "GET",
        EXEC,
        response(429, {"message": "slow down"}, headers={"Retry-After": "2"}),
        response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"}),
    )
    assert client.get_execution(INSTANCE, "exec-1").status == "RUNNING"
    assert client.sleeps == [2.0]


def test_retry_after_is_capped_by_backoff_max(make_client, transport):
    client = make_client(backoff_max=5.0)
    transport.add(
        "GET",
        EXEC,
        response(429, headers={"Retry-After": "600"}),
        response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"}),
    )
    client.get_execution(INSTANCE, "exec-1")
    assert client.sleeps == [5.0]


def test_persistent_429_raises_throttled_with_retry_after(client, transport):
    transport.add("GET", EXEC, response(429, {"message": "busy"}, headers={"Retry-After": "1"}))
    with pytest.raises(AmcThrottled) as caught:
        client.get_execution(INSTANCE, "exec-1")
    assert caught.value.retry_after == 1.0
    assert caught.value.retryable
    assert len(transport.requests_to("GET", EXEC)) == 1 + client.max_retries


def test_5xx_on_a_read_is_retried_with_bounded_jittered_backoff(make_client, transport):
    client = make_client(max_retries=4, backoff_base=0.5, backoff_max=1.5)
    transport.add(
        "GET",
        EXEC,
        response(500),
        response(502),
        response(503),
        response(504),
        response(200, {"workflowExecutionId": "exec-1", "status": "SUCCEEDED"}),
    )
    assert client.get_execution(INSTANCE, "exec-1").is_terminal
    assert len(client.sleeps) == 4
    for n, delay in enumerate(client.sleeps):
        assert 0 <= delay <= min(1.5, 0.5 * 2**n)


def test_5xx_after_the_last_retry_is_a_server_error(client, transport):
    transport.add("GET", EXEC, response(500, {"message": "internal"}))
    with pytest.raises(AmcServerError):
        client.get_execution(INSTANCE, "exec-1")
    assert len(transport.requests_to("GET", EXEC)) == 4


def test_connection_errors_on_reads_are_retried(client, transport):
    transport.add(
        "GET",
        EXEC,
        requests.ReadTimeout("read timed out"),
        refused_connection(),
        response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"}),
    )
    assert client.get_execution(INSTANCE, "exec-1").status == "RUNNING"
    assert len(client.sleeps) == 2


def test_other_4xx_are_never_retried(client, transport):
    transport.add("GET", EXEC, response(404, {"message": "no such execution"}))
    with pytest.raises(AmcNotFound):
        client.get_execution(INSTANCE, "exec-1")
    transport.add("PUT", EXEC, response(400, {"message": "already finished"}))
    with pytest.raises(AmcBadRequest) as caught:
        client.cancel_execution(INSTANCE, "exec-1")
    assert not isinstance(caught.value, AmcQueryError)
    assert client.sleeps == []
    assert len(transport.requests_to("GET", EXEC)) == 1


# -- create_execution -------------------------------------------------------------------------


def test_create_sends_the_ad_hoc_body_and_returns_the_execution(client, transport):
    transport.add(
        "POST", EXECS, response(202, {"workflowExecutionId": "exec-7", "status": "PENDING"})
    )
    execution = client.create_execution(
        INSTANCE,
        sql="SELECT 1",
        window_start=datetime(2026, 9, 1, 4, tzinfo=UTC),
        window_end=datetime(2026, 9, 8),
        time_zone="America/New_York",
    )
    assert (execution.execution_id, execution.status) == ("exec-7", "PENDING")
    (seen,) = transport.requests_to("POST", EXECS)
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.json() == {
        "workflow": {"sqlQuery": "SELECT 1"},
        "timeWindowType": "EXPLICIT",
        "timeWindowStart": "2026-09-01T00:00:00",
        "timeWindowEnd": "2026-09-08T00:00:00",
        "timeWindowTimeZone": "America/New_York",
        "outputFormat": "CSV",
    }


def test_create_compile_error_carries_amcs_details(client, transport):
    transport.add(
        "POST",
        EXECS,
        response(
            400,
            {
                "code": "400",
                "message": "Bad Request",
                "details": "Table not found: no_such_table; line 1:15",
            },
        ),
    )
    with pytest.raises(AmcQueryError) as caught:
        client.create_execution(INSTANCE, sql="SELECT * FROM no_such_table", **WINDOW)
    assert caught.value.details == "Table not found: no_such_table; line 1:15"
    assert caught.value.status == 400
    assert len(transport.requests_to("POST", EXECS)) == 1


def test_create_is_not_retried_on_5xx(client, transport):
    transport.add(
        "POST",
        EXECS,
        response(500, {"message": "oops"}),
        response(202, {"workflowExecutionId": "dup", "status": "PENDING"}),
    )
    with pytest.raises(AmcServerError):
        client.create_execution(INSTANCE, sql="SELECT 1", **WINDOW)
    assert len(transport.requests_to("POST", EXECS)) == 1


def test_create_is_not_retried_after_the_request_went_out(client, transport):
    transport.add(
        "POST",
        EXECS,
        requests.ReadTimeout("read timed out"),
        response(202, {"workflowExecutionId": "dup", "status": "PENDING"}),
    )
    with pytest.raises(AmcConnectionError) as caught:
        client.create_execution(INSTANCE, sql="SELECT 1", **WINDOW)
    assert caught.value.request_sent is True
    assert len(transport.requests_to("POST", EXECS)) == 1


def test_create_is_retried_on_429_and_on_connections_never_made(client, transport):
    transport.add(
        "POST",
        EXECS,
        response(429, headers={"Retry-After": "1"}),
        requests.ConnectTimeout("connect timed out"),
        refused_connection(),
        response(202, {"workflowExecutionId": "exec-1", "status": "PENDING"}),
    )
    assert client.create_execution(INSTANCE, sql="SELECT 1", **WINDOW).execution_id == "exec-1"
    assert len(transport.requests_to("POST", EXECS)) == 4


def test_find_matching_executions_reconciles_an_uncertain_submit(client, transport):
    sql = "SELECT 1"
    transport.add(
        "GET",
        EXECS,
        response(
            200,
            {
                "executions": [
                    {
                        "workflowExecutionId": "mine",
                        "status": "RUNNING",
                        "workflow": {"sqlQuery": sql},
                        "timeWindowStart": "2026-09-01T00:00:00",
                        "timeWindowEnd": "2026-09-08T00:00:00",
                        "timeWindowTimeZone": "UTC",
                        "createTime": "2026-09-20T10:00:05Z",
                    },
                    {
                        "workflowExecutionId": "other",
                        "status": "RUNNING",
                        "workflow": {"sqlQuery": "SELECT 2"},
                        "timeWindowStart": "2026-09-01T00:00:00",
                        "timeWindowEnd": "2026-09-08T00:00:00",
                        "createTime": "2026-09-20T10:00:06Z",
                    },
                ]
            },
        ),
    )
    found = client.find_matching_executions(
        INSTANCE, sql=sql, **WINDOW, submitted_after=datetime(2026, 9, 20, 10, tzinfo=UTC)
    )
    assert [e.execution_id for e in found] == ["mine"]


# -- list, cancel, download URLs ------------------------------------------------------------------


def test_list_follows_pages_and_filters_by_creation_time(client, transport):
    transport.add(
        "GET",
        EXECS,
        response(
            200,
            {
                "executions": [
                    {
                        "workflowExecutionId": "old",
                        "status": "SUCCEEDED",
                        "createTime": "2026-01-01T00:00:00Z",
                    },
                    {
                        "workflowExecutionId": "a",
                        "status": "SUCCEEDED",
                        "createTime": "2026-09-01T00:00:00Z",
                    },
                ],
                "nextToken": "page2",
            },
        ),
        response(200, {"executions": [{"workflowExecutionId": "b", "status": "RUNNING"}]}),
    )
    found = client.list_executions(INSTANCE, min_creation_time=datetime(2026, 8, 1))
    assert [e.execution_id for e in found] == ["a", "b"]
    first, second = transport.requests_to("GET", EXECS)
    assert first.query == {"minCreationTime": ["2026-08-01T00:00:00Z"]}
    assert second.query["nextToken"] == ["page2"]


def test_cancel_is_a_put_with_cancelled_status(client, transport):
    transport.add(
        "PUT", EXEC, response(200, {"workflowExecutionId": "exec-1", "status": "CANCELLED"})
    )
    execution = client.cancel_execution(INSTANCE, "exec-1")
    assert execution is not None and execution.status == "CANCELLED"
    (seen,) = transport.requests_to("PUT", EXEC)
    assert seen.json() == {"status": "CANCELLED"}

    transport.routes.clear()
    transport.add("PUT", EXEC, response(204))
    assert client.cancel_execution(INSTANCE, "exec-1") is None


def test_download_urls(client, transport):
    transport.add(
        "GET",
        f"{EXEC}/downloadUrls",
        response(
            200,
            {
                "downloadUrls": [
                    "https://bucket.test/r/part-0.csv?X-Amz-Signature=abc",
                    "/_files/part-1.csv",
                ]
            },
        ),
    )
    assert client.get_download_urls(INSTANCE, "exec-1") == [
        "https://bucket.test/r/part-0.csv?X-Amz-Signature=abc",
        "https://amc.test/_files/part-1.csv",
    ]


def test_instance_and_execution_ids_are_path_quoted(client, transport):
    transport.add(
        "GET",
        "/amc/reporting/a%2Fb/workflowExecutions/x%20y",
        response(200, {"workflowExecutionId": "x y", "status": "RUNNING"}),
    )
    assert client.get_execution("a/b", "x y").execution_id == "x y"


# -- downloads ------------------------------------------------------------------------------------

CSV = b"campaign,impressions\nA,100\nB,200\n"
FILE_URL = "https://bucket.test/results/part-0.csv?X-Amz-Signature=sig&X-Amz-Expires=60"


def test_download_streams_without_amc_headers(client, transport):
    transport.add("GET", "/results/part-0.csv", response(200, raw=CSV))
    assert b"".join(client.download_results(FILE_URL, max_bytes=1000)) == CSV
    (seen,) = transport.requests_to("GET", "/results/part-0.csv")
    assert "Authorization" not in seen.headers
    assert "Amazon-Advertising-API-ClientId" not in seen.headers
    assert seen.query["X-Amz-Signature"] == ["sig"]
    assert seen.timeout == (5, 30)


def test_download_to_writes_and_counts(client, transport):
    transport.add("GET", "/results/part-0.csv", response(200, raw=CSV))
    out = io.BytesIO()
    assert client.download_to(FILE_URL, out, max_bytes=1000) == len(CSV)
    assert out.getvalue() == CSV


def test_download_over_the_declared_cap_is_refused_before_reading(client, transport):
    transport.add(
        "GET",
        "/results/part-0.csv",
        response(200, raw=CSV, headers={"Content-Length": str(len(CSV))}),
    )
    with pytest.raises(AmcResultTooLarge) as caught:
        list(client.download_results(FILE_URL, max_bytes=10))
    assert caught.value.size == len(CSV)


def test_download_over_the_cap_while_streaming_truncates_the_file(client, transport):
    transport.add("GET", "/results/part-0.csv", response(200, raw=CSV * 1000))
    out = io.BytesIO(b"keep")
    out.seek(4)
    with pytest.raises(AmcResultTooLarge):
        client.download_to(FILE_URL, out, max_bytes=len(CSV) * 10)
    assert out.getvalue() == b"keep"


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_refused_download_url_is_expired(client, transport, status):
    transport.add(
        "GET",
        "/results/part-0.csv",
        response(
            status,
            raw=b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        ),
    )
    with pytest.raises(AmcDownloadExpired):
        list(client.download_results(FILE_URL, max_bytes=1000))
    assert client.sleeps == []


def test_download_5xx_is_retried(client, transport):
    transport.add("GET", "/results/part-0.csv", response(503), response(200, raw=CSV))
    assert b"".join(client.download_results(FILE_URL, max_bytes=1000)) == CSV
    assert len(client.sleeps) == 1


# -- logs ------------------------------------------------------------------------------------


def test_logs_never_contain_tokens_or_secrets(client, transport, caplog):
    transport.add(
        "POST",
        TOKEN_PATH,
        response(200, {"access_token": "Atza|first-access-token", "expires_in": 3600}),
        response(200, {"access_token": "Atza|second-access-token", "expires_in": 3600}),
    )
    transport.add(
        "GET",
        EXEC,
        response(401),
        response(429, headers={"Retry-After": "0"}),
        response(200, {"workflowExecutionId": "exec-1", "status": "RUNNING"}),
    )
    transport.add("GET", "/results/part-0.csv", response(403, raw=b"expired"))
    caplog.set_level(logging.DEBUG)

    client.get_execution(INSTANCE, "exec-1")
    with pytest.raises(AmcDownloadExpired):
        list(client.download_results(FILE_URL, max_bytes=100))

    amc_records = [r for r in caplog.records if r.name == "recomamp.amc"]
    assert any(getattr(r, "amc_status", None) == 401 for r in amc_records)
    assert any(getattr(r, "amc_attempt", None) == 3 for r in amc_records)
    everything = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
    for secret in (
        "Atza|first-access-token",
        "Atza|second-access-token",
        CLIENT_SECRET,
        REFRESH_TOKEN,
        "Bearer",
        "X-Amz-Signature",
    ):
        assert secret not in everything
