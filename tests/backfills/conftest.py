import pytest
from rest_framework.test import APIClient

from backfills import services
from instances.models import AccessRole
from reports import engine
from reports.models import ExecutionStatus, ReportExecution
from reports.services.templates import upsert_catalogue
from reports.signals import execution_finished
from tests.factories.instances import AmcInstanceFactory, InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory


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
def sent_segments(monkeypatch):
    """Segment pks that release_next sent as a group (nothing reaches the broker)."""
    sent: list[str] = []

    class FakeGroup:
        def __init__(self, signatures):
            self.signatures = list(signatures)

        def apply_async(self):
            sent.extend(signature.args[0] for signature in self.signatures)

    monkeypatch.setattr(services, "group", FakeGroup)
    return sent


def end_execution(execution: ReportExecution, status: str, *, error: str = "") -> None:
    """What the engine does when AMC is done: the terminal transition, then the signal."""
    if status != ExecutionStatus.CANCELLED:
        engine.transition(execution.pk, to=ExecutionStatus.RUNNING)
    assert engine.transition(execution.pk, to=status, error_message=error)
    execution.refresh_from_db()
    execution_finished.send(sender=ReportExecution, execution=execution)


@pytest.fixture
def engine_tasks(monkeypatch):
    """Engine follow-up tasks (start, poll, cancel at AMC) recorded instead of sent."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        engine, "_enqueue", lambda name, pk, countdown=0: sent.append((name, str(pk)))
    )
    return sent
