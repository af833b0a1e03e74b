from django import forms
from django.contrib import admin, messages

from instances.admin import InstanceScopedAdmin, ScopedInline
from recomamp.errors import DomainError, ValidationFailed
from schedules import delivery, services
from schedules.models import (
    DeliverySubscriber,
    ReportSchedule,
    ScheduledDelivery,
    ScheduleType,
)

DEFINITION_FIELDS = [
    "schedule_type",
    "schedule_config",
    "cron_expression",
    "timezone",
    "default_parameters",
]


def _definition(data: dict) -> dict:
    """Form data as the services take it: friendly types carry the timezone in their config."""
    if data.get("schedule_type") == ScheduleType.CUSTOM:
        return {
            "schedule_type": ScheduleType.CUSTOM,
            "cron_expression": data.get("cron_expression"),
            "schedule_config": None,
            "timezone_name": data.get("timezone") or None,
        }
    config = data.get("schedule_config")
    if isinstance(config, dict):
        config = {"timezone": data.get("timezone") or "UTC", **config}
    return {
        "schedule_type": data.get("schedule_type"),
        "cron_expression": None,
        "schedule_config": config,
        "timezone_name": None,
    }


class ReportScheduleForm(forms.ModelForm):
    """Validated by the same service as the API; errors land on the field they name."""

    class Meta:
        model = ReportSchedule
        fields = ["report", *DEFINITION_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "cron_expression" not in self.fields:
            return  # read-only for this user
        self.fields["cron_expression"].required = False
        self.fields[
            "cron_expression"
        ].help_text = "Custom schedules only; the other types compute it from the schedule config."
        self.fields["schedule_config"].help_text = (
            '{"time": "09:00", "days_of_week": [1], "day_of_month": 1 or "last"}; the '
            "timezone field applies unless the config names one."
        )

    def clean(self):
        data = super().clean()
        report = data.get("report") or getattr(self.instance, "report", None)
        try:
            spec = services.build_schedule_spec(
                **_definition(data), default_timezone=report.timezone if report else "UTC"
            )
        except ValidationFailed as exc:
            for error in exc.errors:
                name = error.field.split(".")[0]
                self.add_error(name if name in self.fields else None, error.message)
            return data
        data["cron_expression"] = spec.cron_expression
        return data


@admin.register(ReportSchedule)
class ReportScheduleAdmin(InstanceScopedAdmin):
    instance_path = "report__instance"
    form = ReportScheduleForm
    list_display = [
        "schedule_id",
        "report",
        "schedule_type",
        "cron_expression",
        "timezone",
        "state",
        "next_run_at",
        "last_run_at",
        "last_run_status",
        "run_count",
        "failure_count",
    ]
    list_filter = [
        "is_active",
        "is_paused",
        "schedule_type",
        "last_run_status",
        "report__is_active",
        "timezone",
    ]
    list_select_related = ["report"]
    search_fields = ["schedule_id", "report__name", "report__report_id"]
    date_hierarchy = "next_run_at"
    actions = ["pause", "resume"]
    readonly_fields = [
        "id",
        "schedule_id",
        "is_active",
        "is_paused",
        "last_run_at",
        "last_run_status",
        "next_run_at",
        "run_count",
        "failure_count",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("report")  # a schedule belongs to one report for life
        return fields

    def save_model(self, request, obj, form, change):
        data = {**_definition(form.cleaned_data)}
        data["default_parameters"] = form.cleaned_data.get("default_parameters") or {}
        if change:
            saved = services.update_schedule(schedule=obj, user=request.user, **data)
        else:
            saved = services.create_schedule(
                report=form.cleaned_data["report"], user=request.user, **data
            )
        # The service wrote the row (with next_run_at); the admin goes on with that object.
        vars(obj).update(vars(saved))

    @admin.display(description="state", ordering="is_paused")
    def state(self, obj):
        return obj.state

    @admin.action(description="Pause selected schedules", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, services.pause_schedule, "paused")

    @admin.action(
        description="Resume selected schedules (from the next run after now)",
        permissions=["change"],
    )
    def resume(self, request, queryset):
        self._each(request, queryset, services.resume_schedule, "resumed")

    def _each(self, request, queryset, service, done: str) -> None:
        for schedule in queryset.select_related("report__instance"):
            try:
                service(schedule=schedule, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{schedule.schedule_id}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{schedule.schedule_id}: {done}.")


class DeliverySubscriberForm(forms.ModelForm):
    class Meta:
        model = DeliverySubscriber
        fields = ["channel", "target", "is_active"]

    def clean(self):
        data = super().clean()
        if data.get("channel") and data.get("target"):
            try:
                data["target"] = delivery.validate_target(
                    channel=data["channel"], target=data["target"]
                )
            except DomainError as exc:
                for error in exc.errors:
                    field = error.field if error.field in ("channel", "target") else None
                    self.add_error(field, error.message)
        return data


class DeliverySubscriberInline(ScopedInline, admin.TabularInline):
    """On a report: who receives it after each successful scheduled run."""

    model = DeliverySubscriber
    form = DeliverySubscriberForm
    extra = 0
    fields = ["channel", "target", "is_active"]
    verbose_name = "delivery subscriber"


@admin.register(ScheduledDelivery)
class ScheduledDeliveryAdmin(InstanceScopedAdmin):
    instance_path = "execution__instance"
    list_display = ["execution", "subscriber", "status", "created_at", "sent_at"]
    list_filter = ["status"]
    list_select_related = ["execution", "subscriber"]
    readonly_fields = [
        "execution",
        "subscriber",
        "status",
        "error_message",
        "created_at",
        "sent_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
