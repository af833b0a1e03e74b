"""The execution engine, by concern:

- `states`: the (status, phase) lifecycle, the table of allowed moves, `move` (the one writer,
  which also records each move as an ExecutionEvent);
- `slots`: the instance's concurrency cap, dispatching waiting executions;
- `steps`: start/submit, poll, download, cancel at AMC, retries, and `finish`, the one way out;
- `results`: storing a result and loading its rows;
- `sweeper`: one small repair per stuck phase;
- `queue`: handing a step to a worker (after commit, or right here inside a worker).

Celery tasks (reports.tasks) are one-line wrappers around the steps.
"""

from reports.engine import states
from reports.engine.slots import dispatch_waiting, release_slot, slots_in_use
from reports.engine.states import (
    ACTIVE_STATUSES,
    MOVES,
    TERMINAL_STATUSES,
    State,
    move,
)
from reports.engine.steps import cancel_at_amc, download, finish, poll, request_cancel, start
from reports.engine.sweeper import sweep

__all__ = [
    "ACTIVE_STATUSES",
    "MOVES",
    "TERMINAL_STATUSES",
    "State",
    "cancel_at_amc",
    "dispatch_waiting",
    "download",
    "finish",
    "move",
    "poll",
    "release_slot",
    "request_cancel",
    "slots_in_use",
    "start",
    "states",
    "sweep",
]
