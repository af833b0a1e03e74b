"""Ad-hoc executions over real HTTP: lifecycle, results, errors, cancel, list, downloads."""

import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from .helpers import (
    assert_amc_error,
    body,
    days_ago,
    download,
    executions_url,
    run,
    submit,
    wait,
    window,
)

CAMPAIGN_USERS = """
SELECT campaign, COUNT(DISTINCT user_id) AS users, SUM(impressions) AS impressions
FROM sponsored_ads_traffic
GROUP BY campaign
"""


def test_submitted_execution_runs_to_succeeded_and_its_csv_downloads(amc_sim, amc_headers):
    headers = amc_headers()
    response = submit(amc_sim, headers, CAMPAIGN_USERS)
    assert response.status_code == 200
    submitted = response.json()
    assert submitted["status"] == "PENDING"
    assert submitted["workflowExecutionId"]
    assert submitted["workflow"]["sqlQuery"] == CAMPAIGN_USERS

    execution = wait(amc_sim, headers, submitted["workflowExecutionId"])
    assert execution["status"] == "SUCCEEDED"
    assert execution["startTime"] and execution["endTime"]
    assert execution["outputLocation"].startswith("s3://")
    assert execution["errorCode"] is None and execution["failureReason"] is None

    rows = download(amc_sim, headers, execution["workflowExecutionId"])
    assert len(rows) >= 8
    assert set(rows[0]) == {"campaign", "users", "impressions"}
    assert all(int(row["impressions"]) >= int(row["users"]) > 0 for row in rows)


def test_execution_passes_through_pending_and_running(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance(pending_seconds=0.4, running_seconds=0.4)
    headers = amc_headers(instance)
    response = submit(
        amc_sim, headers, "SELECT COUNT(*) AS n FROM dsp_clicks", instance.instance_id
    )
    execution_id = response.json()["workflowExecutionId"]
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = requests.get(
            f"{executions_url(amc_sim, instance.instance_id)}/{execution_id}",
            headers=headers,
            timeout=10,
        ).json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]


def test_window_is_echoed_in_utc_and_as_sent(amc_sim, amc_headers):
    response = submit(
        amc_sim,
        amc_headers(),
        "SELECT 1 AS one",
        timeWindowStart="2026-07-01T00:00:00",
        timeWindowEnd="2026-07-02T00:00:00",
        timeWindowTimeZone="America/New_York",
    )
    execution = response.json()
    assert execution["timeWindowStart"] == "2026-07-01T04:00:00Z"
    assert execution["timeWindowEnd"] == "2026-07-02T04:00:00Z"
    assert execution["timeWindowStartOriginal"] == "2026-07-01T00:00:00"
    assert execution["timeWindowTimeZoneOriginal"] == "America/New_York"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT campaign,\n       no_such_column\nFROM sponsored_ads_traffic", "no_such_column"),
        ("SELECT *\nFROM no_such_table", "no_such_table"),
        ("SELECT campaign FROM sponsored_ads_traffic WHERE", "syntax error"),
    ],
)
def test_query_that_does_not_compile_is_400_with_details(amc_sim, amc_headers, sql, expected):
    error = assert_amc_error(submit(amc_sim, amc_headers(), sql), 400, "BAD_REQUEST")
    assert expected in error["details"]
    assert "LINE" in error["details"]
    assert expected not in error["message"]
    assert "amc_raw" not in error["details"]


def test_compile_error_points_at_the_users_own_line(amc_sim, amc_headers):
    sql = "SELECT campaign,\n  SUM(clicks) AS clicks,\n  bogus_metric\nFROM sponsored_ads_traffic"
    error = assert_amc_error(submit(amc_sim, amc_headers(), sql), 400)
    assert "LINE 3:" in error["details"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT 2",
        "DROP VIEW sponsored_ads_traffic",
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT 1) TO '/tmp/out.csv'",
        "SELECT BUILT_IN_PARAMETER('SOMETHING_ELSE') AS x",
    ],
)
def test_anything_but_one_valid_select_is_refused(amc_sim, amc_headers, sql):
    assert_amc_error(submit(amc_sim, amc_headers(), sql), 400, "BAD_REQUEST")


