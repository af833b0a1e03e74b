"""The report builder's four steps: parameters, schedule (and backfill), review, submit.

Each step calls the services the rest of the product uses, so the builder never has rules of
its own: the parameter engine (through `preview_sql`, as the report preview does),
`schedules.services.build_schedule_spec` / `preview_schedule`, `backfills.services.plan_backfill`,
and on submit `create_report`, `create_schedule`, `create_backfill` and `run_report`, all in one
transaction. Errors name the field as the builder's request spells it: `parameters.asins[2]`,
`schedule.schedule_config.time`, `backfill.lookback_config.value`.

Every step writes an audit row (unless `audit=False`, for as-you-type checks) carrying the
walk's `draft_id`; on submit those rows join the new report, so its trail shows the walk in
order.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from backfills import services as backfill_services
from instances.models import AmcInstance
from instances.selectors import can_write, restrict_to_user
from recomamp.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from reports.models import (
    AuditStep,
    BuilderSubmission,
    Frequency,
    QueryTemplate,
    ReportBuilderAudit,
    ReportDefinition,
    TriggeredBy,
)
from reports.parameters import ParameterEngineError, preview_sql
from reports.parameters.rendering import ensure_definitions
from reports.services import executions as execution_services
from reports.services import reports as report_services
from reports.windows import today_in
from schedules import cron
from schedules import services as schedule_services

DEFAULT_RUN_COUNT = 5
MAX_RUN_COUNT = 50

DST_POLICY = (
    "Runs follow the wall clock of the schedule's timezone. A time skipped when clocks go "
    "forward runs once at the first valid instant after it; a time that occurs twice when "
    "clocks go back runs once, at its first occurrence."
)


# -- inputs ----------------------------------------------------------------------------------


def resolve_template(template_id: str) -> QueryTemplate:
    found = list(
        QueryTemplate.objects.filter(template_id=template_id, is_active=True)
        .order_by()
        .only(
            "id",
            "template_id",
            "name",
            "category",
            "description",
            "sql_query",
            "parameter_definitions",
        )[:1]
    )
    template = found[0] if found else None
    if template is None:
        raise ValidationFailed(
            [FieldError("template", "does_not_exist", f"No active template {template_id!r}.")]
        )
    return template


def resolve_instance(*, user, instance_id) -> AmcInstance:
    """The instance if the user may see it; otherwise 404, as if it did not exist."""
    # Only what the builder reads, unordered: this runs on every keystroke's check.
    instances = AmcInstance.objects.filter(pk=instance_id).order_by()
    instances = instances.only(
        "id", "instance_id", "instance_name", "time_zone", "concurrency_cap", "account_id"
    )
    found = list(restrict_to_user(instances, user=user, instance_path="")[:1])
    instance = found[0] if found else None
    if instance is None:
        raise NotFound("No such instance among yours.", field="instance")
    return instance


def _prefixed(exc: DomainError, prefix: str) -> list[FieldError]:
    return [
        FieldError(
            f"{prefix}.{e.field}" if e.field != "non_field_errors" else prefix, e.code, e.message
        )
        for e in exc.errors
    ]


def request_fingerprint(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str, separators=(",", ":")).encode()
    ).hexdigest()


def _audit(
    *, user, step: str, action: str, configuration: dict, draft_id, report=None
) -> ReportBuilderAudit:
    return report_services.record_audit(
        report=report,
        user=user,
        step=step,
        action=action,
        configuration=configuration,
        draft_id=draft_id,
    )


def record_step(*, user, step: str, action: str, configuration: dict, draft_id=None):
    """An audit row for a step that needs no other service (e.g. "run once" chosen)."""
    return _audit(
        user=user, step=step, action=action, configuration=configuration, draft_id=draft_id
    )


def can_submit(*, user, config: BuilderConfig) -> bool:
    return can_write(user=user, instance=config.instance)


# -- step 1: parameters ----------------------------------------------------------------------


@dataclass
class ParameterCheck:
    """What the parameters step answers: errors by field, and the SQL as it would render."""

    template: QueryTemplate
    timezone: str
    errors: list[FieldError]
    sql: str
    complete: bool
    parameters: dict[str, Any]
    undefined: list[str]
    unused: list[str]
    issues: list[dict[str, Any]]

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [e.__dict__ for e in self.errors],
            "sql": self.sql,
            "complete": self.complete,
            "parameters": self.parameters,
            "undefined": self.undefined,
            "unused": self.unused,
            "issues": self.issues,
            "timezone": self.timezone,
        }


def check_parameters_step(
    *, template: QueryTemplate, parameters: Mapping[str, Any], tz_name: str
) -> ParameterCheck:
    """Validate and render in one pass of the parameter engine (no database, no audit)."""
    report_services.validate_timezone(tz_name)
    try:
        preview = preview_sql(
            sql=template.sql_query,
            definitions=template.parameter_definitions,
            values=parameters,
            today=today_in(tz_name),
        )
    except ParameterEngineError as exc:  # the template's definitions are broken
        raise report_services.parameter_errors(exc) from None
    errors = [FieldError(f"parameters.{e.field}", e.code, e.message) for e in preview.errors]
    errors += [
        FieldError("template", issue.code, issue.message)
        for issue in preview.issues
        if issue.is_error
    ]
    undefined = sorted(
        {issue.placeholder for issue in preview.issues if issue.code == "undefined_placeholder"}
    )
    unused = [issue.placeholder for issue in preview.issues if issue.code == "unused_definition"]
    return ParameterCheck(
        template=template,
        timezone=tz_name,
        errors=errors,
        sql=preview.sql,
        complete=preview.complete,
        parameters=preview.parameters,
        undefined=undefined,
        unused=unused,
        issues=[issue.as_dict() for issue in preview.issues],
    )


def validate_step(
    *,
    user,
    template: QueryTemplate,
    instance: AmcInstance,
    parameters: Mapping[str, Any],
    tz_name: str | None = None,
    draft_id=None,
    audit: bool = True,
) -> ParameterCheck:
    """Step 1. Returns the check (errors included); the caller decides how to answer."""
    check = check_parameters_step(
        template=template, parameters=parameters, tz_name=tz_name or instance.time_zone
    )
    if audit:
        _audit(
            user=user,
            step=AuditStep.PARAMETERS,
            action="parameters valid" if check.valid else "parameters invalid",
            configuration={
                "template": template.template_id,
                "instance": str(instance.pk),
                "timezone": check.timezone,
                "parameters": dict(parameters),
                "errors": [e.field for e in check.errors],
            },
            draft_id=draft_id,
        )
    return check


# -- step 2: schedule and backfill -----------------------------------------------------------


@dataclass
class SchedulePreview:
    spec: schedule_services.ScheduleSpec
    client_timezone: str
    runs: list[dict[str, Any]]
    runs_per_month: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule_type": self.spec.schedule_type,
            "cron_expression": self.spec.cron_expression,
            "timezone": self.spec.timezone,
            "schedule_config": self.spec.schedule_config,
            "client_timezone": self.client_timezone,
            "dst_policy": DST_POLICY,
            "runs": self.runs,
            "runs_per_month": self.runs_per_month,
        }


@dataclass
class BackfillPreview:
    plan: backfill_services.BackfillPlan

    def as_dict(self) -> dict[str, Any]:
        from django.conf import settings

        plan = self.plan
        return {
            "start_date": plan.window.start.isoformat(),
            "end_date": plan.window.end.isoformat(),
            "days": plan.window.days,
            "segment_type": str(plan.config.type),
            "segmentation_config": plan.config.as_json(),
            "segment_count": len(plan.segments),
            "instance_cap": plan.instance_cap,
            "typical_segment_seconds": plan.typical_segment_seconds,
            "estimated_seconds": plan.estimated_seconds,
            "limits": {
                "max_lookback_days": settings.AMC_MAX_LOOKBACK_DAYS,
                "retention_days": settings.AMC_RETENTION_DAYS,
                "data_lag_days": settings.AMC_DATA_LAG_DAYS,
            },
            "segments": [
                {
                    "index": s.index,
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "days": s.days,
                    "partial": s.partial,
                }
                for s in plan.segments
            ],
        }


@dataclass
class Plan:
    """Steps 2 and 3's view of a configuration: what would be created and when it runs."""

    schedule: SchedulePreview | None = None
    backfill: BackfillPreview | None = None
    errors: list[FieldError] = field(default_factory=list)


