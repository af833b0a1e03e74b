"""The analyst's dashboard pages: server-rendered, each chart an inline SVG on first paint.

Thin: parse -> selector/service -> render. Tenancy through the selectors (a dashboard of an
instance the user cannot see is a 404); refresh and rebuild need write access (a 403 for
viewers).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboards import selectors
from dashboards.models import ReportConfiguration
from dashboards.services import actions
from dashboards.widgets import DataPlan
from recomamp.errors import NotFound, PermissionDenied, ValidationFailed

#: How often a "building" page asks whether its data is ready.
POLL_SECONDS = 2


def _dashboard(request, pk):
    try:
        return selectors.dashboard_for_user(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such dashboard.") from None


@require_GET
@login_required
def dashboard_list(request):
    dashboards = selectors.dashboards_for_user(
        user=request.user, search=request.GET.get("q") or None
    )
    return render(
        request,
        "dashboards/list.html",
        {"dashboards": dashboards, "q": request.GET.get("q", "")},
    )


def _content_context(request, dashboard):
    configuration = ReportConfiguration.objects.select_related("report").get(dashboard=dashboard)
    plan = DataPlan.from_dict(configuration.data_aggregation_settings)
    filter_error = None
    try:
        filters = selectors.parse_filters(request.GET, plan=plan)
    except ValidationFailed as exc:
        filters = selectors.parse_filters({}, plan=plan)
        filter_error = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    content = selectors.dashboard_content(dashboard=dashboard, filters=filters)
    return {
        "dashboard": dashboard,
        "report": configuration.report,
        "plan": plan,
        "content": content,
        "filter_error": filter_error,
        "query": request.GET.urlencode(),
        "can_rebuild": selectors.can_rebuild(user=request.user, dashboard=dashboard),
        "poll_seconds": POLL_SECONDS,
    }


@require_GET
@login_required
def dashboard_detail(request, pk):
    dashboard = _dashboard(request, pk)
    context = _content_context(request, dashboard)
    if request.htmx:  # the "building" placeholder polling for its data
        return render(request, "dashboards/_content.html", context)
    return render(request, "dashboards/detail.html", context)


@require_POST
@login_required
def toggle_favorite(request, pk):
    dashboard = _dashboard(request, pk)
    if dashboard.is_favorite:
        actions.remove_favorite(user=request.user, dashboard=dashboard)
    else:
        actions.add_favorite(user=request.user, dashboard=dashboard)
    dashboard.is_favorite = not dashboard.is_favorite
    if request.htmx:
        return render(request, "dashboards/_favorite.html", {"dashboard": dashboard})
    return redirect(request.POST.get("next") or reverse("dashboards:detail", args=[dashboard.pk]))


@require_POST
@login_required
def refresh(request, pk):
    dashboard = _dashboard(request, pk)
    try:
        if request.POST.get("rebuild"):
            result = actions.rebuild(
                user=request.user, dashboard=dashboard, force=bool(request.POST.get("force"))
            )
            text = (
                "Rebuilt from the template."
                if result.rebuilt or result.created
                else f"Not rebuilt: {result.skipped_reason}."
            )
        else:
            actions.refresh(user=request.user, dashboard=dashboard)
            text = "Refresh queued."
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    if request.htmx:
        return HttpResponse(text)
    messages.info(request, text)
    return redirect(reverse("dashboards:detail", args=[dashboard.pk]))


# -- exports from the page ---------------------------------------------------------------------


@require_POST
@login_required
def export(request, pk):
    """Ask for a PDF, PNG, CSV or Excel file of the dashboard; the file is built in the
    background and the status page offers it when ready (the same service as the API)."""
    from dashboards.exports import services as exports
    from dashboards.models import ExportFormat

    dashboard = _dashboard(request, pk)
    export_format = request.POST.get("format", "")
    if export_format not in ExportFormat.values:
        return HttpResponse(f"format: choose one of {', '.join(ExportFormat.values)}.", status=400)
    try:
        export, _queued = exports.request_export(
            dashboard=dashboard, user=request.user, export_format=export_format
        )
    except NotFound as exc:
        raise Http404(str(exc)) from None
    return redirect(reverse("dashboards:export-status", args=[export.pk]))


@require_GET
@login_required
def export_status(request, export_pk):
    """Owner-only, like the download: another user's export is a 404."""
    from dashboards.models import ExportStatus, ReportExport

    export = (
        ReportExport.objects.select_related("report_configuration__dashboard")
        .filter(pk=export_pk, user=request.user)
        .first()
    )
    if export is None:
        raise Http404("No such export.")
    from django.utils import timezone

    expired = export.expires_at is not None and export.expires_at <= timezone.now()
    ready = export.status == ExportStatus.COMPLETED and not expired
    return render(
        request,
        "dashboards/export_status.html",
        {
            "export": export,
            "dashboard": export.report_configuration.dashboard,
            "in_flight": export.status in (ExportStatus.PENDING, ExportStatus.PROCESSING),
            "expired": expired,
            "download_url": reverse("export-download", args=[export.pk]) if ready else None,
            "poll_seconds": POLL_SECONDS,
        },
    )
