import pytest

from backfills import services
from reports import engine
from reports.models import ExecutionStatus, ReportExecution
from reports.signals import execution_finished


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