def _dst_note(run_local: datetime, zone: ZoneInfo, wanted: str | None) -> str | None:
    """Why a run is not at the wall time asked for, or is at a time that occurs twice."""
    wall = run_local.replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if first != second:
        return f"{wall:%H:%M} occurs twice today (clocks go back); it runs once, the first time."
    if wanted and f"{wall:%H:%M}" != wanted:
        return (
            f"{wanted} does not exist today (clocks go forward); it runs at {wall:%H:%M}, "
            "the first valid time after it."
        )
    return None


#: Fire times sampled to estimate runs a month (a year's worth at most).
RATE_SAMPLE_RUNS = 40


def _runs_per_month(cron_expression: str, tz_name: str, now: datetime) -> float:
    """Average runs a month: the runs of the next year, or the rate of the next 40 runs."""
    runs = cron.preview_runs(cron_expression, tz_name, after=now, count=RATE_SAMPLE_RUNS)
    horizon = now + timedelta(days=365)
    within = [run for run in runs if run <= horizon]
    if len(within) < RATE_SAMPLE_RUNS:
        span_days = 365.0  # every run of the coming year is in the sample
    else:
        span_days = max((runs[-1] - now).total_seconds() / 86400, 1 / 24)
    return round(len(within) * (365 / 12) / span_days, 1)


