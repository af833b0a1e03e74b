"""Prometheus metrics: requests and database (django-prometheus), and the domain, read from
PostgreSQL at scrape time so every web, worker and beat process agrees on one truth.

The endpoint (`/metrics`) answers a bearer token (`RECOMAMP_METRICS_TOKEN`) or, with no token
configured, loopback addresses only. Celery's own metrics come from Flower's `/metrics`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Min, Q
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: Buckets of AMC latency (submit to SUCCEEDED), seconds: AMC queries take seconds to hours.
LATENCY_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
#: Finished executions and AMC errors are counted over this window (in-flight ones always).
RECENT = timedelta(hours=24)


class DomainCollector:
    """Executions, slots, waiting runs, AMC latency and errors, dispatcher lag, backfills.

    With the database down the scrape still answers: `recomamp_domain_up` is 0 and the process
    metrics are there, so an alert can tell "database gone" from "metrics endpoint gone".
    """

    def collect(self):
        from django.db import connection

        up = GaugeMetricFamily(
            "recomamp_domain_up", "1 when the domain metrics could be read from the database."
        )
        try:
            families = list(self._collect())
        except Exception:  # noqa: BLE001 - any database failure: report it, drop the link
            connection.close()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _collect(self):
        from backfills.models import BackfillSegment
        from instances.models import AmcInstance
        from reports.models import (
            ExecutionPhase,
            ExecutionSlot,
            ExecutionStatus,
            ReportExecution,
        )
        from schedules.models import ReportSchedule

        now = timezone.now()
        since = now - RECENT
        names = dict(AmcInstance.objects.values_list("pk", "instance_id"))
        in_flight = [ExecutionStatus.PENDING, ExecutionStatus.RUNNING]

        executions = GaugeMetricFamily(
            "recomamp_executions",
            "Executions by status and trigger: in flight now, or finished in the last 24 h.",
            labels=["instance", "status", "triggered_by"],
        )
        rows = (
            ReportExecution.objects.filter(Q(status__in=in_flight) | Q(created_at__gte=since))
            .values("instance_id", "status", "triggered_by")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            executions.add_metric(
                [names.get(row["instance_id"], "?"), row["status"], row["triggered_by"]], row["n"]
            )
        yield executions

        in_use = GaugeMetricFamily(
            "recomamp_slots_in_use", "Concurrency slots held at AMC.", labels=["instance"]
        )
        cap = GaugeMetricFamily(
            "recomamp_slots_cap", "The instance's concurrency cap.", labels=["instance"]
        )
        held = dict(
            ExecutionSlot.objects.filter(execution__isnull=False)
            .values("instance_id")
            .annotate(n=Count("pk"))
            .values_list("instance_id", "n")
        )
        for pk, instance_id, instance_cap in AmcInstance.objects.values_list(
            "pk", "instance_id", "concurrency_cap"
        ):
            in_use.add_metric([instance_id], held.get(pk, 0))
            cap.add_metric([instance_id], instance_cap)
        yield in_use
        yield cap

        waiting = GaugeMetricFamily(
            "recomamp_runs_waiting",
            "Runs waiting for a slot of their instance.",
            labels=["instance"],
        )
        for pk, n in (
            ReportExecution.objects.filter(phase=ExecutionPhase.QUEUED)
            .values("instance_id")
            .annotate(n=Count("pk"))
            .values_list("instance_id", "n")
        ):
            waiting.add_metric([names.get(pk, "?")], n)
        yield waiting

        yield self._latency(names, since)
        yield self._amc_errors(names, since)

        lag = GaugeMetricFamily(
            "recomamp_dispatcher_lag_seconds",
            "Now minus the oldest due next_run_at of an active schedule (0 when none is due).",
        )
        oldest = ReportSchedule.objects.filter(
            is_active=True, is_paused=False, next_run_at__lte=now
        ).aggregate(oldest=Min("next_run_at"))["oldest"]
        lag.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield lag

        segments = GaugeMetricFamily(
            "recomamp_backfill_segments",
            "Segments of backfills created in the last 7 days, by status.",
            labels=["instance", "status"],
        )
        for row in (
            BackfillSegment.objects.filter(backfill__created_at__gte=now - timedelta(days=7))
            .values("status", instance_pk=F("backfill__report__instance_id"))
            .annotate(n=Count("pk"))
        ):
            segments.add_metric([names.get(row["instance_pk"], "?"), row["status"]], row["n"])
        yield segments

    def _latency(self, names, since) -> HistogramMetricFamily:
        """From the move to submitted (AMC accepted the query) to the move to downloading (AMC
        reported SUCCEEDED), read from the runs' events."""
        from reports.models import ExecutionEvent, ExecutionPhase

        histogram = HistogramMetricFamily(
            "recomamp_amc_latency_seconds",
            "Time at AMC, from submit to SUCCEEDED, of runs that succeeded in the last 24 h.",
            labels=["instance"],
        )
        marks: dict = defaultdict(dict)
        for execution_pk, instance_pk, phase, at in (
            ExecutionEvent.objects.filter(
                execution__in=ExecutionEvent.objects.filter(
                    at__gte=since, to_phase=ExecutionPhase.DOWNLOADING
                ).values("execution_id"),
                to_phase__in=[ExecutionPhase.SUBMITTED, ExecutionPhase.DOWNLOADING],
            )
            .order_by("at")
            .values_list("execution_id", "execution__instance_id", "to_phase", "at")
        ):
            marks[execution_pk].setdefault(phase, at)  # the first of each, the adopted included
            marks[execution_pk]["instance"] = instance_pk
        durations: dict[str, list[float]] = defaultdict(list)
        for mark in marks.values():
            if ExecutionPhase.SUBMITTED in mark and ExecutionPhase.DOWNLOADING in mark:
                seconds = mark[ExecutionPhase.DOWNLOADING] - mark[ExecutionPhase.SUBMITTED]
                durations[names.get(mark["instance"], "?")].append(seconds.total_seconds())
        for instance, values in sorted(durations.items()):
            buckets = [
                (str(bound), sum(1 for value in values if value <= bound))
                for bound in LATENCY_BUCKETS
            ]
            buckets.append(("+Inf", len(values)))
            histogram.add_metric([instance], buckets, sum_value=sum(values))
        return histogram

    def _amc_errors(self, names, since) -> GaugeMetricFamily:
        """Every AMC error of the last 24 h, from the runs' events: the retried ones (429s, 5xx,
        lost connections) and the ones that failed a run."""
        from reports.models import ExecutionEvent, ExecutionStatus

        errors = GaugeMetricFamily(
            "recomamp_amc_errors",
            "AMC errors in the last 24 h, retried or failing a run, by kind.",
            labels=["instance", "kind"],
        )
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for instance_pk, detail in (
            ExecutionEvent.objects.filter(at__gte=since)
            .filter(Q(detail__has_key="retry") | Q(to_status=ExecutionStatus.FAILED))
            .values_list("execution__instance_id", "detail")
        ):
            kind = error_kind(detail or {})
            if kind != "other" or str((detail or {}).get("error", "")).startswith("Amc"):
                counts[(names.get(instance_pk, "?"), kind)] += 1
        for (instance, kind), n in sorted(counts.items()):
            errors.add_metric([instance, kind], n)
        return errors


