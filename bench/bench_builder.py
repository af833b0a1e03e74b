"""Builder steps: server CPU of POST /api/builder/{validate,schedule-preview,review}/.

Each request goes through the whole Django + DRF stack in this process (middleware, token-less
forced authentication, JSON parsing, serializers, the tenancy lookup, the parameter engine or
the schedule and backfill services, the audit insert, JSON rendering) against the benchmark
database. The template is bench_parameters.py's: 12 parameters, 1,000 ASINs. Times are this
thread's CPU time (the database server's own CPU is not in it; the wall clock is reported
beside it). Target: per-step validation p99 well under 10 ms of server CPU.

Run with `scripts/bench.sh builder`, or on a migrated database of your own:
`DATABASE_URL=... .venv/bin/python bench/bench_builder.py [iterations]`. Rows it creates are
deleted again. Only the server side of each request is timed (see ServerClock). Ends with one
line of JSON.
"""

import json
import os
import statistics
import sys
import time

from bench_parameters import DEFINITIONS, SQL, VALUES
from common import percentile, setup_django

TARGET_P99_MS = 10.0
STEPS_WITH_TARGET = ("validate_live", "validate", "schedule_preview")


class ServerClock:
    """Times the server side of each test-client request: Django's handler, from the WSGI
    environ to the response (request parsing, middleware, view, rendering, signals), leaving
    out what the test client itself does (encoding the body, reading the response)."""

    def __init__(self, client):
        self.handler = client.handler
        self.cpu: list[float] = []
        self.wall: list[float] = []
        client.handler = self

    def __call__(self, *args, **kwargs):
        started_cpu, started_wall = time.thread_time_ns(), time.perf_counter_ns()
        try:
            return self.handler(*args, **kwargs)
        finally:
            self.cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
            self.wall.append((time.perf_counter_ns() - started_wall) / 1e6)


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from instances.models import AmcAccount, AmcInstance, InstanceAccess
    from reports.models import QueryTemplate, ReportBuilderAudit

    user, _ = get_user_model().objects.get_or_create(username="bench-builder")
    account, _ = AmcAccount.objects.get_or_create(
        account_id="BENCHBUILDER", marketplace_id="ATVPDKIKX0DER", defaults={"name": "Bench"}
    )
    instance, _ = AmcInstance.objects.get_or_create(
        instance_id="amcbenchbuilder", defaults={"account": account, "instance_name": "Bench"}
    )
    InstanceAccess.objects.get_or_create(user=user, instance=instance)
    template, _ = QueryTemplate.objects.update_or_create(
        template_id="bench-builder-12",
        defaults={"name": "Bench 12", "sql_query": SQL, "parameter_definitions": DEFINITIONS},
    )
    client = APIClient()
    client.force_authenticate(user)
    server = ServerClock(client)
    base = {"template": template.template_id, "instance": str(instance.pk), "timezone": "UTC"}
    schedule = {
        "schedule_type": "weekly",
        "schedule_config": {"time": "09:00", "days_of_week": [1], "timezone": "Europe/Berlin"},
    }
    backfill = {
        "lookback_config": {"type": "relative", "value": 90, "unit": "days"},
        "segmentation_config": {"type": "weekly"},
    }
    steps = {
        "validate_live": ("/api/builder/validate/", {**base, "parameters": VALUES, "live": True}),
        "validate": ("/api/builder/validate/", {**base, "parameters": VALUES}),
        "schedule_preview": (
            "/api/builder/schedule-preview/",
            {
                "instance": str(instance.pk),
                "client_timezone": "America/New_York",
                "schedule": schedule,
                "backfill": backfill,
                "live": True,
            },
        ),
        "review": (
            "/api/builder/review/",
            {
                **base,
                "name": "Bench",
                "parameters": VALUES,
                "schedule": schedule,
                "backfill": backfill,
            },
        ),
    }

    # The framework's floor, measured the same way: GET one instance (auth, tenancy, a query,
    # a serializer, JSON), to tell the builder's own cost from Django's and DRF's.
    steps["floor_get_instance"] = (f"/api/instances/{instance.pk}/", None)

    results = {}
    try:
        for name, (url, body) in steps.items():
            send = (
                (lambda url=url: client.get(url))
                if body is None
                else (lambda url=url, body=body: client.post(url, body, format="json"))
            )
            for _ in range(20):  # warm caches and the connection
                response = send()
                assert response.status_code == 200, (name, response.content[:500])
            server.cpu.clear()
            server.wall.clear()
            for _ in range(iterations):
                assert send().status_code == 200
            cpu, wall = server.cpu, server.wall
            results[name] = {
                "p50_ms": round(percentile(cpu, 0.50), 3),
                "p95_ms": round(percentile(cpu, 0.95), 3),
                "p99_ms": round(percentile(cpu, 0.99), 3),
                "mean_ms": round(statistics.fmean(cpu), 3),
                "wall_p50_ms": round(percentile(wall, 0.50), 3),
                "wall_p99_ms": round(percentile(wall, 0.99), 3),
            }
    finally:
        ReportBuilderAudit.objects.filter(user=user).delete()
        template.delete()
        instance.delete()
        account.delete()
        user.delete()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"template: {len(DEFINITIONS)} parameters, 1,000 ASINs; {iterations} requests a step")
    print("server CPU per request (this process), ms:")
    for name, figures in results.items():
        target = f" (target p99 < {TARGET_P99_MS} ms)" if name in STEPS_WITH_TARGET else ""
        print(
            f"  {name:17} p50 {figures['p50_ms']:7.3f}  p95 {figures['p95_ms']:7.3f}  "
            f"p99 {figures['p99_ms']:7.3f}  wall p99 {figures['wall_p99_ms']:7.3f}{target}"
        )
    worst = max(results[name]["p99_ms"] for name in STEPS_WITH_TARGET)
    floor = results["floor_get_instance"]["p50_ms"]
    over_floor = round(results["validate_live"]["p50_ms"] - floor, 3)
    print(f"worst validating step p99: {worst:.3f} ms; load average (1 min): {load}")
    print(f"validate_live p50 above the framework floor (GET one instance): {over_floor} ms")
    print(
        json.dumps(
            {
                "bench": "builder",
                "parameters": len(DEFINITIONS),
                "asins": len(VALUES["asins"]),
                "iterations": iterations,
                "clock": "thread_cpu",
                "steps": results,
                "worst_p99_ms": worst,
                "validate_live_p50_over_floor_ms": over_floor,
                "target_p99_ms": TARGET_P99_MS,
                "ratio_to_target": round(worst / TARGET_P99_MS, 4),
                "ok": worst < TARGET_P99_MS,
                "load_avg_1m": load,
            }
        )
    )


if __name__ == "__main__":
    main()
