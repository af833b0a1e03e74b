from django import forms
from django.contrib import admin

from instances.admin import InstanceScopedAdmin, ScopedInline
from operations import services
from operations.models import AlertIncident, AlertSubscription
from recomamp.errors import DomainError


class AlertSubscriptionForm(forms.ModelForm):
    """The target is checked by the same service as the API (an email, or a safe https URL)."""

    class Meta:
        model = AlertSubscription
        fields = ["report", "channel", "target", "is_active"]

    def clean(self):
        data = super().clean()
        if data.get("channel") and data.get("target"):
            try:
                data["target"] = services.validate_target(
                    channel=data["channel"], target=data["target"]
                )
            except DomainError as exc:
                for error in exc.errors:
                    self.add_error(
                        error.field if error.field in self.fields else None, error.message
                    )
        return data


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
