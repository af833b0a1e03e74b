"""What every engine step reads first: the execution with its instance, account, report and
schedule, in one query (written out on PostgreSQL), as select_related reads it."""

import uuid

import pytest

from reports.engine import steps
from reports.models import ReportExecution
from tests.factories.reports import ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory

pytestmark = pytest.mark.django_db


def values_of(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def related(execution: ReportExecution) -> list:
    return [
        execution,
        execution.instance,
        execution.instance.account,
        execution.report,
        execution.schedule,
    ]


def test_a_scheduled_run_is_read_with_everything_a_step_uses_in_one_query(
    django_assert_num_queries,
):
    schedule = ReportScheduleFactory(report__parameters={"min_impressions": 10})
    execution = ReportExecutionFactory(report=schedule.report, schedule=schedule)
    account = execution.instance.account
    account.lwa_refresh_token = "Atzr|a-stored-secret"  # stored encrypted, read back as text
    account.save()

    with django_assert_num_queries(1):
        loaded = steps.load(str(execution.pk))
        read = related(loaded)

    expected = related(
        ReportExecution.objects.select_related("instance__account", "report", "schedule").get(
            pk=execution.pk
        )
    )
    assert [values_of(obj) for obj in read] == [values_of(obj) for obj in expected]
    assert loaded.instance.account.lwa_refresh_token == "Atzr|a-stored-secret"
    assert loaded.report.parameters == {"min_impressions": 10}  # JSON read as JSON


def test_a_run_without_a_schedule_reads_none_for_it(django_assert_num_queries):
    execution = ReportExecutionFactory()

    with django_assert_num_queries(1):
        loaded = steps.load(execution.pk)
        assert loaded.schedule is None
        assert loaded.report.pk == execution.report_id


def test_a_run_that_no_longer_exists_reads_as_none():
    assert steps.load(uuid.uuid4()) is None
