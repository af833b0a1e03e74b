"""Initiation: POST /api/reports/{id}/run/ -> 202 at a fixed arrival rate, gunicorn + PostgreSQL.

Open loop: a load generator in its own process sends RATE requests a second on a fixed
schedule whatever the answers (a slow answer does not slow the arrivals), so queueing shows in
the latency, measured from each request's scheduled time. The server's CPU per request is the
CPU time of the gunicorn process group during the run divided by the requests.

Targets: server CPU per run request <= 8 ms; p99 < 100 ms at 25 runs/s. Run with
`scripts/bench.sh initiation` (needs DATABASE_URL and CELERY_BROKER_URL; no worker runs, so
the runs stay queued: the request path is measured, broker publish included). Ends with one
line of JSON.
"""

import json
import os
import signal
import subprocess
import sys
import time

import requests
from common import ROOT, free_port, percentile, process_group_cpu_seconds, setup_django

RATE = float(os.environ.get("BENCH_RATE", "25"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
TARGET_P99_MS = 100.0
TARGET_CPU_MS = 8.0

# The load generator: its own process, so its CPU and GIL never share the server's.
LOADGEN = r"""
import json, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
import requests

url, token, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
count = int(rate * seconds)
local = threading.local()
results = []

def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s

def one(at):
    time.sleep(max(0.0, at - time.perf_counter()))
    try:
        auth = {"Authorization": f"Token {token}"}
        code = session().post(url, headers=auth, timeout=30).status_code
    except requests.RequestException:
        code = 0
    results.append(((time.perf_counter() - at) * 1000, code))

start = time.perf_counter() + 0.5
with ThreadPoolExecutor(max_workers=64) as pool:
    for i in range(count):
        pool.submit(one, start + i / rate)
print(json.dumps({"latencies": [r[0] for r in results], "codes": [r[1] for r in results],
                  "wall": time.perf_counter() - start}))
"""


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess
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
    InstanceAccess.objects.update_or_create(
        user=user, instance=instance, defaults={"role": AccessRole.ANALYST}
    )
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
            "2",
            "--threads",
            "8",
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

        cpu_before = process_group_cpu_seconds(server.pid)
        generated = subprocess.run(
            [sys.executable, "-c", LOADGEN, url, token, str(RATE), str(SECONDS)],
            capture_output=True,
            text=True,
            check=True,
        )
        cpu_after = process_group_cpu_seconds(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        app.control.purge()

    load = json.loads(generated.stdout)
    latencies, codes = load["latencies"], load["codes"]
    errors = sum(1 for code in codes if code != 202)
    cpu_ms = (cpu_after - cpu_before) * 1000 / len(latencies)
    p50, p95, p99 = (percentile(latencies, f) for f in (0.50, 0.95, 0.99))
    print(
        f"{len(latencies)} runs at {RATE:g}/s open loop in {load['wall']:.1f} s; "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms "
        f"(ratio to {TARGET_P99_MS:g} ms: {p99 / TARGET_P99_MS:.2f}); "
        f"server CPU {cpu_ms:.1f} ms per request (ratio to {TARGET_CPU_MS:g} ms: "
        f"{cpu_ms / TARGET_CPU_MS:.2f}); non-202: {errors} "
        f"{sorted({code for code in codes if code != 202})}"
    )
    print(
        json.dumps(
            {
                "bench": "initiation",
                "rate_per_second": RATE,
                "requests": len(latencies),
                "errors": errors,
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "p99_ms": round(p99, 2),
                "target_p99_ms": TARGET_P99_MS,
                "ratio_p99_to_target": round(p99 / TARGET_P99_MS, 3),
                "server_cpu_ms_per_request": round(cpu_ms, 2),
                "target_cpu_ms": TARGET_CPU_MS,
                "ratio_cpu_to_target": round(cpu_ms / TARGET_CPU_MS, 3),
                "ok": errors == 0 and p99 < TARGET_P99_MS and cpu_ms <= TARGET_CPU_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
