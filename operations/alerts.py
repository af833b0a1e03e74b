"""Failure alerts: one alert when an incident opens, one message when it recovers.

Incidents:
- a schedule whose last N runs (RECOMAMP_ALERT_AFTER_FAILURES) all failed; it recovers at its
  next successful run;
- a backfill that ended partial (no recovery: a retry of the failed segments makes a new run);
- an instance whose AMC credentials were refused (LWA refresh); it recovers when a run on the
  instance next completes.
At most one open incident per subject and kind, by a partial unique constraint: two workers
finishing runs at once cannot both alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from operations.models import AlertIncident, IncidentKind
from reports.models import ExecutionStatus, ReportExecution

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    incident: AlertIncident
    event: str  # "opened" or "recovered"


def may_change_an_incident(execution: ReportExecution) -> bool:
    """Whether a finished run could open or close an incident: every failed run, and a
    completed one only while an incident of its instance or schedule is open, or its backfill
    has a failed segment. Checked before queueing the alert task, so the common completed
    run costs one small query and no broker round trip."""
    from backfills.models import BackfillSegment, SegmentStatus

    if execution.status == ExecutionStatus.FAILED:
        return True
    if execution.status != ExecutionStatus.COMPLETED:
        return False
    if (
        execution.collection_id
        and BackfillSegment.objects.filter(
            backfill_id=execution.collection_id, status=SegmentStatus.FAILED
        ).exists()
    ):
        return True
    subjects = [str(execution.instance_id)]
    if execution.schedule_id:
        subjects.append(str(execution.schedule_id))
    return AlertIncident.objects.filter(subject__in=subjects, resolved_at__isnull=True).exists()


def evaluate_after_run(*, execution: ReportExecution) -> list[Change]:
    """Opens or resolves the incidents a finished run bears on; returns what changed."""
    changes: list[Change] = []
    if execution.status == ExecutionStatus.COMPLETED:
        changes += _resolve(IncidentKind.CREDENTIALS, str(execution.instance_id))
    elif execution.status == ExecutionStatus.FAILED and credentials_refused(execution):
        changes += _open(
            IncidentKind.CREDENTIALS,
            str(execution.instance_id),
            execution=execution,
            summary=(
                f"AMC refused the credentials of instance {execution.instance.instance_id} "
                f"({execution.instance.instance_name}): {execution.error_message[:200]}"
            ),
        )
    if execution.schedule_id:
        changes += _schedule(execution)
    if execution.collection_id:
        changes += _backfill(execution)
    return changes


def credentials_refused(execution: ReportExecution) -> bool:
    """LWA refused the refresh, or AMC kept answering 401/403 after a fresh token."""
    from operations.metrics import error_kind

    return (
        error_kind(execution.error_details or {}) == "auth"
        or "login with amazon" in execution.error_message.lower()
    )


def _schedule(execution: ReportExecution) -> list[Change]:
    subject = str(execution.schedule_id)
    if execution.status == ExecutionStatus.COMPLETED:
        return _resolve(IncidentKind.SCHEDULE_FAILING, subject)
    if execution.status != ExecutionStatus.FAILED:
        return []
    threshold = settings.RECOMAMP_ALERT_AFTER_FAILURES
    latest = list(
        ReportExecution.objects.filter(
            schedule_id=execution.schedule_id,
            status__in=[ExecutionStatus.COMPLETED, ExecutionStatus.FAILED],
        )
        .order_by("-scheduled_for", "-created_at")
        .values_list("status", "error_message")[:threshold]
    )
    if len(latest) < threshold or any(status != ExecutionStatus.FAILED for status, _ in latest):
        return []
    report = execution.report
    return _open(
        IncidentKind.SCHEDULE_FAILING,
        subject,
        execution=execution,
        summary=(
            f"The schedule of report {report.report_id} ({report.name}) failed {threshold} "
            f"times in a row. Last error: {latest[0][1][:300] or 'no message'}"
        ),
    )


def _backfill(execution: ReportExecution) -> list[Change]:
    from backfills.models import Backfill, BackfillStatus

    backfill = Backfill.objects.filter(pk=execution.collection_id).first()
    if backfill is None or backfill.status != BackfillStatus.PARTIAL:
        return []
    failed = backfill.segments.filter(status="failed").count()
    return _open(
        IncidentKind.BACKFILL_PARTIAL,
        str(backfill.pk),
        execution=execution,
        summary=(
            f"A backfill of report {execution.report.report_id} ({execution.report.name}) "
            f"ended partial: {failed} segment(s) failed."
        ),
    )


def _open(kind: str, subject: str, *, execution: ReportExecution, summary: str) -> list[Change]:
    if AlertIncident.objects.filter(kind=kind, subject=subject, resolved_at__isnull=True).exists():
        return []
    try:
        with transaction.atomic():
            incident = AlertIncident.objects.create(
                kind=kind,
                subject=subject,
                report_id=execution.report_id,
                instance_id=execution.instance_id,
                summary=summary,
            )
    except IntegrityError:  # another worker opened it first: it alerts, not us
        return []
    log.warning("incident opened: %s", summary)
    return [Change(incident, "opened")]


def _resolve(kind: str, subject: str) -> list[Change]:
    open_incidents = list(
        AlertIncident.objects.filter(kind=kind, subject=subject, resolved_at__isnull=True)
    )
    changes = []
    for incident in open_incidents:
        # Conditional: only the worker whose update lands sends the recovery message.
        if AlertIncident.objects.filter(pk=incident.pk, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        ):
            incident.refresh_from_db()
            log.info("incident recovered: %s", incident.summary)
            changes.append(Change(incident, "recovered"))
    return changes
