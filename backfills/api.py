"""REST API of backfills. Thin: parse, call a service or selector, respond."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backfills import services
from backfills.models import Backfill, BackfillSegment, BackfillStatus
from backfills.selectors import backfill_progress, backfills_for_user, report_time_series
from instances.api import UUID_PATTERN
from recomamp.errors import FieldError, NotFound, ValidationFailed
from reports.selectors import reports_for_user


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    running = serializers.IntegerField()
    pending = serializers.IntegerField()
    percent = serializers.FloatField()
    time_left_seconds = serializers.FloatField(allow_null=True)


class SegmentSerializer(serializers.ModelSerializer):
    execution = serializers.SlugRelatedField(
        slug_field="execution_id", read_only=True, allow_null=True
    )

    class Meta:
        model = BackfillSegment
        fields = [
            "sequence",
            "window_start",
            "window_end",
            "status",
            "attempts",
            "execution",
            "next_attempt_at",
            "error_message",
            "updated_at",
        ]
        read_only_fields = fields


class CollectionSerializer(serializers.ModelSerializer):
    report = serializers.SlugRelatedField(slug_field="report_id", read_only=True)
    instance = serializers.UUIDField(source="report.instance_id", read_only=True)
    user = serializers.CharField(source="user.username", read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Backfill
        fields = [
            "id",
            "report",
            "instance",
            "user",
            "status",
            "lookback_config",
            "segment_type",
            "segmentation_config",
            "start_date",
            "end_date",
            "total_segments",
            "completed_segments",
            "failed_segments",
            "progress",
            "error_message",
            "started_at",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema(responses=ProgressSerializer)
    def get_progress(self, backfill) -> dict:
        progress = backfill_progress(backfill=backfill)
        return ProgressSerializer(progress).data


class CollectionDetailSerializer(CollectionSerializer):
    segments = SegmentSerializer(many=True, read_only=True)

    class Meta(CollectionSerializer.Meta):
        fields = [*CollectionSerializer.Meta.fields, "segments"]
        read_only_fields = fields


class SeriesPointSerializer(serializers.Serializer):
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    execution_id = serializers.CharField()
    rows = serializers.ListField(child=serializers.DictField())

    class Meta:
        ref_name = "BackfillSeriesPoint"


class BackfillDefinitionSerializer(serializers.Serializer):
    """What a backfill covers and how it is cut; the services validate it (errors name the
    field). Shared with the builder's backfill step."""

    lookback_config = serializers.JSONField(
        help_text='{"type": "relative", "value": 30, "unit": "days"} or '
        '{"type": "custom", "start_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD"}'
    )
    segmentation_config = serializers.JSONField(
        required=False,
        default=dict,
        help_text='{"type": "daily|weekly|monthly|quarterly", "parallel_limit": 10, '
        '"retry_failed": true, "max_attempts": 3}',
    )


class BackfillRequestSerializer(BackfillDefinitionSerializer):
    report = serializers.CharField(help_text="The report's report_id, e.g. rpt_ab12cd34.")
    segment_type = serializers.CharField(
        required=False, help_text="Shorthand for segmentation_config.type."
    )

    def config(self) -> dict:
        """The segmentation config with the segment_type shorthand folded in."""
        data = self.validated_data
        config = data["segmentation_config"]
        if "segment_type" not in data:
            return config
        if not isinstance(config, dict):
            return config  # the service names the field
        if config.get("type", data["segment_type"]) != data["segment_type"]:
            raise ValidationFailed(
                [
                    FieldError(
                        "segment_type",
                        "invalid",
                        "Differs from segmentation_config.type; give one of them.",
                    )
                ]
            )
        return {**config, "type": data["segment_type"]}


class BackfillCreateSerializer(BackfillRequestSerializer):
    start = serializers.BooleanField(default=True, help_text="Start at once (default).")


class SegmentPreviewSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    partial = serializers.BooleanField()


class PreviewResponseSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    days = serializers.IntegerField()
    segmentation_config = serializers.DictField()
    instance_cap = serializers.IntegerField()
    segment_count = serializers.IntegerField()
    typical_segment_seconds = serializers.FloatField()
    estimated_seconds = serializers.FloatField()
    segments = SegmentPreviewSerializer(many=True)


