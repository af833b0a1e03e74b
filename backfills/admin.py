from django.contrib import admin, messages
from django.utils.html import format_html

from backfills import services
from backfills.models import Backfill, BackfillSegment
from backfills.selectors import backfill_progress, with_progress
from instances.admin import InstanceScopedAdmin, ReadOnlyForAnalysts
from recomamp.errors import DomainError


class SegmentInline(admin.TabularInline):
    model = BackfillSegment
    extra = 0
    can_delete = False
    fields = [
        "sequence",
        "window_start",
        "window_end",
        "status",
        "attempts",
        "execution",
        "error_message",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Backfill)
class BackfillAdmin(InstanceScopedAdmin):
    instance_path = "report__instance"
    list_display = [
        "report",
        "start_date",
        "end_date",
        "segment_type",
        "status",
        "progress_bar",
        "created_at",
    ]
    list_filter = ["status", "segment_type"]
    list_select_related = ["report"]
    search_fields = ["report__name", "report__report_id"]
    # Backfills are created and driven by their services (the API, the actions below): the
    # page itself changes nothing.
    readonly_fields = [field.name for field in Backfill._meta.fields]
    inlines = [SegmentInline]
    actions = ["retry_failed", "cancel"]

    def get_queryset(self, request):
        # Newest first, stated here: a query with aggregates leaves Meta.ordering out, and the
        # autocomplete lists (a segment's or an execution's backfill) page through this one.
        return with_progress(super().get_queryset(request)).order_by("-created_at", "-pk")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    @admin.action(description="Retry failed", permissions=["change"])
    def retry_failed(self, request, queryset):
        for backfill in queryset.select_related("report__instance"):
            try:
                retried = services.retry_failed(backfill=backfill, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{backfill}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{backfill}: {retried} segment(s) retried.")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request, queryset):
        for backfill in queryset.select_related("report__instance"):
            try:
                services.cancel_backfill(backfill=backfill, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{backfill}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{backfill}: cancelled.")

    @admin.display(description="progress")
    def progress_bar(self, obj):
        progress = backfill_progress(backfill=obj, time_left=False)
        return format_html(
            '<progress value="{}" max="{}" title="{}%"></progress> {} / {}',
            progress.done,
            max(progress.total, 1),
            progress.percent,
            progress.done,
            progress.total,
        )


@admin.register(BackfillSegment)
class BackfillSegmentAdmin(ReadOnlyForAnalysts, InstanceScopedAdmin):
    instance_path = "backfill__report__instance"
    list_display = ["backfill", "sequence", "window_start", "window_end", "status", "attempts"]
    list_filter = ["status"]
    list_select_related = ["backfill__report"]
    readonly_fields = ["id", "backfill", "execution", "attempts", "created_at", "updated_at"]
