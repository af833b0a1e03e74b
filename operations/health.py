"""Liveness and readiness for load balancers, orchestrators and docker-compose healthchecks.

`/healthz`: the process answers (no dependency is touched). `/readyz`: the database, the broker
and result storage work, and the dispatcher and the execution sweeper ran recently; 503 naming
every failing check otherwise. A task that never ran yet (a fresh install) is reported, not
failed: readiness of the web must not wait for beat's first tick.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from operations import heartbeats


@never_cache
@require_GET
def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # A connection kept from before a database restart is broken for good: drop it, so
        # the next check connects anew and readiness comes back by itself.
        connection.close()
        raise
    return "ok"


def check_broker() -> str:
    from recomamp.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(
            max_retries=1,
            interval_start=0,
            interval_step=0,
            timeout=settings.RECOMAMP_READY_TIMEOUT,
        )
    return "ok"


def check_storage() -> str:
    name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)
    return "ok"


def _tick_check(heartbeat: str) -> Callable[[], str]:
    def check() -> str:
        age = heartbeats.ages().get(heartbeat)
        if age is None:
            return "never ran"
        if age > settings.RECOMAMP_READY_MAX_TICK_AGE_SECONDS:
            raise RuntimeError(
                f"last ran {age:.0f} s ago "
                f"(limit {settings.RECOMAMP_READY_MAX_TICK_AGE_SECONDS:.0f} s)"
            )
        return f"ran {age:.1f} s ago"

    return check


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
    "dispatcher": _tick_check(heartbeats.DISPATCHER),
    "sweeper": _tick_check(heartbeats.EXECUTION_SWEEPER),
}


def run_checks() -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, check in CHECKS.items():
        if name in ("dispatcher", "sweeper") and not results["database"]["ok"]:
            results[name] = {"ok": None, "detail": "unknown: the database is unavailable"}
            continue
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as exc:  # noqa: BLE001 - any failure is a failed check, named
            detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
        results[name] = {
            "ok": ok,
            "detail": detail,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    return results


@never_cache
@require_GET
def readyz(request) -> JsonResponse:
    checks = run_checks()
    failing = [name for name, result in checks.items() if result["ok"] is False]
    body = {"status": "fail" if failing else "ok", "failing": failing, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)
