from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from instances.admin import InstanceScopedAdmin, ReadOnlyForAnalysts
from operations.admin import AlertSubscriptionInline
from recomamp.errors import DomainError, ValidationFailed
from reports.forms import ReportAdminForm
from reports.models import (
    ExecutionEvent,
    ExecutionSlot,
    QueryTemplate,
    ReportBuilderActivity,
    ReportBuilderAudit,
    ReportDefinition,
    ReportExecution,
)
from reports.services import reports as report_services
from schedules.admin import DeliverySubscriberInline


def add_service_errors(form: forms.BaseForm, exc: ValidationFailed) -> None:
    """A service's errors beside the fields they name (`parameters.x` lands on `parameters`)."""
    for error in exc.errors:
        name = error.field.split(".")[0]
        message = error.message
        if name != error.field:
            message = f"{error.field[len(name) + 1 :]}: {message}"
        form.add_error(name if name in form.fields else None, message)


class ReportDefinitionForm(ReportAdminForm):
    """Checked by the same service as the API (`check_report_definition`: the timezone, the
    parameters against the template, the lookback) before anything is saved."""

    def clean(self):
        data = super().clean()
        report = self.instance
        if self.errors or report._state.adding or report.template_id is None:
            return data
        try:
            report_services.check_report_definition(
                template=report.template,
                parameters=data.get("parameters", report.parameters),
                timezone=data.get("timezone", report.timezone),
                lookback_days=data.get("lookback_days", report.lookback_days),
            )
        except ValidationFailed as exc:
            add_service_errors(self, exc)
        return data


@admin.register(QueryTemplate)
class QueryTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "template_id", "category", "report_type", "default_dashboard_type"]
    list_filter = ["category", "report_type", "default_dashboard_type", "is_active"]
    search_fields = ["name", "template_id", "description"]
    readonly_fields = ["id", "created_at", "updated_at"]
    prepopulated_fields = {"template_id": ["name"]}


class ExecutionInline(admin.TabularInline):
    model = ReportExecution
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at"]
    fields = [
        "execution_id",
        "status",
        "triggered_by",
        "time_window_start",
        "time_window_end",
        "row_count",
        "started_at",
        "completed_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AuditInline(admin.TabularInline):
    """The report's audit trail, oldest first: the builder walk, then every change and run."""

    model = ReportBuilderAudit
    fk_name = "report"
    extra = 0
    can_delete = False
    ordering = ["created_at"]
    fields = ["created_at", "user", "step", "action", "configuration_before", "configuration"]
    readonly_fields = fields
    verbose_name = "audit entry"
    verbose_name_plural = "audit trail"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReportDefinition)
