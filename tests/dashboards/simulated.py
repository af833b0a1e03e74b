"""The demo catalogue on the AMC simulator, for dashboard tests: an instance whose account
points at the simulator, and the parameters each template needs there."""

from __future__ import annotations

import csv
import io
import time

from instances.models import AccessRole, AmcAccount, AmcInstance
from instances.services import grant_access
from reports.amc import client_for_instance
from reports.windows import lookback_window

DEMO_INSTANCE = "amcrecodemo01"


def simulated_demo_instance(amc_sim, *, users=(), role=AccessRole.ANALYST) -> AmcInstance:
    account, _ = AmcAccount.objects.get_or_create(
        account_id="ENTITYDEMO1A",
        marketplace_id="ATVPDKIKX0DER",
        defaults={
            "name": "Acme Home & Kitchen",
            "api_base_url": amc_sim.url,
            "token_url": f"{amc_sim.url}/auth/o2/token",
            "lwa_refresh_token": "Atzr|demo",
        },
    )
    instance, _ = AmcInstance.objects.get_or_create(
        instance_id=DEMO_INSTANCE,
        defaults={"account": account, "instance_name": "Acme Home US", "time_zone": "UTC"},
    )
    for user in users:
        grant_access(user=user, instance=instance, role=role)
    return instance


def query(instance: AmcInstance, sql: str, *, lookback_days: int = 30) -> list[dict]:
    """Run SQL at the simulator over the last days and return its rows (text values)."""
    client = client_for_instance(instance)
    window = lookback_window(lookback_days=lookback_days, tz_name="UTC")
    amc = client.create_execution(
        instance.instance_id, sql=sql, window_start=window.start, window_end=window.end
    )
    deadline = time.monotonic() + 60
    while not amc.is_terminal:
        assert time.monotonic() < deadline, "the simulator did not finish"
        time.sleep(0.05)
        amc = client.get_execution(instance.instance_id, amc.execution_id)
    assert amc.succeeded, amc.failure_text
    (url,) = client.get_download_urls(instance.instance_id, amc.execution_id)
    body = b"".join(client.download_results(url, max_bytes=50_000_000))
    return list(csv.DictReader(io.StringIO(body.decode())))


def template_parameters(instance: AmcInstance) -> dict[str, dict]:
    """Parameters per template id (the ASIN template needs ASINs the data has)."""
    asins = [
        row["tracked_asin"]
        for row in query(
            instance,
            "SELECT tracked_asin, COUNT(DISTINCT user_id) AS buyers "
            "FROM amazon_attributed_events_by_conversion_time WHERE purchases > 0 "
            "GROUP BY tracked_asin ORDER BY buyers DESC LIMIT 3",
        )
    ]
    return {"asin-conversions": {"asins": asins}}
