"""The demo catalogue on the AMC simulator, for dashboard tests: an instance whose account
points at the simulator, and the parameters each template needs there."""

from __future__ import annotations

from instances.models import AccessRole, AmcAccount, AmcInstance
from instances.services import grant_access
from reports.amc import client_for_instance
from reports.windows import lookback_window
from tests.fixtures.simulator import run_on_simulator

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
    window = lookback_window(lookback_days=lookback_days, tz_name="UTC")
    return run_on_simulator(
        client_for_instance(instance), instance.instance_id, sql, window, timeout=60
    )


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
