"""Backfill makespan: 365 daily segments on one instance with a cap of 10, 1 s per execution.

The AMC simulator runs in this process (an HTTP server in a thread: 0.3 s PENDING + 0.7 s
RUNNING per execution, its own limit set above the cap so it measures rather than enforces),
and Celery workers run as subprocesses on the benchmark database and Redis. Makespan is from
the create_backfill call to the collection's last segment settled; the ideal is
ceil(365 / 10) waves of 1 s. Target: makespan / ideal <= 1.15 and the simulator never seeing
more than 10 executions of the instance at once.

Run with `scripts/bench.sh backfill` (it starts PostgreSQL and Redis and migrates), or with
DATABASE_URL and CELERY_BROKER_URL already set: `.venv/bin/python bench/bench_backfill.py`.
Ends with one line of JSON.
"""

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, process_group_cpu_seconds, setup_django, wait_until_idle

SEGMENTS = int(os.environ.get("BENCH_BACKFILL_SEGMENTS", "365"))
CAP = 10
PENDING_SECONDS = 0.3
RUNNING_SECONDS = 0.7
TARGET_RATIO = 1.15
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
WORKER_CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
# The engine's timings for the run: poll often, as a 1 s AMC execution deserves.
ENGINE_ENV = {
    "RECOMAMP_POLL_MIN_SECONDS": os.environ.get("BENCH_POLL_MIN", "0.2"),
    "RECOMAMP_POLL_MAX_SECONDS": os.environ.get("BENCH_POLL_MAX", "2"),
    "RECOMAMP_LEASE_SECONDS": "30",
}
SQL = (
    "SELECT campaign, SUM(impressions) AS impressions FROM sponsored_ads_traffic "
    "GROUP BY campaign ORDER BY campaign"
)


def start_workers(log_dir: Path) -> list[subprocess.Popen]:
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        **ENGINE_ENV,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LOG_LEVEL": "WARNING",
    }
    workers = []
    for index in range(WORKERS):
        log = open(log_dir / f"worker{index}.log", "wb")  # noqa: SIM115 - lives with the process
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "recomamp",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={WORKER_CONCURRENCY}",
                    f"--hostname=bench{index}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 60
    for index in range(WORKERS):
        path = log_dir / f"worker{index}.log"
        while b"ready." not in path.read_bytes():
            if time.monotonic() > deadline or workers[index].poll() is not None:
                raise RuntimeError(f"worker {index} did not start:\n{path.read_text()}")
            time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def _phases(executions) -> dict[str, float]:
    """Median time of each step of an execution, to see where the makespan goes."""
    import statistics

    rows = list(
        executions.values_list("created_at", "submit_started_at", "started_at", "completed_at")
    )
    ended = [r for r in rows if all(r)]
    if not ended:
        return {}

    def median(first: int, second: int) -> float:
        return statistics.median((r[second] - r[first]).total_seconds() for r in ended)

    return {
        "created -> submit claimed": median(0, 1),
        "submit call at AMC": median(1, 2),
        "submitted -> completed": median(2, 3),
    }


