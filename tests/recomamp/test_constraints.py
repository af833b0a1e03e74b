"""Each database constraint of the original schema rejects what it should, on PostgreSQL."""

import datetime as dt

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from backfills.models import Backfill
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory
from tests.factories.dashboards import (
    DashboardFactory,
    DashboardFavoriteFactory,
    DashboardInsightFactory,
    DashboardViewFactory,
    ReportExportFactory,
)
from tests.factories.instances import AmcInstanceFactory, InstanceAccessFactory, UserFactory
from tests.factories.reports import (
    QueryTemplateFactory,
    ReportDefinitionFactory,
    ReportExecutionFactory,
)
from tests.factories.schedules import ReportScheduleFactory

pytestmark = pytest.mark.django_db


def rejects(create):
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        create()


def test_runs_on_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize(
    "factory, field, bad",
    [
        (ReportDefinitionFactory, "report_id", "rpt_SHOUTING"),
        (ReportDefinitionFactory, "report_id", "rpt_abc"),
        (ReportDefinitionFactory, "report_id", "exec_ab12cd34"),
        (ReportExecutionFactory, "execution_id", "exec_ab12cd3"),
        (ReportExecutionFactory, "execution_id", "rpt_ab12cd34"),
        (ReportScheduleFactory, "schedule_id", "sch_ab12cd34x"),
    ],
)
def test_human_ids_must_be_prefix_and_eight_random_characters(factory, field, bad):
    rejects(lambda: factory(**{field: bad}))


def test_generated_human_ids_have_their_prefix():
    execution = ReportExecutionFactory()
    schedule = ReportScheduleFactory(report=execution.report)
    assert execution.report.report_id.startswith("rpt_") and len(execution.report.report_id) == 12
    assert execution.execution_id.startswith("exec_") and len(execution.execution_id) == 13
    assert schedule.schedule_id.startswith("sch_") and len(schedule.schedule_id) == 12


def test_human_ids_are_unique():
    report = ReportDefinitionFactory()
    rejects(lambda: ReportDefinitionFactory(report_id=report.report_id))


def test_one_active_schedule_per_report():
    schedule = ReportScheduleFactory()
    rejects(lambda: ReportScheduleFactory(report=schedule.report))
    ReportScheduleFactory(report=schedule.report, is_active=False)  # inactive ones may pile up


def test_one_execution_per_schedule_and_scheduled_time():
    schedule = ReportScheduleFactory()
    at = dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC)
    ReportExecutionFactory(report=schedule.report, schedule=schedule, scheduled_for=at)
    rejects(
        lambda: ReportExecutionFactory(report=schedule.report, schedule=schedule, scheduled_for=at)
    )


def test_favorite_is_unique_per_user_and_dashboard():
    favorite = DashboardFavoriteFactory()
    rejects(lambda: DashboardFavoriteFactory(dashboard=favorite.dashboard, user=favorite.user))
    DashboardFavoriteFactory(dashboard=favorite.dashboard)  # another user may


def test_instance_access_is_unique_per_user_and_instance():
    access = InstanceAccessFactory()
    rejects(lambda: InstanceAccessFactory(user=access.user, instance=access.instance))


@pytest.mark.parametrize(
    "factory, field, bad",
    [
        (ReportDefinitionFactory, "frequency", "hourly"),
        (ReportExecutionFactory, "status", "exploded"),
        (ReportExecutionFactory, "triggered_by", "cron"),
        (ReportScheduleFactory, "schedule_type", "yearly"),
        (BackfillFactory, "segment_type", "hourly"),
        (BackfillFactory, "status", "done"),
        (BackfillSegmentFactory, "status", "lost"),
        (DashboardFactory, "dashboard_type", "pie"),
        (DashboardViewFactory, "view_type", "gauge"),
        (DashboardInsightFactory, "insight_type", "prophecy"),
        (ReportExportFactory, "export_format", "docx"),
        (ReportExportFactory, "status", "lost"),
        (QueryTemplateFactory, "default_dashboard_type", "other"),
        (InstanceAccessFactory, "role", "owner"),
    ],
)
def test_enum_columns_reject_unknown_values(factory, field, bad):
    rejects(lambda: factory(**{field: bad}))


def test_backfill_lookback_is_at_most_365_days():
    BackfillFactory(max_lookback_days=365)
    rejects(lambda: BackfillFactory(max_lookback_days=366))
    rejects(lambda: ReportDefinitionFactory(lookback_days=366))


def test_windows_must_not_be_inverted():
    rejects(lambda: BackfillFactory(start_date=dt.date(2026, 10, 8), end_date=dt.date(2026, 10, 1)))
    rejects(
        lambda: BackfillSegmentFactory(
            window_start=dt.date(2026, 10, 8), window_end=dt.date(2026, 10, 1)
        )
    )
    start = dt.datetime(2026, 10, 8, tzinfo=dt.UTC)
    rejects(
        lambda: ReportExecutionFactory(
            time_window_start=start, time_window_end=start - dt.timedelta(days=1)
        )
    )


def test_insight_confidence_is_between_zero_and_one():
    DashboardInsightFactory(confidence_score="1.00")
    rejects(lambda: DashboardInsightFactory(confidence_score="1.01"))
    rejects(lambda: DashboardInsightFactory(confidence_score="-0.01"))


def test_concurrency_cap_is_between_1_and_50():
    rejects(lambda: AmcInstanceFactory(concurrency_cap=0))
    rejects(lambda: AmcInstanceFactory(concurrency_cap=51))


def test_template_in_use_cannot_be_deleted():
    report = ReportDefinitionFactory()
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        report.template.delete()


def test_deleting_a_report_removes_its_executions_and_backfills():
    execution = ReportExecutionFactory()
    BackfillFactory(report=execution.report)
    execution.report.delete()
    assert not Backfill.objects.exists()


def test_partial_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('idx_report_schedules_next_run', 'idx_report_executions_amc_id', "
            "'idx_report_definitions_active')"
        )
        indexes = dict(cursor.fetchall())
    assert len(indexes) == 3
    assert all(" WHERE " in definition for definition in indexes.values())


def test_user_factory_password_works():
    user = UserFactory()
    assert user.check_password("correct horse battery staple")
