"""Schedules: create, change, pause and resume them, and the dispatcher that runs them.

How a schedule runs (state lives in PostgreSQL; see DESIGN.md, "Schedule"):

- Every schedule row carries ``next_run_at``, the next fire time in UTC computed by
  ``schedules.cron`` on the wall clock of the schedule's timezone (DST policy there).
- One Beat entry ("Schedule dispatcher") calls ``dispatch_due_schedules`` every few seconds.
  It claims due rows in batches with SELECT ... FOR UPDATE SKIP LOCKED (``claim_due_schedules``),
  so two dispatchers never take the same row; for each row it asks cron.py's missed-run policy
  what to run (at most one catch-up after downtime) and where to move ``next_run_at``; inserts
  the executions with ON CONFLICT DO NOTHING against the unique (schedule, scheduled_for)
  constraint, so a run can never exist twice; advances ``next_run_at`` in the same
  transaction; and after the commit hands the new executions to the engine, once per instance.
  The batch path renders each distinct (template, parameters, day) once and writes the runs
  with one COPY and one INSERT, so 10,000 due schedules take seconds, not minutes.
- A schedule whose report is inactive is advanced without a run: deactivating a report stops
  its schedule, and reactivating it does not bring a burst of catch-up runs.
- Pause, resume and edit write the row under its lock; resume and edit recompute
  ``next_run_at`` from now, so a change takes effect at the next tick and a paused period is
  never caught up.
- When an execution of a schedule ends, ``record_run_finished`` (a receiver of
  ``execution_finished``) updates the last run time and status and the run and failure counts.

Time window of a scheduled run (``window_for_run``): the report's ``lookback_days`` complete
days, ending at the newest complete day (AMC's data lag) as of the run's scheduled time, on the
calendar of the report's timezone (the zone the window is sent to AMC in).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from recomamp.errors import Conflict, FieldError, ValidationFailed
from reports.models import (
    AuditStep,
    ExecutionStatus,
    QueryTemplate,
    ReportDefinition,
    ReportExecution,
    TriggeredBy,
)
from reports.parameters import DefinitionError, ParameterErrors, TemplateError, render_sql
from reports.services.executions import create_executions, new_execution
from reports.services.reports import check_parameters, record_audit, require_write
from reports.windows import TimeWindow, lookback_window
from schedules import cron
from schedules.models import ReportSchedule, ScheduleType

logger = logging.getLogger(__name__)

#: Schedule rows claimed (and locked) per transaction by the dispatcher.
DISPATCH_BATCH_SIZE = 1000
DEFAULT_PREVIEW_COUNT = 10


# -- input: friendly config or custom cron -> (type, cron, timezone, config) ------------------


@dataclass(frozen=True)
class ScheduleSpec:
    """A validated schedule definition, ready to store."""

    schedule_type: str
    cron_expression: str
    timezone: str
    schedule_config: dict[str, Any]


def _schedule_error(exc: cron.ScheduleError, *, config_prefix: bool = False) -> ValidationFailed:
    """cron.py's errors as a 400 naming the field (``schedule_config.<key>`` for the config)."""
    name = f"schedule_config.{exc.field}" if config_prefix else exc.field
    if config_prefix and exc.field == "schedule":
        name = "schedule_config"
    return ValidationFailed([FieldError(name, "invalid", exc.message)])


