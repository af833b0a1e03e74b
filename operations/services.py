"""Writes of operations: alert subscriptions per report."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from operations.models import AlertSubscription
from recomamp.errors import Conflict
from reports.models import ReportDefinition
from reports.services.reports import require_write
from schedules import delivery


def subscribe(*, report: ReportDefinition, user, channel: str, target: str) -> AlertSubscription:
    require_write(user=user, instance=report.instance)
    target = delivery.validate_target(channel=channel, target=target)
    try:
        with transaction.atomic():
            return AlertSubscription.objects.create(report=report, channel=channel, target=target)
    except IntegrityError as exc:
        raise Conflict("This report already alerts that target.", field="target") from exc


def unsubscribe(*, subscription: AlertSubscription, user) -> None:
    require_write(user=user, instance=subscription.report.instance)
    subscription.delete()
