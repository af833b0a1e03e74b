"""Writes for accounts, instances and access."""

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from instances.endpoints import EndpointNotAllowed, check_amc_endpoint
from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess
from instances.selectors import can_manage_access
from recomamp.errors import FieldError, PermissionDenied, ValidationFailed

ANALYSTS_GROUP = "Analysts"
OPERATIONS_GROUP = "Operations"
# Analysts work on their instances' reports, schedules, backfills and dashboards. What they may
# do with each row is decided by their role on its instance (instances.selectors); instances
# and access are managed by instance admins through their role, not through a group.
ANALYST_APPS = ["reports", "schedules", "backfills", "dashboards"]
# Shared by every tenant, so changed only by superusers or the Operations group: the template
# catalogue and the Celery beat tasks. Analysts may only view templates.
SHARED_MODELS = Q(content_type__app_label="django_celery_beat") | Q(
    content_type__app_label="reports", content_type__model="querytemplate"
)


def simulator_endpoints() -> dict[str, str]:
    """Account fields that point at the local AMC simulator, when one is configured."""
    url = settings.AMC_SIMULATOR_URL.rstrip("/")
    if not url:
        return {}
    return {"api_base_url": url, "token_url": f"{url}/auth/o2/token"}


@transaction.atomic
def ensure_analysts_group() -> Group:
    """The staff analysts' group: the product's per-instance models (alert subscriptions and a
    read-only view of incidents included), and a read-only view of the template catalogue.
    Nothing on accounts, instances, access or beat tasks."""
    group, _ = Group.objects.get_or_create(name=ANALYSTS_GROUP)
    view_templates = Q(content_type__app_label="reports", codename="view_querytemplate")
    alerts = Q(content_type__app_label="operations", content_type__model="alertsubscription") | Q(
        content_type__app_label="operations", codename="view_alertincident"
    )
    group.permissions.set(
        Permission.objects.filter(
            (Q(content_type__app_label__in=ANALYST_APPS) & ~SHARED_MODELS) | view_templates | alerts
        )
    )
    return group


@transaction.atomic
def ensure_operations_group() -> Group:
    """Operators: the shared template catalogue and the Celery beat tasks."""
    group, _ = Group.objects.get_or_create(name=OPERATIONS_GROUP)
    group.permissions.set(Permission.objects.filter(SHARED_MODELS))
    return group


def grant_access(*, user, instance: AmcInstance, role: str = AccessRole.ANALYST) -> InstanceAccess:
    """System grant (seeding, set-up); people go through `assign_access`."""
    access, _ = InstanceAccess.objects.update_or_create(
        user=user, instance=instance, defaults={"role": role}
    )
    return access


def check_access_change(*, actor, user, instance: AmcInstance) -> None:
    """Raise unless `actor` may grant, change or revoke `user`'s access to the instance."""
    if not can_manage_access(user=actor, instance=instance):
        raise PermissionDenied(
            "Only an admin of this instance manages access to it.", field="instance"
        )
    if user.pk == actor.pk and not actor.is_superuser:
        raise PermissionDenied("You cannot change your own access.", field="user")


@transaction.atomic
def assign_access(*, actor, user, instance: AmcInstance, role: str) -> InstanceAccess:
    """Give `user` `role` on the instance (or change their role). Only the instance's admins
    may, and nobody changes their own access, so nobody raises their own role."""
    if role not in AccessRole.values:
        raise ValidationFailed([FieldError("role", "invalid", f"'{role}' is not a role.")])
    check_access_change(actor=actor, user=user, instance=instance)
    return grant_access(user=user, instance=instance, role=role)


@transaction.atomic
def revoke_access(*, actor, access: InstanceAccess) -> None:
    check_access_change(actor=actor, user=access.user, instance=access.instance)
    access.delete()


def check_account_endpoints(fields: dict) -> None:
    """`api_base_url` and `token_url` must be allowed AMC endpoints (instances.endpoints)."""
    errors = []
    for name in ("api_base_url", "token_url"):
        url = fields.get(name)
        if not url:
            continue
        try:
            check_amc_endpoint(url)
        except EndpointNotAllowed as exc:
            errors.append(FieldError(name, "host_not_allowed", str(exc)))
    if errors:
        raise ValidationFailed(errors)


def upsert_account(*, account_id: str, marketplace_id: str, **fields) -> AmcAccount:
    check_account_endpoints(fields)
    account, _ = AmcAccount.objects.update_or_create(
        account_id=account_id, marketplace_id=marketplace_id, defaults=fields
    )
    return account


def upsert_instance(*, instance_id: str, **fields) -> AmcInstance:
    instance, _ = AmcInstance.objects.update_or_create(instance_id=instance_id, defaults=fields)
    return instance
