"""Templates, reports and their executions."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from recomamp.identifiers import (
    human_id_regex,
    new_execution_id,
    new_report_id,
)


class DashboardType(models.TextChoices):
    FUNNEL = "funnel", "Funnel"
    PERFORMANCE = "performance", "Performance"
    ATTRIBUTION = "attribution", "Attribution"
    AUDIENCE = "audience", "Audience"
    CUSTOM = "custom", "Custom"


class QueryTemplate(models.Model):
    """An AMC SQL template with `{{name}}` placeholders and typed parameter definitions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template_id = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    sql_query = models.TextField()
    parameter_definitions = models.JSONField(default=list, blank=True)
    report_type = models.CharField(max_length=100, blank=True)
    report_config = models.JSONField(default=dict, blank=True)
    ui_schema = models.JSONField(default=dict, blank=True)
    default_dashboard_type = models.CharField(
        max_length=20, choices=DashboardType.choices, default=DashboardType.CUSTOM
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "query_templates"
        ordering = ["category", "name"]
        indexes = [
            models.Index(
                fields=["report_type"],
                name="idx_templates_report_type",
                condition=~Q(report_type=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_dashboard_type__in=DashboardType.values),
                name="query_templates_dashboard_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Frequency(models.TextChoices):
    ONCE = "once", "Once"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class ReportDefinition(models.Model):
    """A template bound to an instance with saved parameters: the thing analysts run."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report_id = models.CharField(max_length=12, unique=True, default=new_report_id, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    template = models.ForeignKey(QueryTemplate, on_delete=models.PROTECT, related_name="reports")
    instance = models.ForeignKey(
        "instances.AmcInstance", on_delete=models.CASCADE, related_name="reports"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    parameters = models.JSONField(default=dict, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.ONCE)
    timezone = models.CharField(max_length=64, default="UTC")
    lookback_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days of data a scheduled run covers, ending at AMC's data lag."
    )
    is_active = models.BooleanField(default=True)
    dashboard = models.ForeignKey(
        "dashboards.Dashboard",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    last_execution = models.ForeignKey(
        "reports.ReportExecution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    execution_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "report_definitions"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["is_active"],
                name="idx_report_definitions_active",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["instance", "is_active"],
                name="idx_active_reports",
                condition=Q(is_active=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(report_id__regex=human_id_regex("rpt")),
                name="report_definitions_report_id_format",
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=Frequency.values),
                name="report_definitions_frequency_valid",
            ),
            models.CheckConstraint(
                condition=Q(lookback_days__gte=1, lookback_days__lte=365),
                name="report_definitions_lookback_max_365",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.report_id})"


class TriggeredBy(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULE = "schedule", "Schedule"
    BACKFILL = "backfill", "Backfill"
    API = "api", "API"


class ExecutionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ExecutionPhase(models.TextChoices):
    """Where an execution is inside its status (see reports.engine.states for the moves)."""

    QUEUED = "queued", "Queued (waiting for a slot)"
    DISPATCHED = "dispatched", "Dispatched (holds a slot, start sent)"
    SUBMITTING = "submitting", "Submitting to AMC"
    SUBMITTED = "submitted", "At AMC (polled)"
    DOWNLOADING = "downloading", "Downloading the result"
    CANCELLING = "cancelling", "Cancelled, AMC not told yet"
    ENDED = "ended", "Ended"


class ReportExecution(models.Model):
    """One run of a report at AMC, from pending to completed, failed or cancelled.

    Its (status, phase) moves only through `reports.engine.states.move`, one conditional
    update per move, each recorded as an ExecutionEvent.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution_id = models.CharField(
        max_length=13, unique=True, default=new_execution_id, editable=False
    )
    report = models.ForeignKey(
        ReportDefinition, on_delete=models.CASCADE, related_name="executions"
    )
    template = models.ForeignKey(
        QueryTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="executions"
    )
    instance = models.ForeignKey(
        "instances.AmcInstance", on_delete=models.CASCADE, related_name="executions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="executions",
    )
    triggered_by = models.CharField(max_length=10, choices=TriggeredBy.choices)
    schedule = models.ForeignKey(
        "schedules.ReportSchedule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="executions",
    )
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="The schedule's fire time this run stands for."
    )
    collection = models.ForeignKey(
        "backfills.Backfill",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="executions",
    )
    status = models.CharField(
        max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING
    )
    phase = models.CharField(
        max_length=12, choices=ExecutionPhase.choices, default=ExecutionPhase.QUEUED
    )
    amc_execution_id = models.CharField(max_length=200, blank=True)
    amc_status = models.CharField(max_length=20, blank=True)
    output_location = models.CharField(max_length=500, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(default=dict, blank=True)
    parameters_snapshot = models.JSONField(default=dict, blank=True)
    rendered_sql = models.TextField(blank=True)
    time_window_start = models.DateTimeField(null=True, blank=True)
    time_window_end = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Transient failures retried so far."
    )
    submit_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Set before the AMC submit call, to reconcile a crash."
    )
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A worker owns this execution until then."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "report_executions"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="idx_report_executions_status"),
            models.Index(fields=["-started_at"], name="idx_report_executions_started"),
            models.Index(
                fields=["amc_execution_id"],
                name="idx_report_executions_amc_id",
                condition=~Q(amc_execution_id=""),
            ),
            models.Index(
                fields=["report", "status", "-started_at"], name="idx_report_exec_composite"
            ),
            models.Index(fields=["user", "-created_at"], name="idx_report_exec_user_recent"),
            models.Index(fields=["instance", "-created_at"], name="idx_report_exec_inst_recent"),
            models.Index(
                fields=["instance", "status"],
                name="idx_report_exec_in_flight",
                condition=Q(status__in=["pending", "running"]),
            ),
            models.Index(
                fields=["instance", "created_at"],
                name="idx_report_exec_queued",
                condition=Q(phase="queued"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(execution_id__regex=human_id_regex("exec")),
                name="report_executions_execution_id_format",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExecutionStatus.values),
                name="report_executions_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(phase__in=ExecutionPhase.values),
                name="report_executions_phase_valid",
            ),
            models.CheckConstraint(
                condition=Q(triggered_by__in=TriggeredBy.values),
                name="report_executions_triggered_by_valid",
            ),
            models.CheckConstraint(
                condition=Q(time_window_start__isnull=True)
                | Q(time_window_end__isnull=True)
                | Q(time_window_start__lt=models.F("time_window_end")),
                name="report_executions_window_ordered",
            ),
            # A schedule fires once per scheduled time: a second dispatcher cannot double-run.
            models.UniqueConstraint(
                fields=["schedule", "scheduled_for"],
                condition=Q(schedule__isnull=False),
                name="report_executions_one_per_schedule_time",
            ),
        ]

    def __str__(self) -> str:
        return self.execution_id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
)


