"""Signals of the execution engine, so schedules and backfills can follow their runs."""

from django.dispatch import Signal

#: Sent once when an execution reaches completed, failed or cancelled. kwargs: execution.
execution_finished = Signal()