class ReportDefinitionAdmin(InstanceScopedAdmin):
    form = ReportDefinitionForm
    change_list_template = "admin/reports/reportdefinition/change_list.html"
    list_display = [
        "name",
        "report_id",
        "instance",
        "template",
        "frequency",
        "is_active",
        "execution_count",
        "created_at",
    ]
    list_filter = ["frequency", "is_active", "template", "instance"]
    list_select_related = ["instance", "template"]
    search_fields = ["name", "report_id", "description"]
    readonly_fields = [
        "id",
        "report_id",
        "owner",
        "dashboard",
        "execution_count",
        "last_execution",
        "created_at",
        "updated_at",
    ]
    inlines = [DeliverySubscriberInline, AlertSubscriptionInline, ExecutionInline, AuditInline]
    actions = ["run_now"]

    def add_view(self, request, form_url="", extra_context=None):
        """New reports are made in the builder (template, parameters, schedule, review)."""
        return redirect("builder:picker")

    def get_readonly_fields(self, request, obj=None):
        # The parameter form belongs to the report's template, which therefore stays; the
        # instance is fixed at creation (reports.services.reports.EDITABLE_FIELDS).
        readonly = [*super().get_readonly_fields(request, obj), "audit_trail"]
        return [*readonly, "template", "instance"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        """Saved by the report services, with their checks, as the API saves."""
        if not change:  # new reports come from the builder (add_view); never written here
            raise PermissionDenied
        data = form.cleaned_data
        saved = ReportDefinition.objects.select_related("instance", "template").get(pk=obj.pk)
        changes = {
            name: data[name]
            for name in report_services.EDITABLE_FIELDS
            if name in form.changed_data and name in data
        }
        if changes:
            saved = report_services.update_report(report=saved, user=request.user, **changes)
        if "is_active" in form.changed_data:
            saved = report_services.set_report_active(
                report=saved, user=request.user, active=data["is_active"]
            )
        # The services wrote the row; the admin goes on with that object.
        vars(obj).update(vars(saved))

    def delete_model(self, request, obj):
        report_services.delete_report(report=obj, user=request.user)

    @admin.display(description="Audit trail")
    def audit_trail(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:reports_reportbuilderaudit_changelist")
        return format_html(
            '<a href="{}?q={}">All audit entries of this report</a>', url, obj.report_id
        )

    @admin.action(description="Run now", permissions=["change"])
    def run_now(self, request, queryset):
        from reports.services.executions import run_report

        for report in queryset.select_related("instance", "template"):
            try:
                execution = run_report(report=report, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{report}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{report}: started {execution.execution_id}.")


class ExecutionEventInline(admin.TabularInline):
    """The execution's story: every move, when, by which worker or user, and why."""

    model = ExecutionEvent
    fields = [
        "at",
        "from_status",
        "from_phase",
        "to_status",
        "to_phase",
        "worker",
        "user",
        "detail",
    ]
    readonly_fields = fields
    ordering = ["at", "id"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Whoever may see the execution (its page is narrowed to their instances) sees its story.
        return request.user.has_perm("reports.view_reportexecution")


@admin.register(ReportExecution)
class ReportExecutionAdmin(ReadOnlyForAnalysts, InstanceScopedAdmin):
    inlines = [ExecutionEventInline]
    list_display = [
        "execution_id",
        "report",
        "instance",
        "status",
        "phase",
        "triggered_by",
        "row_count",
        "started_at",
        "completed_at",
    ]
    list_filter = ["status", "triggered_by", "instance"]
    list_select_related = ["report", "instance"]
    search_fields = ["execution_id", "amc_execution_id", "report__name", "report__report_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ReportExecution._meta.fields]
    actions = ["cancel"]

    def has_cancel_permission(self, request):
        return self._writes_somewhere(request)  # the service checks each execution's instance

    @admin.action(description="Cancel", permissions=["cancel"])
    def cancel(self, request, queryset):
        from reports.services.executions import cancel_execution

        for execution in queryset.select_related("instance"):
            try:
                cancel_execution(execution=execution, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{execution}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{execution}: cancelled.")


@admin.register(ExecutionSlot)
class ExecutionSlotAdmin(ReadOnlyForAnalysts, InstanceScopedAdmin):
    list_display = ["instance", "slot_number", "execution", "lease_expires_at"]
    list_filter = ["instance"]
    list_select_related = ["instance", "execution"]
    readonly_fields = ["instance", "slot_number", "execution", "lease_expires_at"]


class ReadOnlyAdmin(InstanceScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReportBuilderAudit)
class ReportBuilderAuditAdmin(ReadOnlyAdmin):
    """The audit trail as a filtered list (by step, time; search a report id or a user)."""

    instance_path = "report__instance"
    list_display = ["created_at", "user", "step", "action", "report_link", "draft_id"]
    list_filter = ["step", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["user", "report"]
    search_fields = ["action", "report_ref", "user__username", "=draft_id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = [
        "id",
        "report",
        "report_ref",
        "user",
        "step",
        "action",
        "configuration_before",
        "configuration",
        "draft_id",
        "created_at",
    ]

    @admin.display(description="Report", ordering="report_ref")
    def report_link(self, obj):
        if obj.report_id is None:
            return obj.report_ref or "-"
        url = reverse("admin:reports_reportdefinition_change", args=[obj.report_id])
        return format_html('<a href="{}">{}</a>', url, obj.report_ref)


@admin.register(ReportBuilderActivity)
class ReportBuilderActivityAdmin(ReadOnlyAdmin):
    """The report_builder_activity view: recent activity with user and report."""

    list_display = ["created_at", "username", "step", "action", "report_ref", "report_name"]
    list_filter = ["step"]
    search_fields = ["username", "report_ref", "report_name", "action"]
    date_hierarchy = "created_at"
