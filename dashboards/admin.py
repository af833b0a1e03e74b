from django.contrib import admin

from dashboards.models import (
    Dashboard,
    DashboardFavorite,
    DashboardInsight,
    DashboardView,
    ReportConfiguration,
    ReportExport,
)
from instances.admin import InstanceScopedAdmin, ScopedInline


@admin.register(Dashboard)
class DashboardAdmin(InstanceScopedAdmin):
    list_display = ["name", "instance", "dashboard_type", "owner", "created_at"]
    list_filter = ["dashboard_type", "instance"]
    list_select_related = ["instance", "owner"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "owner", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)


class ViewInline(ScopedInline, admin.TabularInline):
    model = DashboardView
    parent_instance_path = "dashboard__instance"
    extra = 0
    fields = ["position", "view_name", "view_type", "data_updated_at"]
    readonly_fields = ["data_updated_at"]


@admin.register(ReportConfiguration)
class ReportConfigurationAdmin(InstanceScopedAdmin):
    instance_path = "dashboard__instance"
    list_display = ["dashboard", "report", "query_template", "dashboard_type", "is_enabled"]
    list_filter = ["dashboard_type", "is_enabled"]
    list_select_related = ["dashboard", "report", "query_template"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [ViewInline]


@admin.register(DashboardView)
class DashboardViewAdmin(InstanceScopedAdmin):
    instance_path = "report_configuration__dashboard__instance"
    list_display = ["view_name", "view_type", "report_configuration", "position", "data_updated_at"]
    list_filter = ["view_type"]
    readonly_fields = ["id", "data_updated_at", "created_at", "updated_at"]


@admin.register(DashboardInsight)
class DashboardInsightAdmin(InstanceScopedAdmin):
    instance_path = "dashboard_view__report_configuration__dashboard__instance"
    list_display = ["insight_type", "insight_text", "confidence_score", "generated_at"]
    list_filter = ["insight_type"]
    search_fields = ["insight_text"]
    readonly_fields = ["id", "generated_at"]


@admin.register(DashboardFavorite)
class DashboardFavoriteAdmin(InstanceScopedAdmin):
    instance_path = "dashboard__instance"
    list_display = ["dashboard", "user", "created_at"]
    list_select_related = ["dashboard", "user"]
    readonly_fields = ["user"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.user = request.user
        super().save_model(request, obj, form, change)


@admin.register(ReportExport)
class ReportExportAdmin(InstanceScopedAdmin):
    instance_path = "report_configuration__dashboard__instance"
    list_display = [
        "report_configuration",
        "export_format",
        "status",
        "user",
        "expires_at",
        "created_at",
    ]
    list_filter = ["export_format", "status"]
    readonly_fields = ["id", "user", "file_size", "completed_at", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.user = request.user
        super().save_model(request, obj, form, change)
