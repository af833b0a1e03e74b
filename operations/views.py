"""The system status page, for staff in the admin: load per instance, stuck runs, failing
schedules, the periodic tasks, with actions that go through the same services as the API."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from instances.selectors import restrict_to_user
from operations import selectors
from recomamp.errors import DomainError
from reports.models import ReportExecution
from reports.services.executions import cancel_execution, run_report
from schedules.models import ReportSchedule
from schedules.services import pause_schedule


def _retry(request, pk):
    execution = get_object_or_404(
        restrict_to_user(ReportExecution.objects, user=request.user), pk=pk
    )
    new = run_report(report=execution.report, user=request.user)
    return f"{execution.execution_id} run again as {new.execution_id}."


def _cancel(request, pk):
    execution = get_object_or_404(
        restrict_to_user(ReportExecution.objects, user=request.user), pk=pk
    )
    cancel_execution(execution=execution, user=request.user)
    return f"Cancel requested for {execution.execution_id}."


def _pause(request, pk):
    schedules = restrict_to_user(
        ReportSchedule.objects.select_related("report__instance"),
        user=request.user,
        instance_path="report__instance",
    )
    schedule = get_object_or_404(schedules, pk=pk)
    pause_schedule(schedule=schedule, user=request.user)
    return f"Schedule {schedule.schedule_id} paused."


ACTIONS = {"retry": _retry, "cancel": _cancel, "pause": _pause}


@require_http_methods(["GET", "POST"])
def status_page(request):
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            raise Http404("unknown action")
        try:
            pk = uuid.UUID(request.POST.get("id", ""))
        except ValueError as exc:  # a malformed id is a 404, like a foreign one
            raise Http404("unknown object") from exc
        try:
            messages.success(request, action(request, pk))
        except DomainError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("operations-status"))
    context = {
        **admin.site.each_context(request),
        "title": "System status",
        "instances": selectors.instance_statuses(user=request.user),
        "stuck": selectors.stuck_executions(user=request.user),
        "failing": selectors.failing_schedules(user=request.user),
        "periodic": selectors.periodic_tasks(),
    }
    return TemplateResponse(request, "operations/status.html", context)
