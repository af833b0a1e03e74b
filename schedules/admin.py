from django.contrib import admin

from instances.admin import InstanceScopedAdmin
from schedules.models import ReportSchedule


@admin.register(ReportSchedule)
class ReportScheduleAdmin(InstanceScopedAdmin):
    instance_path = "report__instance"
    list_display = [
        "schedule_id",
        "report",
        "schedule_type",
        "cron_expression",
        "timezone",
        "is_active",
        "is_paused",
        "next_run_at",
        "last_run_at",
        "last_run_status",
        "run_count",
        "failure_count",
    ]
    list_filter = ["schedule_type", "is_active", "is_paused", "timezone"]
    list_select_related = ["report"]
    search_fields = ["schedule_id", "report__name", "report__report_id"]
    readonly_fields = [
        "id",
        "schedule_id",
        "last_run_at",
        "last_run_status",
        "next_run_at",
        "run_count",
        "failure_count",
        "created_at",
        "updated_at",
    ]
