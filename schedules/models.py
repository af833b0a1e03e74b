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


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email (PDF attached)"
    WEBHOOK = "webhook", "Webhook (JSON POST)"


class DeliverySubscriber(models.Model):
    """Who receives a report after each successful scheduled run, and how."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        "reports.ReportDefinition", on_delete=models.CASCADE, related_name="delivery_subscribers"
    )
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    target = models.CharField(max_length=500, help_text="An email address or a webhook URL.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "report_delivery_subscribers"
        ordering = ["report", "channel", "target"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=DeliveryChannel.values),
                name="report_delivery_subscribers_channel_valid",
            ),
            models.UniqueConstraint(
                fields=["report", "channel", "target"],
                name="report_delivery_subscribers_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.target}"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ScheduledDelivery(models.Model):
    """One delivery of one run to one subscriber. The unique pair makes it at most once."""

    id = models.BigAutoField(primary_key=True)
    execution = models.ForeignKey(
        "reports.ReportExecution", on_delete=models.CASCADE, related_name="deliveries"
    )
    subscriber = models.ForeignKey(
        DeliverySubscriber, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING
    )
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "scheduled deliveries"
        db_table = "report_deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "subscriber"], name="report_deliveries_once_per_run"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values),
                name="report_deliveries_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} → {self.subscriber_id} ({self.status})"
