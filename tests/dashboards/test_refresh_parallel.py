"""The refresh's work beside itself: insights' statistics in a child process, and aggregates that
have no row-by-row foreign key but still never outlive their dashboard."""

import datetime as dt
import os
import threading

import pytest
from django.db import connection, transaction

from dashboards.insights.apart import Apart
from dashboards.models import Dashboard, DashboardFact, DashboardInsight
from dashboards.services import refresh
from tests.dashboards.conftest import backfilled, campaign_rows
from tests.factories.dashboards import DashboardFactory

START = dt.date(2026, 6, 1)


def test_a_computation_apart_runs_in_a_child_and_returns_its_result():
    assert Apart(os.getpid).result() != os.getpid()
    assert Apart(sorted, [3, 1, 2], reverse=True).result() == [3, 2, 1]


def _worker_and_child_pids():
    return os.getpid(), Apart(os.getpid).result()


def test_a_celery_pool_worker_computes_apart_too():
    # Celery's prefork workers are daemonic processes, where multiprocessing starts no child.
    import billiard

    with billiard.Pool(1) as pool:
        worker, child = pool.apply(_worker_and_child_pids)
    assert child not in (worker, os.getpid())


def test_without_children_the_computation_runs_here(settings):
    settings.RECOMAMP_INSIGHTS_IN_CHILD = False
    assert Apart(os.getpid).result() == os.getpid()


def test_a_failure_in_the_child_is_raised_here():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        Apart(lambda: 1 / 0).result()


@pytest.mark.django_db
def test_the_child_cannot_talk_on_this_process_database_connection():
    def query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    query()  # the connection is open when the child is forked
    with pytest.raises(RuntimeError):
        Apart(query).result()
    assert query() == (1,)  # and this process's connection is intact


@pytest.mark.django_db
def test_insights_found_in_a_child_are_the_ones_found_in_process(report, sent_refreshes, settings):
    backfilled(report, start=START, days=120, rows_for_day=lambda d: campaign_rows(d, campaigns=4))

    def stored():
        refresh.refresh_dashboard(report.dashboard_id)
        return sorted(
            DashboardInsight.objects.filter(
                dashboard_view__report_configuration__dashboard_id=report.dashboard_id
            ).values_list("insight_type", "insight_text", "confidence_score")
        )

    apart = stored()
    settings.RECOMAMP_INSIGHTS_IN_CHILD = False
    assert apart and stored() == apart


@pytest.mark.django_db(transaction=True)
def test_a_dashboard_deleted_during_a_refresh_takes_the_refreshs_aggregates_along():
    dashboard = DashboardFactory()
    inserted, release, deleted = threading.Event(), threading.Event(), threading.Event()

    def refreshing():  # what a refresh does: lock the row, write aggregates, commit later
        try:
            with transaction.atomic():
                assert refresh._lock_against_deletion(dashboard.pk)
                DashboardFact.objects.create(dashboard_id=dashboard.pk, day=START)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    def deleting():
        try:
            Dashboard.objects.get(pk=dashboard.pk).delete()
            deleted.set()
        finally:
            connection.close()

    refresher = threading.Thread(target=refreshing)
    refresher.start()
    assert inserted.wait(10)
    deleter = threading.Thread(target=deleting)
    deleter.start()
    assert not deleted.wait(0.5)  # the deletion waits for the refresh to commit
    release.set()
    refresher.join(10)
    deleter.join(10)

    assert deleted.is_set()
    assert not DashboardFact.objects.filter(dashboard_id=dashboard.pk).exists()
