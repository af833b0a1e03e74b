"""Writes for report definitions: create, change, delete, activate, and the audit trail."""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction

from dashboards.services.building import build_dashboard
from instances.models import AmcInstance
from instances.selectors import can_write
from recomamp import rows
from recomamp.errors import FieldError, PermissionDenied, ValidationFailed
from reports.models import AuditStep, QueryTemplate, ReportBuilderAudit, ReportDefinition
from reports.parameters import ParameterEngineError, ParameterErrors, validate_parameters
from reports.windows import today_in

MAX_LOOKBACK_DAYS = 365
# The instance and template are fixed at creation: executions, schedules and backfills under a
# report belong to its instance (a report moved to another tenant would take its history along).
EDITABLE_FIELDS = {
    "name",
    "description",
    "parameters",
    "frequency",
    "timezone",
    "lookback_days",
}


def require_write(*, user, instance: AmcInstance) -> None:
    if not can_write(user=user, instance=instance):
        raise PermissionDenied(
            "You have no permission to change this instance: your access to it is read-only."
        )


def validate_timezone(name: str, *, field: str = "timezone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            [FieldError(field, "invalid", f"'{name}' is not a known IANA timezone.")]
        ) from None
    return name


def check_parameters(
    *, template: QueryTemplate, parameters: dict[str, Any], tz_name: str = "UTC"
) -> dict[str, Any]:
    """Validate parameter values against the template; errors name `parameters.<field>`."""
    try:
        validate_parameters(
            definitions=template.parameter_definitions, values=parameters, today=today_in(tz_name)
        )
    except ParameterEngineError as exc:
        raise parameter_errors(exc) from None
    return parameters


def check_report_definition(
    *,
    template: QueryTemplate,
    parameters: dict[str, Any],
    timezone: str,
    lookback_days: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """Everything the engine needs to run a report, checked at once: the timezone, the
    parameter values against the template and the lookback. Returns (timezone, parameters).

    Every writer of a report calls it (the API and admin through create/update_report; a form
    may call it first to show the errors beside their fields)."""
    errors: list[FieldError] = []
    if not isinstance(parameters, dict):
        errors.append(FieldError("parameters", "invalid", "Give the parameters as an object."))
    try:
        validate_timezone(timezone)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if lookback_days is not None and not (1 <= lookback_days <= MAX_LOOKBACK_DAYS):
        errors.append(
            FieldError("lookback_days", "invalid", f"Between 1 and {MAX_LOOKBACK_DAYS} days.")
        )
    if not errors:
        try:
            check_parameters(template=template, parameters=parameters, tz_name=timezone)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return timezone, parameters


def parameter_errors(exc: ParameterEngineError) -> ValidationFailed:
    """The parameter engine's errors as a 400: bad values name `parameters.<field>`, a broken
    template names `template`."""
    field = "parameters.{}" if isinstance(exc, ParameterErrors) else "template"
    return ValidationFailed(
        [FieldError(field.format(e.field), e.code, e.message) for e in exc.errors]
    )


def record_audit(**fields) -> ReportBuilderAudit:
    """Write one row of the audit trail; `fields` as `audit_row`."""
    audit = audit_row(**fields)
    if connection.vendor == "postgresql":
        rows.insert(audit)
    else:
        audit.save(force_insert=True)
    return audit


def audit_row(
    *,
    report: ReportDefinition | None,
    user,
    step: str,
    action: str,
    configuration: dict,
    before: dict | None = None,
    draft_id=None,
) -> ReportBuilderAudit:
    """One row of the audit trail, unsaved (`record_audit` writes it; a caller may write it
    with others): `configuration` is the state after the step or change, `before` the state it
    replaced (None when something is created)."""
    return ReportBuilderAudit(
        report=report,
        report_ref=report.report_id if report else "",
        user=user if user is not None and user.is_authenticated else None,
        step=step,
        action=action,
        configuration_before=before,
        configuration=configuration,
        draft_id=draft_id,
    )


@transaction.atomic
def create_report(
    *,
    user,
    name: str,
    template: QueryTemplate,
    instance: AmcInstance,
    parameters: dict[str, Any] | None = None,
    frequency: str = "once",
    timezone: str | None = None,
    lookback_days: int = 7,
    description: str = "",
    draft_id=None,
) -> ReportDefinition:
    require_write(user=user, instance=instance)
    tz_name, parameters = check_report_definition(
        template=template,
        parameters=parameters or {},
        timezone=timezone or instance.time_zone,
        lookback_days=lookback_days,
    )
    report = ReportDefinition.objects.create(
        name=name,
        description=description,
        template=template,
        instance=instance,
        owner=user,
        parameters=parameters,
        frequency=frequency,
        timezone=tz_name,
        lookback_days=lookback_days,
    )
    record_audit(
        report=report,
        user=user,
        step=AuditStep.SUBMIT,
        action="report created",
        configuration={
            "name": name,
            "template": template.template_id,
            "instance": str(instance.pk),
            "parameters": parameters,
            "frequency": frequency,
            "timezone": tz_name,
            "lookback_days": lookback_days,
        },
        draft_id=draft_id,
    )
    build_dashboard(report=report)
    return report


@transaction.atomic
def update_report(*, report: ReportDefinition, user, **changes) -> ReportDefinition:
    require_write(user=user, instance=report.instance)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            [FieldError(name, "read_only", "This field cannot be changed.") for name in unknown]
        )
    check_report_definition(
        template=report.template,
        parameters=changes.get("parameters", report.parameters),
        timezone=changes.get("timezone", report.timezone),
        lookback_days=changes.get("lookback_days"),
    )
    before = {name: getattr(report, name) for name in changes}
    for name, value in changes.items():
        setattr(report, name, value)
    report.save(update_fields=[*changes, "updated_at"])
    record_audit(
        report=report,
        user=user,
        step=AuditStep.CHANGE,
        action="report changed",
        configuration=changes,
        before=before,
    )
    return report


@transaction.atomic
def set_report_active(*, report: ReportDefinition, user, active: bool) -> ReportDefinition:
    """Deactivating a report stops its schedule: the dispatcher skips inactive reports."""
    require_write(user=user, instance=report.instance)
    was_active = ReportDefinition.objects.filter(pk=report.pk).values_list("is_active", flat=True)[
        0
    ]
    ReportDefinition.objects.filter(pk=report.pk).update(is_active=active)
    report.is_active = active
    record_audit(
        report=report,
        user=user,
        step=AuditStep.CHANGE,
        action="report activated" if active else "report deactivated",
        configuration={"is_active": active},
        before={"is_active": was_active},
    )
    return report


@transaction.atomic
def delete_report(*, report: ReportDefinition, user) -> None:
    require_write(user=user, instance=report.instance)
    record_audit(
        report=report,
        user=user,
        step=AuditStep.CHANGE,
        action="report deleted",
        configuration={},
        before={"name": report.name, "parameters": report.parameters},
    )
    report.delete()
