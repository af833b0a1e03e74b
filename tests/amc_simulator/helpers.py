"""A few lines of AMC API client for the simulator's own tests (the product's client is
recomamp.amc; these tests check the server, so they speak raw HTTP)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, date, datetime, timedelta

import requests


def days_ago(days: int) -> str:
    """Midnight `days` days before today (UTC), as AMC wants it: no zone suffix."""
    day = datetime.now(UTC).date() - timedelta(days=days)
    return f"{day.isoformat()}T00:00:00"


def window(start_days_ago: int = 45, end_days_ago: int = 15, zone: str = "America/New_York"):
    return {
        "timeWindowType": "EXPLICIT",
        "timeWindowStart": days_ago(start_days_ago),
        "timeWindowEnd": days_ago(end_days_ago),
        "timeWindowTimeZone": zone,
        "outputFormat": "CSV",
    }


def today() -> date:
    return datetime.now(UTC).date()


def executions_url(server, instance_id: str = "amcrecodemo01") -> str:
    return f"{server.url}/amc/reporting/{instance_id}/workflowExecutions"


def body(sql: str, **overrides) -> dict:
    return {"workflow": {"sqlQuery": sql}, **window(), **overrides}


def submit(server, headers: dict, sql: str, instance_id: str = "amcrecodemo01", **overrides):
    return requests.post(
        executions_url(server, instance_id),
        headers=headers,
        json=body(sql, **overrides),
        timeout=30,
    )


def wait(
    server,
    headers: dict,
    execution_id: str,
    instance_id: str = "amcrecodemo01",
    timeout: float = 30.0,
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(
            f"{executions_url(server, instance_id)}/{execution_id}", headers=headers, timeout=10
        )
        assert response.status_code == 200, response.text
        execution = response.json()
        if execution["status"] not in ("PENDING", "RUNNING"):
            return execution
        assert time.monotonic() < deadline, f"execution still {execution['status']}"
        time.sleep(0.03)


def download(server, headers: dict, execution_id: str, instance_id: str = "amcrecodemo01"):
    response = requests.get(
        f"{executions_url(server, instance_id)}/{execution_id}/downloadUrls",
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    urls = response.json()["downloadUrls"]
    assert len(urls) == 1
    csv_response = requests.get(urls[0], timeout=30)
    assert csv_response.status_code == 200, csv_response.text
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(csv_response.text)))


def run(server, headers: dict, sql: str, instance_id: str = "amcrecodemo01", **overrides):
    """Submit, wait for SUCCEEDED and return the CSV rows as dicts."""
    response = submit(server, headers, sql, instance_id, **overrides)
    assert response.status_code == 200, response.text
    execution = wait(server, headers, response.json()["workflowExecutionId"], instance_id)
    assert execution["status"] == "SUCCEEDED", execution
    return download(server, headers, execution["workflowExecutionId"], instance_id)


def assert_amc_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert set(error) == {"code", "message", "details"}, error
    if code is not None:
        assert error["code"] == code
    return error
