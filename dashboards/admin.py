from django import forms
from django.contrib import admin

from dashboards.models import (
    Dashboard,
    DashboardFavorite,
    DashboardInsight,
    DashboardView,
    ReportConfiguration,
    ReportExport,
)
from instances.admin import InstanceScopedAdmin, ReadOnlyForAnalysts, ScopedInline


@admin.register(Dashboard)
class DashboardAdmin(InstanceScopedAdmin):
    list_display = ["name", "instance", "dashboard_type", "owner", "created_at"]
    list_filter = ["dashboard_type", "instance"]
    list_select_related = ["instance", "owner"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "owner", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("instance")  # its configurations, views and exports follow it
        return fields

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


class ReportConfigurationForm(forms.ModelForm):
    """A dashboard shows reports of its own instance only."""

    def clean(self):
        data = super().clean()
        dashboard = data.get("dashboard") or getattr(self.instance, "dashboard", None)
        report = data.get("report") or getattr(self.instance, "report", None)
        crossed = dashboard is not None and report is not None
        if crossed and report.instance_id != dashboard.instance_id:
            self.add_error("report", "Pick a report of the dashboard's instance.")
        return data


@admin.register(ReportConfiguration)
class ReportConfigurationAdmin(InstanceScopedAdmin):
    instance_path = "dashboard__instance"
    form = ReportConfigurationForm
    list_display = ["dashboard", "report", "query_template", "dashboard_type", "is_enabled"]
    list_filter = ["dashboard_type", "is_enabled"]
    list_select_related = ["dashboard", "report", "query_template"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [ViewInline]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["dashboard", "report"]
        return fields


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
class ReportExportAdmin(ReadOnlyForAnalysts, InstanceScopedAdmin):
    """Exports are made by the export service and belong to the user who asked (owner-only)."""

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

    def get_queryset(self, request):
        exports = super().get_queryset(request)
        return exports if request.user.is_superuser else exports.filter(user=request.user)
