"""Recurring runs of a report on a cron expression in the client's timezone."""

import uuid

from django.db import models
from django.db.models import Q

from recomamp.identifiers import human_id_regex, new_schedule_id


class ScheduleType(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    CUSTOM = "custom", "Custom cron"


class ReportSchedule(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    schedule_id = models.CharField(
        max_length=12, unique=True, default=new_schedule_id, editable=False
    )
    report = models.ForeignKey(
        "reports.ReportDefinition", on_delete=models.CASCADE, related_name="schedules"
    )
    schedule_type = models.CharField(max_length=10, choices=ScheduleType.choices)
    cron_expression = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC")
    schedule_config = models.JSONField(
        default=dict, blank=True, help_text="The friendly form the cron expression came from."
    )
    default_parameters = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    is_paused = models.BooleanField(default=False)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_status = models.CharField(max_length=10, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    run_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "report_schedules"
        ordering = ["next_run_at"]
        indexes = [
            models.Index(
                fields=["next_run_at"],
                name="idx_report_schedules_next_run",
                condition=Q(is_active=True, is_paused=False),
            ),
            models.Index(
                fields=["is_active", "is_paused", "next_run_at"],
                name="idx_report_schedule_composite",
                condition=Q(is_active=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["report"],
                condition=Q(is_active=True),
                name="report_schedules_one_active_per_report",
            ),
            models.CheckConstraint(
                condition=Q(schedule_id__regex=human_id_regex("sch")),
                name="report_schedules_schedule_id_format",
            ),
            models.CheckConstraint(
                condition=Q(schedule_type__in=ScheduleType.values),
                name="report_schedules_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} ({self.cron_expression} {self.timezone})"

    @property
    def state(self) -> str:
        if not self.is_active:
            return "inactive"
        return "paused" if self.is_paused else "active"
