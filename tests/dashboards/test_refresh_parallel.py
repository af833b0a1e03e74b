"""Daily aggregates have no row-by-row foreign key but still never outlive their dashboard."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from dashboards.models import Dashboard, DashboardFact
from dashboards.services import refresh
from tests.factories.dashboards import DashboardFactory

START = dt.date(2026, 6, 1)


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
