"""The analysts' admin: tenancy and roles, enforced the same way as in the API.

- Rows: only those under the user's instances (`instances.selectors.restrict_to_user`), in
  changelists, change forms, autocompletes, choice lists and list filters.
- Django's model permissions (the Analysts group) open parts of the admin; the user's role on a
  row's instance decides what they may do with it: a viewer reads, an analyst (editor) also
  changes, an instance admin also manages access to the instance.
- Accounts and their credentials: superusers and holders of `instances.manage_accounts` only;
  secrets are write-only.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models

from instances import services
from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess
from instances.selectors import (
    can_manage_access,
    can_manage_accounts,
    can_read,
    can_write,
    instances_for_user,
    instances_with_role,
    restrict_to_user,
)
from recomamp.errors import DomainError

WRITE_ROLES = [AccessRole.ANALYST, AccessRole.ADMIN]


def _instance_path_for(model) -> str | None:
    """The lookup from `model` to its instance, or None for models outside tenancy."""
    if model is AmcInstance:
        return ""
    if model is AmcAccount:
        return "instances"
    model_admin = admin.site._registry.get(model)
    if isinstance(model_admin, InstanceScopedAdmin):
        return model_admin.instance_path
    return None


def scoped_choices(model, user, *, roles: list[str] | None = None) -> models.QuerySet | None:
    """The rows of `model` a user may pick: under their instances (holding one of `roles` when
    given). Users: only themselves. None for shared models (the template catalogue)."""
    if model is get_user_model():
        everyone = model._default_manager.all()
        return everyone if user.is_superuser else everyone.filter(pk=user.pk)
    path = _instance_path_for(model)
    if path is None:
        return None
    if roles is None:
        instances = instances_for_user(user=user)
    else:
        instances = instances_with_role(user=user, roles=roles)
    if not path:
        return instances
    rows = model._default_manager.filter(**{f"{path}__in": instances})
    return model._default_manager.filter(pk__in=rows.values("pk"))


def instance_of(obj, instance_path: str) -> AmcInstance | None:
    for name in filter(None, instance_path.split("__")):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


class TenantRelatedFilter(admin.RelatedFieldListFilter):
    """A list filter on a relation offering only rows under the user's instances."""

    def field_choices(self, field, request, model_admin):
        allowed = scoped_choices(field.related_model, request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if allowed is None:
            return field.get_choices(include_blank=False, ordering=ordering)
        return field.get_choices(
            include_blank=False, ordering=ordering, limit_choices_to={"pk__in": allowed}
        )


def _tenant_filters(model, list_filter) -> list:
    """`list_filter` with every relation turned into a TenantRelatedFilter."""
    narrowed = []
    for entry in list_filter:
        if isinstance(entry, str):
            try:
                field = get_fields_from_path(model, entry)[-1]
            except (FieldDoesNotExist, NotRelationField):
                field = None
            if field is not None and field.is_relation:
                entry = (entry, TenantRelatedFilter)
        narrowed.append(entry)
    return narrowed


class TenantFormfieldsMixin:
    """Foreign-key choices narrowed to the user's instances (the ones they may write to)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoped_choices(db_field.related_model, request.user, roles=WRITE_ROLES)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = scoped_choices(db_field.related_model, request.user, roles=WRITE_ROLES)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class InstanceScopedAdmin(TenantFormfieldsMixin, admin.ModelAdmin):
    """Rows under the user's instances only; per row, the user's role on its instance decides.

    Subclasses set `instance_path` (the lookup from the model to its instance). Writes still go
    through the services, which check the role again.
    """

    instance_path = "instance"

    def get_queryset(self, request):
        return restrict_to_user(
            super().get_queryset(request), user=request.user, instance_path=self.instance_path
        )

    def get_list_filter(self, request):
        return _tenant_filters(self.model, super().get_list_filter(request))

    def instance_for(self, obj) -> AmcInstance | None:
        return instance_of(obj, self.instance_path)

    def _writes_somewhere(self, request) -> bool:
        return instances_with_role(user=request.user, roles=WRITE_ROLES).exists()

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        return obj is None or can_read(user=request.user, instance=self.instance_for(obj))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._writes_somewhere(request)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return self._writes_somewhere(request)
        return can_write(user=request.user, instance=self.instance_for(obj))

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return self._writes_somewhere(request)
        return can_write(user=request.user, instance=self.instance_for(obj))

    def get_deleted_objects(self, objs, request):
        """Bulk deletes check each row's instance role, not only the model permission."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if any(not self.has_delete_permission(request, obj) for obj in objs):
            perms_needed = {*perms_needed, self.opts.verbose_name}
        return deleted, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            if not self.has_delete_permission(request, obj):
                raise PermissionDenied
            self.delete_model(request, obj)


class ReadOnlyForAnalysts:
    """Rows the engine and services write: no one edits them by hand in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class ScopedInline(TenantFormfieldsMixin):
    """An inline whose rows follow the parent's instance: editable by its writers only."""

    instance_path = "instance"
    parent_instance_path = "instance"

    def _parent_writable(self, request, obj) -> bool:
        if obj is None:
            return True  # the add form: the parent's own checks apply
        instance = instance_of(obj, self.parent_instance_path)
        return can_write(user=request.user, instance=instance)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_writable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_writable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_writable(request, obj)


# -- accounts ---------------------------------------------------------------------------------


def _https_urls(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class AmcAccountForm(forms.ModelForm):
    """Secrets are write-only: the stored values are never put in the page, only replaced."""

    replace_refresh_token = forms.CharField(
        label="Replace LWA refresh token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the stored token. Stored encrypted; never shown.",
    )
    replace_client_secret = forms.CharField(
        label="Replace LWA client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep it. Stored encrypted; never shown.",
    )
    clear_client_secret = forms.BooleanField(
        label="Clear the client secret (use AMC_CLIENT_SECRET)", required=False
    )

    class Meta:
        model = AmcAccount
        formfield_callback = _https_urls
        fields = [
            "name",
            "account_id",
            "marketplace_id",
            "region",
            "api_base_url",
            "token_url",
            "lwa_client_id",
            "is_active",
        ]

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.cleaned_data.get("replace_refresh_token"):
            account.lwa_refresh_token = self.cleaned_data["replace_refresh_token"]
        if self.cleaned_data.get("clear_client_secret"):
            account.lwa_client_secret = ""
        elif self.cleaned_data.get("replace_client_secret"):
            account.lwa_client_secret = self.cleaned_data["replace_client_secret"]
        if commit:
            account.save()
            self._save_m2m()
        return account


class AccountManagersOnly:
    """Accounts carry credentials and span tenants: superusers and account managers only."""

    def has_module_permission(self, request):
        return can_manage_accounts(user=request.user)

    def has_view_permission(self, request, obj=None):
        return can_manage_accounts(user=request.user)

    def has_add_permission(self, request, *args):
        return can_manage_accounts(user=request.user)

    def has_change_permission(self, request, obj=None):
        return can_manage_accounts(user=request.user)

    def has_delete_permission(self, request, obj=None):
        return can_manage_accounts(user=request.user)


class InstanceInline(AccountManagersOnly, admin.TabularInline):
    model = AmcInstance
    extra = 0
    fields = ["instance_id", "instance_name", "region", "concurrency_cap", "is_active"]
    show_change_link = True


@admin.register(AmcAccount)
class AmcAccountAdmin(AccountManagersOnly, admin.ModelAdmin):
    form = AmcAccountForm
    list_display = ["name", "account_id", "marketplace_id", "region", "is_active", "created_at"]
    list_filter = ["region", "is_active"]
    search_fields = ["name", "account_id"]
    readonly_fields = ["id", "credentials", "created_at", "updated_at"]
    fields = [
        "id",
        "name",
        "account_id",
        "marketplace_id",
        "region",
        "api_base_url",
        "token_url",
        "lwa_client_id",
        "credentials",
        "replace_refresh_token",
        "replace_client_secret",
        "clear_client_secret",
        "is_active",
        "created_at",
        "updated_at",
    ]
    inlines = [InstanceInline]

    @admin.display(description="stored credentials")
    def credentials(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        token = "refresh token set" if obj.lwa_refresh_token else "no refresh token"
        secret = "own client secret set" if obj.lwa_client_secret else "client secret from settings"
        return f"{token}; {secret}"


# -- instances and access ---------------------------------------------------------------------


class AccessInline(admin.TabularInline):
    """Who has access, read-only here: instance admins manage it under Instance access."""

    model = InstanceAccess
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AmcInstanceForm(forms.ModelForm):
    class Meta:
        model = AmcInstance
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide what is shown

    def clean_time_zone(self):
        from reports.services.reports import validate_timezone

        try:
            return validate_timezone(self.cleaned_data["time_zone"])
        except DomainError as exc:
            raise forms.ValidationError(exc.errors[0].message) from None


@admin.register(AmcInstance)
class AmcInstanceAdmin(InstanceScopedAdmin):
    """Everyone with access reads their instances; account managers create and change them."""

    instance_path = ""
    form = AmcInstanceForm
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

    def has_module_permission(self, request):
        return (
            can_manage_accounts(user=request.user) or instances_for_user(user=request.user).exists()
        )

    def has_view_permission(self, request, obj=None):
        if can_manage_accounts(user=request.user):
            return True
        if obj is None:
            return instances_for_user(user=request.user).exists()
        return can_read(user=request.user, instance=obj)

    def has_add_permission(self, request):
        return can_manage_accounts(user=request.user)

    def has_change_permission(self, request, obj=None):
        return can_manage_accounts(user=request.user)

    def has_delete_permission(self, request, obj=None):
        return can_manage_accounts(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is AmcAccount:
            kwargs["queryset"] = AmcAccount.objects.all()  # account managers only get here
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class InstanceAccessForm(forms.ModelForm):
    """Access is given by user name (no list of every user), through `services.assign_access`."""

    username = forms.CharField(label="User name", max_length=150)

    class Meta:
        model = InstanceAccess
        fields = ["instance", "role"]

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        if not self.instance._state.adding:
            self.fields.pop("username")
            self.fields.pop("instance", None)

    def clean(self):
        data = super().clean()
        access = self.instance
        if not access._state.adding:
            user, instance = access.user, access.instance
        else:
            instance = data.get("instance")
            user = get_user_model().objects.filter(username=data.get("username")).first()
            if data.get("username") and user is None:
                self.add_error("username", "No user has this user name.")
        if user is None or instance is None or not data.get("role"):
            return data
        try:
            services.check_access_change(actor=self.actor, user=user, instance=instance)
        except DomainError as exc:
            for error in exc.errors:
                field = error.field if error.field in self.fields else None
                self.add_error(field, error.message)
        data["user"] = user
        return data


@admin.register(InstanceAccess)
class InstanceAccessAdmin(InstanceScopedAdmin):
    """Anyone with access sees who shares the instance; only its admins change that."""

    form = InstanceAccessForm
    list_display = ["user", "instance", "role", "created_at"]
    list_filter = ["role", "instance"]
    list_select_related = ["user", "instance"]
    search_fields = ["user__username", "user__email", "instance__instance_name"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, actor=request.user, **inner)

        return BoundForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "instance", "role"]
        return ["user", "instance", "role", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "instance", "created_at"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is AmcInstance:
            kwargs["queryset"] = instances_with_role(user=request.user, roles=[AccessRole.ADMIN])
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return instances_for_user(user=request.user).exists()

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return instances_for_user(user=request.user).exists()
        return can_read(user=request.user, instance=obj.instance)

    def has_add_permission(self, request):
        return instances_with_role(user=request.user, roles=[AccessRole.ADMIN]).exists()

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return self._manages(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def _manages(self, request, access: InstanceAccess) -> bool:
        own = access.user_id == request.user.pk and not request.user.is_superuser
        return not own and can_manage_access(user=request.user, instance=access.instance)

    def save_model(self, request, obj, form, change):
        saved = services.assign_access(
            actor=request.user,
            user=form.cleaned_data["user"] if not change else obj.user,
            instance=obj.instance,
            role=form.cleaned_data["role"],
        )
        vars(obj).update(vars(saved))

    def delete_model(self, request, obj):
        try:
            services.revoke_access(actor=request.user, access=obj)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            raise PermissionDenied from exc
