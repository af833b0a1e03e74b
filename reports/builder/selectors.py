"""Reads of the builder's audit trail, narrowed to the user's instances."""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from instances.selectors import restrict_to_user
from reports.models import ReportBuilderActivity, ReportBuilderAudit, ReportDefinition


def audit_for_report(*, report: ReportDefinition) -> QuerySet[ReportBuilderAudit]:
    """The report's trail, oldest first (the builder walk that made it comes first)."""
    return (
        ReportBuilderAudit.objects.filter(report=report)
        .select_related("user")
        .order_by("created_at")
    )


def recent_builder_activity(*, user, days: int = 30) -> QuerySet[ReportBuilderActivity]:
    """The `report_builder_activity` view: recent steps and changes with user and report.

    Rows of reports on the user's instances, plus the user's own steps of walks not submitted.
    """
    since = timezone.now() - timedelta(days=days)
    rows = ReportBuilderActivity.objects.filter(created_at__gte=since)
    if user.is_superuser:
        return rows
    visible = restrict_to_user(rows, user=user).values("pk")
    return rows.filter(Q(pk__in=visible) | Q(report__isnull=True, user=user))
