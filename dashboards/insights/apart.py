"""Run a pure computation in a forked child while this process goes on with other work.

The dashboard refresh computes its insights' statistics (about 0.6-0.8 s of CPU over 110
series, numpy and statsmodels under the GIL) on the second core while it renders the views'
charts and data. The child gets the inputs through fork, sends the result back through a pipe
and ends with os._exit: it never touches the database connection or anything else it
inherited. A plain os.fork, not multiprocessing: a Celery prefork worker is a daemonic
process, and multiprocessing refuses to start children there. Where a child cannot be started
(no fork, or RECOMAMP_INSIGHTS_IN_CHILD off), or it dies, the function runs here instead, so
the result is the same either way.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(getattr(settings, "RECOMAMP_INSIGHTS_IN_CHILD", True)) and hasattr(os, "fork")


class Apart:
    """A call started in a child process; `result()` waits for it (or runs it here)."""

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.pid: int | None = None
        self.reader: int | None = None
        if not enabled():
            return
        try:
            reader, writer = os.pipe()
            pid = os.fork()
        except OSError as exc:
            logger.info("insights computed in process (no child: %s)", exc)
            return
        if pid == 0:  # the child: never returns
            os.close(reader)
            _child(writer, self.call)
        os.close(writer)
        self.pid, self.reader = pid, reader

    def call(self) -> Any:
        return self.function(*self.args, **self.kwargs)

    def result(self) -> Any:
        if self.pid is None:
            return self.call()
        try:
            data = _read_all(self.reader)
            status, payload = pickle.loads(data)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            logger.warning("insights child died (%s): computing them in process", exc)
            return self.call()
        finally:
            self.discard()
        if status == "error":
            raise RuntimeError(f"insights failed in the child process:\n{payload}")
        return payload

    def discard(self) -> None:
        """End the child (it has sent its result, or is not wanted any more) and reap it."""
        if self.pid is None:
            return
        os.close(self.reader)
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass  # reaped already
        self.pid = self.reader = None


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _child(writer: int, call: Callable[[], Any]) -> None:
    code = 1
    try:
        _detach_from_database()
        try:
            message = ("ok", call())
        except BaseException:  # reported to the parent, which raises it
            message = ("error", traceback.format_exc())
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(writer, view) :]
        code = 0
    finally:
        os._exit(code)


def _detach_from_database() -> None:
    """Point the inherited database sockets at /dev/null: the parent's connections must never
    see a byte from the child (a query sent here would take the parent's reply)."""
    from django.db import connections

    null = os.open(os.devnull, os.O_RDWR)
    try:
        for connection in connections.all(initialized_only=True):
            raw = getattr(connection, "connection", None)
            pgconn = getattr(raw, "pgconn", None)
            if pgconn is not None and pgconn.socket >= 0:
                os.dup2(null, pgconn.socket)
    finally:
        os.close(null)