#: The AMC client's error classes, as the engine writes them into retry events.
_ERROR_CLASSES = {
    "AmcThrottled": "throttled",
    "AmcServerError": "server",
    "AmcConnectionError": "server",
    "AmcQueryError": "query",
    "AmcBadRequest": "query",
    "AmcAuthError": "auth",
}


def error_kind(details: dict) -> str:
    """throttled (429), server (5xx, lost connections), query (AMC refused or failed the SQL),
    auth (credentials refused), other."""
    error_class = str(details.get("error", "")).split(":", 1)[0]
    if error_class in _ERROR_CLASSES:
        return _ERROR_CLASSES[error_class]
    status = details.get("status")
    code = str(details.get("code") or details.get("error_code") or "").lower()
    if status == 429 or "throttl" in code:
        return "throttled"
    if isinstance(status, int) and status >= 500:
        return "server"
    if status in (401, 403) or "auth" in code or "token" in code:
        return "auth"
    if status in (400, 422) or details.get("validation_errors") or details.get("failure_reason"):
        return "query"
    return "other"


_domain = DomainCollector()


def registry() -> CollectorRegistry:
    """The process metrics (or, under gunicorn, every worker's through the multiprocess
    directory) plus the domain collector."""
    out = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(out)
    else:
        out.register(REGISTRY)
    out.register(_domain)
    return out


def _allowed(request) -> bool:
    token = settings.RECOMAMP_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
def metrics(request) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