def preview_schedule_step(
    *,
    schedule: Mapping[str, Any],
    report_timezone: str,
    client_timezone: str | None,
    count: int = DEFAULT_RUN_COUNT,
    now: datetime | None = None,
) -> SchedulePreview:
    """The next runs in the schedule's zone, the client's zone and UTC; errors `schedule.*`."""
    now = now or timezone.now()
    try:
        spec = schedule_services.build_schedule_spec(
            schedule_type=schedule.get("schedule_type"),
            cron_expression=schedule.get("cron_expression"),
            schedule_config=schedule.get("schedule_config"),
            timezone_name=schedule.get("timezone"),
            default_timezone=report_timezone,
        )
        runs = schedule_services.preview_schedule(
            cron_expression=spec.cron_expression,
            timezone_name=spec.timezone,
            count=count,
            after=now,
        )
    except DomainError as exc:
        raise ValidationFailed(_prefixed(exc, "schedule")) from None
    client_tz = client_timezone or spec.timezone
    try:
        client_zone = cron.validate_timezone(client_tz)
    except cron.ScheduleError as exc:
        raise ValidationFailed([FieldError("client_timezone", "invalid", exc.message)]) from None
    zone = ZoneInfo(spec.timezone)
    wanted = spec.schedule_config.get("time") if spec.schedule_config else None
    if wanted:
        hour, minute = (int(part) for part in str(wanted).split(":"))
        wanted = f"{hour:02d}:{minute:02d}"
    return SchedulePreview(
        spec=spec,
        client_timezone=client_tz,
        runs=[
            {
                "utc": run.utc.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "local": run.local.isoformat(),
                "client": run.utc.astimezone(client_zone).isoformat(),
                "dst_note": _dst_note(run.local, zone, wanted),
            }
            for run in runs
        ],
        runs_per_month=_runs_per_month(spec.cron_expression, spec.timezone, now),
    )


def preview_backfill_step(
    *, instance: AmcInstance, report_timezone: str, backfill: Mapping[str, Any]
) -> BackfillPreview:
    """The backfill's segments and estimate for a report not saved yet; errors `backfill.*`."""
    draft = ReportDefinition(instance=instance, timezone=report_timezone)
    try:
        plan = backfill_services.preview_backfill(
            report=draft,
            lookback_config=backfill.get("lookback_config"),
            segmentation_config=backfill.get("segmentation_config") or {},
        )
    except DomainError as exc:
        raise ValidationFailed(_prefixed(exc, "backfill")) from None
    return BackfillPreview(plan)


