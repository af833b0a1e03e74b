"""CUSTOM_PARAMETER values travel beside the SQL, typed, in the execution request."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from recomamp.amc import AmcClient, AmcCredentials, AmcQueryError, DownloadPolicy
from recomamp.amc.client import parameter_values_json
from recomamp.amc_simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from .conftest import response

INSTANCE = "amcunit01"
EXECS = f"/amc/reporting/{INSTANCE}/workflowExecutions"
WINDOW = {
    "window_start": datetime(2026, 9, 1, tzinfo=UTC),
    "window_end": datetime(2026, 9, 8, tzinfo=UTC),
}

SQL = """
SELECT ad_product_type, SUM(clicks) AS clicks, COUNT(DISTINCT user_id) AS users
FROM sponsored_ads_traffic
WHERE ad_product_type IN (CUSTOM_PARAMETER('ad_products'))
  AND event_dt_utc >= CUSTOM_PARAMETER('since')
GROUP BY ad_product_type
HAVING SUM(impressions) >= CUSTOM_PARAMETER('min_impressions')
"""


def test_values_are_sent_typed_beside_the_sql(client, transport):
    transport.add("POST", EXECS, response(200, {"workflowExecutionId": "e1", "status": "PENDING"}))
    client.create_execution(
        INSTANCE,
        sql=SQL,
        parameter_values={
            "ad_products": ("sponsored_brands", "sponsored_products"),
            "since": date(2026, 9, 2),
            "min_impressions": 10,
            "ratio": Decimal("0.5"),
            "include": True,
            "at": datetime(2026, 9, 2, 6, 30),
        },
        **WINDOW,
    )
    (seen,) = transport.requests_to("POST", EXECS)
    body = seen.json()
    assert body["workflow"] == {"sqlQuery": SQL}  # nothing rendered into the text
    assert body["parameterValues"] == {
        "ad_products": ["sponsored_brands", "sponsored_products"],
        "since": "2026-09-02",
        "min_impressions": 10,
        "ratio": 0.5,
        "include": True,
        "at": "2026-09-02T06:30:00",
    }


def test_no_values_send_no_field(client, transport):
    transport.add("POST", EXECS, response(200, {"workflowExecutionId": "e1", "status": "PENDING"}))
    client.create_execution(INSTANCE, sql="SELECT 1", **WINDOW)
    (seen,) = transport.requests_to("POST", EXECS)
    assert "parameterValues" not in seen.json()


@pytest.mark.parametrize(
    "values", [{"x": {"nested": 1}}, {"x": [[1, 2]]}, {"": 1}, {"x": object()}]
)
def test_values_that_are_not_json_scalars_or_lists_are_refused(values):
    with pytest.raises(ValueError):
        parameter_values_json(values)


def test_simulator_runs_the_query_with_the_values(amc_sim, make_amc_instance):
    instance = make_amc_instance()
    client = AmcClient(
        base_url=amc_sim.url,
        credentials=AmcCredentials(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            refresh_token=f"Atzr|params-{uuid.uuid4().hex}",
            token_url=f"{amc_sim.url}/auth/o2/token",
        ),
        advertiser_id=instance.advertiser_id,
        marketplace_id=instance.marketplace_id,
        download_policy=DownloadPolicy(trusted_origins=(amc_sim.url,)),
    )
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {"window_start": today - timedelta(days=42), "window_end": today - timedelta(days=14)}
    with client:
        with pytest.raises(AmcQueryError) as caught:
            client.create_execution(instance.instance_id, sql=SQL, **window)
        assert "CUSTOM_PARAMETER('ad_products')" in caught.value.details

        created = client.create_execution(
            instance.instance_id,
            sql=SQL,
            parameter_values={
                "ad_products": ["sponsored_brands", "sponsored_display"],
                "since": (today - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                "min_impressions": 1,
            },
            **window,
        )
        deadline = time.monotonic() + 30
        while not (
            done := client.get_execution(instance.instance_id, created.execution_id)
        ).is_terminal:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert done.succeeded, done.failure_text
        (url,) = client.get_download_urls(instance.instance_id, done.execution_id)
        text = b"".join(client.download_results(url, max_bytes=1_000_000)).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["ad_product_type"] for row in rows} == {"sponsored_brands", "sponsored_display"}
