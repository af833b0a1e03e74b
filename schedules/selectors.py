"""Reads for schedules, always narrowed to the user's instances."""

from django.db.models import QuerySet

from instances.selectors import restrict_to_user
from reports.models import ReportExecution
from schedules.models import ReportSchedule


def schedules_for_user(*, user) -> QuerySet[ReportSchedule]:
    return restrict_to_user(
        ReportSchedule.objects.all(), user=user, instance_path="report__instance"
    ).select_related("report", "report__instance")


def schedule_history(*, schedule: ReportSchedule, user) -> QuerySet[ReportExecution]:
    """The schedule's runs the user may see (each execution's own instance), newest first."""
    return (
        restrict_to_user(ReportExecution.objects.filter(schedule=schedule), user=user)
        .select_related("report", "schedule")
        .order_by("-scheduled_for", "-created_at")
    )