def plan_step(
    *,
    instance: AmcInstance,
    report_timezone: str,
    client_timezone: str | None,
    schedule: Mapping[str, Any] | None,
    backfill: Mapping[str, Any] | None,
    count: int = DEFAULT_RUN_COUNT,
) -> Plan:
    """Schedule and backfill previews together; every error of both, or none."""
    plan = Plan()
    if schedule is not None:
        try:
            plan.schedule = preview_schedule_step(
                schedule=schedule,
                report_timezone=report_timezone,
                client_timezone=client_timezone,
                count=count,
            )
        except ValidationFailed as exc:
            plan.errors += exc.errors
    if backfill is not None:
        try:
            plan.backfill = preview_backfill_step(
                instance=instance, report_timezone=report_timezone, backfill=backfill
            )
        except ValidationFailed as exc:
            plan.errors += exc.errors
    return plan


def schedule_preview_step(
    *,
    user,
    instance: AmcInstance,
    report_timezone: str | None,
    client_timezone: str | None,
    schedule: Mapping[str, Any] | None,
    backfill: Mapping[str, Any] | None,
    count: int = DEFAULT_RUN_COUNT,
    draft_id=None,
    audit: bool = True,
) -> Plan:
    """Step 2; raises ValidationFailed naming every bad field of the schedule and backfill."""
    tz_name = report_services.validate_timezone(report_timezone or instance.time_zone)
    plan = plan_step(
        instance=instance,
        report_timezone=tz_name,
        client_timezone=client_timezone,
        schedule=schedule,
        backfill=backfill,
        count=count,
    )
    if audit:
        _audit(
            user=user,
            step=AuditStep.SCHEDULE,
            action="schedule invalid" if plan.errors else "schedule previewed",
            configuration={
                "instance": str(instance.pk),
                "timezone": tz_name,
                "schedule": schedule,
                "backfill": backfill,
                "errors": [e.field for e in plan.errors],
            },
            draft_id=draft_id,
        )
    if plan.errors:
        raise ValidationFailed(plan.errors)
    return plan


# -- step 3: review --------------------------------------------------------------------------


@dataclass
class BuilderConfig:
    """Everything the analyst chose, as the submit step takes it."""

    template: QueryTemplate
    instance: AmcInstance
    name: str
    parameters: dict[str, Any]
    timezone: str | None = None
    description: str = ""
    lookback_days: int = 7
    schedule: dict[str, Any] | None = None
    backfill: dict[str, Any] | None = None
    run_now: bool = False
    client_timezone: str | None = None
    draft_id: uuid.UUID | None = None
    subscribers: list[dict[str, str]] | None = None

    @property
    def report_timezone(self) -> str:
        return self.timezone or self.instance.time_zone

    @property
    def frequency(self) -> str:
        if self.schedule and self.schedule.get("schedule_type") in Frequency.values:
            return self.schedule["schedule_type"]
        return Frequency.ONCE

    def as_audit(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "template": self.template.template_id,
            "instance": str(self.instance.pk),
            "timezone": self.report_timezone,
            "lookback_days": self.lookback_days,
            "parameters": self.parameters,
            "schedule": self.schedule,
            "backfill": self.backfill,
            "run_now": self.run_now,
            "subscribers": self.subscribers,
        }


def _display(defn, raw: Any, value: Any) -> str:
    """A parameter as the analyst reads it."""
    kind = defn.type.value
    if value is None or value == []:
        return "(empty)"
    if defn.is_list:
        shown = ", ".join(value[:10])
        more = f" and {len(value) - 10} more" if len(value) > 10 else ""
        return f"{len(value)} item{'s' if len(value) != 1 else ''}: {shown}{more}"
    if kind == "date_range":
        return f"{value['start']} to {value['end']}"
    if kind == "boolean":
        return "Yes" if value else "No"
    if kind == "percentage":
        return f"{value}%"
    if kind == "relative_date" and isinstance(raw, str) and raw.strip() != str(value):
        return f"{raw.strip()} ({value})"
    return str(value)


def readable_parameters(template: QueryTemplate, raw: Mapping[str, Any], snapshot: dict):
    rows = []
    for defn in ensure_definitions(template.parameter_definitions):
        given = raw.get(defn.name)
        rows.append(
            {
                "name": defn.name,
                "label": defn.label or defn.name.replace("_", " ").capitalize(),
                "type": defn.type.value,
                "value": snapshot.get(defn.name),
                "display": _display(defn, given, snapshot.get(defn.name)),
                "default_used": given in (None, "", [], {}) and defn.has_default,
            }
        )
    return rows


