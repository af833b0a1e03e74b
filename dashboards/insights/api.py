"""POST /api/insights/{id}/feedback/: an analyst marks an insight useful or wrong."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards.insights import services
from dashboards.models import FeedbackVerdict, InsightFeedback
from recomamp.errors import NotFound


class InsightFeedbackRequestSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=FeedbackVerdict.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=services.NOTE_MAX_LENGTH, default=""
    )


class InsightFeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = InsightFeedback
        fields = ["id", "insight", "verdict", "note", "created_at", "updated_at"]
        read_only_fields = fields


class InsightFeedbackView(APIView):
    """Your verdict on one insight; posting again changes it (one verdict per user)."""

    @extend_schema(
        operation_id="insights_feedback_create",
        request=InsightFeedbackRequestSerializer,
        responses={
            201: InsightFeedbackSerializer,
            200: InsightFeedbackSerializer,
            400: OpenApiResponse(description="A field is invalid (verdict, note)."),
            404: OpenApiResponse(description="No such insight on an instance you can see."),
        },
        description="Mark an insight useful or wrong, with an optional note. 201 the first "
        "time, 200 when it changes your earlier verdict.",
    )
    def post(self, request, insight_id: str):
        try:
            insight_uuid = uuid.UUID(str(insight_id))
        except ValueError as error:
            raise NotFound("No such insight.", field="insight_id") from error
        body = InsightFeedbackRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        feedback, created = services.record_insight_feedback(
            user=request.user, insight_id=insight_uuid, **body.validated_data
        )
        return Response(
            InsightFeedbackSerializer(feedback).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
