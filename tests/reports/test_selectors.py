"""Reads for reports: the written-out read of a run request gives what the ORM gives."""

import pytest

from instances.models import AccessRole
from reports.models import ReportDefinition
from reports.selectors import report_to_run
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory

pytestmark = pytest.mark.django_db


def values_of(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_the_report_read_for_a_run_is_the_report_the_orm_reads(report, analyst):
    read = report_to_run(report_id=report.report_id, user=analyst)
    orm = ReportDefinition.objects.select_related("template", "instance").get(pk=report.pk)

    assert values_of(read) == values_of(orm)
    assert values_of(read.template) == values_of(orm.template)
    assert values_of(read.instance) == values_of(orm.instance)
    assert read.template.parameter_definitions  # JSON read as JSON, not as its text
    assert read.user_role == AccessRole.ANALYST
    assert not read._state.adding


def test_a_report_on_an_instance_without_access_is_not_read_for_a_run(analyst, foreign_instance):
    report = ReportDefinitionFactory(instance=foreign_instance)
    assert report_to_run(report_id=report.report_id, user=analyst) is None
    assert report_to_run(report_id="rpt_unknown", user=analyst) is None


def test_each_user_reads_their_own_role_for_a_run(report, viewer):
    InstanceAccessFactory(instance=report.instance, role=AccessRole.ADMIN)  # another user
    assert report_to_run(report_id=report.report_id, user=viewer).user_role == AccessRole.VIEWER


def test_a_superuser_reads_a_report_on_any_instance_for_a_run(foreign_instance):
    report = ReportDefinitionFactory(instance=foreign_instance)
    superuser = UserFactory(is_superuser=True, is_staff=True)

    read = report_to_run(report_id=report.report_id, user=superuser)

    assert read.pk == report.pk and read.instance.pk == foreign_instance.pk
    assert read.user_role is None
