"""Planning a backfill: validate its configs, cut its window into segments, estimate its
duration (a preview writes nothing), and create it with all its segment rows at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from backfills import segments as segment_math
from backfills.models import Backfill, BackfillSegment
from backfills.selectors import typical_segment_seconds
from backfills.services.running import start_pending
from recomamp.errors import Conflict
from reports.models import AuditStep, ReportDefinition
from reports.services.reports import record_audit, require_write
from reports.windows import today_in


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill would do: its window, segments, settings and estimated duration."""

    window: segment_math.DateWindow
    segments: list[segment_math.Segment]
    config: segment_math.SegmentationConfig
    instance_cap: int
    typical_segment_seconds: float
    estimated_seconds: float


def plan_backfill(
    *, report: ReportDefinition, lookback_config, segmentation_config=None
) -> BackfillPlan:
    """Validate the configs (errors name the field) and cut the window into segments."""
    cap = report.instance.concurrency_cap
    config = segment_math.validate_segmentation_config(segmentation_config or {}, instance_cap=cap)
    window = segment_math.resolve_lookback(
        lookback_config,
        today=today_in(report.timezone),
        data_lag_days=settings.AMC_DATA_LAG_DAYS,
        retention_days=settings.AMC_RETENTION_DAYS,
        max_days=settings.AMC_MAX_LOOKBACK_DAYS,
    )
    segments = segment_math.segments_for_window(window, config.type)
    typical = typical_segment_seconds(instance=report.instance)
    return BackfillPlan(
        window=window,
        segments=segments,
        config=config,
        instance_cap=cap,
        typical_segment_seconds=typical,
        estimated_seconds=segment_math.estimate_duration(
            segment_count=len(segments),
            concurrency=config.parallel_limit,
            typical_segment_seconds=typical,
        ),
    )


def preview_backfill(
    *, report: ReportDefinition, lookback_config, segmentation_config=None
) -> BackfillPlan:
    """The segments and estimated duration of a backfill, writing nothing."""
    return plan_backfill(
        report=report, lookback_config=lookback_config, segmentation_config=segmentation_config
    )


def create_backfill(
    *,
    report: ReportDefinition,
    user,
    lookback_config,
    segmentation_config=None,
    start: bool = True,
) -> Backfill:
    """The backfill and all its segment rows, atomically (or nothing); started unless asked."""
    require_write(user=user, instance=report.instance)
    if not report.is_active:
        raise Conflict("The report is inactive; activate it to backfill it.", field="report")
    plan = plan_backfill(
        report=report, lookback_config=lookback_config, segmentation_config=segmentation_config
    )
    with transaction.atomic():
        backfill = Backfill.objects.create(
            report=report,
            user=user,
            lookback_config=dict(lookback_config),
            segment_type=str(plan.config.type),
            segmentation_config=plan.config.as_json(),
            max_lookback_days=settings.AMC_MAX_LOOKBACK_DAYS,
            start_date=plan.window.start,
            end_date=plan.window.end,
            total_segments=len(plan.segments),
        )
        BackfillSegment.objects.bulk_create(
            BackfillSegment(
                backfill=backfill,
                sequence=segment.index,
                window_start=segment.start,
                window_end=segment.end,
            )
            for segment in plan.segments
        )
        record_audit(
            report=report,
            user=user,
            step=AuditStep.SUBMIT,
            action="backfill created",
            configuration={
                "collection": str(backfill.pk),
                "lookback_config": backfill.lookback_config,
                "segmentation_config": backfill.segmentation_config,
                "window": [plan.window.start.isoformat(), plan.window.end.isoformat()],
                "segments": len(plan.segments),
            },
        )
        if start:
            start_pending(backfill)
    return backfill
