from django.contrib import admin

from instances.admin import InstanceScopedAdmin, ScopedInline
from operations.models import AlertIncident, AlertSubscription
from schedules.admin import DeliverySubscriberForm


class AlertSubscriptionForm(DeliverySubscriberForm):
    """Targets are checked as delivery subscribers' are (an email, or a safe https URL)."""

    class Meta:
        model = AlertSubscription
        fields = ["report", "channel", "target", "is_active"]


class AlertSubscriptionInline(ScopedInline, admin.TabularInline):
    """On a report: who is alerted when its schedule keeps failing, a backfill ends partial or
    AMC refuses the instance's credentials (the owner is always told)."""

    model = AlertSubscription
    form = AlertSubscriptionForm
    fields = ["channel", "target", "is_active"]
    extra = 0
    verbose_name = "alert subscriber"


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(InstanceScopedAdmin):
    instance_path = "report__instance"
    form = AlertSubscriptionForm
    list_display = ["report", "channel", "target", "is_active", "created_at"]
    list_filter = ["channel", "is_active"]
    search_fields = ["report__report_id", "report__name", "target"]
    list_select_related = ["report"]


@admin.register(AlertIncident)
class AlertIncidentAdmin(InstanceScopedAdmin):
    """Incidents are opened and resolved by the alerting; people read them here."""

    list_display = ["kind", "summary", "report", "instance", "opened_at", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["summary", "report__report_id"]
    list_select_related = ["report", "instance"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
