"""Delivery of alerts: email through Django's backend, and a JSON POST to webhooks.

The webhook body carries a Slack-compatible `text` beside the structured fields. Webhook URLs
are checked and sent as scheduled delivery's are (`recomamp.webhooks`: https, public addresses
on save, before each POST and on the connected socket; signed; redirects never followed).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from operations.alerts import Change
from operations.models import AlertChannel, AlertSubscription
from recomamp import webhooks
from recomamp.errors import DomainError

log = logging.getLogger(__name__)


def message(change: Change) -> tuple[str, str]:
    incident = change.incident
    label = incident.get_kind_display()
    if change.event == "opened":
        return f"[RecomAMP] {label}", incident.summary
    return f"[RecomAMP] Recovered: {label}", f"Recovered: {incident.summary}"


def recipients(change: Change) -> tuple[list[str], list[str]]:
    """Email addresses (the report's owner and subscribers) and webhook URLs."""
    incident = change.incident
    emails: list[str] = []
    webhooks: list[str] = []
    if incident.report_id is None:
        return emails, webhooks
    owner_email = getattr(incident.report.owner, "email", "") if incident.report.owner_id else ""
    if owner_email:
        emails.append(owner_email)
    for channel, target in AlertSubscription.objects.filter(
        report_id=incident.report_id, is_active=True
    ).values_list("channel", "target"):
        (emails if channel == AlertChannel.EMAIL else webhooks).append(target)
    return sorted(set(emails)), sorted(set(webhooks))


def deliver(change: Change) -> dict[str, int]:
    subject, body = message(change)
    emails, webhooks = recipients(change)
    sent = {"emails": 0, "webhooks": 0}
    if emails:
        sent["emails"] = send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
    incident = change.incident
    payload = {
        "text": f"{subject}\n{body}",
        "event": change.event,
        "kind": incident.kind,
        "summary": incident.summary,
        "report_id": incident.report.report_id if incident.report_id else None,
        "instance": incident.instance.instance_id,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }
    for url in webhooks:
        if post_webhook(url, payload):
            sent["webhooks"] += 1
    return sent


def post_webhook(url: str, payload: dict) -> bool:
    try:
        webhooks.post(url, payload, event=f"alert.{payload['event']}")
    except (DomainError, webhooks.WebhookFailed) as exc:
        log.warning("alert webhook not delivered: %s", exc)
        return False
    return True
