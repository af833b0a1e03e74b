"""Tenancy: the one place that decides which instances a user may see.

Every API view and admin page narrows its queryset through `restrict_to_user`, so a user
never sees a row under an instance they have no access to.
"""

from django.db.models import QuerySet

from instances.models import AccessRole, AmcInstance, InstanceAccess


def instances_for_user(*, user) -> QuerySet[AmcInstance]:
    """Instances the user may see. Superusers see all; everyone else needs an access row."""
    instances = AmcInstance.objects.select_related("account")
    if not user or not user.is_authenticated:
        return instances.none()
    if user.is_superuser:
        return instances
    return instances.filter(access__user=user)


def restrict_to_user(queryset: QuerySet, *, user, instance_path: str = "instance") -> QuerySet:
    """Narrow any queryset to rows whose `instance_path` is an instance the user may see."""
    if not user or not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    prefix = f"{instance_path}__" if instance_path else ""
    return queryset.filter(**{f"{prefix}access__user": user})


def can_write(*, user, instance: AmcInstance) -> bool:
    """Viewers may read; analysts and admins may run, schedule and change."""
    if user.is_superuser:
        return True
    return InstanceAccess.objects.filter(
        user=user, instance=instance, role__in=[AccessRole.ANALYST, AccessRole.ADMIN]
    ).exists()
