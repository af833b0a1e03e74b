from django.contrib import admin

from instances.models import AmcAccount, AmcInstance, InstanceAccess
from instances.selectors import instances_for_user, restrict_to_user


class InstanceScopedAdmin(admin.ModelAdmin):
    """Shows only rows under instances the signed-in user may see, and offers only those."""

    instance_path = "instance"

    def get_queryset(self, request):
        return restrict_to_user(
            super().get_queryset(request), user=request.user, instance_path=self.instance_path
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if model is AmcInstance:
            kwargs["queryset"] = instances_for_user(user=request.user)
        elif model is not None and hasattr(model, "instance"):
            kwargs["queryset"] = restrict_to_user(model.objects.all(), user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class InstanceInline(admin.TabularInline):
    model = AmcInstance
    extra = 0
    fields = ["instance_id", "instance_name", "region", "concurrency_cap", "is_active"]
    show_change_link = True


@admin.register(AmcAccount)
class AmcAccountAdmin(InstanceScopedAdmin):
    instance_path = "instances"
    list_display = ["name", "account_id", "marketplace_id", "region", "is_active", "created_at"]
    list_filter = ["region", "is_active"]
    search_fields = ["name", "account_id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [InstanceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()


class AccessInline(admin.TabularInline):
    model = InstanceAccess
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(AmcInstance)
class AmcInstanceAdmin(InstanceScopedAdmin):
    instance_path = ""
    list_display = [
        "instance_name",
        "instance_id",
        "account",
        "region",
        "concurrency_cap",
        "time_zone",
        "is_active",
    ]
    list_filter = ["region", "is_active", "account"]
    list_select_related = ["account"]
    search_fields = ["instance_name", "instance_id", "account__name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [AccessInline]


@admin.register(InstanceAccess)
class InstanceAccessAdmin(InstanceScopedAdmin):
    list_display = ["user", "instance", "role", "created_at"]
    list_filter = ["role", "instance"]
    list_select_related = ["user", "instance"]
    search_fields = ["user__username", "user__email", "instance__instance_name"]
    autocomplete_fields = ["user"]
