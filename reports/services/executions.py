"""Creating and cancelling executions; the engine (reports.engine) does the rest.

`create_executions` is the one way executions come into being."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Model, Q
from django.utils import timezone

from recomamp import rows
from recomamp.errors import Conflict, FieldError, RateLimited, ValidationFailed
from reports.engine.slots import dispatch_waiting
from reports.engine.states import creation_event
from reports.engine.steps import request_cancel
from reports.models import (
    AuditStep,
    ExecutionEvent,
    ExecutionPhase,
    ExecutionStatus,
    ReportDefinition,
    ReportExecution,
    TriggeredBy,
)
from reports.parameters import ParameterEngineError, render_sql
from reports.services.reports import (
    audit_row,
    parameter_errors,
    require_write,
    validate_timezone,
)
from reports.signals import send_execution_finished
from reports.windows import TimeWindow, lookback_window, today_in, validate_window


def execution_tag(execution_id: str) -> str:
    """First line of the SQL sent to AMC: ties an AMC execution to ours when reconciling."""
    return f"-- RecomAMP {execution_id}\n"


def render_for_report(
    *, report: ReportDefinition, parameters: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """The report's SQL with its saved parameters (overridden by `parameters`)."""
    validate_timezone(report.timezone)
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
    """Runs started by people and the API: per user, and per instance counting every run
    (scheduled and backfill runs too), per minute. Call inside the transaction that inserts
    the run: the rows are locked first, so N concurrent requests cannot all pass."""
    since = timezone.now() - timedelta(minutes=1)
    counts = _lock_and_count_runs(since, user=user, instance_pk=report.instance_id)
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


def _lock_and_count_runs(since, *, user, instance_pk) -> dict[str, int]:
    """Lock the user's and the instance's rows for the rest of the transaction (FOR NO KEY
    UPDATE: inserts that reference them are not blocked), so counting the last minute's runs
    and inserting the new one are atomic; then count the user's manual and API runs and the
    instance's runs created since `since`. On PostgreSQL both statements go in one round trip
    (written out, as they run on every run request): the count is still a statement of its
    own, with its own snapshot, taken once the lock is granted."""
    from django.contrib.auth import get_user_model

    from instances.models import AmcInstance

    people = [TriggeredBy.MANUAL, TriggeredBy.API]
    if connection.vendor == "postgresql" and user is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {get_user_model()._meta.db_table} u, {AmcInstance._meta.db_table} i"
                " WHERE u.id = %s AND i.id = %s FOR NO KEY UPDATE;"
                " SELECT count(*) FILTER (WHERE user_id = %s AND triggered_by IN (%s, %s)),"
                " count(*) FILTER (WHERE instance_id = %s)"
                f" FROM {ReportExecution._meta.db_table}"
                " WHERE (user_id = %s OR instance_id = %s) AND created_at >= %s",
                [user.pk, instance_pk, user.pk, *map(rows.plain, people), instance_pk, user.pk]
                + [instance_pk, since],
            )
            cursor.nextset()
            by_user, by_instance = cursor.fetchone()
        return {"by_user": by_user, "by_instance": by_instance}
    # SQLite serialises writers anyway; without a user there is no user's row to lock.
    return ReportExecution.objects.filter(
        Q(user=user) | Q(instance_id=instance_pk), created_at__gte=since
    ).aggregate(
        by_user=Count("pk", filter=Q(user=user, triggered_by__in=people)),
        by_instance=Count("pk", filter=Q(instance_id=instance_pk)),
    )


def new_execution(
    *,
    report: ReportDefinition,
    user,
    triggered_by: str,
    window: TimeWindow,
    sql: str,
    snapshot: dict[str, Any],
    schedule=None,
    scheduled_for: datetime | None = None,
    collection=None,
    error: str = "",
) -> ReportExecution:
    """An unsaved execution for `create_executions`: pending with its SQL, or, with `error`,
    born failed (the run could not be prepared: recorded, counted and visible in history)."""
    execution = ReportExecution(
        report=report,
        template_id=report.template_id,
        instance_id=report.instance_id,
        user=user,
        triggered_by=triggered_by,
        schedule=schedule,
        scheduled_for=scheduled_for,
        collection=collection,
        parameters_snapshot=snapshot,
        time_window_start=window.start if window else None,
        time_window_end=window.end if window else None,
    )
    if error:
        execution.status = ExecutionStatus.FAILED
        execution.phase = ExecutionPhase.ENDED
        execution.error_message = error
        execution.completed_at = timezone.now()
    else:
        execution.rendered_sql = execution_tag(execution.execution_id) + sql
    return execution


