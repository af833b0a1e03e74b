"""Reads for reports and executions, always narrowed to the user's instances."""

from django.db import connection
from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Subquery, Value, When

from dashboards.models import DashboardFavorite
from instances.models import AmcInstance
from instances.selectors import restrict_to_user, role_join_sql, user_role_subquery
from recomamp.rows import from_row, select_columns
from reports.models import QueryTemplate, ReportDefinition, ReportExecution
from schedules.models import ReportSchedule


def reports_for_user(*, user) -> QuerySet[ReportDefinition]:
    return restrict_to_user(ReportDefinition.objects.all(), user=user).select_related(
        "template", "instance", "owner"
    )


def report_to_run(*, report_id: str, user) -> ReportDefinition | None:
    """The report with what a run reads (its template and instance) if the user may see it,
    and the user's role on its instance as `user_role` (None for superusers). Written out on
    PostgreSQL, as it runs on every run request: building it through the ORM took about a
    quarter of the request's CPU."""
    if connection.vendor != "postgresql":
        return (
            restrict_to_user(
                ReportDefinition.objects.select_related("template", "instance"), user=user
            )
            .annotate(user_role=user_role_subquery(user=user))
            .filter(report_id=report_id)
            .first()
        )
    join, role, params = role_join_sql(user=user, instance_column="r.instance_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select_columns(ReportDefinition, 'r')}, {select_columns(QueryTemplate, 't')},"
            f" {select_columns(AmcInstance, 'i')}, {role} FROM {ReportDefinition._meta.db_table} r"
            f" JOIN {QueryTemplate._meta.db_table} t ON t.id = r.template_id"
            f" JOIN {AmcInstance._meta.db_table} i ON i.id = r.instance_id {join}"
            " WHERE r.report_id = %s",
            [*params, report_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    report = from_row(ReportDefinition, values)
    ReportDefinition.template.field.set_cached_value(report, from_row(QueryTemplate, values))
    ReportDefinition.instance.field.set_cached_value(report, from_row(AmcInstance, values))
    report.user_role = next(values)
    return report


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