def build_schedule_spec(
    *,
    schedule_type: str,
    cron_expression: str | None = None,
    schedule_config: Mapping[str, Any] | None = None,
    timezone_name: str | None = None,
    default_timezone: str = "UTC",
) -> ScheduleSpec:
    """Validate a schedule as the user gave it; raises ValidationFailed naming the field.

    daily/weekly/monthly/quarterly come from the friendly ``schedule_config`` (its frequency
    defaults to the type, its timezone to ``timezone_name``); custom takes a five-field
    ``cron_expression``. The timezone defaults to ``default_timezone`` (the report's).
    """
    if schedule_type not in ScheduleType.values:
        raise ValidationFailed(
            [
                FieldError(
                    "schedule_type",
                    "invalid_choice",
                    f"Must be one of {', '.join(ScheduleType.values)}.",
                )
            ]
        )
    if schedule_type == ScheduleType.CUSTOM:
        if schedule_config:
            raise ValidationFailed(
                [FieldError("schedule_config", "invalid", "Not used with schedule_type custom.")]
            )
        if not cron_expression:
            raise ValidationFailed(
                [FieldError("cron_expression", "required", "Custom schedules need a cron.")]
            )
        tz_name = timezone_name or default_timezone
        try:
            cron.validate_timezone(tz_name)
            expression = cron.validate_cron(cron_expression)
        except cron.ScheduleError as exc:
            raise _schedule_error(exc) from None
        _check_interval_floor(expression, tz_name)
        return ScheduleSpec(schedule_type, expression, tz_name, {})

    if cron_expression:
        raise ValidationFailed(
            [
                FieldError(
                    "cron_expression",
                    "invalid",
                    "Only used with schedule_type custom; give schedule_config instead.",
                )
            ]
        )
    if schedule_config is None:
        raise ValidationFailed(
            [FieldError("schedule_config", "required", f"A {schedule_type} schedule needs it.")]
        )
    if not isinstance(schedule_config, Mapping):
        raise ValidationFailed(
            [FieldError("schedule_config", "invalid", "Schedule config must be an object.")]
        )
    config = dict(schedule_config)
    config.setdefault("frequency", schedule_type)
    if config["frequency"] != schedule_type:
        raise ValidationFailed(
            [
                FieldError(
                    "schedule_config.frequency",
                    "invalid",
                    f"Differs from schedule_type ({schedule_type}); give one of them.",
                )
            ]
        )
    if timezone_name and config.setdefault("timezone", timezone_name) != timezone_name:
        raise ValidationFailed(
            [
                FieldError(
                    "schedule_config.timezone",
                    "invalid",
                    f"Differs from timezone ({timezone_name}); give one of them.",
                )
            ]
        )
    config.setdefault("timezone", default_timezone)
    try:
        parsed = cron.ScheduleConfig.from_dict(config)
        expression = cron.cron_from_config(parsed)
    except cron.ScheduleError as exc:
        raise _schedule_error(exc, config_prefix=True) from None
    return ScheduleSpec(schedule_type, expression, parsed.timezone, config)


def _check_interval_floor(expression: str, tz_name: str) -> None:
    """A schedule may not fire more often than RECOMAMP_SCHEDULE_MIN_INTERVAL_MINUTES apart
    (each run costs AMC quota and a slot of the instance)."""
    floor = settings.RECOMAMP_SCHEDULE_MIN_INTERVAL_MINUTES
    runs = cron.preview_runs(expression, tz_name, after=timezone.now(), count=60)
    gaps = [(b - a).total_seconds() / 60 for a, b in zip(runs, runs[1:], strict=False)]
    if gaps and min(gaps) < floor:
        raise ValidationFailed(
            [
                FieldError(
                    "cron_expression",
                    "too_frequent",
                    f"Runs would be {min(gaps):g} minutes apart; at least {floor:g} minutes"
                    " between runs.",
                )
            ]
        )


@dataclass(frozen=True)
class PreviewRun:
    utc: datetime
    local: datetime


def preview_schedule(
    *, cron_expression: str, timezone_name: str, count: int = DEFAULT_PREVIEW_COUNT, after=None
) -> list[PreviewRun]:
    """The next ``count`` runs (1..100) after ``after`` (default now), in UTC and local time."""
    if not 1 <= count <= cron.MAX_PREVIEW_RUNS:
        raise ValidationFailed(
            [FieldError("count", "invalid", f"Must be between 1 and {cron.MAX_PREVIEW_RUNS}.")]
        )
    try:
        zone = cron.validate_timezone(timezone_name)
        runs = cron.preview_runs(
            cron_expression, timezone_name, after=after or timezone.now(), count=count
        )
    except cron.ScheduleError as exc:
        raise _schedule_error(exc) from None
    return [PreviewRun(utc=run, local=run.astimezone(zone)) for run in runs]


# -- create, change, pause, resume, deactivate ------------------------------------------------


def _check_default_parameters(*, report: ReportDefinition, parameters: dict[str, Any]) -> None:
    """A schedule's parameters override the report's; errors name default_parameters.<x>."""
    try:
        check_parameters(
            template=report.template,
            parameters={**report.parameters, **parameters},
            tz_name=report.timezone,
        )
    except ValidationFailed as exc:
        raise ValidationFailed(
            [
                FieldError(
                    e.field.replace("parameters.", "default_parameters.", 1), e.code, e.message
                )
                for e in exc.errors
            ]
        ) from None


