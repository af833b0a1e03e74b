import pytest

from backfills.services import running
from reports import engine
from reports.engine import states
from reports.models import ExecutionPhase, ExecutionStatus, ReportExecution
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

    monkeypatch.setattr(running, "group", FakeGroup)
    return sent


def end_execution(execution: ReportExecution, status: str, *, error: str = "") -> None:
    """What the engine does when AMC is done: the terminal transition, then the signal."""
    end_state = {
        ExecutionStatus.COMPLETED: states.COMPLETED,
        ExecutionStatus.FAILED: states.FAILED,
        ExecutionStatus.CANCELLED: states.CANCELLED,
    }[status]
    if status == ExecutionStatus.COMPLETED:
        ReportExecution.objects.filter(pk=execution.pk).update(
            status=ExecutionStatus.RUNNING, phase=ExecutionPhase.DOWNLOADING
        )
    assert engine.finish(execution.pk, end_state, error_message=error)
    execution.refresh_from_db()
    execution_finished.send(sender=ReportExecution, execution=execution)
