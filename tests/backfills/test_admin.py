"""The backfill admin's lists: the autocomplete that picks a backfill pages in a stable order."""

import datetime as dt
import warnings

import pytest
from django.core.paginator import UnorderedObjectListWarning
from django.utils import timezone

from backfills.models import Backfill
from tests.factories.backfills import BackfillFactory

pytestmark = pytest.mark.django_db


def test_the_backfill_autocomplete_lists_the_newest_first_in_a_stable_order(admin_client):
    backfills = BackfillFactory.create_batch(4)
    now = timezone.now()
    for age, backfill in enumerate(backfills):
        Backfill.objects.filter(pk=backfill.pk).update(created_at=now - dt.timedelta(days=age))

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        response = admin_client.get(
            "/admin/autocomplete/",
            {"app_label": "reports", "model_name": "reportexecution", "field_name": "collection"},
        )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(b.pk) for b in backfills]
