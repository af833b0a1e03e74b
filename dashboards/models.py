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