#: From this many rows on, PostgreSQL gets them by COPY (the dispatcher's batches).
COPY_THRESHOLD = 20


def create_executions(
    executions: list[ReportExecution],
    *,
    skip_existing: bool = False,
    written_with: Sequence[Model] = (),
) -> list[ReportExecution]:
    """The one way executions come into being (ad-hoc runs, schedules, backfills, builder).

    Inserts them (COPY on PostgreSQL for large batches; with `skip_existing`, ON CONFLICT DO
    NOTHING against the unique (schedule, scheduled_for) index), writes their first event,
    counts them on their reports, makes runs beyond the instance's per-minute quota wait for
    it (scheduled and backfill runs are never refused), and after commit hands the pending
    ones to the engine and announces the born-failed ones. Returns the inserted executions.
    `written_with`: other new rows to save in the same transaction (on PostgreSQL in the first
    events' round trip), such as a run request's audit row.
    """
    if not executions:
        return []
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        _wait_for_quota(executions, now=now)
        for execution in executions:
            execution.created_at = execution.updated_at = now
        if connection.vendor == "postgresql" and len(executions) >= COPY_THRESHOLD:
            inserted_pks = _copy_insert(executions)
        elif connection.vendor == "postgresql":
            inserted_pks = _values_insert(executions, skip_existing=skip_existing)
        elif skip_existing:
            ReportExecution.objects.bulk_create(executions, ignore_conflicts=True)
            inserted_pks = set(
                ReportExecution.objects.filter(pk__in=[e.pk for e in executions]).values_list(
                    "pk", flat=True
                )
            )
        else:
            ReportExecution.objects.bulk_create(executions)
            inserted_pks = {e.pk for e in executions}
        inserted = [e for e in executions if e.pk in inserted_pks]
        _write_events_and_counts(inserted, at=now, written_with=written_with)
        caps = {
            e.instance_id: _known_cap(e) for e in inserted if e.status == ExecutionStatus.PENDING
        }
        for instance_pk, cap in caps.items():
            dispatch_waiting(instance_pk=instance_pk, cap=cap)
        for execution in inserted:
            if execution.status != ExecutionStatus.PENDING:
                send_execution_finished(execution.pk, execution.status)
    return inserted


def _known_cap(execution: ReportExecution) -> int | None:
    """The instance's cap when its row is already loaded (the run request's report)."""
    report = execution.report if ReportExecution.report.is_cached(execution) else None
    if report is not None and type(report).instance.is_cached(report):
        return report.instance.concurrency_cap
    return None


def _wait_for_quota(executions: list[ReportExecution], *, now) -> None:
    """Scheduled and backfill runs count against the instance's runs per minute and wait for
    it: the ones beyond the quota may start only a minute (or more) later."""
    limit = settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE
    automatic = [
        e
        for e in executions
        if e.triggered_by in (TriggeredBy.SCHEDULE, TriggeredBy.BACKFILL)
        and e.status == ExecutionStatus.PENDING
    ]
    if not automatic:
        return
    by_instance: dict[Any, list[ReportExecution]] = {}
    for execution in automatic:
        by_instance.setdefault(execution.instance_id, []).append(execution)
    recent = dict(
        ReportExecution.objects.filter(
            instance_id__in=list(by_instance), created_at__gte=now - timedelta(minutes=1)
        )
        .values_list("instance_id")
        .annotate(n=Count("pk"))
    )
    for instance_pk, group in by_instance.items():
        used = recent.get(instance_pk, 0)
        for index, execution in enumerate(group):
            minutes = (used + index) // limit
            if minutes:
                execution.next_poll_at = now + timedelta(minutes=minutes)


