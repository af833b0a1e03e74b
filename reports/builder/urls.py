from django.urls import path

from reports.builder import api, pages

api_urlpatterns = [
    path("builder/validate/", api.ValidateView.as_view(), name="builder-validate"),
    path(
        "builder/schedule-preview/",
        api.SchedulePreviewView.as_view(),
        name="builder-schedule-preview",
    ),
    path("builder/review/", api.ReviewView.as_view(), name="builder-review"),
    path("builder/submit/", api.SubmitView.as_view(), name="builder-submit"),
    path("reports/<str:report_id>/audit/", api.ReportAuditView.as_view(), name="report-audit"),
]

app_name = "builder"

urlpatterns = [
    path("", pages.picker, name="picker"),
    path("new/<slug:template_id>/", pages.start, name="start"),
    path("<uuid:draft_id>/parameters/", pages.parameters, name="parameters"),
    path("<uuid:draft_id>/schedule/", pages.schedule, name="schedule"),
    path("<uuid:draft_id>/review/", pages.review, name="review"),
]