class ExecutionEvent(models.Model):
    """One move of an execution: from which state to which, when, by whom, and why."""

    id = models.BigAutoField(primary_key=True)
    execution = models.ForeignKey(ReportExecution, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    from_phase = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=10)
    to_phase = models.CharField(max_length=12)
    at = models.DateTimeField()
    worker = models.CharField(
        max_length=200, blank=True, help_text="The process that made the move (host:pid)."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "report_execution_events"
        ordering = ["execution", "at", "id"]
        indexes = [
            models.Index(fields=["execution", "at"], name="idx_execution_events"),
            # /metrics reads the last 24 hours of events on every scrape.
            models.Index(fields=["at"], name="idx_execution_events_at"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status}/{self.from_phase} -> {self.to_status}/{self.to_phase}"


class ExecutionResultRow(models.Model):
    """One row of an execution's CSV result, loaded for dashboards."""

    id = models.BigAutoField(primary_key=True)
    execution = models.ForeignKey(ReportExecution, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        db_table = "report_execution_rows"
        ordering = ["execution", "row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "row_number"], name="report_execution_rows_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} row {self.row_number}"


class ExecutionSlot(models.Model):
    """One of an instance's concurrency slots, leased by an execution from submit to download.

    The cap is shared by every worker and process because the lease lives in the database; a
    lease that expires (its worker died) is taken over by the next claimant.
    """

    id = models.BigAutoField(primary_key=True)
    instance = models.ForeignKey(
        "instances.AmcInstance", on_delete=models.CASCADE, related_name="slots"
    )
    slot_number = models.PositiveSmallIntegerField()
    execution = models.OneToOneField(
        ReportExecution, on_delete=models.SET_NULL, null=True, blank=True, related_name="slot"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "amc_execution_slots"
        ordering = ["instance", "slot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "slot_number"], name="amc_execution_slots_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"slot {self.slot_number} of {self.instance_id}"


class AuditStep(models.TextChoices):
    PARAMETERS = "parameters", "Parameters"
    SCHEDULE = "schedule", "Schedule"
    REVIEW = "review", "Review"
    SUBMIT = "submit", "Submit"
    CHANGE = "change", "Change"
    RUN = "run", "Run request"


class ReportBuilderAudit(models.Model):
    """Each builder step and each change to a report: who, when, what."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        ReportDefinition,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit",
    )
    report_ref = models.CharField(
        max_length=12, blank=True, help_text="The report's id, kept after the report is deleted."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    step = models.CharField(max_length=12, choices=AuditStep.choices)
    action = models.CharField(max_length=100)
    configuration_before = models.JSONField(
        null=True, blank=True, help_text="The configuration before the change (none on create)."
    )
    configuration = models.JSONField(
        default=dict, blank=True, help_text="The configuration after the step or change."
    )
    draft_id = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The builder walk this step belongs to; its rows join the report on submit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "report_builder_audit"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="idx_builder_audit_user"),
            models.Index(fields=["report", "-created_at"], name="idx_builder_audit_report"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(step__in=AuditStep.values), name="report_builder_audit_step_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.action}"


class BuilderSubmission(models.Model):
    """An idempotency key of the builder's submit: the same key gives the same report.

    The unique (user, key) row is inserted in the submit's transaction, so two clicks racing
    with one key wait for each other and the second finds the first one's report.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    report = models.ForeignKey(
        ReportDefinition, on_delete=models.CASCADE, null=True, related_name="+"
    )
    response = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "report_builder_submissions"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="report_builder_submission_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.report_id}"


class ReportBuilderActivity(models.Model):
    """The original's `report_builder_activity` view: audit rows with user and report.

    A database view (migration 0005), read-only; narrow it with restrict_to_user.
    """

    id = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField()
    step = models.CharField(max_length=12, choices=AuditStep.choices)
    action = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField(max_length=150, null=True)  # noqa: DJ001 (a LEFT JOIN)
    report = models.ForeignKey(
        ReportDefinition,
        on_delete=models.DO_NOTHING,
        null=True,
        db_constraint=False,
        related_name="+",
    )
    report_ref = models.CharField(max_length=12)
    report_name = models.CharField(max_length=200, null=True)  # noqa: DJ001
    instance = models.ForeignKey(
        "instances.AmcInstance",
        on_delete=models.DO_NOTHING,
        null=True,
        db_constraint=False,
        related_name="+",
    )
    template_ref = models.CharField(max_length=100, null=True)  # noqa: DJ001
    draft_id = models.UUIDField(null=True)

    class Meta:
        managed = False
        db_table = "report_builder_activity"
        ordering = ["-created_at"]
        verbose_name_plural = "report builder activity"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username}: {self.step} {self.action}"