def test_queries_cannot_touch_files(amc_sim, amc_headers):
    response = submit(amc_sim, amc_headers(), "SELECT * FROM read_csv('/etc/passwd')")
    assert_amc_error(response, 400)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"timeWindowType": "EXPLICIT"}, 400),  # no workflow
        ({"workflow": {"sqlQuery": ""}}, 400),
        ({"workflow": {"sqlQuery": 42}}, 400),
        ({"workflow": "SELECT 1"}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "workflowId": "saved"}, 400),
        ({"workflowId": "my-saved-workflow"}, 404),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "timeWindowStart": None}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "timeWindowStart": "2026-10-01"}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "timeWindowStart": "yesterday"}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "timeWindowStart": "2026-02-30T00:00:00"}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "timeWindowTimeZone": "Mars/Olympus"}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "timeWindowType": "SOMETIME"}, 400),
        ({"workflow": {"sqlQuery": "SELECT 1"}, "outputFormat": "PARQUET"}, 400),
    ],
)
def test_bad_bodies_get_amc_shaped_4xx(amc_sim, amc_headers, payload, status):
    full = body("SELECT 1")
    full.pop("workflow")
    full.update(payload)
    full = {k: v for k, v in full.items() if v is not None}
    response = requests.post(executions_url(amc_sim), headers=amc_headers(), json=full, timeout=10)
    assert_amc_error(response, status)


def test_window_end_before_start_is_400(amc_sim, amc_headers):
    response = submit(
        amc_sim, amc_headers(), "SELECT 1", timeWindowStart=days_ago(20), timeWindowEnd=days_ago(30)
    )
    assert_amc_error(response, 400)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400(amc_sim, amc_headers, raw):
    headers = {**amc_headers(), "Content-Type": "application/json"}
    response = requests.post(executions_url(amc_sim), headers=headers, data=raw, timeout=10)
    assert_amc_error(response, 400, "BAD_REQUEST")


def test_unknown_execution_is_404(amc_sim, amc_headers):
    response = requests.get(
        f"{executions_url(amc_sim)}/no-such-id", headers=amc_headers(), timeout=10
    )
    assert_amc_error(response, 404)


def test_execution_of_another_instance_is_not_found(amc_sim, amc_headers):
    response = submit(amc_sim, amc_headers(), "SELECT 1 AS x")
    execution_id = response.json()["workflowExecutionId"]
    other = executions_url(amc_sim, "amcrecodemo02")
    response = requests.get(
        f"{other}/{execution_id}", headers=amc_headers("amcrecodemo02"), timeout=10
    )
    assert_amc_error(response, 404)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_cancel_moves_a_pending_execution_to_cancelled(
    amc_sim, make_amc_instance, amc_headers, method
):
    instance = make_amc_instance(pending_seconds=5)
    headers = amc_headers(instance)
    response = submit(amc_sim, headers, "SELECT 1 AS x", instance.instance_id)
    url = (
        f"{executions_url(amc_sim, instance.instance_id)}/{response.json()['workflowExecutionId']}"
    )
    if method == "PUT":
        cancelled = requests.put(url, headers=headers, json={"status": "CANCELLED"}, timeout=10)
    else:
        cancelled = requests.delete(url, headers=headers, timeout=10)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    assert requests.get(url, headers=headers, timeout=10).json()["status"] == "CANCELLED"
    stats = amc_sim.stats()["instances"][instance.instance_id]
    assert stats["current_concurrency"] == 0
    assert stats["executions"]["CANCELLED"] == 1