def main() -> None:
    # The per-minute run quotas are not what is measured here (workers inherit these).
    os.environ["RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE"] = "1000000"
    os.environ["RECOMAMP_RUNS_PER_USER_PER_MINUTE"] = "1000000"
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from backfills.models import BackfillStatus, SegmentStatus
    from backfills.services import create_backfill, sweep_backfills
    from instances.models import AmcAccount, AmcInstance
    from recomamp.amc_simulator.config import SimulatorConfig
    from recomamp.amc_simulator.server import SimulatorServer
    from recomamp.celery import app
    from reports import engine
    from reports.models import QueryTemplate, ReportDefinition, ReportExecution

    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    simulator = SimulatorServer(
        data_dir=work / "simulator",
        config=SimulatorConfig(dataset_size="test"),
    ).start()
    # The simulator is the one loopback endpoint accounts may call (AMC allowlist) and whose
    # result URLs may be fetched; the workers inherit the environment.
    os.environ["AMC_SIMULATOR_URL"] = settings.AMC_SIMULATOR_URL = simulator.url
    tag = str(int(time.time()))
    user, _ = get_user_model().objects.get_or_create(
        username="bench-backfill", defaults={"is_superuser": True}
    )
    account = AmcAccount.objects.create(
        name=f"Bench backfill {tag}",
        account_id=f"BENCHBF{tag}",
        marketplace_id="ATVPDKIKX0DER",
        api_base_url=simulator.url,
        token_url=f"{simulator.url}/auth/o2/token",
        lwa_refresh_token="Atzr|bench-backfill",
    )
    instance = AmcInstance.objects.create(
        account=account,
        instance_id=f"amcbenchbf{tag}",
        instance_name="Bench backfill",
        concurrency_cap=CAP,
    )
    simulator.add_instance(
        instance.instance_id,
        advertiser_id=account.account_id,
        marketplace_id=account.marketplace_id,
        seed=11,
        concurrency_limit=CAP * 3,  # measure the cap, do not enforce it
        pending_seconds=PENDING_SECONDS,
        running_seconds=RUNNING_SECONDS,
    )
    simulator.dataset_info(instance.instance_id)  # generate the data before the clock starts
    template, _ = QueryTemplate.objects.get_or_create(
        template_id="bench-backfill",
        defaults={"name": "Bench backfill", "category": "Bench", "sql_query": SQL},
    )
    report = ReportDefinition.objects.create(
        name="Bench backfill", template=template, instance=instance, owner=user
    )

    app.control.purge()
    workers = start_workers(work)
    try:
        wait_until_idle([worker.pid for worker in workers])  # start-up is not measured
        cpu_before = sum(process_group_cpu_seconds(worker.pid) for worker in workers)
        started = time.monotonic()
        collection = create_backfill(
            report=report,
            user=user,
            lookback_config={"type": "relative", "value": SEGMENTS, "unit": "days"},
            segmentation_config={"type": "daily", "parallel_limit": CAP},
        )
        last_sweep = started
        while True:
            collection.refresh_from_db()
            if collection.status != BackfillStatus.IN_PROGRESS:
                break
            if time.monotonic() - last_sweep > 10:  # as beat would
                engine.sweep()
                sweep_backfills()
                last_sweep = time.monotonic()
            if time.monotonic() - started > 600:
                raise RuntimeError("the backfill did not finish in 10 minutes")
            time.sleep(0.02)
        makespan = time.monotonic() - started
        worker_cpu = sum(process_group_cpu_seconds(w.pid) for w in workers) - cpu_before
        load_average = os.getloadavg()[0]
    finally:
        stop_workers(workers)

    phases = _phases(ReportExecution.objects.filter(collection=collection))
    stats = simulator.stats()["instances"][instance.instance_id]
    simulator.stop()
    segments = collection.segments.all()
    executions = ReportExecution.objects.filter(collection=collection)
    ideal = math.ceil(SEGMENTS / CAP) * (PENDING_SECONDS + RUNNING_SECONDS)
    ratio = makespan / ideal
    result = {
        "bench": "backfill",
        "segments": segments.count(),
        "completed_segments": segments.filter(status=SegmentStatus.COMPLETED).count(),
        "status": collection.status,
        "cap": CAP,
        "execution_seconds": PENDING_SECONDS + RUNNING_SECONDS,
        "makespan_s": round(makespan, 2),
        "ideal_s": ideal,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "max_concurrency": stats["max_concurrency"],
        "submits": stats["submits"],
        "executions": executions.count(),
        # CPU time is steadier than the makespan on a shared machine: compare runs by it too.
        "worker_cpu_ms_per_segment": round(1000 * worker_cpu / SEGMENTS, 1),
        "load_average": round(load_average, 2),
        "ok": collection.status == BackfillStatus.COMPLETED
        and ratio <= TARGET_RATIO
        and stats["max_concurrency"] == CAP
        and stats["submits"] == SEGMENTS,
    }
    print(f"backfill of {SEGMENTS} daily segments, cap {CAP}, 1 s per execution")
    print(f"  status        {collection.status}")
    print(f"  makespan      {makespan:.2f} s (ideal {ideal:.0f} s, ratio {ratio:.3f})")
    print(f"  concurrency   max {stats['max_concurrency']} at the simulator")
    print(f"  submits       {stats['submits']} for {SEGMENTS} segments")
    print(
        f"  worker CPU    {1000 * worker_cpu / SEGMENTS:.0f} ms per segment"
        f" (load average {load_average:.1f})"
    )
    for name, seconds in phases.items():
        print(f"  {name:<28}median {seconds:.3f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
