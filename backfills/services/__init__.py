"""Backfills: plan, create, start, run, retry and cancel a report's history in segments.

State lives in PostgreSQL (the segment rows), never in a chord callback; every status change
goes through `backfills.states.move`.

- `planning`: validate, cut into segments, estimate, create (`plan_backfill`,
  `preview_backfill`, `create_backfill`);
- `running`: start, release due segments under the parallel limit, run one, record its end and
  derive the backfill's status (`start_backfill`, `release_next`, `run_segment`,
  `segment_finished`, `refresh_backfill`);
- `recovery`: retry failed segments, cancel, and the sweep that repairs what a lost task or a
  killed worker left behind (`retry_failed`, `cancel_backfill`, `sweep_backfills`).
"""

from backfills.services.planning import (
    BackfillPlan,
    create_backfill,
    plan_backfill,
    preview_backfill,
)
from backfills.services.recovery import cancel_backfill, retry_failed, sweep_backfills
from backfills.services.running import (
    RETRY_MAX_SECONDS,
    refresh_backfill,
    release_next,
    retry_delay,
    run_segment,
    segment_finished,
    start_backfill,
)

__all__ = [
    "RETRY_MAX_SECONDS",
    "BackfillPlan",
    "cancel_backfill",
    "create_backfill",
    "plan_backfill",
    "preview_backfill",
    "refresh_backfill",
    "release_next",
    "retry_delay",
    "retry_failed",
    "run_segment",
    "segment_finished",
    "start_backfill",
    "sweep_backfills",
]
