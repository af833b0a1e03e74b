"""How the engine hands a step to a worker: a Celery task after commit, or, inside a worker,
the step itself right here (no broker round trip when a slot frees up)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)
_local = threading.local()


def enqueue(task, execution_pk, *, countdown: float = 0) -> None:
    """Send `task` (a Celery task object) for the execution once the transaction commits."""
    args = [str(execution_pk)]
    delay = max(countdown, 0) or None
    transaction.on_commit(lambda: task.apply_async(args=args, countdown=delay))


@contextlib.contextmanager
def in_worker():
    """Steps started inside this block run in this process instead of going to the broker."""
    previous = getattr(_local, "worker", False)
    _local.worker = True
    try:
        yield
    finally:
        _local.worker = previous


def run_here_or_send(step: Callable, task, execution_pk) -> None:
    """After commit: in a worker, run `step(execution_pk)` here (one at a time, no recursion);
    elsewhere (a web request), send `task`."""
    if not getattr(_local, "worker", False):
        enqueue(task, execution_pk)
        return
    transaction.on_commit(lambda: _drain(step, task, execution_pk))


def _drain(step: Callable, task, execution_pk) -> None:
    pending = _local.__dict__.setdefault("pending", [])
    pending.append((step, task, execution_pk))
    if getattr(_local, "draining", False):
        return  # the outer drain loop takes it
    _local.draining = True
    try:
        while pending:
            step_, task_, pk = pending.pop(0)
            try:
                step_(pk)
            except Exception:
                # The step failed here: a worker gets it through the broker instead.
                logger.exception("inline step for %s failed; sending it to a worker", pk)
                task_.apply_async(args=[str(pk)])
    finally:
        _local.draining = False
