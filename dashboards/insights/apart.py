"""Run a pure computation in a forked child while this process goes on with other work.

The dashboard refresh computes its insights' statistics (about 0.8 s of CPU over 110 series,
numpy and statsmodels under the GIL) on the second core while it renders the views' charts
and data. The child gets the inputs through fork, sends the result back through a pipe and
ends with os._exit: it never touches the database connection or anything else it inherited.
Where a child cannot be started (no fork, or a setting turns it off), or it dies, the function
runs here instead, so the result is the same either way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
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
        self.process = None
        self.reader = None
        if not enabled():
            return
        try:
            context = multiprocessing.get_context("fork")
            self.reader, writer = context.Pipe(duplex=False)
            self.process = context.Process(target=_child, args=(writer, self.call), daemon=True)
            self.process.start()
            writer.close()
        except (OSError, ValueError, AssertionError) as exc:
            # AssertionError: multiprocessing refuses children of a daemonic process.
            logger.info("insights computed in process (no child: %s)", exc)
            self.process = self.reader = None

    def call(self) -> Any:
        return self.function(*self.args, **self.kwargs)

    def result(self) -> Any:
        if self.process is None:
            return self.call()
        try:
            status, payload = pickle.loads(self.reader.recv_bytes())
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
        if self.process is None:
            return
        self.reader.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        self.process = None


def _child(writer, call: Callable[[], Any]) -> None:
    _detach_from_database()
    try:
        message = ("ok", call())
    except BaseException:  # reported to the parent, which raises it
        message = ("error", traceback.format_exc())
    try:
        writer.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        writer.close()


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
