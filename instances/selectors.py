"""Tenancy: the one place that decides which instances a user may see.

Every API view and admin page narrows its queryset through `restrict_to_user`, so a user
never sees a row under an instance they have no access to.
"""

from django.db.models import OuterRef, QuerySet, Subquery

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


def role_on(*, user, instance: AmcInstance) -> str | None:
    """The user's role on the instance (superusers act as admins), or None without access."""
    if not user or not user.is_authenticated:
        return None
    if user.is_superuser:
        return AccessRole.ADMIN
    known = getattr(instance, "_role_read_with_it", None)
    if known is not None and known[0] == user.pk:
        return known[1]
    return (
        InstanceAccess.objects.filter(user=user, instance=instance)
        .values_list("role", flat=True)
        .first()
    )


def user_role_subquery(*, user, instance_ref: str = "instance_id") -> Subquery:
    """The user's role on the row's instance, to annotate a query with (see `remember_role`)."""
    return Subquery(
        InstanceAccess.objects.filter(user=user, instance_id=OuterRef(instance_ref)).values("role")[
            :1
        ]
    )


def role_join_sql(*, user, instance_column: str) -> tuple[str, str, list]:
    """`restrict_to_user` and `user_role_subquery` for a written-out statement (a hot path):
    a JOIN that lets through only rows whose `instance_column` is one of the user's instances,
    and the select expression of the user's role there (NULL for superusers, who see every
    instance without an access row). Returns (join, role expression, join parameters)."""
    if user.is_superuser:
        return "", "NULL", []
    join = (
        f"JOIN {InstanceAccess._meta.db_table} access"
        f" ON access.instance_id = {instance_column} AND access.user_id = %s"
    )
    return join, "access.role", [user.pk]


def remember_role(*, instance: AmcInstance, user, role: str | None) -> None:
    """The user's role on `instance`, read in the same query that loaded it: `role_on` answers
    from it for this instance object (loaded for one request) instead of asking again."""
    instance._role_read_with_it = (user.pk, role)


def can_read(*, user, instance: AmcInstance) -> bool:
    return role_on(user=user, instance=instance) is not None


def can_write(*, user, instance: AmcInstance) -> bool:
    """Viewers may read; analysts (editors) and admins may run, schedule and change."""
    return role_on(user=user, instance=instance) in (AccessRole.ANALYST, AccessRole.ADMIN)


def can_manage_access(*, user, instance: AmcInstance) -> bool:
    """Only the instance's admins (and superusers) grant, change and revoke access to it."""
    return role_on(user=user, instance=instance) == AccessRole.ADMIN


def instances_with_role(*, user, roles: list[str]) -> QuerySet[AmcInstance]:
    """The user's instances on which they hold one of `roles` (all of them for superusers)."""
    instances = instances_for_user(user=user)
    if not user or not user.is_authenticated or user.is_superuser:
        return instances
    return instances.filter(access__user=user, access__role__in=roles)


def can_manage_accounts(*, user) -> bool:
    """AMC accounts carry credentials and span tenants: superusers and account managers only."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.has_perm("instances.manage_accounts")
