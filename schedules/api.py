"""REST API of schedules. Thin: parse, call a service or selector, respond."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from recomamp.errors import NotFound
from reports.api import ExecutionSerializer, ParametersField
from reports.selectors import reports_for_user
from schedules import cron, services
from schedules.models import ReportSchedule, ScheduleType
from schedules.selectors import schedule_history, schedules_for_user


class ScheduleSerializer(serializers.ModelSerializer):
    report = serializers.SlugRelatedField(slug_field="report_id", read_only=True)
    instance = serializers.UUIDField(source="report.instance_id", read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ReportSchedule
        fields = [
            "schedule_id",
            "report",
            "instance",
            "schedule_type",
            "cron_expression",
            "timezone",
            "schedule_config",
            "default_parameters",
            "state",
            "is_active",
            "is_paused",
            "next_run_at",
            "last_run_at",
            "last_run_status",
            "run_count",
            "failure_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


_CONFIG_HELP = (
    'For daily/weekly/monthly/quarterly: {"time": "09:00", "days_of_week": [1, 3], '
    '"day_of_month": 1 | "last", "timezone": "Europe/Berlin"} (frequency defaults to '
    "schedule_type)."
)


class ScheduleDefinitionSerializer(serializers.Serializer):
    """What defines when a schedule fires; the service validates it (errors name the field)."""

    schedule_type = serializers.ChoiceField(choices=ScheduleType.choices)
    schedule_config = serializers.JSONField(required=False, help_text=_CONFIG_HELP)
    cron_expression = serializers.CharField(
        required=False, max_length=cron.MAX_EXPRESSION_LENGTH, help_text="For custom schedules."
    )
    timezone = serializers.CharField(
        required=False, max_length=64, help_text="IANA name; defaults to the report's."
    )


class ScheduleCreateSerializer(ScheduleDefinitionSerializer):
    report = serializers.CharField(help_text="The report's report_id, e.g. rpt_ab12cd34.")
    default_parameters = ParametersField(
        required=False, default=dict, help_text="Override the report's saved parameters."
    )
    is_paused = serializers.BooleanField(required=False, default=False)


class ScheduleUpdateSerializer(serializers.Serializer):
    schedule_type = serializers.ChoiceField(choices=ScheduleType.choices, required=False)
    schedule_config = serializers.JSONField(required=False, help_text=_CONFIG_HELP)
    cron_expression = serializers.CharField(required=False, max_length=cron.MAX_EXPRESSION_LENGTH)
    timezone = serializers.CharField(required=False, max_length=64)
    default_parameters = ParametersField(required=False)


class PreviewRequestSerializer(ScheduleDefinitionSerializer):
    count = serializers.IntegerField(
        required=False, default=services.DEFAULT_PREVIEW_COUNT, min_value=1, max_value=100
    )


class PreviewRunSerializer(serializers.Serializer):
    utc = serializers.DateTimeField()
    local = serializers.CharField(help_text="ISO 8601 with the schedule's UTC offset.")


class PreviewSerializer(serializers.Serializer):
    schedule_type = serializers.CharField()
    cron_expression = serializers.CharField()
    timezone = serializers.CharField()
    runs = PreviewRunSerializer(many=True)


def _preview_body(spec: services.ScheduleSpec, runs: list[services.PreviewRun]) -> dict:
    return PreviewSerializer(
        {
            "schedule_type": spec.schedule_type,
            "cron_expression": spec.cron_expression,
            "timezone": spec.timezone,
            # Local times keep their own offset (DateTimeField would convert them to UTC).
            "runs": [{"utc": run.utc, "local": run.local.isoformat()} for run in runs],
        }
    ).data


class ScheduleFilter(filters.FilterSet):
    report = filters.CharFilter(field_name="report__report_id")
    instance = filters.UUIDFilter(field_name="report__instance_id")

    class Meta:
        model = ReportSchedule
        fields = ["report", "instance", "schedule_type", "is_active", "is_paused", "timezone"]


class ScheduleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Schedules of reports on the instances you can see. DELETE deactivates (history stays)."""

    lookup_field = "schedule_id"
    filterset_class = ScheduleFilter
    serializer_class = ScheduleSerializer
    search_fields = ["schedule_id", "report__name", "report__report_id"]
    ordering_fields = ["next_run_at", "last_run_at", "created_at", "run_count", "failure_count"]
    ordering = ["next_run_at"]

    def get_queryset(self):
        return schedules_for_user(user=self.request.user)

    def _report(self, report_id: str):
        report = reports_for_user(user=self.request.user).filter(report_id=report_id).first()
        if report is None:
            raise NotFound(f"No report {report_id!r} on your instances.", field="report")
        return report

    def _respond(self, schedule, status_code=status.HTTP_200_OK):
        schedule = self.get_queryset().get(pk=schedule.pk)
        return Response(ScheduleSerializer(schedule).data, status=status_code)

    @extend_schema(request=ScheduleCreateSerializer, responses={201: ScheduleSerializer})
    def create(self, request):
        """Schedule a report: a friendly config (daily/weekly/monthly/quarterly) or custom cron."""
        serializer = ScheduleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        schedule = services.create_schedule(
            report=self._report(data["report"]),
            user=request.user,
            schedule_type=data["schedule_type"],
            cron_expression=data.get("cron_expression"),
            schedule_config=data.get("schedule_config"),
            timezone_name=data.get("timezone"),
            default_parameters=data["default_parameters"],
            is_paused=data["is_paused"],
        )
        return self._respond(schedule, status.HTTP_201_CREATED)

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduleSerializer)
    def partial_update(self, request, schedule_id=None):
        """Change when or with what it runs; the next run is recomputed from now."""
        schedule = self.get_object()
        serializer = ScheduleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "timezone" in changes:
            changes["timezone_name"] = changes.pop("timezone")
        schedule = services.update_schedule(schedule=schedule, user=request.user, **changes)
        return self._respond(schedule)

    def destroy(self, request, schedule_id=None):
        """Deactivate: no more runs; the schedule and its run history stay readable."""
        services.deactivate_schedule(schedule=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, schedule_id=None):
        schedule = services.pause_schedule(schedule=self.get_object(), user=request.user)
        return self._respond(schedule)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, schedule_id=None):
        """Run again from the next fire time after now (paused runs are not caught up)."""
        schedule = services.resume_schedule(schedule=self.get_object(), user=request.user)
        return self._respond(schedule)

    @extend_schema(
        parameters=[OpenApiParameter("count", int, description="1-100, default 10")],
        responses=PreviewSerializer,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="preview",
        filterset_class=None,
        ordering=None,
        search_fields=[],
    )
    def preview_saved(self, request, schedule_id=None):
        """The next runs of this schedule, in UTC and in its own timezone."""
        schedule = self.get_object()
        count = serializers.IntegerField(min_value=1, max_value=100).run_validation(
            request.query_params.get("count", services.DEFAULT_PREVIEW_COUNT)
        )
        spec = services.ScheduleSpec(
            schedule.schedule_type,
            schedule.cron_expression,
            schedule.timezone,
            schedule.schedule_config,
        )
        runs = services.preview_schedule(
            cron_expression=spec.cron_expression, timezone_name=spec.timezone, count=count
        )
        return Response(_preview_body(spec, runs))

    @extend_schema(request=PreviewRequestSerializer, responses=PreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The next runs of a schedule that is not saved (the builder's schedule step)."""
        serializer = PreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        spec = services.build_schedule_spec(
            schedule_type=data["schedule_type"],
            cron_expression=data.get("cron_expression"),
            schedule_config=data.get("schedule_config"),
            timezone_name=data.get("timezone"),
        )
        runs = services.preview_schedule(
            cron_expression=spec.cron_expression, timezone_name=spec.timezone, count=data["count"]
        )
        return Response(_preview_body(spec, runs))

    @extend_schema(responses=ExecutionSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, search_fields=[])
    def history(self, request, schedule_id=None):
        """The schedule's runs (its executions), newest scheduled time first, paginated."""
        runs = schedule_history(schedule=self.get_object(), user=request.user)
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)
