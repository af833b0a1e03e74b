"""Writes of operations: alert subscriptions per report."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from operations.models import AlertChannel, AlertSubscription
from operations.notify import check_webhook_url
from recomamp.errors import Conflict, FieldError, ValidationFailed
from reports.models import ReportDefinition
from reports.services.reports import require_write


def validate_target(*, channel: str, target: str) -> str:
    target = target.strip()
    try:
        if channel == AlertChannel.EMAIL:
            validate_email(target)
        elif channel == AlertChannel.WEBHOOK:
            check_webhook_url(target)
        else:
            raise ValidationFailed([FieldError("channel", "invalid", "Use email or webhook.")])
    except ValidationError as exc:
        raise ValidationFailed([FieldError("target", "invalid", exc.messages[0])]) from exc
    return target


def subscribe(*, report: ReportDefinition, user, channel: str, target: str) -> AlertSubscription:
    require_write(user=user, instance=report.instance)
    target = validate_target(channel=channel, target=target)
    try:
        with transaction.atomic():
            return AlertSubscription.objects.create(report=report, channel=channel, target=target)
    except IntegrityError as exc:
        raise Conflict("This report already alerts that target.", field="target") from exc


def unsubscribe(*, subscription: AlertSubscription, user) -> None:
    require_write(user=user, instance=subscription.report.instance)
    subscription.delete()