def _next_run(spec_cron: str, tz_name: str, now: datetime) -> datetime:
    return cron.next_run_after(spec_cron, tz_name, now)


@transaction.atomic
def create_schedule(
    *,
    report: ReportDefinition,
    user,
    schedule_type: str,
    cron_expression: str | None = None,
    schedule_config: Mapping[str, Any] | None = None,
    timezone_name: str | None = None,
    default_parameters: dict[str, Any] | None = None,
    is_paused: bool = False,
    now: datetime | None = None,
) -> ReportSchedule:
    """A report's schedule; 409 when the report already has an active one or is inactive."""
    require_write(user=user, instance=report.instance)
    if not report.is_active:
        raise Conflict("The report is inactive; activate it to schedule it.", field="report")
    spec = build_schedule_spec(
        schedule_type=schedule_type,
        cron_expression=cron_expression,
        schedule_config=schedule_config,
        timezone_name=timezone_name,
        default_timezone=report.timezone,
    )
    default_parameters = default_parameters or {}
    _check_default_parameters(report=report, parameters=default_parameters)
    # Lock the report so two requests cannot both pass the check below (the partial unique
    # constraint would still refuse the second insert).
    ReportDefinition.objects.select_for_update().filter(pk=report.pk).first()
    existing = ReportSchedule.objects.filter(report=report, is_active=True).first()
    if existing is not None:
        raise Conflict(
            f"The report already has an active schedule ({existing.schedule_id}); change or"
            " delete it instead.",
            field="report",
        )
    schedule = ReportSchedule.objects.create(
        report=report,
        schedule_type=spec.schedule_type,
        cron_expression=spec.cron_expression,
        timezone=spec.timezone,
        schedule_config=spec.schedule_config,
        default_parameters=default_parameters,
        is_paused=is_paused,
        next_run_at=_next_run(spec.cron_expression, spec.timezone, now or timezone.now()),
    )
    _audit(schedule, user=user, action="schedule created")
    return schedule


def _audit(schedule: ReportSchedule, *, user, action: str, before: dict | None = None) -> None:
    record_audit(
        report=schedule.report,
        user=user,
        step=AuditStep.SCHEDULE,
        action=action,
        configuration=_audit_state(schedule),
        before=before,
    )


def _audit_state(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "schedule_id": schedule.schedule_id,
        "schedule_type": schedule.schedule_type,
        "cron_expression": schedule.cron_expression,
        "timezone": schedule.timezone,
        "schedule_config": schedule.schedule_config,
        "default_parameters": schedule.default_parameters,
        "is_paused": schedule.is_paused,
        "is_active": schedule.is_active,
    }


def _locked(schedule: ReportSchedule) -> ReportSchedule:
    """Re-read the row under its lock (waits for a dispatcher holding it to commit)."""
    locked = ReportSchedule.objects.select_for_update().select_related("report").get(pk=schedule.pk)
    if not locked.is_active:
        raise Conflict("The schedule is inactive.", field="schedule")
    return locked


_UNSET: Any = object()


@transaction.atomic
def update_schedule(
    *,
    schedule: ReportSchedule,
    user,
    schedule_type: str = _UNSET,
    cron_expression: str | None = _UNSET,
    schedule_config: Mapping[str, Any] | None = _UNSET,
    timezone_name: str | None = _UNSET,
    default_parameters: dict[str, Any] = _UNSET,
    now: datetime | None = None,
) -> ReportSchedule:
    """Change a schedule; next_run_at is recomputed from now (effective at the next tick)."""
    require_write(user=user, instance=schedule.report.instance)
    locked = _locked(schedule)
    before = _audit_state(locked)
    new_type = locked.schedule_type if schedule_type is _UNSET else schedule_type
    same_type = new_type == locked.schedule_type
    if timezone_name is _UNSET:
        timezone_name = None
    if cron_expression is _UNSET:
        # A custom schedule keeps its cron unless a new one is given.
        is_custom = new_type == ScheduleType.CUSTOM
        cron_expression = locked.cron_expression if is_custom and same_type else None
    if schedule_config is _UNSET:
        # A friendly schedule keeps its config (with a new timezone, if one is given).
        schedule_config = None
        if new_type != ScheduleType.CUSTOM and same_type:
            schedule_config = dict(locked.schedule_config)
            if timezone_name:
                schedule_config["timezone"] = timezone_name
    spec = build_schedule_spec(
        schedule_type=new_type,
        cron_expression=cron_expression,
        schedule_config=schedule_config,
        timezone_name=timezone_name,
        default_timezone=locked.timezone,
    )
    if default_parameters is not _UNSET:
        _check_default_parameters(report=locked.report, parameters=default_parameters or {})
        locked.default_parameters = default_parameters or {}
    locked.schedule_type = spec.schedule_type
    locked.cron_expression = spec.cron_expression
    locked.timezone = spec.timezone
    locked.schedule_config = spec.schedule_config
    locked.next_run_at = _next_run(spec.cron_expression, spec.timezone, now or timezone.now())
    locked.save(
        update_fields=[
            "schedule_type",
            "cron_expression",
            "timezone",
            "schedule_config",
            "default_parameters",
            "next_run_at",
            "updated_at",
        ]
    )
    _audit(locked, user=user, action="schedule changed", before=before)
    return locked


