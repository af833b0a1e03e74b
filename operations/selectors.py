"""Reads for the system status page: per instance load and health, stuck runs, failing
schedules, the periodic tasks' last runs. Everything is narrowed to the user's instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from instances.models import AmcInstance
from instances.selectors import instances_for_user, restrict_to_user
from operations import heartbeats
from operations.metrics import error_kind
from operations.models import AlertIncident, IncidentKind
from reports.models import ExecutionPhase, ExecutionSlot, ExecutionStatus, ReportExecution
from schedules.models import ReportSchedule

DAY = timedelta(hours=24)
IN_FLIGHT = [ExecutionStatus.PENDING, ExecutionStatus.RUNNING]


@dataclass
class InstanceStatus:
    instance: AmcInstance
    slots_in_use: int = 0
    waiting: int = 0
    last_24h: dict[str, int] = field(default_factory=dict)
    amc_errors: int = 0
    last_error: ReportExecution | None = None

    @property
    def saturated(self) -> bool:
        return self.slots_in_use >= self.instance.concurrency_cap

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.last_24h.items() if status not in ("pending", "running"))

    @property
    def error_rate(self) -> float | None:
        return self.amc_errors / self.finished if self.finished else None


def instance_statuses(*, user, now: datetime | None = None) -> list[InstanceStatus]:
    now = now or timezone.now()
    statuses = {
        instance.pk: InstanceStatus(instance=instance)
        for instance in instances_for_user(user=user).order_by("instance_name")
    }
    if not statuses:
        return []
    pks = list(statuses)
    for pk, n in (
        ExecutionSlot.objects.filter(instance_id__in=pks, execution__isnull=False)
        .values("instance_id")
        .annotate(n=Count("pk"))
        .values_list("instance_id", "n")
    ):
        statuses[pk].slots_in_use = n
    for pk, n in (
        ReportExecution.objects.filter(instance_id__in=pks, phase=ExecutionPhase.QUEUED)
        .values("instance_id")
        .annotate(n=Count("pk"))
        .values_list("instance_id", "n")
    ):
        statuses[pk].waiting = n
    recent = ReportExecution.objects.filter(instance_id__in=pks, created_at__gte=now - DAY)
    for pk, status, n in (
        recent.values("instance_id", "status")
        .annotate(n=Count("pk"))
        .values_list("instance_id", "status", "n")
    ):
        statuses[pk].last_24h[status] = n
    failed = recent.filter(status=ExecutionStatus.FAILED).select_related("report")
    for execution in failed.order_by("-completed_at"):
        entry = statuses[execution.instance_id]
        if error_kind(execution.error_details or {}) != "other" or execution.amc_execution_id:
            entry.amc_errors += 1
            if entry.last_error is None:
                entry.last_error = execution
    return list(statuses.values())


@dataclass
class StuckExecution:
    execution: ReportExecution
    reason: str


def stuck_executions(*, user, now: datetime | None = None, limit: int = 50) -> list[StuckExecution]:
    """In-flight runs whose lease lapsed, or running far longer than their report usually
    takes (RECOMAMP_STUCK_FACTOR times the mean of its last completed runs)."""
    now = now or timezone.now()
    in_flight = restrict_to_user(
        ReportExecution.objects.filter(status__in=IN_FLIGHT), user=user
    ).select_related("report", "instance")
    stuck: list[StuckExecution] = []
    for execution in in_flight.filter(lease_expires_at__lt=now).order_by("lease_expires_at")[
        :limit
    ]:
        lapsed = (now - execution.lease_expires_at).total_seconds()
        stuck.append(StuckExecution(execution, f"lease lapsed {lapsed:.0f} s ago"))
    seen = {item.execution.pk for item in stuck}
    running = [
        e
        for e in in_flight.filter(status=ExecutionStatus.RUNNING, started_at__isnull=False)
        if e.pk not in seen
    ]
    usual = _usual_durations({e.report_id for e in running})
    for execution in running:
        typical = usual.get(execution.report_id)
        elapsed = now - execution.started_at
        if typical and elapsed > typical * settings.RECOMAMP_STUCK_FACTOR:
            minutes = elapsed.total_seconds() / 60
            stuck.append(
                StuckExecution(
                    execution,
                    f"running {minutes:.0f} min, usually {typical.total_seconds() / 60:.1f} min",
                )
            )
    return stuck[:limit]


def _usual_durations(report_pks: set) -> dict:
    if not report_pks:
        return {}
    duration = ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField())
    return dict(
        ReportExecution.objects.filter(
            report_id__in=report_pks,
            status=ExecutionStatus.COMPLETED,
            started_at__isnull=False,
            completed_at__isnull=False,
        )
        .values("report_id")
        .annotate(usual=Avg(duration))
        .values_list("report_id", "usual")
    )


def failing_schedules(*, user) -> list[tuple[ReportSchedule, AlertIncident | None]]:
    """Active schedules with an open failing incident, or whose last run failed."""
    schedules = restrict_to_user(
        ReportSchedule.objects.filter(is_active=True).select_related("report__instance"),
        user=user,
        instance_path="report__instance",
    )
    incidents = {
        incident.subject: incident
        for incident in AlertIncident.objects.filter(
            kind=IncidentKind.SCHEDULE_FAILING, resolved_at__isnull=True
        )
    }
    failing = schedules.filter(
        Q(pk__in=[pk for pk in incidents]) | Q(last_run_status=ExecutionStatus.FAILED)
    ).order_by("-failure_count")
    return [(schedule, incidents.get(str(schedule.pk))) for schedule in failing[:100]]


def periodic_tasks(*, now: datetime | None = None) -> dict[str, float | None]:
    return heartbeats.ages(now=now)
