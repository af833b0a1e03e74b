"""Initiation: POST /api/reports/{id}/run/ -> 202, 20 concurrent clients, gunicorn + PostgreSQL.

Target p99 < 100 ms (the original product asks 2 s). Run with `scripts/bench.sh initiation`
(needs DATABASE_URL and CELERY_BROKER_URL; no worker is running, so the runs stay queued).
Ends with one line of JSON.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import requests
from common import ROOT, free_port, percentile, setup_django

CLIENTS = 20
REQUESTS_PER_CLIENT = 50
TARGET_P99_MS = 100.0


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from instances.models import AmcAccount, AmcInstance, InstanceAccess
    from recomamp.celery import app
    from reports.models import ReportDefinition
    from reports.services.templates import upsert_catalogue

    template = {t.template_id: t for t in upsert_catalogue()}["campaign-performance-daily"]
    user, _ = get_user_model().objects.get_or_create(username="bench-initiation")
    account, _ = AmcAccount.objects.get_or_create(
        account_id="BENCHENTITY", marketplace_id="ATVPDKIKX0DER", defaults={"name": "Bench"}
    )
    instance, _ = AmcInstance.objects.get_or_create(
        instance_id="amcbenchinit", defaults={"account": account, "instance_name": "Bench"}
    )
    InstanceAccess.objects.get_or_create(user=user, instance=instance)
    report = ReportDefinition.objects.create(
        name="Bench", template=template, instance=instance, owner=user, parameters={}
    )
    token = Token.objects.get_or_create(user=user)[0].key

    port = free_port()
    env = {
        **os.environ,
        "RECOMAMP_RUNS_PER_USER_PER_MINUTE": "100000000",
        "RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE": "100000000",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "recomamp.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/reports/{report.report_id}/run/"
    headers = {"Authorization": f"Token {token}"}
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        session = requests.Session()
        for _ in range(40):  # warm every gunicorn worker's connections and caches
            assert session.post(url, headers=headers, timeout=10).status_code == 202

        latencies: list[float] = []
        errors: list[int] = []
        lock = threading.Lock()

        def client() -> None:
            own = requests.Session()
            for _ in range(REQUESTS_PER_CLIENT):
                started = time.perf_counter()
                response = own.post(url, headers=headers, timeout=30)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 202:
                        errors.append(response.status_code)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        app.control.purge()

    p50, p95, p99 = (percentile(latencies, f) for f in (0.50, 0.95, 0.99))
    print(
        f"{len(latencies)} runs from {CLIENTS} clients in {wall:.1f} s "
        f"({len(latencies) / wall:.0f}/s); p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; "
        f"non-202: {len(errors)}"
    )
    print(
        json.dumps(
            {
                "bench": "initiation",
                "clients": CLIENTS,
                "requests": len(latencies),
                "errors": len(errors),
                "runs_per_second": round(len(latencies) / wall, 1),
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "p99_ms": round(p99, 2),
                "target_p99_ms": TARGET_P99_MS,
                "ratio_to_target": round(p99 / TARGET_P99_MS, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
