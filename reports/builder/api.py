"""REST API of the report builder: validate, schedule-preview, review, submit; and a report's
audit trail. Thin: parse, call reports.builder.services, respond."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backfills.api import BackfillDefinitionSerializer
from recomamp.errors import FieldError, NotFound, ValidationFailed
from recomamp.openapi import ErrorItemSerializer, error_responses
from reports.api import ParametersField
from reports.builder import services
from reports.builder.selectors import audit_for_report
from reports.models import ReportBuilderAudit
from reports.selectors import reports_for_user
from schedules.api import ScheduleDefinitionSerializer


def _errors(*codes: int) -> dict:
    """The shared error responses, with what each means on the builder."""
    return error_responses(
        *codes,
        d403="Your access to the instance is read-only.",
        d404="No such instance (or report) among yours.",
        d409="The Idempotency-Key was used for a different request.",
        d429="Too many runs a minute (run_now); `Retry-After` says when to try again.",
    )


# -- requests --------------------------------------------------------------------------------


class BuilderBaseSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="The template's template_id.")
    instance = serializers.UUIDField(help_text="The instance's id (one you have access to).")
    timezone = serializers.CharField(
        required=False, max_length=64, help_text="The report's IANA timezone; the instance's."
    )
    draft_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Ties the steps of one walk through the builder together in the audit trail.",
    )


class ValidateRequestSerializer(BuilderBaseSerializer):
    parameters = ParametersField(required=False, default=dict)
    live = serializers.BooleanField(
        default=False, help_text="An as-you-type check: answered, but not written to the audit."
    )


class ValidateResponseSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = ErrorItemSerializer(many=True)
    sql = serializers.CharField(help_text="The SQL with every placeholder that can be filled.")
    complete = serializers.BooleanField()
    parameters = serializers.DictField(help_text="The values as they will be stored and sent.")
    undefined = serializers.ListField(
        child=serializers.CharField(), help_text="Placeholders without a definition."
    )
    unused = serializers.ListField(
        child=serializers.CharField(), help_text="Definitions without a placeholder."
    )
    issues = serializers.ListField(child=serializers.DictField())
    timezone = serializers.CharField()


class BackfillStepSerializer(BackfillDefinitionSerializer):
    pass


class ScheduleStepSerializer(ScheduleDefinitionSerializer):
    default_parameters = ParametersField(required=False, default=dict)


class SchedulePreviewRequestSerializer(serializers.Serializer):
    instance = serializers.UUIDField()
    timezone = serializers.CharField(required=False, max_length=64)
    client_timezone = serializers.CharField(
        required=False, max_length=64, help_text="The browser's zone, to show runs in."
    )
    schedule = ScheduleStepSerializer(required=False, allow_null=True, default=None)
    backfill = BackfillStepSerializer(required=False, allow_null=True, default=None)
    count = serializers.IntegerField(
        required=False, default=services.DEFAULT_RUN_COUNT, min_value=1, max_value=50
    )
    draft_id = serializers.UUIDField(required=False, allow_null=True)
    live = serializers.BooleanField(default=False)


class RunPreviewSerializer(serializers.Serializer):
    utc = serializers.CharField()
    local = serializers.CharField(help_text="In the schedule's timezone, with its offset.")
    client = serializers.CharField(help_text="In the client's timezone, with its offset.")
    dst_note = serializers.CharField(allow_null=True)


class ScheduleResultSerializer(serializers.Serializer):
    schedule_type = serializers.CharField()
    cron_expression = serializers.CharField()
    timezone = serializers.CharField()
    schedule_config = serializers.DictField()
    client_timezone = serializers.CharField()
    dst_policy = serializers.CharField()
    runs = RunPreviewSerializer(many=True)
    runs_per_month = serializers.FloatField()


class BackfillResultSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    days = serializers.IntegerField()
    segment_type = serializers.CharField()
    segmentation_config = serializers.DictField()
    segment_count = serializers.IntegerField()
    instance_cap = serializers.IntegerField()
    typical_segment_seconds = serializers.FloatField()
    estimated_seconds = serializers.FloatField()
    limits = serializers.DictField(child=serializers.IntegerField())
    segments = serializers.ListField(child=serializers.DictField())


class SchedulePreviewResponseSerializer(serializers.Serializer):
    schedule = ScheduleResultSerializer(allow_null=True)
    backfill = BackfillResultSerializer(allow_null=True)


class BuilderConfigSerializer(BuilderBaseSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    parameters = ParametersField(required=False, default=dict)
    lookback_days = serializers.IntegerField(min_value=1, max_value=365, default=7)
    client_timezone = serializers.CharField(required=False, max_length=64)
    schedule = ScheduleStepSerializer(required=False, allow_null=True, default=None)
    backfill = BackfillStepSerializer(required=False, allow_null=True, default=None)
    run_now = serializers.BooleanField(default=False, help_text="Also run it once now.")
    subscribers = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        allow_null=True,
        default=None,
        help_text='Who gets each scheduled run\'s result: [{"channel": "email", "target": '
        '"a@b.example"}] or a webhook URL.',
    )

    def config(self, user) -> services.BuilderConfig:
        data = self.validated_data
        instance = services.resolve_instance(user=user, instance_id=data["instance"])
        template = services.resolve_template(data["template"])
        return services.BuilderConfig(
            template=template,
            instance=instance,
            name=data["name"],
            description=data["description"],
            parameters=data["parameters"],
            timezone=data.get("timezone"),
            lookback_days=data["lookback_days"],
            schedule=dict(data["schedule"]) if data["schedule"] is not None else None,
            backfill=dict(data["backfill"]) if data["backfill"] is not None else None,
            run_now=data["run_now"],
            client_timezone=data.get("client_timezone"),
            draft_id=data.get("draft_id"),
            subscribers=data["subscribers"],
        )


class ReviewResponseSerializer(serializers.Serializer):
    name = serializers.CharField()
    template = serializers.DictField()
    instance = serializers.DictField()
    timezone = serializers.CharField()
    lookback_days = serializers.IntegerField()
    frequency = serializers.CharField()
    parameters = serializers.ListField(
        child=serializers.DictField(), help_text="name, label, type, value, display."
    )
    sql = serializers.CharField()
    schedule = ScheduleResultSerializer(allow_null=True)
    backfill = BackfillResultSerializer(allow_null=True)
    run_now = serializers.BooleanField()
    subscribers = serializers.ListField(child=serializers.DictField())
    quota = serializers.DictField(help_text="AMC runs this will use: per month and one-off.")


class SubmitResponseSerializer(serializers.Serializer):
    report = serializers.DictField()
    schedule = serializers.DictField(allow_null=True)
    backfill = serializers.DictField(allow_null=True)
    execution = serializers.DictField(allow_null=True)


def _parse(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer


# -- views -----------------------------------------------------------------------------------


class ValidateView(APIView):
    """Builder step 1: per-field errors, the SQL as it would render, and the template's gaps."""

    @extend_schema(
        request=ValidateRequestSerializer,
        responses={200: ValidateResponseSerializer, **_errors(400, 404)},
        tags=["builder"],
    )
    def post(self, request):
        data = _parse(ValidateRequestSerializer, request).validated_data
        instance = services.resolve_instance(user=request.user, instance_id=data["instance"])
        template = services.resolve_template(data["template"])
        check = services.validate_step(
            user=request.user,
            template=template,
            instance=instance,
            parameters=data["parameters"],
            tz_name=data.get("timezone"),
            draft_id=data.get("draft_id"),
            audit=not data["live"],
        )
        body = check.as_dict()
        if not check.valid:
            # The error envelope, with the preview beside it for the form.
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body)