@transaction.atomic
def pause_schedule(*, schedule: ReportSchedule, user) -> ReportSchedule:
    """Stop firing from the next tick on (idempotent)."""
    require_write(user=user, instance=schedule.report.instance)
    locked = _locked(schedule)
    before = _audit_state(locked)
    if not locked.is_paused:
        locked.is_paused = True
        locked.save(update_fields=["is_paused", "updated_at"])
        _audit(locked, user=user, action="schedule paused", before=before)
    return locked


@transaction.atomic
def resume_schedule(*, schedule: ReportSchedule, user, now: datetime | None = None):
    """Fire again from the next time after now: a paused period is never caught up."""
    require_write(user=user, instance=schedule.report.instance)
    locked = _locked(schedule)
    before = _audit_state(locked)
    if locked.is_paused:
        locked.is_paused = False
        locked.next_run_at = _next_run(
            locked.cron_expression, locked.timezone, now or timezone.now()
        )
        locked.save(update_fields=["is_paused", "next_run_at", "updated_at"])
        _audit(locked, user=user, action="schedule resumed", before=before)
    return locked


@transaction.atomic
def deactivate_schedule(*, schedule: ReportSchedule, user) -> ReportSchedule:
    """Delete for users: the row stays (inactive) so its run history keeps its schedule."""
    require_write(user=user, instance=schedule.report.instance)
    locked = _locked(schedule)
    before = _audit_state(locked)
    locked.is_active = False
    locked.next_run_at = None
    locked.save(update_fields=["is_active", "next_run_at", "updated_at"])
    _audit(locked, user=user, action="schedule deleted", before=before)
    return locked


# -- the dispatcher ---------------------------------------------------------------------------


def window_for_run(*, report: ReportDefinition, scheduled_for: datetime) -> TimeWindow:
    """The report's lookback_days complete days, as of the run's scheduled time.

    "Today" is the scheduled time's date in the report's timezone (windows are midnights in
    that zone, and it is the zone sent to AMC), so a catch-up run asks for the same data the
    on-time run would have, and the window never reaches past AMC's data lag.
    """
    return _window(
        report.lookback_days, report.timezone, _local_date(scheduled_for, report.timezone)
    )


def _local_date(moment: datetime, tz_name: str) -> date:
    return moment.astimezone(ZoneInfo(tz_name)).date()


# What the dispatcher reads of a claimed schedule and its report (10,000 rows load faster).
_CLAIMED_FIELDS = (
    "schedule_id",
    "cron_expression",
    "timezone",
    "next_run_at",
    "default_parameters",
    "report__is_active",
    "report__template_id",
    "report__instance_id",
    "report__owner_id",
    "report__parameters",
    "report__timezone",
    "report__lookback_days",
)


def claim_due_schedules(*, now: datetime, limit: int = DISPATCH_BATCH_SIZE) -> list[ReportSchedule]:
    """Lock up to ``limit`` due schedules (active, not paused, next_run_at <= now).

    Call inside ``transaction.atomic()``: the rows stay locked until it ends, and SKIP LOCKED
    makes a second dispatcher take other rows instead of waiting or taking the same ones. When
    the locking transaction has advanced next_run_at, PostgreSQL re-checks the WHERE on the
    new row version, so a committed row is never claimed twice for one fire time.
    Schedules of inactive reports are claimed too; the dispatcher advances them without a run.
    """
    return list(
        ReportSchedule.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(is_active=True, is_paused=False, next_run_at__lte=now)
        .select_related("report")
        .only(*_CLAIMED_FIELDS)
        .order_by("next_run_at")[:limit]
    )


