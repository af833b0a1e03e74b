"""Fault injection per instance: 429s with Retry-After, 500s, stalls and failed queries."""

import requests

from .helpers import assert_amc_error, executions_url, submit, wait

CALLS = 300


def _statuses(amc_sim, headers, instance_id):
    url = executions_url(amc_sim, instance_id)
    with requests.Session() as session:
        return [session.get(url, headers=headers, timeout=10) for _ in range(CALLS)]


def test_injected_429_and_500_rates_are_roughly_honoured(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance()
    response = requests.put(
        f"{amc_sim.url}/_simulator/instances/{instance.instance_id}/faults",
        json={"rate_429": 0.3, "rate_500": 0.1},
        timeout=10,
    )
    assert response.status_code == 200
    responses = _statuses(amc_sim, amc_headers(instance), instance.instance_id)
    throttled = [r for r in responses if r.status_code == 429]
    failed = [r for r in responses if r.status_code == 500]
    assert 0.2 * CALLS < len(throttled) < 0.4 * CALLS
    assert 0.04 * CALLS < len(failed) < 0.17 * CALLS
    assert len(throttled) + len(failed) + sum(r.status_code == 200 for r in responses) == CALLS
    assert all(int(r.headers["Retry-After"]) >= 1 for r in throttled)
    assert_amc_error(throttled[0], 429, "TOO_MANY_REQUESTS")
    assert_amc_error(failed[0], 500)
    injected = amc_sim.stats()["instances"][instance.instance_id]["faults_injected"]
    assert injected["429"] == len(throttled) and injected["500"] == len(failed)


def test_faults_touch_only_their_instance(amc_sim, make_amc_instance, amc_headers):
    noisy, quiet = make_amc_instance(), make_amc_instance()
    amc_sim.set_faults(noisy.instance_id, rate_500=1.0)
    assert (
        requests.get(
            executions_url(amc_sim, noisy.instance_id), headers=amc_headers(noisy), timeout=10
        ).status_code
        == 500
    )
    assert (
        requests.get(
            executions_url(amc_sim, quiet.instance_id), headers=amc_headers(quiet), timeout=10
        ).status_code
        == 200
    )


def test_throttled_submit_creates_no_execution(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance()
    amc_sim.set_faults(instance.instance_id, rate_429=1.0)
    response = submit(amc_sim, amc_headers(instance), "SELECT 1 AS x", instance.instance_id)
    assert_amc_error(response, 429)
    assert amc_sim.stats()["instances"][instance.instance_id]["submits"] == 0


def test_slow_calls_are_stalled_then_answered(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance()
    amc_sim.set_faults(instance.instance_id, slow_rate=1.0, slow_seconds=0.05)
    url = executions_url(amc_sim, instance.instance_id)
    for _ in range(3):
        assert requests.get(url, headers=amc_headers(instance), timeout=10).status_code == 200
    assert amc_sim.stats()["instances"][instance.instance_id]["faults_injected"]["slow"] == 3


def test_slow_call_can_outlast_a_client_timeout(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance()
    amc_sim.set_faults(instance.instance_id, slow_rate=1.0, slow_seconds=2)
    try:
        requests.get(
            executions_url(amc_sim, instance.instance_id),
            headers=amc_headers(instance),
            timeout=0.3,
        )
    except requests.Timeout:
        pass
    else:  # pragma: no cover - the point of the test
        raise AssertionError("expected the client to time out")


def test_fail_query_rate_ends_executions_failed(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance()
    amc_sim.set_faults(instance.instance_id, fail_query_rate=1.0)
    headers = amc_headers(instance)
    response = submit(
        amc_sim, headers, "SELECT COUNT(*) AS n FROM dsp_clicks", instance.instance_id
    )
    assert response.status_code == 200
    execution = wait(amc_sim, headers, response.json()["workflowExecutionId"], instance.instance_id)
    assert execution["status"] == "FAILED"
    assert execution["errorCode"] == "INTERNAL_ERROR"
    assert execution["errorMessage"]


def test_fail_query_rate_is_roughly_honoured(amc_sim, make_amc_instance, amc_headers):
    instance = make_amc_instance(concurrency_limit=100, pending_seconds=0, running_seconds=0)
    amc_sim.set_faults(instance.instance_id, fail_query_rate=0.5)
    headers = amc_headers(instance)
    for n in range(40):
        assert submit(amc_sim, headers, f"SELECT {n} AS n", instance.instance_id).ok
    assert amc_sim.wait_idle(30)
    executions = amc_sim.stats()["instances"][instance.instance_id]["executions"]
    assert executions["SUCCEEDED"] + executions["FAILED"] == 40
    assert 8 <= executions["FAILED"] <= 32