def _subscriber_errors(subscribers: list[dict[str, str]] | None) -> list[FieldError]:
    """Who gets each scheduled run's result, checked as schedules.delivery checks it."""
    from schedules import delivery

    errors: list[FieldError] = []
    for index, item in enumerate(subscribers or []):
        try:
            delivery.validate_target(channel=item.get("channel", ""), target=item.get("target"))
        except DomainError as exc:
            errors += _prefixed(exc, f"subscribers[{index}]")
    return errors


def review_step(*, user, config: BuilderConfig, audit: bool = True) -> dict[str, Any]:
    """Step 3: everything at once, or a 400 naming every bad field of every step."""
    errors: list[FieldError] = []
    check = None
    try:
        check = check_parameters_step(
            template=config.template, parameters=config.parameters, tz_name=config.report_timezone
        )
        errors += check.errors
    except ValidationFailed as exc:
        errors += exc.errors
    tz_name = config.report_timezone if check else "UTC"
    plan = plan_step(
        instance=config.instance,
        report_timezone=tz_name,
        client_timezone=config.client_timezone,
        schedule=config.schedule,
        backfill=config.backfill,
    )
    errors += plan.errors
    errors += _subscriber_errors(config.subscribers)
    if audit:
        _audit(
            user=user,
            step=AuditStep.REVIEW,
            action="review invalid" if errors else "reviewed",
            configuration={**config.as_audit(), "errors": [e.field for e in errors]},
            draft_id=config.draft_id,
        )
    if errors:
        raise ValidationFailed(errors)
    scheduled = plan.schedule.runs_per_month if plan.schedule else 0.0
    backfill_runs = len(plan.backfill.plan.segments) if plan.backfill else 0
    return {
        "name": config.name,
        "template": {
            "template_id": config.template.template_id,
            "name": config.template.name,
            "category": config.template.category,
        },
        "instance": {
            "id": str(config.instance.pk),
            "instance_id": config.instance.instance_id,
            "name": config.instance.instance_name,
        },
        "timezone": config.report_timezone,
        "lookback_days": config.lookback_days,
        "frequency": config.frequency,
        "parameters": readable_parameters(config.template, config.parameters, check.parameters),
        "sql": check.sql,
        "schedule": plan.schedule.as_dict() if plan.schedule else None,
        "backfill": plan.backfill.as_dict() if plan.backfill else None,
        "run_now": config.run_now,
        "subscribers": config.subscribers or [],
        "quota": {
            "scheduled_runs_per_month": scheduled,
            "backfill_runs": backfill_runs,
            "run_now": 1 if config.run_now else 0,
            "first_month_runs": round(scheduled + backfill_runs + (1 if config.run_now else 0)),
        },
    }


# -- step 4: submit --------------------------------------------------------------------------


@dataclass
class Submission:
    response: dict[str, Any]
    replayed: bool
    report: ReportDefinition


def _submit_response(report, schedule, collection, execution) -> dict[str, Any]:
    return {
        "report": {
            "report_id": report.report_id,
            "name": report.name,
            "template": report.template.template_id,
            "instance": str(report.instance_id),
            "frequency": report.frequency,
            "timezone": report.timezone,
            "dashboard": str(report.dashboard_id) if report.dashboard_id else None,
        },
        "schedule": (
            {
                "schedule_id": schedule.schedule_id,
                "cron_expression": schedule.cron_expression,
                "timezone": schedule.timezone,
                "next_run_at": schedule.next_run_at.isoformat() if schedule.next_run_at else None,
            }
            if schedule
            else None
        ),
        "backfill": (
            {
                "id": str(collection.pk),
                "status": collection.status,
                "start_date": collection.start_date.isoformat(),
                "end_date": collection.end_date.isoformat(),
                "total_segments": collection.total_segments,
            }
            if collection
            else None
        ),
        "execution": (
            {"execution_id": execution.execution_id, "status": execution.status}
            if execution
            else None
        ),
    }


