from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from instances.admin import InstanceScopedAdmin
from recomamp.errors import DomainError
from reports.forms import ReportAdminForm
from reports.models import (
    ExecutionSlot,
    QueryTemplate,
    ReportBuilderActivity,
    ReportBuilderAudit,
    ReportDefinition,
    ReportExecution,
)
from schedules.admin import DeliverySubscriberInline


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
    form = ReportAdminForm
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
        "execution_count",
        "last_execution",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["dashboard"]
    inlines = [DeliverySubscriberInline, ExecutionInline, AuditInline]
    actions = ["run_now"]

    def add_view(self, request, form_url="", extra_context=None):
        """New reports are made in the builder (template, parameters, schedule, review)."""
        return redirect("builder:picker")

    def get_readonly_fields(self, request, obj=None):
        # The parameter form belongs to the report's template, which therefore stays.
        readonly = [*super().get_readonly_fields(request, obj), "audit_trail"]
        return [*readonly, "template"] if obj is not None else readonly

    @admin.display(description="Audit trail")
    def audit_trail(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:reports_reportbuilderaudit_changelist")
        return format_html(
            '<a href="{}?q={}">All audit entries of this report</a>', url, obj.report_id
        )

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        from reports.services.executions import run_report

        for report in queryset.select_related("instance", "template"):
            try:
                execution = run_report(report=report, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{report}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{report}: started {execution.execution_id}.")


@admin.register(ReportExecution)
class ReportExecutionAdmin(InstanceScopedAdmin):
    list_display = [
        "execution_id",
        "report",
        "instance",
        "status",
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

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        from reports.services.executions import cancel_execution

        for execution in queryset.select_related("instance"):
            try:
                cancel_execution(execution=execution, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{execution}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{execution}: cancelled.")

    def has_add_permission(self, request):
        return False


@admin.register(ExecutionSlot)
class ExecutionSlotAdmin(InstanceScopedAdmin):
    list_display = ["instance", "slot_number", "execution", "lease_expires_at"]
    list_filter = ["instance"]
    list_select_related = ["instance", "execution"]
    readonly_fields = ["instance", "slot_number", "execution", "lease_expires_at"]

    def has_add_permission(self, request):
        return False


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