class CollectionFilter(filters.FilterSet):
    report = filters.CharFilter(field_name="report__report_id")
    instance = filters.UUIDFilter(field_name="report__instance_id")
    status = filters.MultipleChoiceFilter(choices=BackfillStatus.choices)

    class Meta:
        model = Backfill
        fields = ["report", "instance", "status", "segment_type"]


class BackfillViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Backfills of reports on the instances you can see, with their progress."""

    lookup_value_regex = UUID_PATTERN
    filterset_class = CollectionFilter
    ordering_fields = ["created_at", "started_at", "completed_at"]
    ordering = ["-created_at"]
    search_fields = ["report__name", "report__report_id"]

    def get_queryset(self):
        queryset = backfills_for_user(user=self.request.user)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("segments__execution")
        return queryset

    def get_serializer_class(self):
        return CollectionDetailSerializer if self.action == "retrieve" else CollectionSerializer

    def _report(self, report_id: str):
        report = reports_for_user(user=self.request.user).filter(report_id=report_id).first()
        if report is None:
            raise NotFound(f"No report {report_id!r} on your instances.", field="report")
        return report

    def _respond(self, backfill, status_code=status.HTTP_200_OK):
        backfill = self.get_queryset().prefetch_related("segments__execution").get(pk=backfill.pk)
        return Response(CollectionDetailSerializer(backfill).data, status=status_code)

    @extend_schema(request=BackfillCreateSerializer, responses={201: CollectionDetailSerializer})
    def create(self, request):
        """Create a backfill (its row and all its segments) and start it."""
        serializer = BackfillCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        backfill = services.create_backfill(
            report=self._report(serializer.validated_data["report"]),
            user=request.user,
            lookback_config=serializer.validated_data["lookback_config"],
            segmentation_config=serializer.config(),
            start=serializer.validated_data["start"],
        )
        return self._respond(backfill, status.HTTP_201_CREATED)

    @extend_schema(request=BackfillRequestSerializer, responses=PreviewResponseSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The segments and estimated duration of a backfill; writes nothing."""
        serializer = BackfillRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = services.preview_backfill(
            report=self._report(serializer.validated_data["report"]),
            lookback_config=serializer.validated_data["lookback_config"],
            segmentation_config=serializer.config(),
        )
        return Response(
            PreviewResponseSerializer(
                {
                    "start_date": plan.window.start,
                    "end_date": plan.window.end,
                    "days": plan.window.days,
                    "segmentation_config": plan.config.as_json(),
                    "instance_cap": plan.instance_cap,
                    "segment_count": len(plan.segments),
                    "typical_segment_seconds": plan.typical_segment_seconds,
                    "estimated_seconds": plan.estimated_seconds,
                    "segments": [
                        {
                            "index": s.index,
                            "start": s.start,
                            "end": s.end,
                            "days": s.days,
                            "partial": s.partial,
                        }
                        for s in plan.segments
                    ],
                }
            ).data
        )

    @extend_schema(request=None, responses=CollectionDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start a backfill created with start=false."""
        backfill = services.start_backfill(backfill=self.get_object(), user=request.user)
        return self._respond(backfill)

    @extend_schema(request=None, responses=CollectionDetailSerializer)
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request, pk=None):
        """Run the failed segments again, with a fresh set of attempts."""
        backfill = self.get_object()
        services.retry_failed(backfill=backfill, user=request.user)
        return self._respond(backfill)

    @extend_schema(request=None, responses=CollectionDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Send no more segments and cancel the running ones, at AMC too."""
        backfill = services.cancel_backfill(backfill=self.get_object(), user=request.user)
        return self._respond(backfill)

    @extend_schema(responses=SeriesPointSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, search_fields=[])
    def series(self, request, pk=None):
        """The completed segments' result rows, one point per segment window, oldest first,
        paginated (`page`, `page_size`)."""
        backfill = self.get_object()
        points = report_time_series(report=backfill.report, backfill=backfill, user=request.user)
        page = self.paginate_queryset(points)
        return self.get_paginated_response(SeriesPointSerializer(page, many=True).data)
