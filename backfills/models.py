"""Backfills: a report's history collected in calendar-aligned segments."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class SegmentType(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class BackfillStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    PARTIAL = "partial", "Partial"
    CANCELLED = "cancelled", "Cancelled"


class Backfill(models.Model):
    """One backfill of a report. Its status is derived from its segment rows, never a callback."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        "reports.ReportDefinition", on_delete=models.CASCADE, related_name="backfills"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    lookback_config = models.JSONField(default=dict)
    segment_type = models.CharField(
        max_length=10, choices=SegmentType.choices, default=SegmentType.WEEKLY
    )
    segmentation_config = models.JSONField(default=dict, blank=True)
    max_lookback_days = models.PositiveSmallIntegerField(default=365)
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=BackfillStatus.choices, default=BackfillStatus.PENDING
    )
    total_segments = models.PositiveIntegerField(default=0)
    completed_segments = models.PositiveIntegerField(default=0)
    failed_segments = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "backfill"
        db_table = "report_data_collections"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["report"], name="idx_collections_report", condition=Q(report__isnull=False)
            ),
            models.Index(fields=["status"], name="idx_collections_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_lookback_days__lte=365), name="collections_max_lookback_365"
            ),
            models.CheckConstraint(
                condition=Q(start_date__lte=F("end_date")), name="collections_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(segment_type__in=SegmentType.values),
                name="collections_segment_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=BackfillStatus.values), name="collections_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.start_date}..{self.end_date} ({self.status})"


class SegmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class BackfillSegment(models.Model):
    """One window of a backfill; its latest execution and how often it was tried."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    backfill = models.ForeignKey(
        Backfill, on_delete=models.CASCADE, related_name="segments", db_column="collection_id"
    )
    sequence = models.PositiveIntegerField()
    window_start = models.DateField()
    window_end = models.DateField(help_text="Inclusive.")
    status = models.CharField(
        max_length=10, choices=SegmentStatus.choices, default=SegmentStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    execution = models.ForeignKey(
        "reports.ReportExecution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="segments",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "report_data_weeks"
        ordering = ["backfill", "sequence"]
        indexes = [
            models.Index(fields=["backfill", "status"], name="idx_segments_collection_status"),
            models.Index(fields=["window_start", "window_end"], name="idx_segments_window"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["backfill", "window_start"], name="segments_collection_window_uniq"
            ),
            models.CheckConstraint(
                condition=Q(window_start__lte=F("window_end")), name="segments_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SegmentStatus.values), name="segments_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.window_start}..{self.window_end} ({self.status})"
