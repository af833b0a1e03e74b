"""Dashboards built from report results: configuration, views, insights, favorites, exports."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from reports.models import DashboardType


class Dashboard(models.Model):
    """A report's dashboard. Visible through the report's instance."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    instance = models.ForeignKey(
        "instances.AmcInstance", on_delete=models.CASCADE, related_name="dashboards"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="dashboards"
    )
    dashboard_type = models.CharField(
        max_length=20, choices=DashboardType.choices, default=DashboardType.CUSTOM
    )
    # The coalesced refresh (dashboards.services.refresh): new data marks the dashboard dirty;
    # one refresh at a time claims it with a conditional update.
    data_dirty_at = models.DateTimeField(
        null=True, blank=True, help_text="New results arrived and are not in the widgets yet."
    )
    refresh_queued_at = models.DateTimeField(null=True, blank=True)
    refresh_started_at = models.DateTimeField(null=True, blank=True)
    data_refreshed_at = models.DateTimeField(
        null=True, blank=True, help_text="Data as of: when the widgets were last computed."
    )
    summary = models.JSONField(
        default=dict, blank=True, help_text="Days covered, the AMC window and filter choices."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboards"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dashboard_type__in=DashboardType.values),
                name="dashboards_type_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ReportConfiguration(models.Model):
    """How a report's results become a dashboard (from the template's report_config)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dashboard = models.OneToOneField(
        Dashboard, on_delete=models.CASCADE, related_name="configuration"
    )
    report = models.ForeignKey(
        "reports.ReportDefinition",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="configurations",
    )
    query_template = models.ForeignKey(
        "reports.QueryTemplate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="configurations",
    )
    dashboard_type = models.CharField(
        max_length=20, choices=DashboardType.choices, default=DashboardType.CUSTOM
    )
    visualization_settings = models.JSONField(default=dict, blank=True)
    data_aggregation_settings = models.JSONField(default=dict, blank=True)
    export_settings = models.JSONField(default=dict, blank=True)
    is_enabled = models.BooleanField(default=True)
    template_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="The template's report_config the views came from."
    )
    layout_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="The views as built; a change means customised."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "report_configurations"
        indexes = [
            models.Index(fields=["query_template"], name="idx_report_config_template"),
            models.Index(
                fields=["report"], name="idx_report_config_report", condition=Q(is_enabled=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(dashboard_type__in=DashboardType.values),
                name="report_configurations_type_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Configuration of {self.dashboard}"


class ViewType(models.TextChoices):
    CHART = "chart", "Chart"
    TABLE = "table", "Table"
    METRIC_CARD = "metric_card", "Metric card"
    INSIGHT = "insight", "Insight"


class DashboardView(models.Model):
    """One widget of a dashboard."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report_configuration = models.ForeignKey(
        ReportConfiguration, on_delete=models.CASCADE, related_name="views"
    )
    view_name = models.CharField(max_length=200)
    view_type = models.CharField(max_length=12, choices=ViewType.choices)
    position = models.PositiveSmallIntegerField(default=0)
    chart_configurations = models.JSONField(default=dict, blank=True)
    filter_settings = models.JSONField(default=dict, blank=True)
    layout_settings = models.JSONField(default=dict, blank=True)
    processed_data = models.JSONField(default=dict, blank=True)
    data_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboard_views"
        ordering = ["report_configuration", "position"]
        indexes = [
            models.Index(
                fields=["report_configuration", "view_type"], name="idx_dashboard_views_config"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(view_type__in=ViewType.values), name="dashboard_views_type_valid"
            )
        ]

    def __str__(self) -> str:
        return self.view_name


class InsightType(models.TextChoices):
    TREND = "trend", "Trend"
    ANOMALY = "anomaly", "Anomaly"
    RECOMMENDATION = "recommendation", "Recommendation"
    SUMMARY = "summary", "Summary"
    COMPARISON = "comparison", "Comparison"