def _copy_insert(executions: list[ReportExecution]) -> set:
    """Many executions in a few statements: COPY into a temporary table shaped like the real
    one (no column list kept by hand), then one INSERT ... ON CONFLICT DO NOTHING."""
    fields = ReportExecution._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = ReportExecution._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE new_executions (LIKE {table} INCLUDING DEFAULTS)"
            " ON COMMIT DROP"
        )
        with cursor.copy(f"COPY new_executions ({columns}) FROM STDIN") as copy:
            for execution in executions:
                copy.write_row(
                    [f.get_db_prep_save(getattr(execution, f.attname), connection) for f in fields]
                )
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM new_executions"
            " ON CONFLICT DO NOTHING RETURNING id"
        )
        inserted = {row[0] for row in cursor.fetchall()}
        # Dropped now too: an enclosing transaction may create several batches.
        cursor.execute("DROP TABLE new_executions")
    return inserted


def _values_insert(executions: list[ReportExecution], *, skip_existing: bool) -> set:
    """A few executions in one INSERT ... VALUES written out from the model's fields (as the
    COPY path does; the run request's hot path), answering the ids it inserted."""
    sql, params = rows.insert_statement(executions)
    conflict = " ON CONFLICT DO NOTHING" if skip_existing else ""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql}{conflict} RETURNING id", params)
        inserted = {found for (found,) in cursor.fetchall()}
    for execution in executions:
        if execution.pk in inserted:
            execution._state.adding = False
            execution._state.db = connection.alias
    return inserted


def _write_events_and_counts(
    executions: list[ReportExecution], *, at, written_with: Sequence[Model]
) -> None:
    """Each execution's first event, execution_count and last_execution of their reports (one
    statement for all reports on PostgreSQL) and the `written_with` rows, in one round trip."""
    if not executions:
        for obj in written_with:
            obj.save(force_insert=True)
        return
    events = [creation_event(e, at=at) for e in executions]
    per_report: dict[Any, list] = {}
    for execution in executions:
        entry = per_report.setdefault(execution.report_id, [0, None])
        entry[0] += 1
        entry[1] = execution.pk
    if connection.vendor != "postgresql":
        ExecutionEvent.objects.bulk_create(events)
        for report_pk, (count, last) in per_report.items():
            ReportDefinition.objects.filter(pk=report_pk).update(
                execution_count=F("execution_count") + count, last_execution_id=last
            )
        for obj in written_with:
            obj.save(force_insert=True)
        return
    counts = (
        f"UPDATE {ReportDefinition._meta.db_table} AS r"
        " SET execution_count = r.execution_count + v.n, last_execution_id = v.last FROM (VALUES "
        + ", ".join(["(%s::uuid, %s::int, %s::uuid)"] * len(per_report))
        + ") AS v(id, n, last) WHERE r.id = v.id",
        [value for report_pk, (n, last) in per_report.items() for value in (report_pk, n, last)],
    )
    event_fields = [f for f in ExecutionEvent._meta.concrete_fields if not f.primary_key]
    rows.execute_together(
        [
            rows.insert_statement(events, fields=event_fields),
            counts,
            *(rows.insert_statement([obj], as_saved=True) for obj in written_with),
        ]
    )
    rows.saved(written_with)


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
    rendered: tuple[str, dict] | None = None,
) -> ReportExecution:
    """One pending execution with its parameter snapshot and exact SQL, handed to the engine.
    `rendered` is the (sql, snapshot) pair when the caller rendered it already."""
    sql, snapshot = rendered or render_for_report(report=report, parameters=parameters)
    (execution,) = create_executions(
        [
            new_execution(
                report=report,
                user=user,
                triggered_by=triggered_by,
                window=window,
                sql=sql,
                snapshot=snapshot,
                schedule=schedule,
                scheduled_for=scheduled_for,
                collection=collection,
            )
        ]
    )
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
    validate_timezone(report.timezone)
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
    # Rendered before the transaction, so the rate-limit locks are held for the insert only.
    sql, snapshot = render_for_report(report=report, parameters=parameters)
    execution = new_execution(
        report=report,
        user=user,
        triggered_by=triggered_by,
        window=window,
        sql=sql,
        snapshot=snapshot,
    )
    audit = audit_row(
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
    with transaction.atomic():
        check_rate_limits(report=report, user=user)
        create_executions([execution], written_with=[audit])
    return execution


def cancel_execution(*, execution: ReportExecution, user) -> ReportExecution:
    require_write(user=user, instance=execution.instance)
    if execution.is_terminal:
        raise Conflict(f"The execution is already {execution.status}.", field="status")
    request_cancel(execution.pk, user=user)
    execution.refresh_from_db()
    return execution
