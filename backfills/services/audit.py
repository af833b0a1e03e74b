"""What the audit trail records of a backfill's changes (start, retry, cancel)."""

from __future__ import annotations

from backfills.models import Backfill
from reports.models import AuditStep
from reports.services.reports import record_audit


def audit_state(backfill: Backfill) -> dict:
    return {
        "collection": str(backfill.pk),
        "status": backfill.status,
        "lookback_config": backfill.lookback_config,
        "segmentation_config": backfill.segmentation_config,
    }


def record_change(backfill: Backfill, *, user, action: str, before: dict) -> None:
    backfill.refresh_from_db(fields=["status"])
    record_audit(
        report=backfill.report,
        user=user,
        step=AuditStep.CHANGE,
        action=action,
        configuration=audit_state(backfill),
        before=before,
    )
