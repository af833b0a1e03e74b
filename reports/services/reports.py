"""Writes for report definitions: create, change, delete, activate, and the audit trail."""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import F

from dashboards.services.building import build_dashboard
from instances.models import AmcInstance
from instances.selectors import can_write
from recomamp.errors import FieldError, PermissionDenied, ValidationFailed
from reports.models import AuditStep, QueryTemplate, ReportBuilderAudit, ReportDefinition
from reports.parameters import ParameterEngineError, ParameterErrors, validate_parameters
from reports.windows import today_in

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
        raise PermissionDenied("Your access to this instance is read-only.")


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


def parameter_errors(exc: ParameterEngineError) -> ValidationFailed:
    """The parameter engine's errors as a 400: bad values name `parameters.<field>`, a broken
    template names `template`."""
    field = "parameters.{}" if isinstance(exc, ParameterErrors) else "template"
    return ValidationFailed(
        [FieldError(field.format(e.field), e.code, e.message) for e in exc.errors]
    )


def record_audit(
    *,
    report: ReportDefinition | None,
    user,
    step: str,
    action: str,
    configuration: dict,
    before: dict | None = None,
    draft_id=None,
) -> ReportBuilderAudit:
    """One row of the audit trail: `configuration` is the state after the step or change,
    `before` the state it replaced (None when something is created)."""
    return ReportBuilderAudit.objects.create(
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
    tz_name = validate_timezone(timezone or instance.time_zone)
    parameters = check_parameters(template=template, parameters=parameters or {}, tz_name=tz_name)
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
    if "timezone" in changes:
        validate_timezone(changes["timezone"])
    if "parameters" in changes:
        check_parameters(
            template=report.template,
            parameters=changes["parameters"],
            tz_name=changes.get("timezone", report.timezone),
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


def count_execution(report_pk, execution) -> None:
    ReportDefinition.objects.filter(pk=report_pk).update(
        execution_count=F("execution_count") + 1, last_execution=execution
    )
