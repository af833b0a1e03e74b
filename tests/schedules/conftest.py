from datetime import datetime

from schedules.models import ReportSchedule
from tests.factories.schedules import ReportScheduleFactory


def make_schedule(
    *, cron_expression: str, timezone: str, next_run_at: datetime, report=None, **fields
) -> ReportSchedule:
    """A saved schedule whose next run is `next_run_at` (as the services would have stored)."""
    if report is not None:
        fields["report"] = report
    return ReportScheduleFactory(
        cron_expression=cron_expression,
        timezone=timezone,
        next_run_at=next_run_at,
        schedule_type="custom",
        **fields,
    )
