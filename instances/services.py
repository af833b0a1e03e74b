"""Writes for accounts, instances and access."""

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess

ANALYSTS_GROUP = "Analysts"
PRODUCT_APPS = [
    "instances",
    "reports",
    "schedules",
    "backfills",
    "dashboards",
    "django_celery_beat",
]


def simulator_endpoints() -> dict[str, str]:
    """Account fields that point at the local AMC simulator, when one is configured."""
    url = settings.AMC_SIMULATOR_URL.rstrip("/")
    if not url:
        return {}
    return {"api_base_url": url, "token_url": f"{url}/auth/o2/token"}


@transaction.atomic
def ensure_analysts_group() -> Group:
    """A group with every permission on the product's models, for staff analysts in the admin."""
    group, _ = Group.objects.get_or_create(name=ANALYSTS_GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=PRODUCT_APPS))
    return group


def grant_access(*, user, instance: AmcInstance, role: str = AccessRole.ANALYST) -> InstanceAccess:
    access, _ = InstanceAccess.objects.update_or_create(
        user=user, instance=instance, defaults={"role": role}
    )
    return access


def upsert_account(*, account_id: str, marketplace_id: str, **fields) -> AmcAccount:
    account, _ = AmcAccount.objects.update_or_create(
        account_id=account_id, marketplace_id=marketplace_id, defaults=fields
    )
    return account


def upsert_instance(*, instance_id: str, **fields) -> AmcInstance:
    instance, _ = AmcInstance.objects.update_or_create(instance_id=instance_id, defaults=fields)
    return instance
