"""Storing findings as a view's DashboardInsight rows (Django side of the insights)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction

from dashboards.insights.model import Finding
from dashboards.models import DashboardInsight, DashboardView


def stored_confidence(confidence: float) -> Decimal:
    """Two decimals, rounded down so that a stored confidence never overstates the finding."""
    value = Decimal(str(min(max(float(confidence), 0.0), 1.0)))
    return value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def replace_view_insights(
    *, view: DashboardView | str, findings: Iterable[Finding]
) -> list[DashboardInsight]:
    """Make `findings` the view's insights, all at once: readers see the old set or the new.

    The view row is locked, so two refreshes of one view never interleave their rows.
    """
    findings = list(findings)
    with transaction.atomic():
        view_id = view.pk if isinstance(view, DashboardView) else view
        locked = DashboardView.objects.select_for_update().get(pk=view_id)
        DashboardInsight.objects.filter(dashboard_view=locked).delete()
        return DashboardInsight.objects.bulk_create(
            DashboardInsight(
                dashboard_view=locked,
                insight_type=finding.insight_type,
                insight_text=finding.text,
                confidence_score=stored_confidence(finding.confidence),
                source_data=finding.source_data,
                ai_model=finding.ai_model[:100],
                prompt_version=finding.prompt_version[:20],
            )
            for finding in findings
        )
