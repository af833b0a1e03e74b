"""Signals of the execution engine, the hook other apps follow runs by.

`execution_finished` is sent once per execution, after the transaction that ended it has
committed (completed, failed or cancelled), with keyword arguments:

- `execution_pk`: the execution's primary key (UUID);
- `status`: "completed", "failed" or "cancelled";
- `execution`: the execution, freshly read.

Receivers run after commit and each on its own (`send_robust`): an error in one is logged and
never rolls back the download that completed the execution, nor stops the other receivers.
Connect with `execution_finished.connect(receiver, dispatch_uid=...)` in your app's
`AppConfig.ready`. Receivers are bookkeeping: schedules (last run, counts), backfills (the
segment, the next segment); a lost receiver call (the process died right after the commit)
is repaired by that app's own sweep.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

execution_finished = Signal()

#: Sent after commit when AMC no longer runs an execution (it reported SUCCEEDED) and the
#: execution goes on to its download: its instance slot is free again. Keyword arguments:
#: `execution_pk`, `instance_pk`, `backfill_pk` (None outside backfills). Receivers run each on
#: their own (`send_robust`), in the worker's step, before the download.
execution_left_amc = Signal()


def send_execution_left_amc(execution_pk, *, instance_pk, backfill_pk) -> None:
    transaction.on_commit(
        lambda: _send_left_amc(execution_pk, instance_pk=instance_pk, backfill_pk=backfill_pk)
    )


def _send_left_amc(execution_pk, *, instance_pk, backfill_pk) -> None:
    from reports.models import ReportExecution

    for receiver, result in execution_left_amc.send_robust(
        sender=ReportExecution,
        execution_pk=execution_pk,
        instance_pk=instance_pk,
        backfill_pk=backfill_pk,
    ):
        if isinstance(result, Exception):
            logger.error(
                "execution_left_amc receiver %r failed for %s",
                receiver,
                execution_pk,
                exc_info=result,
            )


def send_execution_finished(execution_pk, status: str) -> None:
    """Send `execution_finished` once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: _send(execution_pk, status))


def _send(execution_pk, status: str) -> None:
    from reports.models import ReportExecution

    execution = ReportExecution.objects.filter(pk=execution_pk).first()
    if execution is None:
        return
    for receiver, result in execution_finished.send_robust(
        sender=ReportExecution, execution_pk=execution_pk, status=status, execution=execution
    ):
        if isinstance(result, Exception):
            logger.error(
                "execution_finished receiver %r failed for %s",
                receiver,
                execution_pk,
                exc_info=result,
            )
