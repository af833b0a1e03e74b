"""Renaming ReportDataCollection to Backfill keeps every grant on it, both ways."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from tests.factories.instances import UserFactory

pytestmark = pytest.mark.django_db

BEFORE = ("backfills", "0004_alter_reportdatacollection_options")
RENAME = ("backfills", "0005_rename_reportdatacollection_backfill")


def migrate_to(target):
    """As `manage.py migrate` does it (its signals rename the content type)."""
    call_command("migrate", *target, verbosity=0)
    ContentType.objects.clear_cache()


def codenames(group):
    return set(
        group.permissions.filter(content_type__app_label="backfills").values_list(
            "codename", flat=True
        )
    )


def test_a_group_granted_the_old_permissions_keeps_them_under_the_new_name():
    migrate_to(BEFORE)
    group = Group.objects.create(name="Backfill operators")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="backfills",
            codename__in=["view_reportdatacollection", "change_reportdatacollection"],
        )
    )
    assert len(codenames(group)) == 2

    migrate_to(RENAME)

    assert codenames(group) == {"view_backfill", "change_backfill"}
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    assert user.has_perms(["backfills.view_backfill", "backfills.change_backfill"])
    assert not Permission.objects.filter(codename__endswith="_reportdatacollection").exists()
    assert Permission.objects.get(codename="view_backfill").name == "Can view backfill"


def test_the_rename_is_reversible():
    migrate_to(BEFORE)
    assert ContentType.objects.filter(app_label="backfills", model="reportdatacollection").exists()
    assert Permission.objects.filter(codename="add_reportdatacollection").exists()
    assert not Permission.objects.filter(codename="add_backfill").exists()
    migrate_to(RENAME)
    assert ContentType.objects.filter(app_label="backfills", model="backfill").exists()
    assert Permission.objects.filter(codename="add_backfill").count() == 1
