"""Scheduled delivery: after each successful scheduled run, the report goes to its subscribers.

- Channels: email (the dashboard as a PDF attachment and a link, through Django's email
  backend) and webhook (a JSON POST to a checked URL).
- Trigger: `execution_finished` for a *completed* scheduled run queues `deliver_scheduled_run`
  (on the exports queue). A failed or cancelled run sends nothing.
- The dashboard must show the run before it is sent: the task waits (re-queues itself) until
  the dashboard's refresh (`dashboards.services.refresh`, started by the same signal) has run
  after the run completed, for up to `REFRESH_WAIT_ATTEMPTS` tries; then it sends what is there.
- At most once per (run, subscriber): a `ScheduledDelivery` row is claimed before sending, so a
  task delivered twice sends nothing twice.

Subscribers are set through `add_subscriber`, `remove_subscriber` and `set_subscribers` (the
builder's schedule step), by the API (`/api/delivery-subscribers/`) and the admin (an inline
on reports).
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from instances.selectors import can_write
from recomamp import webhooks
from recomamp.errors import Conflict, DomainError, FieldError, PermissionDenied, ValidationFailed
from recomamp.webhooks import check_webhook_url
from reports.models import ExecutionStatus, ReportDefinition, ReportExecution
from schedules.models import (
    DeliveryChannel,
    DeliveryStatus,
    DeliverySubscriber,
    ScheduledDelivery,
)

logger = logging.getLogger(__name__)

REFRESH_WAIT_SECONDS = 10
REFRESH_WAIT_ATTEMPTS = 30  # five minutes, then the dashboard is sent as it is
WEBHOOK_EVENT = "report.delivered"


# -- subscribers ------------------------------------------------------------------------------


def validate_target(*, channel: str, target: str) -> str:
    """The normalised target, or a ValidationFailed naming `target` (or `channel`)."""
    target = (target or "").strip()
    if channel == DeliveryChannel.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise ValidationFailed(
                [FieldError("target", "invalid", "Enter a valid email address.")]
            ) from None
        return target.lower()
    if channel == DeliveryChannel.WEBHOOK:
        if len(target) > 500:
            raise ValidationFailed([FieldError("target", "max_length", "At most 500 characters.")])
        check_webhook_url(target, resolve=False)
        return target
    raise ValidationFailed([FieldError("channel", "invalid_choice", "Use email or webhook.")])


def _check_writer(*, user, report: ReportDefinition) -> None:
    if not can_write(user=user, instance=report.instance):
        raise PermissionDenied("You may not change this report's subscribers.", field="report")


def add_subscriber(
    *, report: ReportDefinition, user, channel: str, target: str
) -> DeliverySubscriber:
    _check_writer(user=user, report=report)
    target = validate_target(channel=channel, target=target)
    try:
        with transaction.atomic():
            return DeliverySubscriber.objects.create(report=report, channel=channel, target=target)
    except IntegrityError:
        raise Conflict("This report already delivers there.", field="target") from None


def update_subscriber(*, subscriber: DeliverySubscriber, user, is_active: bool):
    _check_writer(user=user, report=subscriber.report)
    DeliverySubscriber.objects.filter(pk=subscriber.pk).update(is_active=is_active)
    subscriber.is_active = is_active
    return subscriber


def remove_subscriber(*, subscriber: DeliverySubscriber, user) -> None:
    _check_writer(user=user, report=subscriber.report)
    subscriber.delete()


def set_subscribers(
    *, report: ReportDefinition, user, subscribers: list[dict]
) -> list[DeliverySubscriber]:
    """Make the report's subscribers exactly `subscribers` ([{channel, target}]), atomically.

    For the builder's schedule step; unchanged entries keep their delivery history.
    """
    _check_writer(user=user, report=report)
    wanted: dict[tuple[str, str], None] = {}
    errors: list[FieldError] = []
    for index, item in enumerate(subscribers):
        try:
            channel = item.get("channel", "")
            wanted[(channel, validate_target(channel=channel, target=item.get("target", "")))] = (
                None
            )
        except DomainError as exc:
            errors += [
                FieldError(f"subscribers[{index}].{e.field}", e.code, e.message) for e in exc.errors
            ]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        existing = {
            (s.channel, s.target): s
            for s in DeliverySubscriber.objects.select_for_update().filter(report=report)
        }
        for key, subscriber in existing.items():
            if key not in wanted:
                subscriber.delete()
            elif not subscriber.is_active:
                DeliverySubscriber.objects.filter(pk=subscriber.pk).update(is_active=True)
        for channel, target in wanted:
            if (channel, target) not in existing:
                DeliverySubscriber.objects.create(report=report, channel=channel, target=target)
    return list(DeliverySubscriber.objects.filter(report=report))


# -- delivery ---------------------------------------------------------------------------------


def wants_delivery(execution: ReportExecution) -> bool:
    return (
        execution.schedule_id is not None
        and execution.status == ExecutionStatus.COMPLETED
        and DeliverySubscriber.objects.filter(
            report_id=execution.report_id, is_active=True
        ).exists()
    )


def _configuration(report: ReportDefinition):
    from dashboards.models import ReportConfiguration

    configuration = ReportConfiguration.objects.filter(report=report, is_enabled=True).first()
    if configuration is None and report.dashboard_id:
        configuration = ReportConfiguration.objects.filter(dashboard_id=report.dashboard_id).first()
    return configuration


def dashboard_is_current(*, configuration, execution: ReportExecution) -> bool:
    """The dashboard's last refresh started after the run completed, so it shows the run."""
    if configuration is None or execution.completed_at is None:
        return True
    from dashboards.models import Dashboard

    refreshed = (
        Dashboard.objects.filter(pk=configuration.dashboard_id)
        .values_list("data_refreshed_at", flat=True)
        .first()
    )
    return refreshed is not None and refreshed >= execution.completed_at


