"""The builder wizard for analysts, server-rendered in the admin's look.

/builder/                          template picker (cards by category, search)
/builder/new/<template_id>/        starts a walk (a draft id) and goes to its parameters
/builder/<draft>/parameters/       step 1: name, instance, timezone, the generated parameter form
/builder/<draft>/schedule/         step 2: once or a friendly schedule, a backfill, run now
/builder/<draft>/review/           step 3: everything at once; POST is step 4, submit

The walk's choices live in the session under its draft id; each step calls the builder
services (the ones the API calls), which write the audit rows. Submit uses the draft id as its
idempotency key, so a double click makes one report.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from recomamp.errors import DomainError, ValidationFailed
from reports.builder import services
from reports.builder.forms import BuilderScheduleForm
from reports.forms import BuilderParametersForm
from reports.models import QueryTemplate

SESSION_KEY = "report_builder"
STEPS = [("parameters", "Parameters"), ("schedule", "Schedule"), ("review", "Review & submit")]


def _context(request, **extra):
    keys = [key for key, _ in STEPS]
    current = keys.index(extra["step"]) if extra.get("step") in keys else -1
    steps = [
        (label, "current" if index == current else "done" if index < current else "")
        for index, (_, label) in enumerate(STEPS)
    ]
    return {**admin.site.each_context(request), "steps": steps, **extra}


def _drafts(request) -> dict:
    return request.session.setdefault(SESSION_KEY, {})


def _draft(request, draft_id: uuid.UUID) -> dict:
    draft = _drafts(request).get(str(draft_id))
    if draft is None:
        raise Http404("This report builder walk has expired; start again.")
    return draft


def _save(request, draft_id: uuid.UUID, draft: dict) -> None:
    _drafts(request)[str(draft_id)] = draft
    request.session.modified = True


def _template(draft: dict) -> QueryTemplate:
    template = QueryTemplate.objects.filter(template_id=draft["template"], is_active=True).first()
    if template is None:
        raise Http404("The template is no longer available.")
    return template


def _config(request, draft_id, draft: dict) -> services.BuilderConfig:
    return services.BuilderConfig(
        template=_template(draft),
        instance=services.resolve_instance(user=request.user, instance_id=draft["instance"]),
        name=draft["name"],
        description=draft.get("description", ""),
        parameters=draft.get("parameters", {}),
        timezone=draft.get("timezone"),
        lookback_days=draft.get("lookback_days", 7),
        schedule=draft.get("schedule"),
        backfill=draft.get("backfill"),
        run_now=draft.get("run_now", False),
        client_timezone=draft.get("client_timezone"),
        draft_id=draft_id,
    )


@login_required
def picker(request):
    """Step 0: the catalogue as cards by category, with a search box."""
    by_category: OrderedDict[str, list] = OrderedDict()
    for template in QueryTemplate.objects.filter(is_active=True).order_by("category", "name"):
        by_category.setdefault(template.category or "Other", []).append(template)
    return render(
        request,
        "builder/picker.html",
        _context(request, title="New report: pick a template", categories=by_category),
    )


@login_required
def start(request, template_id: str):
    template = QueryTemplate.objects.filter(template_id=template_id, is_active=True).first()
    if template is None:
        raise Http404("No such template.")
    draft_id = uuid.uuid4()
    _save(request, draft_id, {"template": template.template_id, "name": template.name})
    return redirect("builder:parameters", draft_id=draft_id)


@login_required
@require_http_methods(["GET", "POST"])
def parameters(request, draft_id: uuid.UUID):
    draft = _draft(request, draft_id)
    template = _template(draft)
    initial = {
        key: draft[key]
        for key in ("name", "instance", "timezone", "lookback_days", "description", "parameters")
        if key in draft
    }
    form = BuilderParametersForm(
        request.POST or None, user=request.user, template=template, initial=initial
    )
    if request.method == "POST":
        valid = form.is_valid()
        instance = form.cleaned_data.get("instance") if valid else None
        if instance is not None:
            # The step's audit row; the form has already run the same check.
            services.validate_step(
                user=request.user,
                template=template,
                instance=instance,
                parameters=form.cleaned_data["parameters"],
                tz_name=form.cleaned_data["timezone"],
                draft_id=draft_id,
            )
            draft.update(
                name=form.cleaned_data["name"],
                instance=str(instance.pk),
                timezone=form.cleaned_data["timezone"],
                lookback_days=form.cleaned_data["lookback_days"],
                description=form.cleaned_data["description"],
                parameters=form.cleaned_data["parameters"],
            )
            _save(request, draft_id, draft)
            return redirect("builder:schedule", draft_id=draft_id)
    return render(
        request,
        "builder/parameters.html",
        _context(
            request,
            title=f"New report: {template.name}",
            step="parameters",
            template=template,
            form=form,
            draft_id=draft_id,
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def schedule(request, draft_id: uuid.UUID):
    draft = _draft(request, draft_id)
    if "instance" not in draft:
        return redirect("builder:parameters", draft_id=draft_id)
    template = _template(draft)
    instance = services.resolve_instance(user=request.user, instance_id=draft["instance"])
    report_tz = draft.get("timezone") or instance.time_zone
    form = BuilderScheduleForm(
        request.POST or None, initial=BuilderScheduleForm.initial_from(draft, report_tz)
    )
    if request.method == "POST" and form.is_valid():
        schedule_config, backfill, run_now = form.choices()
        client_tz = request.POST.get("client_timezone") or None
        try:
            if schedule_config is not None or backfill is not None:
                services.schedule_preview_step(
                    user=request.user,
                    instance=instance,
                    report_timezone=report_tz,
                    client_timezone=client_tz,
                    schedule=schedule_config,
                    backfill=backfill,
                    draft_id=draft_id,
                )
            else:
                services.record_step(
                    user=request.user,
                    step="schedule",
                    action="run once chosen",
                    configuration={"run_now": run_now},
                    draft_id=draft_id,
                )
        except ValidationFailed as exc:
            for error in exc.errors:
                field = form.field_for_error(error.field)
                form.add_error(field, error.message)
        else:
            draft.update(
                schedule=schedule_config,
                backfill=backfill,
                run_now=run_now,
                client_timezone=client_tz,
            )
            _save(request, draft_id, draft)
            return redirect("builder:review", draft_id=draft_id)
    return render(
        request,
        "builder/schedule.html",
        _context(
            request,
            title=f"New report: {template.name}",
            step="schedule",
            template=template,
            instance=instance,
            report_timezone=report_tz,
            form=form,
            draft_id=draft_id,
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def review(request, draft_id: uuid.UUID):
    draft = _draft(request, draft_id)
    if "instance" not in draft:
        return redirect("builder:parameters", draft_id=draft_id)
    config = _config(request, draft_id, draft)
    if request.method == "POST":
        try:
            submission = services.submit_step(
                user=request.user, config=config, idempotency_key=f"builder:{draft_id}"
            )
        except DomainError as exc:
            for error in exc.errors:
                messages.error(request, f"{error.field}: {error.message}")
            return redirect("builder:review", draft_id=draft_id)
        report = submission.report
        if not submission.replayed:
            messages.success(request, f"Report {report.name} ({report.report_id}) created.")
        return redirect(reverse("admin:reports_reportdefinition_change", args=[report.pk]))
    errors, summary = [], None
    try:
        summary = services.review_step(user=request.user, config=config)
    except ValidationFailed as exc:
        errors = exc.errors
    if summary and summary["schedule"]:
        for run in summary["schedule"]["runs"]:
            run["at"] = datetime.fromisoformat(run["local"])
    return render(
        request,
        "builder/review.html",
        _context(
            request,
            title=f"New report: {config.template.name}",
            step="review",
            template=config.template,
            review=summary,
            errors=errors,
            can_submit=not errors and services.can_submit(user=request.user, config=config),
            draft_id=draft_id,
        ),
    )
