from django.contrib import admin, messages

from instances.admin import InstanceScopedAdmin
from recomamp.errors import DomainError
from reports.models import (
    ExecutionSlot,
    QueryTemplate,
    ReportBuilderAudit,
    ReportDefinition,
    ReportExecution,
)


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


@admin.register(ReportDefinition)
class ReportDefinitionAdmin(InstanceScopedAdmin):
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
    inlines = [ExecutionInline]
    actions = ["run_now"]

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


@admin.register(ReportBuilderAudit)
class ReportBuilderAuditAdmin(InstanceScopedAdmin):
    instance_path = "report__instance"
    list_display = ["created_at", "user", "step", "action", "report_ref"]
    list_filter = ["step"]
    list_select_related = ["user"]
    search_fields = ["action", "report_ref", "user__username"]
    readonly_fields = [
        "id",
        "report",
        "report_ref",
        "user",
        "step",
        "action",
        "configuration",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False