def test_cancel_reaches_a_running_execution(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance(pending_seconds=0, running_seconds=5)
    headers = amc_headers(instance)
    response = submit(amc_sim, headers, "SELECT 1 AS x", instance.instance_id)
    url = (
        f"{executions_url(amc_sim, instance.instance_id)}/{response.json()['workflowExecutionId']}"
    )
    deadline = time.monotonic() + 5
    while requests.get(url, headers=headers, timeout=10).json()["status"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert requests.delete(url, headers=headers, timeout=10).json()["status"] == "CANCELLED"
    time.sleep(0.2)
    assert requests.get(url, headers=headers, timeout=10).json()["status"] == "CANCELLED"


def test_finished_execution_cannot_be_cancelled(amc_sim, amc_headers):
    headers = amc_headers()
    execution_id = submit(amc_sim, headers, "SELECT 1 AS x").json()["workflowExecutionId"]
    wait(amc_sim, headers, execution_id)
    url = f"{executions_url(amc_sim)}/{execution_id}"
    assert_amc_error(requests.delete(url, headers=headers, timeout=10), 400)
    response = requests.put(url, headers=headers, json={"status": "RUNNING"}, timeout=10)
    assert_amc_error(response, 400)


def test_list_finds_an_execution_by_its_sql_and_filters_by_creation_time(amc_sim, amc_headers):
    headers = amc_headers()
    marker = "SELECT 'lost-id-marker' AS marker"
    before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 2))
    execution_id = submit(amc_sim, headers, marker).json()["workflowExecutionId"]
    listed = requests.get(
        executions_url(amc_sim), headers=headers, params={"minCreationTime": before}, timeout=10
    ).json()
    matching = [e for e in listed["executions"] if e["sqlQuery"] == marker]
    assert [e["workflowExecutionId"] for e in matching] == [execution_id]
    assert matching[0]["workflow"]["sqlQuery"] == marker

    future = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3600))
    later = requests.get(
        executions_url(amc_sim), headers=headers, params={"minCreationTime": future}, timeout=10
    ).json()
    assert later["executions"] == []


