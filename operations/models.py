"""What operations watch: heartbeats of the periodic tasks, alert subscriptions and incidents."""

import uuid

from django.db import models
from django.db.models import Q


class Heartbeat(models.Model):
    """The last run of a periodic task (the dispatcher, the sweepers), written when it ends."""

    name = models.CharField(max_length=100, primary_key=True)
    last_finished_at = models.DateTimeField()
    last_result = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "operations_heartbeats"

    def __str__(self) -> str:
        return self.name


class AlertChannel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook (JSON, Slack-compatible text)"


class AlertSubscription(models.Model):
    """Who hears about a report's failures: an email address or a webhook URL."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        "reports.ReportDefinition", on_delete=models.CASCADE, related_name="alert_subscriptions"
    )
    channel = models.CharField(max_length=10, choices=AlertChannel.choices)
    target = models.CharField(max_length=500, help_text="An email address or an https URL.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "alert_subscriptions"
        ordering = ["report", "channel", "target"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "channel", "target"], name="alert_subscriptions_uniq"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=AlertChannel.values), name="alert_subscriptions_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.target}"


class IncidentKind(models.TextChoices):
    SCHEDULE_FAILING = "schedule_failing", "Schedule failing"
    BACKFILL_PARTIAL = "backfill_partial", "Backfill ended partial"
    CREDENTIALS = "credentials", "AMC credentials refused"


class AlertIncident(models.Model):
    """One incident, alerted once when it opens and once when it recovers.

    At most one open incident per subject (a schedule, a backfill, an instance) and kind: a
    partial unique constraint, so two workers finishing runs at once cannot both alert.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    subject = models.CharField(max_length=100, help_text="The schedule, backfill or instance id.")
    report = models.ForeignKey(
        "reports.ReportDefinition",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="incidents",
    )
    instance = models.ForeignKey(
        "instances.AmcInstance", on_delete=models.CASCADE, related_name="incidents"
    )
    summary = models.TextField()
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_incidents"
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(resolved_at__isnull=True),
                name="alert_incidents_one_open_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=IncidentKind.values), name="alert_incidents_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