class SchedulePreviewView(APIView):
    """Builder step 2: the next runs (schedule zone, client zone, UTC) and the backfill plan."""

    @extend_schema(
        request=SchedulePreviewRequestSerializer,
        responses={200: SchedulePreviewResponseSerializer, **_errors(400, 404)},
        tags=["builder"],
    )
    def post(self, request):
        data = _parse(SchedulePreviewRequestSerializer, request).validated_data
        if data["schedule"] is None and data["backfill"] is None:
            raise ValidationFailed(
                [FieldError("schedule", "required", "Give a schedule, a backfill, or both.")]
            )
        instance = services.resolve_instance(user=request.user, instance_id=data["instance"])
        plan = services.schedule_preview_step(
            user=request.user,
            instance=instance,
            report_timezone=data.get("timezone"),
            client_timezone=data.get("client_timezone"),
            schedule=data["schedule"],
            backfill=data["backfill"],
            count=data["count"],
            draft_id=data.get("draft_id"),
            audit=not data["live"],
        )
        return Response(
            {
                "schedule": plan.schedule.as_dict() if plan.schedule else None,
                "backfill": plan.backfill.as_dict() if plan.backfill else None,
            }
        )


class ReviewView(APIView):
    """Builder step 3: parameters as read, SQL, first runs, backfill plan and AMC quota."""

    @extend_schema(
        request=BuilderConfigSerializer,
        responses={200: ReviewResponseSerializer, **_errors(400, 404)},
        tags=["builder"],
    )
    def post(self, request):
        config = _parse(BuilderConfigSerializer, request).config(request.user)
        return Response(services.review_step(user=request.user, config=config))


class SubmitView(APIView):
    """Builder step 4: report, schedule, backfill and a first run, atomically.

    Send an `Idempotency-Key` header (any unique string per walk) so that a double click or a
    retried request creates one report: the repeat gets the first answer."""

    @extend_schema(
        request=BuilderConfigSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="The same key returns the first submit's answer.",
            )
        ],
        responses={
            201: SubmitResponseSerializer,
            200: OpenApiResponse(SubmitResponseSerializer, description="A repeated key."),
            **_errors(400, 403, 404, 409, 429),
        },
        tags=["builder"],
    )
    def post(self, request):
        serializer = _parse(BuilderConfigSerializer, request)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            raise ValidationFailed(
                [FieldError("Idempotency-Key", "max_length", "At most 200 characters.")]
            )
        config = serializer.config(request.user)
        submission = services.submit_step(
            user=request.user,
            config=config,
            idempotency_key=key or None,
            fingerprint=services.request_fingerprint(request.data),
        )
        return Response(
            submission.response,
            status=status.HTTP_200_OK if submission.replayed else status.HTTP_201_CREATED,
            headers={"Idempotent-Replayed": "true"} if submission.replayed else None,
        )


class AuditSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", allow_null=True, read_only=True)

    class Meta:
        model = ReportBuilderAudit
        fields = [
            "id",
            "created_at",
            "user",
            "step",
            "action",
            "configuration_before",
            "configuration",
            "draft_id",
            "report_ref",
        ]
        read_only_fields = fields


class ReportAuditView(ListAPIView):
    """The report's audit trail, oldest first: builder steps, changes, schedule, backfill and
    run requests."""

    serializer_class = AuditSerializer
    filterset_fields = ["step"]
    ordering_fields = ["created_at"]
    ordering = ["created_at"]
    search_fields = ["action"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReportBuilderAudit.objects.none()
        report = (
            reports_for_user(user=self.request.user)
            .filter(report_id=self.kwargs["report_id"])
            .first()
        )
        if report is None:
            raise NotFound("No such report among yours.", field="report")
        return audit_for_report(report=report)

    @extend_schema(responses={200: AuditSerializer(many=True), **_errors(404)}, tags=["reports"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
