"""Creating and cancelling executions; the engine (reports.engine) does the rest."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from recomamp.errors import Conflict, FieldError, RateLimited, ValidationFailed
from reports import engine
from reports.models import AuditStep, ReportDefinition, ReportExecution, TriggeredBy
from reports.parameters import ParameterEngineError, render_sql
from reports.services.reports import (
    count_execution,
    parameter_errors,
    record_audit,
    require_write,
)
from reports.windows import TimeWindow, lookback_window, today_in, validate_window


def execution_tag(execution_id: str) -> str:
    """First line of the SQL sent to AMC: ties an AMC execution to ours when reconciling."""
    return f"-- RecomAMP {execution_id}\n"


def render_for_report(
    *, report: ReportDefinition, parameters: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """The report's SQL with its saved parameters (overridden by `parameters`)."""
    values = {**report.parameters, **(parameters or {})}
    try:
        rendered = render_sql(
            sql=report.template.sql_query,
            definitions=report.template.parameter_definitions,
            values=values,
            today=today_in(report.timezone),
        )
    except ParameterEngineError as exc:
        raise parameter_errors(exc) from None
    return rendered.sql, rendered.parameters


def check_rate_limits(*, report: ReportDefinition, user) -> None:
    """Runs started by people and the API, per user and per instance, per minute."""
    since = timezone.now() - timedelta(minutes=1)
    counts = ReportExecution.objects.filter(
        Q(user=user) | Q(instance_id=report.instance_id),
        created_at__gte=since,
        triggered_by__in=[TriggeredBy.MANUAL, TriggeredBy.API],
    ).aggregate(
        by_user=Count("pk", filter=Q(user=user)),
        by_instance=Count("pk", filter=Q(instance_id=report.instance_id)),
    )
    if counts["by_user"] >= settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE:
        raise RateLimited(
            f"At most {settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE} runs a minute per user.",
            retry_after=60,
        )
    if counts["by_instance"] >= settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE:
        raise RateLimited(
            f"At most {settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE} runs a minute per instance.",
            retry_after=60,
        )


def create_execution(
    *,
    report: ReportDefinition,
    user,
    triggered_by: str,
    window: TimeWindow,
    parameters: dict[str, Any] | None = None,
    schedule=None,
    scheduled_for: datetime | None = None,
    collection=None,
) -> ReportExecution:
    """A pending execution with its parameter snapshot and exact SQL, handed to the engine."""
    sql, snapshot = render_for_report(report=report, parameters=parameters)
    with transaction.atomic():
        execution = ReportExecution(
            report=report,
            template=report.template,
            instance=report.instance,
            user=user,
            triggered_by=triggered_by,
            schedule=schedule,
            scheduled_for=scheduled_for,
            collection=collection,
            parameters_snapshot=snapshot,
            time_window_start=window.start,
            time_window_end=window.end,
        )
        execution.rendered_sql = execution_tag(execution.execution_id) + sql
        execution.save(force_insert=True)
        count_execution(report.pk, execution)
        engine.start_if_free(execution)
    return execution


def run_report(
    *,
    report: ReportDefinition,
    user,
    triggered_by: str = TriggeredBy.MANUAL,
    parameters: dict[str, Any] | None = None,
    time_window_start: datetime | None = None,
    time_window_end: datetime | None = None,
) -> ReportExecution:
    """Run a report now (manual or API). The window defaults to its lookback."""
    require_write(user=user, instance=report.instance)
    if not report.is_active:
        raise Conflict("The report is inactive; activate it to run it.", field="report")
    if (time_window_start is None) != (time_window_end is None):
        missing = "time_window_end" if time_window_end is None else "time_window_start"
        raise ValidationFailed(
            [FieldError(missing, "required", "Give both ends of the window, or neither.")]
        )
    if time_window_start is not None:
        window = validate_window(
            start=time_window_start, end=time_window_end, tz_name=report.timezone
        )
    else:
        window = lookback_window(lookback_days=report.lookback_days, tz_name=report.timezone)
    check_rate_limits(report=report, user=user)
    with transaction.atomic():
        execution = create_execution(
            report=report,
            user=user,
            triggered_by=triggered_by,
            window=window,
            parameters=parameters,
        )
        record_audit(
            report=report,
            user=user,
            step=AuditStep.RUN,
            action="run requested",
            configuration={
                "execution_id": execution.execution_id,
                "triggered_by": triggered_by,
                "parameters": parameters or {},
                "time_window_start": window.start.isoformat(),
                "time_window_end": window.end.isoformat(),
            },
        )
    return execution


def cancel_execution(*, execution: ReportExecution, user) -> ReportExecution:
    require_write(user=user, instance=execution.instance)
    if execution.is_terminal:
        raise Conflict(f"The execution is already {execution.status}.", field="status")
    engine.request_cancel(execution.pk)
    execution.refresh_from_db()
    return execution