def _create_all(*, user, config: BuilderConfig) -> tuple[ReportDefinition, dict[str, Any]]:
    """Report, schedule, backfill and run, inside the caller's transaction."""
    report = report_services.create_report(
        user=user,
        name=config.name,
        description=config.description,
        template=config.template,
        instance=config.instance,
        parameters=config.parameters,
        frequency=config.frequency,
        timezone=config.timezone,
        lookback_days=config.lookback_days,
        draft_id=config.draft_id,
    )
    errors: list[FieldError] = []
    schedule = collection = execution = None
    if config.schedule is not None:
        try:
            schedule = schedule_services.create_schedule(
                report=report,
                user=user,
                schedule_type=config.schedule.get("schedule_type"),
                cron_expression=config.schedule.get("cron_expression"),
                schedule_config=config.schedule.get("schedule_config"),
                timezone_name=config.schedule.get("timezone"),
                default_parameters=config.schedule.get("default_parameters") or {},
            )
        except ValidationFailed as exc:
            errors += _prefixed(exc, "schedule")
    if config.backfill is not None:
        try:
            collection = backfill_services.create_backfill(
                report=report,
                user=user,
                lookback_config=config.backfill.get("lookback_config"),
                segmentation_config=config.backfill.get("segmentation_config") or {},
            )
        except ValidationFailed as exc:
            errors += _prefixed(exc, "backfill")
        except DomainError as exc:
            if exc.status_code != 400:
                raise
            errors += _prefixed(exc, "backfill")
    if config.subscribers:
        from schedules import delivery

        try:
            delivery.set_subscribers(report=report, user=user, subscribers=config.subscribers)
        except ValidationFailed as exc:
            errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    if config.run_now:
        execution = execution_services.run_report(
            report=report, user=user, triggered_by=TriggeredBy.MANUAL
        )
    report.refresh_from_db()
    response = _submit_response(report, schedule, collection, execution)
    if config.draft_id is not None:
        ReportBuilderAudit.objects.filter(
            draft_id=config.draft_id, user=user, report__isnull=True
        ).update(report=report, report_ref=report.report_id)
    _audit(
        user=user,
        step=AuditStep.SUBMIT,
        action="builder submitted",
        configuration={**config.as_audit(), "created": response},
        draft_id=config.draft_id,
        report=report,
    )
    return report, response


def submit_step(
    *, user, config: BuilderConfig, idempotency_key: str | None = None, fingerprint: str = ""
) -> Submission:
    """Step 4: the report with its schedule, backfill and first run, in one transaction.

    Anything invalid rolls the whole thing back. With an idempotency key, a second request
    with the key gets the first one's answer (a different request with the same key is a 409).
    """
    report_services.require_write(user=user, instance=config.instance)
    if idempotency_key:
        replay = _replay(user=user, key=idempotency_key, fingerprint=fingerprint)
        if replay is not None:
            return replay
    # Every error of every step at once, before anything is written (the create services
    # below check again, inside the transaction, and roll everything back on any error).
    review_step(user=user, config=config, audit=False)
    try:
        with transaction.atomic():
            submission = None
            if idempotency_key:
                # Inserted first: a concurrent request with the same key waits here for this
                # transaction, then fails on the unique key and replays our answer.
                with transaction.atomic():
                    submission = BuilderSubmission.objects.create(
                        user=user, key=idempotency_key, fingerprint=fingerprint
                    )
            report, response = _create_all(user=user, config=config)
            if submission is not None:
                submission.report = report
                submission.response = response
                submission.save(update_fields=["report", "response"])
    except IntegrityError:
        replay = idempotency_key and _replay(
            user=user, key=idempotency_key, fingerprint=fingerprint
        )
        if not replay:
            raise
        return replay
    return Submission(response=response, replayed=False, report=report)


def _replay(*, user, key: str, fingerprint: str) -> Submission | None:
    done = (
        BuilderSubmission.objects.select_related("report")
        .filter(user=user, key=key, report__isnull=False)
        .first()
    )
    if done is None:
        return None
    if fingerprint and done.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return Submission(response=done.response, replayed=True, report=done.report)