def deliver_run(*, execution_pk, force: bool = False) -> str:
    """Send a completed scheduled run to the report's active subscribers, each at most once.

    Returns "sent", "nothing" (not a completed scheduled run, or no one to send to) or
    "waiting" (the dashboard refresh has not finished; call again, or with `force`).
    """
    execution = (
        ReportExecution.objects.select_related("report", "report__instance", "schedule")
        .filter(pk=execution_pk)
        .first()
    )
    if execution is None or execution.schedule_id is None:
        return "nothing"
    if execution.status != ExecutionStatus.COMPLETED:
        return "nothing"  # a failed run sends nothing to clients
    subscribers = list(
        DeliverySubscriber.objects.filter(report=execution.report, is_active=True).exclude(
            deliveries__execution=execution
        )
    )
    if not subscribers:
        return "nothing"
    configuration = _configuration(execution.report)
    if not force and not dashboard_is_current(configuration=configuration, execution=execution):
        return "waiting"
    message = _DeliveryMessage(execution, configuration)
    for subscriber in subscribers:
        try:
            claim = ScheduledDelivery.objects.create(execution=execution, subscriber=subscriber)
        except IntegrityError:
            continue  # another delivery of this task got there first
        try:
            if subscriber.channel == DeliveryChannel.EMAIL:
                message.send_email(subscriber.target)
            else:
                message.post_webhook(subscriber.target)
        except Exception as exc:
            logger.warning(
                "delivery of %s to %s failed: %s", execution.execution_id, subscriber.pk, exc
            )
            ScheduledDelivery.objects.filter(pk=claim.pk).update(
                status=DeliveryStatus.FAILED, error_message=str(exc)[:2000]
            )
            continue
        ScheduledDelivery.objects.filter(pk=claim.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now()
        )
    return "sent"


class _DeliveryMessage:
    """What one run sends: built once (the PDF is rendered at most once per run)."""

    def __init__(self, execution: ReportExecution, configuration) -> None:
        from dashboards.exports.content import dashboard_content

        self.execution = execution
        self.report = execution.report
        self.content = (
            dashboard_content(configuration=configuration) if configuration is not None else None
        )
        self._pdf: bytes | None = None

    @property
    def link(self) -> str:
        if self.content is not None:
            return self.content.url
        base = settings.RECOMAMP_PUBLIC_URL.rstrip("/")
        return f"{base}/api/executions/{self.execution.execution_id}/"

    def pdf(self) -> bytes:
        if self._pdf is None:
            from dashboards.exports.services import render_dashboard_pdf

            self._pdf = render_dashboard_pdf(self.content)
        return self._pdf

    def _window(self) -> str:
        e = self.execution
        if e.time_window_start and e.time_window_end:
            return f"{e.time_window_start:%Y-%m-%d} to {e.time_window_end:%Y-%m-%d}"
        return ""

    def send_email(self, address: str) -> None:
        window = self._window()
        lines = [
            f"{self.report.name} ran on schedule" + (f" for {window}." if window else "."),
            "",
        ]
        if self.content is not None:
            lines += [f"{card.title}: {card.formatted}" for card in self.content.cards]
            lines += ["", "The dashboard is attached as a PDF and online at:", self.link]
        else:
            lines += ["The result is available at:", self.link]
        email = EmailMessage(
            subject=f"{self.report.name}" + (f" – {window}" if window else ""),
            body="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
        )
        if self.content is not None:
            name = f"{slugify(self.report.name) or 'report'}-{self.execution.execution_id}.pdf"
            email.attach(name, self.pdf(), "application/pdf")
        email.send(fail_silently=False)

    def payload(self) -> dict:
        e = self.execution
        return {
            "event": WEBHOOK_EVENT,
            "report": {"report_id": self.report.report_id, "name": self.report.name},
            "execution": {
                "execution_id": e.execution_id,
                "schedule_id": e.schedule.schedule_id if e.schedule else None,
                "scheduled_for": e.scheduled_for,
                "completed_at": e.completed_at,
                "row_count": e.row_count,
                "window_start": e.time_window_start,
                "window_end": e.time_window_end,
            },
            "dashboard": None
            if self.content is None
            else {
                "id": self.content.dashboard_id,
                "url": self.content.url,
                "cards": [asdict(card) for card in self.content.cards],
            },
        }

    def post_webhook(self, url: str) -> None:
        webhooks.post(url, self.payload(), event=WEBHOOK_EVENT)