class DashboardInsight(models.Model):
    """A finding computed from a dashboard's data, with its confidence and the data behind it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dashboard_view = models.ForeignKey(
        DashboardView, on_delete=models.CASCADE, related_name="insights"
    )
    insight_type = models.CharField(max_length=15, choices=InsightType.choices)
    insight_text = models.TextField()
    confidence_score = models.DecimalField(max_digits=3, decimal_places=2)
    source_data = models.JSONField(default=dict, blank=True)
    ai_model = models.CharField(
        max_length=100, blank=True, help_text="The method that produced the insight."
    )
    prompt_version = models.CharField(max_length=20, blank=True)
    generated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dashboard_insights"
        ordering = ["-generated_at"]
        indexes = [
            models.Index(fields=["-confidence_score"], name="idx_insights_confidence"),
            models.Index(fields=["dashboard_view", "-generated_at"], name="idx_insights_view"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(insight_type__in=InsightType.values),
                name="dashboard_insights_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0, confidence_score__lte=1),
                name="dashboard_insights_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.insight_type}: {self.insight_text[:60]}"


class DashboardFavorite(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="favorites")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_favorites"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dashboard_favorites"
        indexes = [models.Index(fields=["user"], name="idx_dashboard_favorites_user")]
        constraints = [
            models.UniqueConstraint(
                fields=["dashboard", "user"], name="dashboard_favorites_dashboard_user_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.dashboard}"


class DashboardFact(models.Model):
    """A precomputed daily aggregate of a dashboard's result rows, so that a filtered view never
    reads the raw rows.

    Grain 1 holds one row per day and dimension values (d0..d3, named by the configuration's
    data plan); grain 0 the day's totals. Measures m0..m15 are sums. `day` is the row's own
    date for time-series templates, else the start of the run's window.
    """

    id = models.BigAutoField(primary_key=True)
    # Indexed by idx_dashboard_facts_day (dashboard first): one index less to write.
    # No database constraint: PostgreSQL checks a foreign key row by row, a quarter of a
    # refresh's insert of ~110,000 aggregates. A refresh locks its dashboard row first instead
    # (services/refresh.py), and deleting a dashboard takes that lock before its aggregates go
    # (apps.py), so no aggregate outlives its dashboard.
    dashboard = models.ForeignKey(
        Dashboard,
        on_delete=models.CASCADE,
        related_name="facts",
        db_index=False,
        db_constraint=False,
    )
    grain = models.PositiveSmallIntegerField(default=1)
    day = models.DateField()
    d0 = models.CharField(max_length=300, default="", blank=True)
    d1 = models.CharField(max_length=300, default="", blank=True)
    d2 = models.CharField(max_length=300, default="", blank=True)
    d3 = models.CharField(max_length=300, default="", blank=True)
    m0 = models.FloatField(null=True)
    m1 = models.FloatField(null=True)
    m2 = models.FloatField(null=True)
    m3 = models.FloatField(null=True)
    m4 = models.FloatField(null=True)
    m5 = models.FloatField(null=True)
    m6 = models.FloatField(null=True)
    m7 = models.FloatField(null=True)
    m8 = models.FloatField(null=True)
    m9 = models.FloatField(null=True)
    m10 = models.FloatField(null=True)
    m11 = models.FloatField(null=True)
    m12 = models.FloatField(null=True)
    m13 = models.FloatField(null=True)
    m14 = models.FloatField(null=True)
    m15 = models.FloatField(null=True)

    class Meta:
        db_table = "dashboard_daily_facts"
        indexes = [
            models.Index(fields=["dashboard", "grain", "day"], name="idx_dashboard_facts_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(grain__in=[0, 1]), name="dashboard_daily_facts_grain_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dashboard_id} {self.day}"


class ExportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    PNG = "png", "PNG"
    CSV = "csv", "CSV"
    EXCEL = "excel", "Excel"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ReportExport(models.Model):
    """A file produced in the background from a dashboard; it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report_configuration = models.ForeignKey(
        ReportConfiguration, on_delete=models.CASCADE, related_name="exports"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_exports"
    )
    export_format = models.CharField(max_length=5, choices=ExportFormat.choices)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "report_exports"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "status"], name="idx_report_exports_user_status"),
            models.Index(
                fields=["expires_at"],
                name="idx_report_exports_expiry",
                condition=Q(status="completed"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(export_format__in=ExportFormat.values),
                name="report_exports_format_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="report_exports_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.export_format} export ({self.status})"


class FeedbackVerdict(models.TextChoices):
    USEFUL = "useful", "Useful"
    WRONG = "wrong", "Wrong"


class InsightFeedback(models.Model):
    """An analyst's verdict on an insight: one per user and insight, changed by posting again.

    A refresh replaces a view's insights, so the insight as it was judged is kept in
    `insight_snapshot` (type, text, confidence, method, version, source data): verdicts can
    then be set against the calibration that produced them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    insight = models.ForeignKey(
        DashboardInsight, on_delete=models.SET_NULL, null=True, related_name="feedback"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="insight_feedback"
    )
    verdict = models.CharField(max_length=6, choices=FeedbackVerdict.choices)
    note = models.TextField(blank=True)
    insight_snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboard_insight_feedback"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["insight", "user"], name="dashboard_insight_feedback_insight_user_uniq"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=FeedbackVerdict.values),
                name="dashboard_insight_feedback_verdict_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} from {self.user}"
