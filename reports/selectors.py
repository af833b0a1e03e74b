"""Reads for reports and executions, always narrowed to the user's instances."""

from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Subquery, Value, When

from dashboards.models import DashboardFavorite
from instances.selectors import restrict_to_user
from reports.models import ReportDefinition, ReportExecution
from schedules.models import ReportSchedule


def reports_for_user(*, user) -> QuerySet[ReportDefinition]:
    return restrict_to_user(ReportDefinition.objects.all(), user=user).select_related(
        "template", "instance", "owner"
    )


def report_overview(*, user) -> QuerySet[ReportDefinition]:
    """The original's report_runs_overview, in one query: state, latest status, last and next
    run, execution count and whether the user marked the dashboard a favorite."""
    if not user.is_authenticated:
        return ReportDefinition.objects.none()
    latest = ReportExecution.objects.filter(report=OuterRef("pk")).order_by("-created_at")
    schedule = ReportSchedule.objects.filter(report=OuterRef("pk"), is_active=True)
    return reports_for_user(user=user).annotate(
        latest_status=Subquery(latest.values("status")[:1]),
        last_run_at=Subquery(latest.values("created_at")[:1]),
        last_completed_at=Subquery(latest.values("completed_at")[:1]),
        next_run_at=Subquery(schedule.filter(is_paused=False).values("next_run_at")[:1]),
        schedule_paused=Exists(schedule.filter(is_paused=True)),
        is_favorite=Exists(
            DashboardFavorite.objects.filter(dashboard_id=OuterRef("dashboard_id"), user=user)
        ),
        state=Case(
            When(schedule_paused=True, then=Value("paused")),
            When(is_active=True, then=Value("active")),
            default=Value("inactive"),
            output_field=CharField(),
        ),
    )


def executions_for_user(*, user) -> QuerySet[ReportExecution]:
    return restrict_to_user(ReportExecution.objects.all(), user=user).select_related(
        "report", "instance"
    )