@dataclass
class DispatchResult:
    """What one call of the dispatcher did."""

    claimed: int = 0
    created: int = 0  # executions inserted (pending, or failed when the SQL would not render)
    failed: int = 0  # of those, born failed
    skipped: int = 0  # no run: report inactive, or already run for that time
    batches: int = 0
    instances: set = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "created": self.created,
            "failed": self.failed,
            "skipped": self.skipped,
            "batches": self.batches,
        }


def dispatch_due_schedules(
    *, now: datetime | None = None, batch_size: int = DISPATCH_BATCH_SIZE, max_batches: int = 100
) -> DispatchResult:
    """Run every due schedule once for its (latest) due time and advance it. Idempotent.

    ``now`` is fixed for the whole call (tests and simulations pass their own). Each batch is
    its own transaction, so locks are short and concurrent dispatchers share the work; the
    engine gets the new executions after each commit (reports' creation service does that).
    """
    now = now or timezone.now()
    result = DispatchResult()
    for _ in range(max_batches):
        with transaction.atomic():
            claimed = claim_due_schedules(now=now, limit=batch_size)
            if claimed:
                _dispatch_batch(claimed, now=now, result=result)
        result.batches += 1
        result.claimed += len(claimed)
        if len(claimed) < batch_size:
            break
    if result.claimed:
        logger.info("schedule dispatcher: %s", result.as_dict())
    return result


class _SqlCache:
    """Each distinct (template, parameters, day) is rendered once per dispatch."""

    def __init__(self, templates: dict[Any, QueryTemplate]) -> None:
        self.templates = templates
        self.rendered: dict[tuple, tuple[str, dict] | str] = {}

    def render(self, report: ReportDefinition, values: dict[str, Any], today: date):
        key = (report.template_id, repr(sorted(values.items())), today)
        if key not in self.rendered:
            template = self.templates[report.template_id]
            try:
                query = render_sql(
                    sql=template.sql_query,
                    definitions=template.parameter_definitions,
                    values=values,
                    today=today,
                )
                self.rendered[key] = (query.sql, query.parameters)
            except (ParameterErrors, DefinitionError, TemplateError) as exc:
                reasons = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
                self.rendered[key] = f"The scheduled run could not render its SQL: {reasons}"
        return self.rendered[key]


@functools.lru_cache(maxsize=4096)
def _plan(expression: str, tz_name: str, due_at: datetime, now: datetime) -> cron.DispatchPlan:
    """cron.py's missed-run policy; many schedules share (expression, zone, due time)."""
    return cron.next_run_for_dispatch(expression, tz_name, due_at=due_at, now=now)


def _window(lookback_days: int, tz_name: str, today: date) -> TimeWindow:
    return _cached_window(lookback_days, tz_name, today, settings.AMC_DATA_LAG_DAYS)


@functools.lru_cache(maxsize=4096)
def _cached_window(lookback_days: int, tz_name: str, today: date, _lag: int) -> TimeWindow:
    # The data lag is part of the key: the window depends on it.
    return lookback_window(lookback_days=lookback_days, tz_name=tz_name, today=today)


