"""Throughput: 200 executions end to end on the AMC simulator with a real Celery worker.

Reports executions per second (from the first run request to the last completed download) and
the worker's CPU seconds per execution. Run with `scripts/bench.sh throughput`. The simulator
runs in this process with latencies of 0.2 s pending + 0.3 s running; the instance's cap is 10.
Ends with one line of JSON.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, process_group_cpu_seconds, setup_django, wait_until_idle

EXECUTIONS = 200
CAP = 10
WORKER_CONCURRENCY = 8
TARGET_RATIO = 1.3


def main() -> None:
    # The per-minute run quotas are not what is measured here (workers inherit these).
    os.environ["RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE"] = "1000000"
    os.environ["RECOMAMP_RUNS_PER_USER_PER_MINUTE"] = "1000000"
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Max
    from django.utils import timezone

    from instances.models import AmcAccount, AmcInstance
    from recomamp.amc_simulator import (
        InstanceSettings,
        RuntimeSettings,
        SimulatorConfig,
        SimulatorServer,
    )
    from recomamp.celery import app
    from reports import engine
    from reports.models import QueryTemplate, ReportDefinition, ReportExecution
    from reports.services.executions import create_execution
    from reports.windows import lookback_window

    data_dir = Path(tempfile.gettempdir()) / "recomamp-bench-simulator"
    simulator = SimulatorServer(
        port=0,
        data_dir=data_dir,
        config=SimulatorConfig(
            dataset_size="test",
            pending_seconds=0.2,
            running_seconds=0.3,
            runtime=RuntimeSettings(aggregation_threshold=5),
            test_mode=True,
            instances=(
                InstanceSettings(
                    "amcbenchthroughput",
                    advertiser_id="BENCHTHROUGHPUT",
                    seed=1,
                    concurrency_limit=CAP,
                ),
            ),
            pregenerate=True,
        ),
    ).start()
    # The simulator is the one loopback endpoint accounts may call (AMC allowlist).
    os.environ["AMC_SIMULATOR_URL"] = settings.AMC_SIMULATOR_URL = simulator.url
    user, _ = get_user_model().objects.get_or_create(
        username="bench-throughput", defaults={"is_superuser": True}
    )
    account, _ = AmcAccount.objects.update_or_create(
        account_id="BENCHTHROUGHPUT",
        marketplace_id="ATVPDKIKX0DER",
        defaults={
            "name": "Bench",
            "api_base_url": simulator.url,
            "token_url": f"{simulator.url}/auth/o2/token",
            "lwa_refresh_token": "Atzr|bench",
        },
    )
    instance, _ = AmcInstance.objects.update_or_create(
        instance_id="amcbenchthroughput",
        defaults={"account": account, "instance_name": "Bench", "concurrency_cap": CAP},
    )
    template, _ = QueryTemplate.objects.update_or_create(
        template_id="bench-campaigns",
        defaults={
            "name": "Bench campaigns",
            "sql_query": "SELECT campaign, SUM(impressions) AS impressions, "
            "SUM(clicks) AS clicks FROM sponsored_ads_traffic GROUP BY campaign",
        },
    )
    report = ReportDefinition.objects.create(
        name="Bench", template=template, instance=instance, owner=user
    )
    env = {
        **os.environ,
        "RECOMAMP_POLL_MIN_SECONDS": "0.25",
        "RECOMAMP_POLL_MAX_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    app.control.purge()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "recomamp",
            "worker",
            "--pool=prefork",
            f"--concurrency={WORKER_CONCURRENCY}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        time.sleep(5)  # worker start-up is not part of the measure
        wait_until_idle([worker.pid])
        cpu_before = process_group_cpu_seconds(worker.pid)
        window = lookback_window(lookback_days=7, tz_name="UTC")
        started = timezone.now()
        last_sweep = time.monotonic()
        pks = [
            create_execution(report=report, user=user, triggered_by="api", window=window).pk
            for _ in range(EXECUTIONS)
        ]
        while True:
            done = ReportExecution.objects.filter(
                pk__in=pks, status__in=engine.TERMINAL_STATUSES
            ).count()
            if done == EXECUTIONS:
                break
            if time.monotonic() - last_sweep > settings.RECOMAMP_SWEEP_SECONDS:
                engine.sweep()  # as beat would (every 10 s), not at every look
                last_sweep = time.monotonic()
            time.sleep(0.2)
        # To the last completion as the worker recorded it, not to when this loop looked.
        finished = ReportExecution.objects.filter(pk__in=pks).aggregate(last=Max("completed_at"))
        wall = (finished["last"] - started).total_seconds()
        cpu = process_group_cpu_seconds(worker.pid) - cpu_before
        load_average = os.getloadavg()[0]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        simulator.stop()
        app.control.purge()

    statuses = ReportExecution.objects.filter(pk__in=pks).values_list("status", flat=True)
    completed = sum(1 for status in statuses if status == "completed")
    stats = simulator.stats()["instances"]["amcbenchthroughput"]
    floor = EXECUTIONS / CAP * 0.5  # each execution spends 0.5 s at AMC, CAP at a time
    print(
        f"{completed}/{EXECUTIONS} completed in {wall:.1f} s "
        f"({EXECUTIONS / wall:.1f}/s; the AMC-side floor is {floor:.0f} s); "
        f"worker CPU {cpu:.1f} s = {1000 * cpu / EXECUTIONS:.0f} ms per execution; "
        f"simulator max concurrency {stats['max_concurrency']}; "
        f"ratio to floor {wall / floor:.2f} (target <= {TARGET_RATIO})"
    )
    print(
        json.dumps(
            {
                "bench": "throughput",
                "executions": EXECUTIONS,
                "completed": completed,
                "wall_seconds": round(wall, 2),
                "executions_per_second": round(EXECUTIONS / wall, 2),
                "worker_cpu_ms_per_execution": round(1000 * cpu / EXECUTIONS, 1),
                "amc_floor_seconds": floor,
                "ratio_to_floor": round(wall / floor, 3),
                "target_ratio": TARGET_RATIO,
                "max_concurrency": stats["max_concurrency"],
                "load_average": round(load_average, 2),
                "ok": completed == EXECUTIONS and wall / floor <= TARGET_RATIO,
            }
        )
    )


if __name__ == "__main__":
    main()
