from datetime import datetime

import pytest
from rest_framework.test import APIClient

from instances.models import AccessRole
from reports import engine
from reports.services.templates import upsert_catalogue
from schedules.models import ReportSchedule
from tests.factories.instances import AmcInstanceFactory, InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory
from tests.factories.schedules import ReportScheduleFactory


@pytest.fixture
def analyst(db):
    return UserFactory()


@pytest.fixture
def instance(analyst):
    return InstanceAccessFactory(user=analyst, role=AccessRole.ANALYST).instance


@pytest.fixture
def foreign_instance(db):
    """An instance of another client that the analyst has no access to."""
    return AmcInstanceFactory()


@pytest.fixture
def viewer(instance):
    return InstanceAccessFactory(instance=instance, role=AccessRole.VIEWER).user


@pytest.fixture
def api(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    return client


@pytest.fixture
def catalogue(db):
    return {template.template_id: template for template in upsert_catalogue()}


@pytest.fixture
def report(instance, analyst, catalogue):
    return ReportDefinitionFactory(
        instance=instance,
        owner=analyst,
        template=catalogue["campaign-performance-daily"],
        parameters={"min_impressions": 10},
    )


@pytest.fixture
def engine_tasks(monkeypatch):
    """Engine follow-up tasks (start, poll, cancel at AMC) recorded instead of sent."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        engine, "_enqueue", lambda name, pk, countdown=0: sent.append((name, str(pk)))
    )
    return sent


def make_schedule(
    *, cron_expression: str, timezone: str, next_run_at: datetime, report=None, **fields
) -> ReportSchedule:
    """A saved schedule whose next run is `next_run_at` (as the services would have stored)."""
    if report is not None:
        fields["report"] = report
    return ReportScheduleFactory(
        cron_expression=cron_expression,
        timezone=timezone,
        next_run_at=next_run_at,
        schedule_type="custom",
        **fields,
    )