def _dispatch_batch(
    schedules: list[ReportSchedule], *, now: datetime, result: DispatchResult
) -> None:
    """Plan, insert and advance one locked batch.

    Each schedule is handled on its own: one whose report cannot be rendered, whose timezone
    is unknown or whose planning fails in any way gets a failed run with the reason (visible
    in its history and the admin) and the batch goes on.
    """
    template_ids = {s.report.template_id for s in schedules if s.report.is_active}
    sql_cache = _SqlCache(QueryTemplate.objects.in_bulk(template_ids))
    advances: list[tuple[Any, datetime | None]] = []
    executions: list[ReportExecution] = []
    for schedule in schedules:
        try:
            plan = _plan(schedule.cron_expression, schedule.timezone, schedule.next_run_at, now)
        except Exception as exc:  # noqa: BLE001 - one schedule never stops the others
            # The rules changed under a stored row (or its zone vanished): park it (next_run_at
            # NULL is never due) with a failed run that says why.
            reason = getattr(exc, "message", None) or str(exc)
            logger.error("schedule %s parked: %s", schedule.schedule_id, reason)
            advances.append((schedule.pk, None))
            if schedule.report.is_active:
                executions.append(
                    _failed_run(
                        schedule,
                        schedule.next_run_at,
                        f"The schedule was paused by the dispatcher: {reason}",
                    )
                )
            continue
        advances.append((schedule.pk, plan.next_run_at))
        if plan.run_at is None or not schedule.report.is_active:
            result.skipped += 1
            continue
        try:
            executions.append(_scheduled_execution(schedule, plan.run_at, sql_cache))
        except Exception as exc:  # noqa: BLE001
            logger.exception("schedule %s: the run could not be prepared", schedule.schedule_id)
            executions.append(
                _failed_run(
                    schedule, plan.run_at, f"The scheduled run could not be prepared: {exc}"
                )
            )

    inserted = create_executions(executions, skip_existing=True)
    result.skipped += len(executions) - len(inserted)
    result.created += len(inserted)
    result.failed += sum(1 for e in inserted if e.status == ExecutionStatus.FAILED)
    result.instances.update(e.instance_id for e in inserted if e.status == ExecutionStatus.PENDING)
    _advance(advances)


def _failed_run(schedule: ReportSchedule, run_at: datetime, reason: str) -> ReportExecution:
    report = schedule.report
    return new_execution(
        report=report,
        user=_owner(report),
        triggered_by=TriggeredBy.SCHEDULE,
        window=None,
        sql="",
        snapshot={**report.parameters, **schedule.default_parameters},
        schedule=schedule,
        scheduled_for=run_at,
        error=reason,
    )


def _owner(report: ReportDefinition):
    user = get_user_model()(pk=report.owner_id)
    return user


def _scheduled_execution(
    schedule: ReportSchedule, run_at: datetime, sql_cache: _SqlCache
) -> ReportExecution:
    """The run of a schedule for one fire time: pending with its SQL, or born failed with the
    reason when the report's parameters no longer fit its template."""
    report = schedule.report
    today = _local_date(run_at, report.timezone)
    window = _window(report.lookback_days, report.timezone, today)
    values = {**report.parameters, **schedule.default_parameters}
    rendered = sql_cache.render(report, values, today)
    if isinstance(rendered, str):
        sql, snapshot, error = "", values, rendered
    else:
        (sql, snapshot), error = rendered, ""
    return new_execution(
        report=report,
        user=_owner(report),
        triggered_by=TriggeredBy.SCHEDULE,
        window=window,
        sql=sql,
        snapshot=snapshot,
        schedule=schedule,
        scheduled_for=run_at,
        error=error,
    )


def _advance(advances: list[tuple[Any, datetime | None]]) -> None:
    if not advances:
        return
    if connection.vendor != "postgresql":
        for pk, next_run_at in advances:
            ReportSchedule.objects.filter(pk=pk).update(next_run_at=next_run_at)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE report_schedules AS s SET next_run_at = v.next_run_at
            FROM unnest(%s::uuid[], %s::timestamptz[]) AS v(id, next_run_at)
            WHERE s.id = v.id
            """,
            [[pk for pk, _ in advances], [at for _, at in advances]],
        )


# -- when a run ends --------------------------------------------------------------------------


def record_run_finished(*, execution: ReportExecution) -> None:
    """Counters and last run of the execution's schedule (the signal is sent once per run).

    last_run_at is the scheduled time of the newest finished run: a catch-up that ends after
    a newer run does not move it back.
    """
    if execution.schedule_id is None:
        return
    ran_at = execution.scheduled_for or execution.created_at or timezone.now()
    newer = Q(last_run_at__isnull=True) | Q(last_run_at__lte=ran_at)
    failed = 1 if execution.status == ExecutionStatus.FAILED else 0
    ReportSchedule.objects.filter(pk=execution.schedule_id).update(
        run_count=F("run_count") + 1,
        failure_count=F("failure_count") + failed,
        last_run_at=Case(When(newer, then=Value(ran_at)), default=F("last_run_at")),
        last_run_status=Case(
            When(newer, then=Value(execution.status)), default=F("last_run_status")
        ),
    )