def test_list_pages_with_next_token(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance()
    headers = amc_headers(instance)
    ids = {
        submit(amc_sim, headers, f"SELECT {n} AS n", instance.instance_id).json()[
            "workflowExecutionId"
        ]
        for n in range(5)
    }
    seen, params = [], {"maxResults": "2"}
    while True:
        page = requests.get(
            executions_url(amc_sim, instance.instance_id),
            headers=headers,
            params=params,
            timeout=10,
        ).json()
        seen += [e["workflowExecutionId"] for e in page["executions"]]
        if not page["nextToken"]:
            break
        params["nextToken"] = page["nextToken"]
    assert sorted(seen) == sorted(ids)


def test_download_urls_before_success_are_refused(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance(pending_seconds=5)
    headers = amc_headers(instance)
    execution_id = submit(amc_sim, headers, "SELECT 1 AS x", instance.instance_id).json()[
        "workflowExecutionId"
    ]
    url = f"{executions_url(amc_sim, instance.instance_id)}/{execution_id}/downloadUrls"
    error = assert_amc_error(requests.get(url, headers=headers, timeout=10), 400)
    assert "unavailable for download" in error["message"]


def _succeeded(amc_sim, headers):
    execution_id = submit(amc_sim, headers, "SELECT 1 AS x").json()["workflowExecutionId"]
    assert wait(amc_sim, headers, execution_id)["status"] == "SUCCEEDED"
    return f"{executions_url(amc_sim)}/{execution_id}/downloadUrls"


def test_expired_download_url_is_403_access_denied(amc_sim, amc_headers):
    headers = amc_headers()
    amc_sim.set_config(download_url_ttl_seconds=0)
    urls_url = _succeeded(amc_sim, headers)
    url = requests.get(urls_url, headers=headers, timeout=10).json()["downloadUrls"][0]
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text
    assert "expired" in response.text


def test_tampered_download_url_is_403(amc_sim, amc_headers):
    headers = amc_headers()
    url = requests.get(_succeeded(amc_sim, headers), headers=headers, timeout=10).json()[
        "downloadUrls"
    ][0]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["X-Amz-Expires"] = str(int(query["X-Amz-Expires"]) + 86400)
    forged = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
    response = requests.get(forged, timeout=10)
    assert response.status_code == 403
    assert "AccessDenied" in response.text
    no_signature = f"{parts.scheme}://{parts.netloc}{parts.path}"
    assert requests.get(no_signature, timeout=10).status_code == 403
    assert requests.get(url, timeout=10).status_code == 200


def test_concurrency_limit_gives_429_with_retry_after(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance(concurrency_limit=3, pending_seconds=3)
    headers = amc_headers(instance)
    for n in range(3):
        assert submit(amc_sim, headers, f"SELECT {n} AS n", instance.instance_id).status_code == 200
    refused = submit(amc_sim, headers, "SELECT 4 AS n", instance.instance_id)
    assert_amc_error(refused, 429, "TOO_MANY_REQUESTS")
    assert int(refused.headers["Retry-After"]) >= 1
    stats = amc_sim.stats()["instances"][instance.instance_id]
    assert stats["current_concurrency"] == 3
    assert stats["max_concurrency"] == 3
    assert stats["submits"] == 3
    assert stats["throttled_submits"] == 1
    assert stats["executions"]["PENDING"] == 3


def test_max_concurrency_is_exact_under_parallel_submits(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance(concurrency_limit=5, pending_seconds=1.0, running_seconds=0.2)
    headers = amc_headers(instance)
    statuses = []
    lock = threading.Lock()

    def fire(n):
        response = submit(amc_sim, headers, f"SELECT {n} AS n", instance.instance_id)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=fire, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 5
    assert statuses.count(429) == 7
    assert amc_sim.wait_idle(15)
    stats = amc_sim.stats()["instances"][instance.instance_id]
    assert stats["max_concurrency"] == 5
    assert stats["current_concurrency"] == 0
    assert stats["executions"]["SUCCEEDED"] == 5


def test_stats_count_requests_by_route_and_status_and_reset(amc_sim, amc_headers):
    headers = amc_headers()
    requests.get(executions_url(amc_sim), headers=headers, timeout=10)
    requests.get(f"{executions_url(amc_sim)}/nope", headers=headers, timeout=10)
    stats = requests.get(f"{amc_sim.url}/_simulator/stats", timeout=10).json()
    assert stats["requests"]["total"] == 2
    assert stats["requests"]["by_status"] == {"200": 1, "404": 1}
    assert stats["requests"]["by_route"] == {
        "GET /amc/reporting/{instanceId}/workflowExecutions": 1,
        "GET /amc/reporting/{instanceId}/workflowExecutions/{workflowExecutionId}": 1,
    }
    requests.post(f"{amc_sim.url}/_simulator/stats/reset", timeout=10)
    assert amc_sim.stats()["requests"]["total"] == 0


def test_control_endpoints_register_instances(amc_sim, amc_headers):
    response = requests.put(
        f"{amc_sim.url}/_simulator/instances/amchttpmade1",
        json={
            "advertiser_id": "ENTITYHTTP",
            "seed": 1,
            "concurrency_limit": 2,
            "pending_seconds": 0.01,
            "running_seconds": 0.01,
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["concurrency_limit"] == 2
    rows = run(
        amc_sim,
        amc_headers("amchttpmade1"),
        "SELECT COUNT(*) AS n FROM dsp_impressions",
        "amchttpmade1",
    )
    assert int(rows[0]["n"]) > 0
    bad = requests.put(f"{amc_sim.url}/_simulator/instances/x", json={"seed": 1}, timeout=10)
    assert_amc_error(bad, 400)
    bad = requests.put(
        f"{amc_sim.url}/_simulator/instances/amchttpmade1/faults", json={"rate_429": 2}, timeout=10
    )
    assert_amc_error(bad, 400)


def test_a_query_submitted_again_for_other_windows_reads_each_window(amc_sim, amc_headers):
    """A backfill sends the same text for window after window: each run reads its own."""
    headers = amc_headers()
    sql = "SELECT COUNT(*) AS n FROM sponsored_ads_traffic"
    counts = [
        int(run(amc_sim, headers, sql, **window(start, end))[0]["n"])
        for start, end in [(40, 39), (40, 30), (40, 39)]
    ]
    assert counts[0] == counts[2]  # the same window, the same answer
    assert counts[1] > counts[0]  # ten days hold more than one


def test_a_rejected_query_is_rejected_every_time(amc_sim, amc_headers):
    headers = amc_headers()
    for _ in range(2):
        assert_amc_error(submit(amc_sim, headers, "SELECT nope FROM nowhere"), 400)
