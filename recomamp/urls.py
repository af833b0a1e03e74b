from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from backfills.api import BackfillViewSet
from dashboards.api import DashboardViewSet
from dashboards.exports.api import DashboardExportView, ExportViewSet
from dashboards.insights.api import InsightFeedbackView
from instances.api import InstanceViewSet
from operations import health, metrics, views
from operations.api import AlertSubscriptionViewSet
from recomamp.throttling import admin_login, obtain_auth_token
from reports.api import ExecutionViewSet, ReportViewSet, TemplateViewSet
from reports.builder.urls import api_urlpatterns as builder_api_urls
from schedules.api import ScheduleViewSet
from schedules.delivery_api import SubscriberViewSet

router = DefaultRouter()
router.register("templates", TemplateViewSet, basename="template")
router.register("instances", InstanceViewSet, basename="instance")
router.register("reports", ReportViewSet, basename="report")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("backfills", BackfillViewSet, basename="backfill")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("exports", ExportViewSet, basename="export")
router.register("alert-subscriptions", AlertSubscriptionViewSet, basename="alert-subscription")
router.register("delivery-subscribers", SubscriberViewSet, basename="delivery-subscriber")
router.register("dashboards", DashboardViewSet, basename="dashboard")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Browsers ask for it on every page: no content rather than a 404 logged each time.
    path("favicon.ico", lambda request: HttpResponse(status=204)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/status/", admin.site.admin_view(views.status_page), name="operations-status"),
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("builder/", include("reports.builder.urls", namespace="builder")),
    path("api/", include(builder_api_urls)),
    path(
        "api/dashboards/<uuid:dashboard_id>/exports/",
        DashboardExportView.as_view(),
        name="dashboard-exports",
    ),
    path("dashboards/", include("dashboards.urls")),
    path(
        "api/insights/<str:insight_id>/feedback/",
        InsightFeedbackView.as_view(),
        name="insight-feedback",
    ),
    path("api/", include(router.urls)),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "recomamp.api.api_not_found"

admin.site.site_header = "RecomAMP"
admin.site.site_title = "RecomAMP"
admin.site.index_title = "AMC reporting"
