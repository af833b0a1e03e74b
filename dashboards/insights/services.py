"""Analysts' feedback on insights: writes, and the insights a user may see."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from dashboards.models import DashboardInsight, FeedbackVerdict, InsightFeedback
from instances.selectors import restrict_to_user
from recomamp.errors import FieldError, NotFound, ValidationFailed

INSIGHT_INSTANCE = "dashboard_view__report_configuration__dashboard__instance"
NOTE_MAX_LENGTH = 2000


def insights_for_user(*, user) -> QuerySet[DashboardInsight]:
    """Insights of dashboards on the instances the user may see."""
    return restrict_to_user(
        DashboardInsight.objects.all(), user=user, instance_path=INSIGHT_INSTANCE
    )


def _snapshot(insight: DashboardInsight) -> dict:
    return {
        "insight_type": insight.insight_type,
        "insight_text": insight.insight_text,
        "confidence_score": str(insight.confidence_score),
        "ai_model": insight.ai_model,
        "prompt_version": insight.prompt_version,
        "source_data": insight.source_data,
        "dashboard_view": str(insight.dashboard_view_id),
        "generated_at": insight.generated_at.isoformat() if insight.generated_at else None,
    }


def record_insight_feedback(
    *, user, insight_id, verdict: str, note: str = ""
) -> tuple[InsightFeedback, bool]:
    """Store (or change) the user's verdict on an insight. Returns (feedback, created).

    An insight the user cannot see is not found, exactly like one that does not exist.
    """
    errors = []
    if verdict not in FeedbackVerdict.values:
        errors.append(FieldError("verdict", "invalid_choice", "Must be useful or wrong."))
    if len(note) > NOTE_MAX_LENGTH:
        errors.append(FieldError("note", "max_length", f"At most {NOTE_MAX_LENGTH} characters."))
    if errors:
        raise ValidationFailed(errors)
    insight = insights_for_user(user=user).filter(pk=insight_id).first()
    if insight is None:
        raise NotFound("No such insight.", field="insight_id")
    defaults = {"verdict": verdict, "note": note, "insight_snapshot": _snapshot(insight)}
    try:
        with transaction.atomic():
            return InsightFeedback.objects.update_or_create(
                insight=insight, user=user, defaults=defaults
            )
    except IntegrityError:
        # Two posts of the same user raced to create the row: the second one updates it.
        with transaction.atomic():
            return InsightFeedback.objects.update_or_create(
                insight=insight, user=user, defaults=defaults
            )
